"""Penalty factors: what they cost, and the nearest peer (skglm's WeightedL1).

    python benchmarks/penalty_factor.py            # full problems
    python benchmarks/penalty_factor.py --quick    # small problems, a smoke test

Problems (generated from a seed; a sparse truth on 40 features; intercepts fitted):
  lasso      Lasso, dense X n=2000, p=5000
  logistic   MultiTaskLogisticRegression(penalty="l1"), one task, dense X n=2000, p=2000
  mtlasso    MultiTaskLasso, dense X n=2000, p=1000, T=10
Factor settings (rescaled to sum to p, as glmnet does): "none"; "positive", pf ~
Uniform(0.5, 2); "zeros", the same with 10 features unpenalized (pf = 0: mtlfast
refits them exactly and certifies at the refit, see README "Penalty factors").
Each problem at alpha = alpha_max / 20 of its own setting (so the solution sizes are
alike). Estimators' defaults otherwise (fit_intercept=True, n_threads=None).
Metric: time to 1e-6 relative suboptimality against the best objective any run
reached (a tolerance sweep 1e-2, 1e-3, ..., best of --repeat); ratios to "none" and
skglm / mtlfast, where skglm solves the same problem (GeneralizedLinearEstimator with
Quadratic and WeightedL1 with AndersonCD(fit_intercept=True); Logistic and WeightedL1
with ProxNewton, the intercept as a column of ones of weight 0;
single task only: skglm has no weighted multi-task penalty). BLAS limited to one
thread; the thread settings are recorded. Results: benchmarks/results/penalty_factor.json
and .md. Never run two benchmarks at once.
"""
import argparse
import json
import os
import sys

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(__file__))
from run import environment  # noqa: E402
from logistic_structured import sweep  # noqa: E402  (the same tolerance sweep and target)

import mtlfast  # noqa: E402
from mtlfast.penalties.factors import check_penalty_factor  # noqa: E402

RESULTS = os.path.join(os.path.dirname(__file__), "results")


def make_problem(name, quick, seed=0):
    rng = np.random.default_rng(seed)
    n, p, T = {"lasso": (2000, 5000, 1), "logistic": (2000, 2000, 1),
               "mtlasso": (2000, 1000, 10)}[name]
    if quick:
        n, p = n // 4, p // 4
    X = rng.standard_normal((n, p))
    W = np.zeros((p, T))
    W[rng.choice(p, 40, replace=False)] = rng.standard_normal((40, T))
    Z = X @ W + 0.5
    if name == "logistic":
        return X, (rng.random(n) < 1 / (1 + np.exp(-Z[:, 0]))).astype(float)
    Y = Z + rng.standard_normal((n, T))
    return X, (Y[:, 0] if T == 1 else Y)


def factors(setting, p, seed=1):
    if setting == "none":
        return None
    rng = np.random.default_rng(seed)
    pf = rng.uniform(0.5, 2.0, p)
    if setting == "zeros":
        pf[rng.choice(p, 10, replace=False)] = 0.0
    return check_penalty_factor(pf, p)


def estimator(name, alpha, pf, tol):
    if name == "lasso":
        return mtlfast.Lasso(alpha, penalty_factor=pf, tol=tol, max_iter=100000)
    if name == "logistic":
        return mtlfast.MultiTaskLogisticRegression(alpha, penalty="l1", penalty_factor=pf,
                                                   tol=tol, max_iter=1000)
    return mtlfast.MultiTaskLasso(alpha, penalty_factor=pf, tol=tol, max_iter=100000)


def objective(name, X, y, coef, b, alpha, pf):
    coef = np.atleast_2d(coef)
    pfv = np.ones(X.shape[1]) if pf is None else pf
    Z = X @ coef.T + b
    if name == "logistic":
        s = 2.0 * y - 1.0
        return float(np.logaddexp(0, -s * Z[:, 0]).mean() + alpha * pfv @ np.abs(coef[0]))
    Y = y[:, None] if y.ndim == 1 else y
    rows = np.abs(coef).sum(axis=0) if name == "lasso" else np.linalg.norm(coef, axis=0)
    return float(0.5 * ((Y - Z) ** 2).mean(axis=0).sum() + alpha * pfv @ rows)


