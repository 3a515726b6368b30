"""The structured classifiers against their regression counterparts and,
where one solves the same problem, a peer.

    python benchmarks/logistic_structured.py            # full problems
    python benchmarks/logistic_structured.py --quick    # small problems, a smoke test

Problems (generated from a seed): one design X shared by T tasks,
  dense    n=2000, p=1000, T=10, Gaussian X
  sparse   CSC n=5000, p=20000, density 0.5%, T=10, TF-IDF-like values
a row-sparse W (50 features, task-specific deviations on a few), labels
y ~ Bernoulli(sigmoid(X W - 0.5)); the regression counterpart fits the latent
X W + noise on the same X.

Models, each at alpha = alpha_max / 10 of its sparsity part(s) (alpha_max of
L2,1 and of L1 logistic/least squares on these data), estimators' defaults
otherwise (fit_intercept=True, n_threads=None):
  dirty      DirtyMultiTaskLogisticRegression / DirtyMultiTaskLasso
  meanreg    MeanRegularizedMultiTaskLogisticRegression / MeanRegularizedMultiTask
             (l1 on w_0 at alpha_max / 10 of w_0 alone, max_j |sum_t grad_jt|; l21
             on V at alpha_max / 10 of L2,1)
  graph      TaskGraphMultiTaskLogisticRegression / TaskGraphMultiTask (chain graph,
             graph_alpha = alpha_l21 / 10)
  transfer   TransferLogisticRegression / TransferLasso (beta = 0.5, source = the
             true W plus noise)
  l1         TransferLogisticRegression with beta = 1 (L1 logistic regression per
             task), next to skglm's SparseLogisticRegression and scikit-learn's
             LogisticRegression (saga), label by label, and mtlfast's own
             MultiTaskLogisticRegression(penalty="l1") (the compiled proximal
             Newton kernel with working sets); the only structured
             model with a peer (none of the peers fits dirty, mean-regularized,
             graph or transfer logistic models)
Metric: time to 1e-6 relative suboptimality of each model's own objective (and the
number of features with a nonzero coefficient in that fit: at the same fraction of
alpha_max the logistic fits can be far denser than the regressions),
against the best objective any run reached (a tolerance sweep 1e-2, 1e-3,
..., best of --repeat), ratios logistic / regression and peer / mtlfast.
BLAS limited to one thread; the thread settings are recorded. Results:
benchmarks/results/logistic_structured.json and .md. Never run two
benchmarks at once.
"""
import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(__file__))
from run import environment  # noqa: E402

import mtlfast  # noqa: E402
from mtlfast.datafits import LogisticPerTask, QuadraticPerTask, shared_to_long  # noqa: E402

RESULTS = os.path.join(os.path.dirname(__file__), "results")
TARGET = 1e-6
TOLS = [10.0 ** -k for k in range(2, 13)]


def make_problem(name, quick, seed=0):
    rng = np.random.default_rng(seed)
    if name == "sparse":
        n, p, T, dens = (1000, 3000, 4, 0.01) if quick else (5000, 20000, 10, 0.005)
        X = sparse.random(n, p, density=dens, format="csc", random_state=rng,
                          data_rvs=lambda k: rng.exponential(1.0, k))
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel())
        X = sparse.csc_matrix(X @ sparse.diags(np.sqrt(n) / np.maximum(norms, 1e-12)))
    else:
        n, p, T = (400, 200, 4) if quick else (2000, 1000, 10)
        X = rng.standard_normal((n, p))
    W = np.zeros((p, T))
    support = rng.choice(p, 10 if quick else 50, replace=False)
    W[support] = rng.standard_normal((len(support), 1)) + 0.5 * rng.standard_normal(
        (len(support), T))
    Z = np.asarray(X @ W)
    Z *= 2.0 / Z.std()
    Y = (rng.random(Z.shape) < 1 / (1 + np.exp(-(Z - 0.5)))).astype(int)
    Yreg = Z + rng.standard_normal(Z.shape)
    return X, Y, Yreg, W


def _quadratic(X, Y):
    """The regressors' datafit of a shared X with Y (n, T): the long layout."""
    return QuadraticPerTask(*shared_to_long(X, Y), Y.shape[1])


