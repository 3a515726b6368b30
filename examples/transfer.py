"""Source -> target transfer: a model fitted on plenty of source data
carried over to a target task with few rows (TransferLasso: penalty on
||w - w_source||_1), next to the target fitted alone.

    python examples/transfer.py [--quick]
"""
import argparse

import numpy as np
from sklearn.model_selection import GridSearchCV, KFold

import mtlfast
from mtlfast.datasets import make_transfer_problem


def main(quick=False):
    d = make_transfer_problem(n_target=30 if quick else 40, n_features=60 if quick else 200,
                              seed=0)
    cv = KFold(3 if quick else 5, shuffle=True, random_state=0)
    alphas = np.geomspace(1e-3, 1.0, 6 if quick else 10)
    source = mtlfast.Lasso(alpha=0.01, max_iter=10000).fit(d["X_source"], d["y_source"])
    alone = GridSearchCV(mtlfast.Lasso(max_iter=10000), {"alpha": alphas}, cv=cv,
                         scoring="neg_mean_squared_error").fit(d["X_target"], d["y_target"])
    transfer = GridSearchCV(mtlfast.TransferLasso(coef_source=source.coef_, max_iter=10000),
                            {"alpha": alphas, "beta": [0.0, 0.5, 1.0]}, cv=cv,
                            scoring="neg_mean_squared_error").fit(d["X_target"],
                                                                  d["y_target"])
    for name, model in (("target alone", alone), ("source model", source),
                        ("TransferLasso", transfer)):
        err = np.mean((model.predict(d["X_test"]) - d["y_test"]) ** 2)
        print(f"{name:<14} held-out target MSE {err:.3f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    main(ap.parse_args().quick)
