"""Shared + task-specific parts ("dirty" model): W = B + S, a feature
selected jointly (B, L2,1) or by one task alone (S, L1).

    python examples/shared_specific.py [--quick]
"""
import argparse

import numpy as np

import mtlfast
from mtlfast.datasets import make_multitask_regression


def main(quick=False):
    n, p, T = (150, 60, 5) if quick else (400, 500, 10)
    X, Y, W = make_multitask_regression(n, p, T, 8, seed=1)
    rng = np.random.default_rng(1)
    own = rng.choice(np.flatnonzero(~np.any(W != 0, axis=1)), T, replace=False)
    for t, j in enumerate(own):                      # one private feature per task
        Y[:, t] += 2.0 * X[:, j]
    model = mtlfast.DirtyMultiTaskLasso(alpha_shared=0.1, alpha_specific=0.06).fit(X, Y)
    shared = np.flatnonzero(np.any(model.coef_shared_ != 0, axis=0))
    specific = [np.flatnonzero(model.coef_specific_[t]) for t in range(T)]
    found = sum(own[t] in specific[t] for t in range(T))
    print(f"shared part: {shared.size} features; task-specific: "
          f"{sum(s.size for s in specific)} entries; private features found in the specific "
          f"part: {found} of {T}; duality gap {model.dual_gap_:.2e}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    main(ap.parse_args().quick)