def alpha_maxes(X, Y, logistic):
    """(alpha_max of L2,1, alpha_max of L1, alpha_max of an L1 vector w_0
    shared by all tasks) on these data, intercepts fitted."""
    df = LogisticPerTask.from_shared(X, Y) if logistic else _quadratic(X, Y)
    G = np.abs(df.gradient(np.zeros((X.shape[1], Y.shape[1]))))
    G0 = np.abs(df.gradient(np.zeros((X.shape[1], Y.shape[1]))).sum(axis=1))
    return float(np.sqrt((G ** 2).sum(axis=1)).max()), float(G.max()), float(G0.max())


def models(X, Y, Yreg, W, quick):
    """(name, logistic estimator, regression estimator or None, peers) at the
    module docstring's settings."""
    T = Y.shape[1]
    rng = np.random.default_rng(1)
    source = (W + 0.2 * rng.standard_normal(W.shape) * (W != 0)).T
    chain = np.diag(np.ones(T - 1), 1) + np.diag(np.ones(T - 1), -1)
    out, alpha_l1 = [], None
    for logistic, YY in ((True, Y), (False, Yreg)):
        a21, a1, a0 = (a / 10 for a in alpha_maxes(X, YY, logistic))
        alpha_l1 = a1 if logistic else alpha_l1
        if logistic:
            m = mtlfast
            est = dict(
                dirty=m.DirtyMultiTaskLogisticRegression(a21, a1),
                meanreg=m.MeanRegularizedMultiTaskLogisticRegression(a0, a21),
                graph=m.TaskGraphMultiTaskLogisticRegression(a21, graph_alpha=a21 / 10,
                                                             similarity=chain),
                transfer=m.TransferLogisticRegression(a1, beta=0.5, coef_source=source),
                l1=m.TransferLogisticRegression(a1, beta=1.0))
        else:
            est = dict(
                dirty=mtlfast.DirtyMultiTaskLasso(a21, a1),
                meanreg=mtlfast.MeanRegularizedMultiTask(a0, a21),
                graph=mtlfast.TaskGraphMultiTask(a21, graph_alpha=a21 / 10, similarity=chain),
                transfer=mtlfast.TransferLasso(a1, beta=0.5, coef_source=source))
        out.append(est)
    return [(k, out[0][k], out[1].get(k)) for k in out[0]], alpha_l1


def objective(est, X, YY, logistic):
    """The estimator's objective at its fit (shared design, unit weights)."""
    model = est._make_model(LogisticPerTask.from_shared(X, YY) if logistic
                            else _quadratic(X, YY))
    parts = est._get_parts()
    pen = model.value([np.asarray(Pk, dtype=float) for Pk in parts])
    Z = np.asarray(X @ np.atleast_2d(est.coef_).T) + est.intercept_
    if logistic:
        return float(np.logaddexp(0, -(2.0 * YY - 1) * Z).mean(axis=0).sum() + pen)
    return float(0.5 * ((YY - Z) ** 2).mean(axis=0).sum() + pen)


def timed_fit(fit, repeat):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fit()
        best = min(best, time.perf_counter() - t0)
    return best, out


def sweep(make, objective_of, repeat, max_time, f_star):
    """Time at the first tolerance whose fit is within TARGET of f_star (the
    best objective seen so far, lowered by the sweep itself)."""
    spent = 0.0
    rows = []
    for tol in TOLS:
        t, est = timed_fit(lambda: make(tol), repeat)
        f = objective_of(est)
        f_star = min(f_star, f)
        rows.append((tol, t, f))
        spent += t * repeat
        if (f - f_star) / abs(f_star) <= TARGET:
            # the size of the solution: features with a nonzero coefficient
            support = int(np.count_nonzero(np.abs(np.atleast_2d(est.coef_)).sum(axis=0)))
            return dict(time_to_target=t, tol=tol, sweep=rows, support=support), f_star
        if spent > max_time:
            break
    return dict(time_to_target=None, sweep=rows), f_star


def peers_l1(alpha, n):
    """L1 logistic regression label by label: (name, fit(X, Y, tol) -> (coef, b))."""
    from sklearn.linear_model import LogisticRegression

    def own(X, Y, tol):
        m = mtlfast.MultiTaskLogisticRegression(alpha, penalty="l1", tol=tol,
                                                max_iter=1000).fit(X, Y)
        return m.coef_, m.intercept_
    out = [("mtlfast MultiTaskLogisticRegression(penalty='l1')", own)]

    def sk(X, Y, tol):
        ms = [LogisticRegression(l1_ratio=1.0, solver="saga", C=1 / (n * alpha), tol=tol,
                                 max_iter=100000).fit(X, Y[:, t]) for t in range(Y.shape[1])]
        return np.array([m.coef_[0] for m in ms]), np.array([m.intercept_[0] for m in ms])
    out.append(("scikit-learn saga (label by label)", sk))
    try:
        from skglm import SparseLogisticRegression

        def sg(X, Y, tol):
            ms = [SparseLogisticRegression(alpha=alpha, tol=tol, max_iter=1000,
                                           fit_intercept=True).fit(X, Y[:, t])
                  for t in range(Y.shape[1])]
            return (np.array([np.ravel(m.coef_) for m in ms]),
                    np.array([float(np.ravel(m.intercept_)[0]) for m in ms]))
        out.append(("skglm (label by label)", sg))
    except ImportError:
        pass
    return out


