"""Multi-label classification: one logistic task per label, the labels
sharing their features (L2,1), against one L1 model per label.

    python examples/multilabel_classification.py [--quick]
"""
import argparse

import numpy as np
from sklearn.datasets import make_multilabel_classification
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

import mtlfast


def main(quick=False):
    X, Y = make_multilabel_classification(n_samples=300 if quick else 2000,
                                          n_features=40 if quick else 300, n_classes=5,
                                          n_labels=2, random_state=0)
    X = np.log1p(X)
    Xtr, Xte, Ytr, Yte = train_test_split(X, Y, test_size=0.3, random_state=0)
    for penalty in ("l21", "l1"):
        m = mtlfast.MultiTaskLogisticRegression(alpha=0.03, penalty=penalty).fit(Xtr, Ytr)
        kept = np.count_nonzero(np.any(m.coef_ != 0, axis=0))
        print(f"penalty={penalty}: micro-F1 {f1_score(Yte, m.predict(Xte), average='micro'):.3f}"
              f", features used by any label {kept} of {X.shape[1]}, "
              f"gap {float(np.max(m.dual_gap_)):.1e}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    main(ap.parse_args().quick)
