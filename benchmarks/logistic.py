"""Multi-task logistic regression: mtlfast against scikit-learn, skglm and adelie.

    python benchmarks/logistic.py            # full problems
    python benchmarks/logistic.py --quick    # small problems, a smoke test

Problems (generated from a seed):
  tfidf   sparse CSC, n=20000, p=50000, density 0.2%, nonnegative TF-IDF-like
          values (column-normalized), 20 labels from a sparse logistic model
  dense   n=2000, p=1000, 10 labels, Gaussian X

Model: per-task L1 (each label its own sparse logistic regression, intercepts
unpenalized), objective sum_t [1/n sum_i log(1 + exp(-y_it z_it)) + alpha
||w_t||_1] at alpha = alpha_max / 10, the same for every package:
  mtlfast       MultiTaskLogisticRegression(penalty="l1"): all labels in one
                call (X not repeated), one thread, then two (labels in parallel)
  scikit-learn  LogisticRegression(l1_ratio=1, saga, C = 1 / (n alpha)), label by
                label (dense only: on tfidf one saga sweep step had not finished
                after 14 minutes)
  skglm         SparseLogisticRegression(alpha), label by label
  adelie        grpnet with glm.binomial at the one lambda = alpha (no path),
                label by label, when installed: it pins numpy < 2, which the
                test extra's cvxpy excludes, so it is not in the bench extra;
                `pip install adelie --no-deps` runs with numpy 2
Metric: time to 1e-6 relative suboptimality of the summed objective, against
the best objective any solver reached in this run (a tolerance sweep per
solver, as benchmarks/run.py). celer's estimators fail on scikit-learn >= 1.6: left out. BLAS is limited to
one thread. Results: benchmarks/results/logistic.json and logistic.md. Never run
two benchmarks at once.
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

RESULTS = os.path.join(os.path.dirname(__file__), "results")
TARGET = 1e-6
TOLS = [10.0 ** -k for k in range(1, 13)]


def make_problem(name, quick):
    rng = np.random.default_rng(0)
    if name == "tfidf":
        n, p, T, dens = (2000, 5000, 5, 0.005) if quick else (20000, 50000, 20, 0.002)
        X = sparse.random(n, p, density=dens, format="csc", random_state=rng,
                          data_rvs=lambda k: rng.exponential(1.0, k))
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel())
        X = sparse.csc_matrix(X @ sparse.diags(1.0 / np.maximum(norms, 1e-12)))
    else:
        n, p, T = (500, 200, 3) if quick else (2000, 1000, 10)
        X = rng.standard_normal((n, p))
    W = np.zeros((p, T))
    support = rng.choice(p, 50 if not quick else 10, replace=False)
    W[support] = 4.0 * rng.standard_normal((len(support), T))
    z = np.asarray(X @ W) - 0.5
    Y = (rng.random(z.shape) < 1 / (1 + np.exp(-z))).astype(int)
    return X, Y


def objective(X, Y, coef, intercept, alpha):
    """sum_t 1/n sum_i log(1 + exp(-s_it z_it)) + alpha ||w_t||_1, s = 2y - 1"""
    Z = np.asarray(X @ coef.T) + intercept
    S = 2.0 * Y - 1.0
    return float(np.logaddexp(0, -S * Z).mean(axis=0).sum() + alpha * np.abs(coef).sum())


def alpha_max(X, Y):
    p0 = Y.mean(axis=0)
    return float(np.abs(np.asarray(X.T @ (Y - p0))).max() / X.shape[0])


_CPUS = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None


def _unpin():
    """Give the process back all its cores: importing adelie sets
    OMP_PROC_BIND=TRUE and its OpenMP runtime pins the process to one core,
    which silently serialized every later multi-threaded run."""
    if _CPUS is not None:
        os.sched_setaffinity(0, _CPUS)


def _import_adelie():
    env = dict(os.environ)
    import adelie
    for k in set(os.environ) - set(env):       # the OMP / KMP settings it exports
        del os.environ[k]
    _unpin()
    return adelie


def solvers(alpha, n, problem):
    from sklearn.linear_model import LogisticRegression

    def run_mtlfast(X, Y, tol, n_threads=1):
        m = mtlfast.MultiTaskLogisticRegression(alpha, penalty="l1", tol=tol, max_iter=1000,
                                                n_threads=n_threads).fit(X, Y)
        return m.coef_, m.intercept_

    def run_mtlfast_2(X, Y, tol):
        return run_mtlfast(X, Y, tol, n_threads=2)

    def run_sklearn(X, Y, tol):
        coefs, ints = [], []
        for t in range(Y.shape[1]):
            # scikit-learn >= 1.8 spells L1 as l1_ratio=1 (penalty is deprecated)
            m = LogisticRegression(l1_ratio=1.0, solver="saga", C=1 / (n * alpha), tol=tol,
                                   max_iter=100000).fit(X, Y[:, t])
            coefs.append(m.coef_[0])
            ints.append(m.intercept_[0])
        return np.array(coefs), np.array(ints)

    out = [("mtlfast (all labels, 1 thread)", run_mtlfast),
           ("mtlfast (all labels, 2 threads: labels in parallel)", run_mtlfast_2)]
    if problem != "tfidf":
        # on tfidf, saga's first sweep step (20 labels at tol 0.1) had not
        # finished after 14 minutes in a run of this script
        out.append(("scikit-learn saga (label by label)", run_sklearn))
    try:
        from skglm import SparseLogisticRegression

        def run_skglm(X, Y, tol):
            coefs, ints = [], []
            for t in range(Y.shape[1]):
                m = SparseLogisticRegression(alpha=alpha, tol=tol, max_iter=1000,
                                             fit_intercept=True).fit(X, Y[:, t])
                coefs.append(np.ravel(m.coef_))
                ints.append(float(np.ravel(m.intercept_)[0]))
            return np.array(coefs), np.array(ints)
        out.append(("skglm (label by label)", run_skglm))
    except ImportError:
        pass
    try:
        ad = _import_adelie()

        def run_adelie(X, Y, tol):
            # adelie's binomial lasso at the one lambda = alpha (its loss is
            # the mean log-loss, its penalty lambda ||w||_1): label by label
            if sparse.issparse(X):
                Xa = ad.matrix.sparse(sparse.csc_matrix(X), method="naive", n_threads=1)
            else:
                Xa = ad.matrix.dense(np.asfortranarray(X), method="naive", n_threads=1)
            coefs, ints = [], []
            for t in range(Y.shape[1]):
                st = ad.grpnet(Xa, ad.glm.binomial(y=Y[:, t].astype(float)),
                               lmda_path=np.array([alpha]), early_exit=False, tol=tol,
                               irls_tol=tol, intercept=True, progress_bar=False, n_threads=1)
                coefs.append(st.betas[-1].toarray().ravel())
                ints.append(float(st.intercepts[-1]))
            _unpin()
            return np.array(coefs), np.array(ints)
        out.append(("adelie (label by label)", run_adelie))
    except ImportError:
        pass
    return out


def sweep(run, X, Y, alpha, f_best, max_time):
    spent, rows = 0.0, []
    for tol in TOLS:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            coef, b = run(X, Y, tol)
        t = time.perf_counter() - t0
        spent += t
        rows.append((tol, t, objective(X, Y, coef, b, alpha)))
        if spent > max_time:
            break
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--max-time", type=float, default=300.0,
                    help="per solver and problem, for its tolerance sweep")
    args = ap.parse_args(argv)
    records = []
    with threadpool_limits(1, user_api="blas"):
        for name in ("tfidf", "dense"):
            X, Y = make_problem(name, args.quick)
            am = alpha_max(X, Y)
            alpha = am / 10
            print(f"{name}: n={X.shape[0]} p={X.shape[1]} T={Y.shape[1]}, alpha = "
                  f"alpha_max/10 = {alpha:.3g}", flush=True)
            sweeps = {}
            for sname, run in solvers(alpha, X.shape[0], name):
                run(X, Y, 1e-1)                        # warm-up (numba compiles skglm)
                sweeps[sname] = sweep(run, X, Y, alpha, np.inf, args.max_time)
                print(f"  {sname}: " + ", ".join(f"tol {tol:g}: {t:.2f} s f={f:.10g}"
                                                  for tol, t, f in sweeps[sname]), flush=True)
            f_star = min(f for rows in sweeps.values() for _, _, f in rows)
            rec = dict(problem=name, n=X.shape[0], p=X.shape[1], T=Y.shape[1], alpha=alpha,
                       f_star=f_star, results=[])
            for sname, rows in sweeps.items():
                hit = [(tol, t) for tol, t, f in rows if (f - f_star) / abs(f_star) <= TARGET]
                rec["results"].append(dict(solver=sname, time_to_target=hit[0][1] if hit else None,
                                           tol=hit[0][0] if hit else None, sweep=rows))
            records.append(rec)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "logistic.json"), "w") as f:
        json.dump(dict(environment=environment(), records=records), f, indent=1, default=str)
    lines = ["| problem | solver | time to 1e-6 (s) | vs mtlfast |", "|---|---|---|---|"]
    for rec in records:
        base = next(r["time_to_target"] for r in rec["results"] if r["solver"].startswith("mtl"))
        for r in rec["results"]:
            t = r["time_to_target"]
            ratio = f"{t / base:.1f}x" if t and base else "-"
            lines.append(f"| {rec['problem']} | {r['solver']} | "
                         f"{'not reached' if t is None else f'{t:.2f}'} | {ratio} |")
    md = "\n".join(lines)
    with open(os.path.join(RESULTS, "logistic.md"), "w") as f:
        f.write(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