class _Fitted:
    """A peer's (coef, intercept) in the shape objective() reads."""
    def __init__(self, coef, b, like):
        self.coef_, self.intercept_ = coef, b
        self._make_model, self._get_parts = like._make_model, lambda: [coef.T]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--problems", nargs="+", default=["dense", "sparse"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--max-time", type=float, default=120.0,
                    help="per solver and problem, for its tolerance sweep")
    args = ap.parse_args(argv)
    records = []
    with threadpool_limits(1, user_api="blas"):
        for pname in args.problems:
            X, Y, Yreg, W = make_problem(pname, args.quick)
            n = X.shape[0]
            print(f"{pname}: n={n} p={X.shape[1]} T={Y.shape[1]}", flush=True)
            entries, a1 = models(X, Y, Yreg, W, args.quick)
            for name, clf, reg in entries:
                rec = dict(problem=pname, model=name, classifier=type(clf).__name__)
                for kind, est, YY, logistic in (("logistic", clf, Y, True),
                                                ("regression", reg, Yreg, False)):
                    if est is None:
                        continue
                    # the reference optimum: far below the 1e-6 target, in bounded time
                    f_star = objective(est.set_params(tol=1e-10 if logistic else 1e-12,
                                                      max_iter=10000 if not logistic else 200)
                                       .fit(X, YY), X, YY, logistic)
                    res, f_star = sweep(
                        lambda tol: est.set_params(tol=tol).fit(X, YY),
                        lambda e: objective(e, X, YY, logistic), args.repeat, args.max_time,
                        f_star)
                    rec[kind] = dict(estimator=type(est).__name__, f_star=f_star, **res)
                    t = res["time_to_target"]
                    print(f"  {name:<9} {type(est).__name__:<44} "
                          f"{'not reached' if t is None else f'{t:.3f} s'}", flush=True)
                if name == "l1":
                    rec["peers"] = []
                    for pn, fit in peers_l1(a1, n):
                        fit(X, Y, 1e-1)                     # warm-up (numba compiles skglm)
                        res, _ = sweep(lambda tol: _Fitted(*fit(X, Y, tol), clf),
                                       lambda e: objective(e, X, Y, True), args.repeat,
                                       args.max_time, rec["logistic"]["f_star"])
                        rec["peers"].append(dict(solver=pn, **res))
                        t = res["time_to_target"]
                        print(f"  {name:<9} {pn:<44} "
                              f"{'not reached' if t is None else f'{t:.3f} s'}", flush=True)
                records.append(rec)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "logistic_structured.json"), "w") as f:
        json.dump(dict(environment=environment(), records=records), f, indent=1, default=str)

    def fmt(t):
        return "not reached" if t is None else f"{t:.3f}"
    lines = ["| problem | model | logistic (s) | regression (s) | logistic / regression |"
             " nonzero features (logistic, regression) | peer: time (s), peer / mtlfast |",
             "|---|---|---|---|---|---|---|"]
    for r in records:
        tl = r["logistic"]["time_to_target"]
        tr = r.get("regression", {}).get("time_to_target")
        nz = f"{r['logistic'].get('support', '-')}, {r.get('regression', {}).get('support', '-')}"
        ratio = f"{tl / tr:.1f}x" if tl and tr else "-"
        peers = "; ".join(f"{p['solver']}: {fmt(p['time_to_target'])}"
                          + (f", {p['time_to_target'] / tl:.1f}x" if p["time_to_target"] and tl
                             else "") for p in r.get("peers", [])) or "none"
        lines.append(f"| {r['problem']} | {r['classifier']} ({r['model']}) | {fmt(tl)} | "
                     f"{fmt(tr) if 'regression' in r else '-'} | {ratio} | {nz} | {peers} |")
    md = "\n".join(lines)
    with open(os.path.join(RESULTS, "logistic_structured.md"), "w") as f:
        f.write(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