def skglm_fit(name, alpha, pf):
    """skglm's fit(X, y, tol) -> (coef, intercept) for the same problem, or None."""
    if name == "mtlasso":
        return None
    try:
        from skglm import GeneralizedLinearEstimator
        from skglm.datafits import Logistic, Quadratic
        from skglm.penalties import WeightedL1
        from skglm.solvers import AndersonCD, ProxNewton
    except ImportError:
        return None
    w = np.ones(0) if pf is None else pf

    def fit(X, y, tol):
        weights = np.ones(X.shape[1]) if pf is None else w
        if name == "logistic":
            # skglm's ProxNewton with fit_intercept passes the intercept to
            # WeightedL1.value (a shape error in skglm 0.5): the intercept as a
            # column of ones with weight 0 instead, the same problem
            est = GeneralizedLinearEstimator(Logistic(),
                                             WeightedL1(alpha, np.r_[weights, 0.0]),
                                             ProxNewton(tol=tol, fit_intercept=False,
                                                        max_iter=1000))
            est.fit(np.column_stack([X, np.ones(X.shape[0])]), 2.0 * y - 1.0)
            return np.ravel(est.coef_)[:-1], float(np.ravel(est.coef_)[-1])
        else:
            est = GeneralizedLinearEstimator(Quadratic(), WeightedL1(alpha, weights),
                                             AndersonCD(tol=tol, fit_intercept=True,
                                                        max_iter=1000, max_epochs=100000))
            est.fit(X, y)
        return np.ravel(est.coef_), float(np.ravel(est.intercept_)[0])
    return fit


class _Fit:
    """A fit's (coef, intercept) where the shared sweep reads them."""
    def __init__(self, coef, b):
        self.coef_, self.intercept_ = coef, b


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--max-time", type=float, default=60.0)
    ap.add_argument("--problems", nargs="*", default=["lasso", "logistic", "mtlasso"])
    args = ap.parse_args(argv)
    records = []
    with threadpool_limits(limits=1, user_api="blas"):
        for name in args.problems:
            X, y = make_problem(name, args.quick)
            for setting in ("none", "positive", "zeros"):
                pf = factors(setting, X.shape[1])
                amax = estimator(name, 1.0, pf, 1e-4)._alpha_max(X, y)
                alpha = amax / 20

                def ours(tol):
                    return estimator(name, alpha, pf, tol).fit(X, y)

                def obj(est):
                    return objective(name, X, y, est.coef_, est.intercept_, alpha, pf)
                f_star = np.inf
                # two passes: the second one's target is the best objective of both
                for _ in range(2):
                    rec, f_star = sweep(ours, obj, args.repeat, args.max_time, f_star)
                    peer = skglm_fit(name, alpha, pf)
                    prec = None
                    if peer is not None:
                        prec, f_star = sweep(lambda tol: _Fit(*peer(X, y, tol)), obj,
                                             args.repeat, args.max_time, f_star)
                records.append(dict(problem=name, setting=setting, alpha=alpha, mtlfast=rec,
                                    skglm=prec))
                print(name, setting, "mtlfast", rec["time_to_target"],
                      "skglm", None if prec is None else prec["time_to_target"], flush=True)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "penalty_factor.json"), "w") as f:
        json.dump(dict(environment=environment(), quick=args.quick, records=records), f,
                  indent=1, default=float)
    lines = ["| problem | factors | mtlfast s | / none | support | skglm s | skglm / mtlfast |",
             "|---|---|---|---|---|---|---|"]
    base = {}
    for r in records:
        t = r["mtlfast"]["time_to_target"]
        if r["setting"] == "none":
            base[r["problem"]] = t
        b = base.get(r["problem"])
        p = None if r["skglm"] is None else r["skglm"]["time_to_target"]

        def fmt(x):
            return "not reached" if x is None else f"{x:.3f}"
        lines.append(f"| {r['problem']} | {r['setting']} | {fmt(t)} | "
                     f"{'-' if t is None or b is None else f'{t / b:.2f}'} | "
                     f"{r['mtlfast'].get('support', '-')} | "
                     f"{'-' if r['skglm'] is None else fmt(p)} | "
                     f"{'-' if p is None or t is None else f'{p / t:.2f}'} |")
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(RESULTS, "penalty_factor.md"), "w") as f:
        f.write(text + "\n\n" + json.dumps(environment()) + "\n")


if __name__ == "__main__":
    main()
