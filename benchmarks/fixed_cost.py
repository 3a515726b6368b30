"""Fixed cost of small fits: mtlfast's estimators against scikit-learn's on
tiny problems, where validation, copies, centering and result assembly are
most of the time (issue 28: at most half of scikit-learn's); then many small
fits: a 5-fold MultiTaskLassoCV and lasso_path over 100 alphas.

    python benchmarks/fixed_cost.py [--repeat 300]

Median seconds of `repeat` fits of the same estimator on the same data (the
estimators' defaults, fit_intercept=True, n_threads=None), after 20 warm-up
fits; ratio mtlfast / scikit-learn. The machine's thread settings are
printed. Never run two benchmarks at once.
"""
import argparse
import time
import warnings

import numpy as np
import sklearn.linear_model as sk
from threadpoolctl import threadpool_info

import mtlfast

SHAPES = [(100, 10, 2), (500, 100, 3), (100, 10, 1)]


def _median(est, X, Y, repeat):
    for _ in range(20):
        est.fit(X, Y)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        est.fit(X, Y)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _median_call(fn, repeat):
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=300)
    args = ap.parse_args()
    print("threads:", mtlfast.resolve_n_threads(None), "OpenMP:", mtlfast.openmp_enabled(),
          "BLAS:", [(d.get("internal_api"), d.get("num_threads")) for d in threadpool_info()
                    if d.get("user_api") == "blas"])
    print("| n x p x T | mtlfast ms | scikit-learn ms | ratio |")
    print("|---|---|---|---|")
    rng = np.random.default_rng(0)
    warnings.simplefilter("ignore")
    for n, p, T in SHAPES:
        X = rng.standard_normal((n, p))
        Y = rng.standard_normal((n, T)) if T > 1 else rng.standard_normal(n)
        ours, theirs = ((mtlfast.MultiTaskLasso(alpha=0.1), sk.MultiTaskLasso(alpha=0.1))
                        if T > 1 else (mtlfast.Lasso(alpha=0.1), sk.Lasso(alpha=0.1)))
        a, b = _median(ours, X, Y, args.repeat), _median(theirs, X, Y, args.repeat)
        print(f"| {n} x {p} x {T} | {a * 1e3:.3f} | {b * 1e3:.3f} | {a / b:.2f} |")
    # many small fits: 5-fold CV over scikit-learn's 100-alpha grid, and a path function
    X, Y = rng.standard_normal((100, 10)), rng.standard_normal((100, 2))
    reps = max(5, args.repeat // 10)
    for name, ours, theirs in [
            ("MultiTaskLassoCV(cv=5), 100 x 10 x 2",
             lambda: mtlfast.MultiTaskLassoCV(cv=5).fit(X, Y),
             lambda: sk.MultiTaskLassoCV(cv=5).fit(X, Y)),
            ("lasso_path, 100 alphas, 100 x 10 x 2",
             lambda: mtlfast.lasso_path(X, Y), lambda: sk.lasso_path(X, Y))]:
        a, b = _median_call(ours, reps), _median_call(theirs, reps)
        print(f"| {name} | {a * 1e3:.3f} | {b * 1e3:.3f} | {a / b:.2f} |")


if __name__ == "__main__":
    main()
