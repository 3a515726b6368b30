"""Cross-validation timing: mtlfast's MultiTaskLassoCV with n_jobs=1 and 2
next to scikit-learn's MultiTaskLassoCV (same grid, same folds, same data),
and the per-task layout.

    python benchmarks/cv.py            # ~3 min
    python benchmarks/cv.py --quick    # small problem, a smoke test

Problems (generated from a seed):
  shared     n=500, p=2000, T=10 (mtlfast.datasets.make_multitask_regression),
             5 folds, a 30-point grid alpha_max -> alpha_max/100
  per-task   50 tasks of 40-400 rows (own X), p=2000, folds split within
             each task, same grid size (scikit-learn cannot take it)
  logistic   PathCV(MultiTaskLogisticRegression(penalty="l21")), log-loss,
             n=2000, p=1000, 10 labels, 5 folds, 30 alphas
             (the group penalty's coordinate passes are serial: n_jobs is the
             parallelism that pays there)

Rows: mtlfast n_jobs=1 with 1 OpenMP thread (one core), n_jobs=1 with 2
threads (the kernels' OpenMP), n_jobs=2 (two folds at a time, one thread
each); scikit-learn n_jobs=1 and 2 (BLAS limited to one thread in all runs).
Each row is the best of --repeat runs (3). Every run checks that it chose
the same alpha as the first. Ratios are
against mtlfast n_jobs=1 / 1 thread, all measured in this run. Results:
benchmarks/results/cv.json and cv.md. Never run two benchmarks at once.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(__file__))
from run import environment  # noqa: E402

import mtlfast  # noqa: E402
from mtlfast.datasets import make_multitask_regression, make_per_task_regression  # noqa: E402

RESULTS = os.path.join(os.path.dirname(__file__), "results")


def timed(fn, repeat):
    """Best of `repeat` runs (the VM's timings vary by 30% run to run)."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run_shared(quick, repeat):
    n, p, T = (200, 300, 5) if quick else (500, 2000, 10)
    X, Y, _ = make_multitask_regression(n, p, T, seed=0)
    kw = dict(alphas=30, eps=1e-2, cv=5, tol=1e-4, max_iter=10000)
    rows = []
    configs = [("mtlfast n_jobs=1, 1 thread", lambda: mtlfast.MultiTaskLassoCV(
                    n_jobs=1, n_threads=1, **kw)),
               ("mtlfast n_jobs=1, 2 threads", lambda: mtlfast.MultiTaskLassoCV(
                    n_jobs=1, n_threads=2, **kw)),
               ("mtlfast n_jobs=2", lambda: mtlfast.MultiTaskLassoCV(n_jobs=2, n_threads=2,
                                                                      **kw))]
    from sklearn.linear_model import MultiTaskLassoCV as SkCV
    configs += [("scikit-learn n_jobs=1", lambda: SkCV(n_jobs=1, **kw)),
                ("scikit-learn n_jobs=2", lambda: SkCV(n_jobs=2, **kw))]
    mtlfast.MultiTaskLassoCV(n_jobs=1, **{**kw, "alphas": 3}).fit(X, Y)   # warm-up
    alpha0 = None
    for name, make in configs:
        t, est = timed(lambda: make().fit(X, Y), repeat)
        alpha0 = est.alpha_ if alpha0 is None else alpha0
        rows.append(dict(problem=f"shared n={n} p={p} T={T}", run=name, seconds=t,
                         alpha=float(est.alpha_), same_alpha=bool(np.isclose(est.alpha_,
                                                                              alpha0))))
        print(f"  {name:<30} {t:8.2f} s  alpha_={est.alpha_:.4g}", flush=True)
    return rows


def run_per_task(quick, repeat):
    rng = np.random.default_rng(0)
    sizes = rng.integers(40, 401, 10 if quick else 50)
    p = 300 if quick else 2000
    X, y, tasks, _ = make_per_task_regression(sizes, p, n_informative=20, seed=1)
    kw = dict(alphas=30, eps=1e-2, cv=5, tol=1e-4, max_iter=10000)
    rows = []
    alpha0 = None
    for name, n_jobs, n_threads in [("mtlfast n_jobs=1, 1 thread", 1, 1),
                                    ("mtlfast n_jobs=1, 2 threads", 1, 2),
                                    ("mtlfast n_jobs=2", 2, 2)]:
        t, est = timed(lambda: mtlfast.MultiTaskLassoCV(n_jobs=n_jobs, n_threads=n_threads,
                                                        **kw).fit(X, y, tasks=tasks), repeat)
        alpha0 = est.alpha_ if alpha0 is None else alpha0
        rows.append(dict(problem=f"per-task T={len(sizes)} N={len(y)} p={p}", run=name,
                         seconds=t, alpha=float(est.alpha_),
                         same_alpha=bool(np.isclose(est.alpha_, alpha0))))
        print(f"  {name:<30} {t:8.2f} s  alpha_={est.alpha_:.4g}", flush=True)
    return rows


def run_logistic(quick, repeat):
    """PathCV of the multi-task logistic model (penalty l21, log-loss) on a
    dense multi-label problem."""
    rng = np.random.default_rng(0)
    n, p, T = (300, 100, 3) if quick else (2000, 1000, 10)
    X = rng.standard_normal((n, p))
    W = np.zeros((p, T))
    W[rng.choice(p, 20, replace=False)] = 2.0 * rng.standard_normal((20, T))
    Y = (rng.random((n, T)) < 1 / (1 + np.exp(-(X @ W - 0.5)))).astype(int)
    rows = []
    alpha0 = None
    for name, n_jobs, n_threads in [("mtlfast n_jobs=1, 1 thread", 1, 1),
                                    ("mtlfast n_jobs=1, 2 threads", 1, 2),
                                    ("mtlfast n_jobs=2", 2, 2)]:
        make = lambda: mtlfast.PathCV(mtlfast.MultiTaskLogisticRegression(  # noqa: E731
            penalty="l21", tol=1e-4, n_threads=n_threads), values=30, eps=1e-2, cv=5,
            n_jobs=n_jobs)
        t, est = timed(lambda: make().fit(X, Y), repeat)
        alpha0 = est.alpha_ if alpha0 is None else alpha0
        rows.append(dict(problem=f"logistic l21 n={n} p={p} T={T}", run=name, seconds=t,
                         alpha=float(est.alpha_),
                         same_alpha=bool(np.isclose(est.alpha_, alpha0))))
        print(f"  {name:<30} {t:8.2f} s  alpha_={est.alpha_:.4g}", flush=True)
    return rows


def markdown(rows):
    lines = ["| problem | run | seconds | vs mtlfast n_jobs=1, 1 thread | same alpha_ |",
             "|---|---|---|---|---|"]
    base = {}
    for r in rows:
        base.setdefault(r["problem"], r["seconds"])
        lines.append(f"| {r['problem']} | {r['run']} | {r['seconds']:.2f} | "
                     f"{base[r['problem']] / r['seconds']:.2f}x | {r['same_alpha']} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="runs per row (the best is kept)")
    args = ap.parse_args(argv)
    with threadpool_limits(1, user_api="blas"):
        print("shared design", flush=True)
        rows = run_shared(args.quick, args.repeat)
        print("per-task designs", flush=True)
        rows += run_per_task(args.quick, args.repeat)
        print("logistic (PathCV, log-loss)", flush=True)
        rows += run_logistic(args.quick, args.repeat)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "cv.json"), "w") as f:
        json.dump(dict(environment=environment(), rows=rows), f, indent=1, default=str)
    md = markdown(rows)
    with open(os.path.join(RESULTS, "cv.md"), "w") as f:
        f.write(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
