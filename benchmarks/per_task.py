"""Per-task designs and structured models: mtlfast against its NumPy twin and
against the closest peer formulation.

    python benchmarks/per_task.py            # full run (~10 min with skglm)
    python benchmarks/per_task.py --quick    # small problems, a smoke test
    python benchmarks/per_task.py --solve-only   # only the whole solves vs the twin

Problems (generated from a seed, mtlfast.datasets.make_per_task_regression,
no intercept):
  per-task     50 tasks of 40-400 rows each (own X), p = 2000
  many-tasks   2000 tasks of 10-50 rows each, p = 200

1. Epoch speed: the same epochs (same iterates, tol < 0) of the compiled
   kernel (1 thread) and of the NumPy reference, for the per-task multi-task
   lasso (L2,1) and each structured model (dirty, mean-regularized, task graph
   on a 5-nearest-neighbour similarity, transfer lasso). Ratio = reference
   time per epoch / kernel time per epoch.
2. Whole solves to gap <= 1e-4 ||y||^2 of every model: the compiled solver
   as the estimators run it (working sets, screening) against the NumPy
   twin's plain epochs (capped at --reference-time; then a lower bound).
3. Time to 1e-6 relative suboptimality of the per-task multi-task lasso at
   alpha_max/10 and /100 (tolerance sweep of benchmarks/run.py), next to the
   closest peer: scikit-learn's MultiTaskLasso cannot take per-task designs,
   so skglm's GroupLasso runs on the equivalent block-diagonal design (one
   column per (feature, task), rows of task t scaled by sqrt(N / n_t) so that
   its 1/(2N) loss equals sum_t 1/(2 n_t) ||y_t - X_t w_t||^2, groups = the
   tasks of one feature), as CSC.

Results: benchmarks/results/per_task.json and per_task.md, with the thread
settings. Never run two benchmarks at once.
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
from run import environment, sweep  # noqa: E402

from mtlfast import penalties as P  # noqa: E402
from mtlfast.datasets import make_per_task_regression  # noqa: E402
from mtlfast.reference import bcd_tasks  # noqa: E402
from mtlfast.solver import solve_structured, solve_tasks  # noqa: E402
from mtlfast.structured import (  # noqa: E402
    TaskGraph, Transfer, TwoPart, bcd_structured, block_norms2, check_similarity)
from mtlfast.tasks import QuadraticPerTask  # noqa: E402

RESULTS = os.path.join(os.path.dirname(__file__), "results")


def problems(quick):
    rng = np.random.default_rng(0)
    if quick:
        specs = [("per-task", rng.integers(40, 401, 10), 300), ("many-tasks", rng.integers(10, 51, 200), 50)]
    else:
        specs = [("per-task", rng.integers(40, 401, 50), 2000),
                 ("many-tasks", rng.integers(10, 51, 2000), 200)]
    for name, sizes, p in specs:
        X, y, tasks, W = make_per_task_regression(sizes, p, n_informative=20, seed=1)
        df = QuadraticPerTask(X, y, tasks, len(sizes), fit_intercept=False)
        yield name, df, W


def alpha_max(df):
    y = df.y_eff.astype(np.float64)
    return float(np.linalg.norm(df.xtr(y), axis=1).max())


def knn_similarity(T, k=5, seed=0):
    """Each task linked to k random others (symmetrized), weight 1."""
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(T), k)
    cols = np.concatenate([rng.choice(np.delete(np.arange(T), t), k, replace=False)
                           for t in range(T)])
    A = sparse.csr_matrix((np.ones(T * k), (rows, cols)), shape=(T, T))
    return ((A + A.T) > 0).astype(float)


def per_epoch(fn, epochs, warmup=False):
    if warmup:
        fn(1)
    t0 = time.perf_counter()
    fn(epochs)
    return (time.perf_counter() - t0) / epochs


def models(df, W_true):
    """The benchmarked models: (name, penalty or structured model)."""
    am = alpha_max(df)
    T = df.n_tasks
    src = W_true + 0.1 * np.random.default_rng(2).standard_normal(W_true.shape)
    return [
        ("multi-task lasso (L2,1)", P.L21(am / 10)),
        ("dirty", TwoPart(P.L21(am / 10), P.L1(am / 20))),
        ("mean-regularized (l1 + l21)", TwoPart(P.L1(am / 20), P.L21(am / 10), shared_a=True)),
        ("task graph (l21, 5-NN)", TaskGraph(P.L21(am / 10), 1.0,
                                             check_similarity(knn_similarity(T), T))),
        ("transfer lasso", Transfer(am / 20, 0.5, src)),
    ]


def _kernel(df, model, **kw):
    """Compiled solve; returns its epochs per block."""
    if isinstance(model, P._RowPenalty):
        return solve_tasks(df, model, **kw).n_iter
    return solve_structured(df, model, **kw)[1]


def _reference(df, model, state, epochs, tol):
    """(state, certified, epochs run) of the NumPy twin from warm start state."""
    if isinstance(model, P._RowPenalty):
        W, gap, ep = bcd_tasks(df, model, state, epochs, tol)
        yy = float(np.sum(df.y_eff.astype(float) ** 2))
        return W, tol is not None and gap <= tol * yy, ep
    parts, gaps, ep = bcd_structured(df, model, state, epochs, tol)
    return parts, tol is not None and bool(np.all(gaps <= tol * block_norms2(df, len(gaps)))), ep


def epoch_speed(df, W_true, quick):
    """Seconds per epoch, kernel (1 thread) and NumPy twin, same iterates."""
    k_ref = 1
    k_ker = 5 if quick else 20
    rows = []
    for name, model in models(df, W_true):
        ker = per_epoch(lambda k: _kernel(df, model, max_iter=k, tol=-1, n_threads=1),
                        k_ker, True)
        ref = per_epoch(lambda k: _reference(df, model, None, k, None), k_ref)
        rows.append(dict(model=name, kernel_s=ker, reference_s=ref, ratio=ref / ker))
    return rows


def solve_speed(df, W_true, tol=1e-4, max_time=60.0):
    """Whole solves to the same certificate (each block's gap <= tol *
    ||y_block||^2) for every model: the compiled solver as the estimators run
    it (1 thread, working sets and screening where they apply) against the
    NumPy twin's plain epochs (gap checked after every epoch), run in chunks
    of 10 warm-started epochs until it certifies or max_time passes; then the
    ratio is a lower bound (reported with ">")."""
    rows = []
    for name, model in models(df, W_true):
        _kernel(df, model, max_iter=1, tol=-1, n_threads=1)
        t0 = time.perf_counter()
        n_iter = _kernel(df, model, max_iter=100000, tol=tol, n_threads=1)
        ker = time.perf_counter() - t0
        state, done, ref_epochs = None, False, 0
        t0 = time.perf_counter()
        while not done and time.perf_counter() - t0 < max_time:
            state, done, ep = _reference(df, model, state, 10, tol)
            ref_epochs += ep
        ref = time.perf_counter() - t0
        rows.append(dict(model=name, tol=tol, kernel_s=ker, kernel_epochs=int(np.max(n_iter)),
                         reference_s=ref, reference_epochs=ref_epochs,
                         reference_done=bool(done), ratio=ref / ker))
    return rows


def block_diagonal(df):
    """(X_bd CSC (N, p*T), y_s) with column j*T + t = task t's rows of
    feature j, rows scaled by sqrt(N / n_t) (see the module docstring)."""
    X = df.X_eff if sparse.issparse(df.X_eff) else sparse.csc_matrix(df.X_eff)
    X = X.tocoo()
    N, p, T = df.n_samples, df.n_features, df.n_tasks
    task_of_row = np.repeat(np.arange(T), df.task_sizes)
    # X_eff rows already carry sqrt(1 / n_t); skglm's 1/(2N) needs sqrt(N) more
    cols = X.col * T + task_of_row[X.row]
    Xbd = sparse.csc_matrix((X.data * np.sqrt(N), (X.row, cols)), shape=(N, p * T))
    return Xbd, df.y_eff.astype(np.float64) * np.sqrt(N)


def objective(df, W, alpha):
    r = df.residual(W)
    return 0.5 * float(r @ r) + alpha * float(np.linalg.norm(W, axis=1).sum())


def time_to_target(df, ratios, max_time):
    from skglm import GroupLasso
    T, p = df.n_tasks, df.n_features
    Xbd, ybd = block_diagonal(df)
    am = alpha_max(df)
    out = []
    for ratio in ratios:
        alpha = am / ratio
        f_star = objective(df, solve_tasks(df, P.L21(alpha), max_iter=100000,
                                           tol=1e-14).coef.T.astype(float), alpha)

        def mtl(tol, threads):
            return solve_tasks(df, P.L21(alpha), max_iter=100000, tol=tol,
                               n_threads=threads).coef.T.astype(float)

        def skglm(tol):
            est = GroupLasso(groups=T, alpha=alpha, fit_intercept=False, tol=tol, max_iter=1000,
                             max_epochs=100000)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(Xbd, ybd)
            return est.coef_.reshape(p, T)
        skglm(1e-2)    # numba compilation, not timed
        rows = []
        for name, run in [("mtlfast[1t]", lambda tol: mtl(tol, 1)),
                          ("mtlfast[2t]", lambda tol: mtl(tol, 2)),
                          ("skglm GroupLasso (block-diagonal)", skglm)]:
            res, f_star = sweep(run, lambda W: objective(df, W, alpha), f_star, 1, max_time)
            rows.append(dict(solver=name, **res))
        out.append(dict(alpha_ratio=ratio, f_star=f_star, results=rows))
    return out


def markdown(records):
    lines = ["Epoch speed (1 thread, same iterates): NumPy reference / compiled kernel", "",
             "| problem | model | kernel s/epoch | reference s/epoch | speed-up |",
             "|---|---|---|---|---|"]
    for rec in records:
        for r in rec.get("epochs", []):
            lines.append(f"| {rec['problem']} | {r['model']} | {r['kernel_s']:.4f} | "
                         f"{r['reference_s']:.2f} | {r['ratio']:.0f}x |")
    lines += ["", "Whole solve to gap <= 1e-4 ||y||^2 (1 thread): compiled solver (working "
              "sets, screening) vs the NumPy twin's plain epochs", "",
              "| problem | model | kernel s (epochs) | reference s (epochs) | speed-up |",
              "|---|---|---|---|---|"]
    for rec in records:
        for r in rec["solve"]:
            lower = "" if r["reference_done"] else ">"
            lines.append(f"| {rec['problem']} | {r['model']} | {r['kernel_s']:.3f} "
                         f"({r['kernel_epochs']}) | {lower}{r['reference_s']:.1f} "
                         f"({r['reference_epochs']}) | {lower}{r['ratio']:.0f}x |")
    if any("target" in rec for rec in records):
        lines += ["", "Time (s) to 1e-6 relative suboptimality, per-task multi-task lasso", "",
                  "| problem | alpha_max / | mtlfast[1t] | mtlfast[2t] | skglm (block-diagonal) "
                  "| skglm / mtlfast[1t] |", "|---|---|---|---|---|---|"]
    for rec in records:
        for b in rec.get("target", []):
            t = {r["solver"]: r.get("time_to_target") for r in b["results"]}
            vals = list(t.values())
            cells = [f"{v:.3f}" if v is not None else "not reached" for v in vals]
            ratio = (f"{vals[2] / vals[0]:.1f}x" if vals[0] and vals[2] else "-")
            lines.append(f"| {rec['problem']} | {b['alpha_ratio']} | " + " | ".join(cells)
                         + f" | {ratio} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--max-time", type=float, default=120.0,
                    help="per solver and target in the skglm sweep")
    ap.add_argument("--reference-time", type=float, default=60.0,
                    help="budget of one whole NumPy-twin solve")
    ap.add_argument("--solve-only", action="store_true",
                    help="only the whole-solve comparison with the NumPy twin")
    args = ap.parse_args(argv)
    records = []
    with threadpool_limits(1, user_api="blas"):
        for name, df, W in problems(args.quick):
            print(f"{name}: N={df.n_samples}, p={df.n_features}, T={df.n_tasks}", flush=True)
            rec = dict(problem=name, n_samples=df.n_samples, n_features=df.n_features,
                       n_tasks=df.n_tasks)
            if not args.solve_only:
                rec["epochs"] = epoch_speed(df, W, args.quick)
                for r in rec["epochs"]:
                    print(f"  {r['model']:<32} kernel {r['kernel_s']:.4f} s/epoch, reference "
                          f"{r['reference_s']:.2f} s/epoch: {r['ratio']:.0f}x", flush=True)
            rec["solve"] = solve_speed(df, W, max_time=args.reference_time)
            for r in rec["solve"]:
                lower = "" if r["reference_done"] else ">"
                print(f"  solve {r['model']:<26} kernel {r['kernel_s']:.3f} s "
                      f"({r['kernel_epochs']} epochs), reference {lower}{r['reference_s']:.1f} s "
                      f"({r['reference_epochs']} epochs): {lower}{r['ratio']:.0f}x", flush=True)
            if not args.solve_only:
                rec["target"] = time_to_target(df, (10, 100), 5.0 if args.quick else args.max_time)
                for b in rec["target"]:
                    print(f"  alpha_max/{b['alpha_ratio']}: " + ", ".join(
                        f"{r['solver']} {r.get('time_to_target')}" for r in b["results"]),
                        flush=True)
            records.append(rec)
    os.makedirs(RESULTS, exist_ok=True)
    suffix = "_solve" if args.solve_only else ""
    with open(os.path.join(RESULTS, f"per_task{suffix}.json"), "w") as f:
        json.dump(dict(environment=environment(), records=records), f, indent=1, default=str)
    md = markdown(records)
    with open(os.path.join(RESULTS, f"per_task{suffix}.md"), "w") as f:
        f.write(md + "\n")
    print(md)


if __name__ == "__main__":
    main()
