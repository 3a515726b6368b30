"""One MultiTaskLasso on a LocalCluster of 1, 2 and 4 worker processes
(mtlfast.dask.fit_distributed), on per-task data generated on the workers
(nothing passes through the client), sized to be larger than one worker's
memory limit.

    python benchmarks/dask_fit.py            # 2.2 GiB of data, workers of 2 GiB
    python benchmarks/dask_fit.py --quick    # small, no memory limit (a smoke run)

Full run: T = 24 tasks x n rows x p = 500 features, n chosen so that the
designs take --data-mb (default 2200 MiB as float64) against a memory limit
of --worker-limit-mb (default 2000 MiB) per worker: one worker cannot hold
them (fit_distributed refuses before building anything, with the sizes), two
and four can. alpha = alpha_max / 10, alpha_max estimated in this process on
2000 rows per task (the same generator). Stop: gap <= 1e-6 sum_t ||y_t||^2
(the single-node tolerance).

Per configuration: the outer iterations to 1e-6, per outer iteration the
bytes sent to and received from the workers (numpy payloads), the driver's
wall time per phase (gap pass and reduction, Gram blocks, driver solve,
coefficient update) against the workers' compute time in the same methods
(the slowest shard, worker_busy_), the shards' build time, and the workers'
peak resident memory (sampled every 0.5 s). The same fit on one node (the
whole data in this process, fit(X, y, tasks=...)) is the reference for time
and coefficients. Results: benchmarks/results/dask_fit.json and .md.

The machine has 2 cores: 4 worker processes share them, so the times
measure the protocol and its overheads, not a speed-up. Never run two
benchmarks at once.
"""
import argparse
import json
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from run import environment  # noqa: E402

SUPPORT = 20


def make_task(t, n, p, seed=0):
    """Task t's rows (a pandas DataFrame), generated where it is computed:
    a shared support of SUPPORT features, task-specific weights, unit noise."""
    import pandas as pd
    rng = np.random.default_rng([seed, t])
    X = rng.standard_normal((n, p))
    support = np.random.default_rng(seed).choice(p, SUPPORT, replace=False)
    w = np.zeros(p)
    w[support] = np.random.default_rng([seed, 10 ** 6 + t]).standard_normal(SUPPORT)
    y = X @ w + rng.standard_normal(n) + t
    f = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)], copy=False)
    f["y"] = y
    f["label"] = (y > t).astype(np.int64)     # the classification target (--model logistic)
    f["task"] = t
    return f


def alpha_max_estimate(T, p, n=2000, target="y"):
    """max_j ||(x_tj^T (y_t - mean) / n)_t||_2 on n rows per task (the
    gradient at W = 0 with the intercepts fitted: both losses' alpha_max for
    the L2,1 penalty, with the labels as y for the logistic one)."""
    G = np.empty((p, T))
    for t in range(T):
        f = make_task(t, n, p)
        X = f[[f"x{j}" for j in range(p)]].to_numpy()
        y = f[target].to_numpy().astype(float)
        Xc = X - X.mean(axis=0)
        G[:, t] = Xc.T @ (y - y.mean()) / n
    return float(np.sqrt((G * G).sum(axis=1)).max())


def _rss():
    import psutil
    return psutil.Process().memory_info().rss


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    ap.add_argument("--worker-limit-mb", type=float, default=None,
                    help="each worker's memory limit (default 2000; --quick: none)")
    ap.add_argument("--data-mb", type=float, default=2200.0)
    ap.add_argument("--features", type=int, default=500)
    ap.add_argument("--tasks", type=int, default=24)
    ap.add_argument("--no-single-node", action="store_true")
    ap.add_argument("--model", choices=["lasso", "logistic"], default="lasso",
                    help="MultiTaskLasso (default) or MultiTaskLogisticRegression (L2,1) "
                         "on labels y > t")
    args = ap.parse_args(argv)
    import dask
    import dask.dataframe as dd
    import distributed
    import mtlfast
    from mtlfast.dask import fit_distributed
    if args.quick:
        T, n, p, limit_mb = 8, 400, 200, args.worker_limit_mb
    else:
        T, p = args.tasks, args.features
        n = int(args.data_mb * 2 ** 20 / (T * (p + 3) * 8))
        limit_mb = args.worker_limit_mb or 2000.0
    data_mb = T * n * (p + 3) * 8 / 2 ** 20
    logistic = args.model == "logistic"
    target = "label" if logistic else "y"
    alpha = 0.1 * alpha_max_estimate(T, p, target=target)

    def make():
        return (mtlfast.MultiTaskLogisticRegression(alpha, tol=1e-6) if logistic
                else mtlfast.MultiTaskLasso(alpha, tol=1e-6))
    meta = make_task(0, 1, p)
    ddf = dd.from_delayed([dask.delayed(make_task)(t, n, p) for t in range(T)], meta=meta)
    features = [f"x{j}" for j in range(p)]
    print(f"T={T} n={n} p={p}: {data_mb:.0f} MiB; worker limit {limit_mb} MiB; "
          f"alpha={alpha:.4g}", flush=True)
    records = []
    for k in args.workers:
        cluster = distributed.LocalCluster(n_workers=k, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=50,
                                           memory_limit=(f"{limit_mb:.0f}MiB" if limit_mb
                                                         else None))
        client = distributed.Client(cluster)
        rec = dict(workers=k, data_mb=data_mb, worker_limit_mb=limit_mb)
        peak = [0]
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                try:
                    peak[0] = max(peak[0], max(client.run(_rss).values()))
                except Exception:      # noqa: BLE001 (a worker restarting)
                    pass
                stop.wait(0.5)
        watcher = threading.Thread(target=watch, daemon=True)
        idle = max(client.run(_rss).values())
        watcher.start()
        t0 = time.perf_counter()
        try:
            est = fit_distributed(make(), ddf, client, task="task", target=target,
                                  features=features)
            rec.update(ok=True, time=time.perf_counter() - t0, n_iter=est.n_iter_,
                       gap=est.dual_gap_, target=est.history_[-1]["target"],
                       history=est.history_, rebuilt=est.n_rebuilt_,
                       busy=est.worker_busy_, coef=est.coef_,
                       nnz=int(np.any(est.coef_ != 0, axis=0).sum()))
        except Exception as exc:      # noqa: BLE001 (reported: e.g. the data do not fit)
            rec.update(ok=False, time=time.perf_counter() - t0,
                       error=f"{type(exc).__name__}: {exc}")
        stop.set()
        watcher.join()
        rec.update(idle_rss_mb=idle / 2 ** 20, peak_rss_mb=peak[0] / 2 ** 20)
        client.close()
        cluster.close()
        records.append(rec)
        print(k, "workers:", {kk: v for kk, v in rec.items()
                              if kk not in ("history", "coef", "busy")}, flush=True)
    single = None
    if not args.no_single_node:
        import pandas as pd
        df = pd.concat([make_task(t, n, p) for t in range(T)], ignore_index=True)
        X, y, tasks = df[features].to_numpy(), df[target].to_numpy(), df["task"].to_numpy()
        del df
        t0 = time.perf_counter()
        one = make().fit(X, y, tasks=tasks)
        single = dict(time=time.perf_counter() - t0, n_iter=one.n_iter_,
                      gap=float(one.dual_gap_), nnz=int(np.any(one.coef_ != 0, axis=0).sum()))
        for r in records:
            if r["ok"]:
                r["max_coef_diff_vs_single"] = float(np.abs(r["coef"] - one.coef_).max())
    for r in records:
        r.pop("coef", None)
    os.makedirs(os.path.join(os.path.dirname(__file__), "results"), exist_ok=True)
    out = dict(environment=environment(), model=type(make()).__name__, T=T, n_per_task=n,
               p=p, alpha=alpha,
               single_node=single, records=records)
    stem = "dask_fit" + ("_logistic" if logistic else "")
    with open(os.path.join(os.path.dirname(__file__), "results", stem + ".json"), "w") as f:
        json.dump(out, f, indent=1, default=float)
    text = table(out)
    print(text)
    with open(os.path.join(os.path.dirname(__file__), "results", stem + ".md"), "w") as f:
        f.write(text + "\n")


PHASES = [("gap pass", "t_gap", ("stats", "logistic_stats", "logistic_dual")),
          ("Gram blocks", "t_gram", ("gram", "newton_gram")),
          ("driver solve", "t_solve", ()), ("update", "t_update", ("set_rows", "trial", "step"))]


def table(out):
    """The README's table from the results."""
    single = out["single_node"]
    lim = out["records"][0]["worker_limit_mb"]
    lines = [f"{out['model']}: T = {out['T']} tasks x {out['n_per_task']} rows, p = {out['p']} "
             f"({out['records'][0]['data_mb']:.0f} MiB as float64), worker memory limit "
             f"{lim if lim is None else f'{lim:.0f} MiB'}, alpha = alpha_max / 10"
             + (f"; one node (all data in one process): {single['time']:.2f} s, "
                f"{single['n_iter']} iterations, {single['nnz']} features" if single else ""),
             "",
             "| workers | outcome | fit s | build s | outer iterations to 1e-6 | "
             "sent / iter | received / iter | "
             + " | ".join(f"{name} s / iter (workers)" for name, _, _ in PHASES)
             + " | worker peak MiB (idle) | max coef diff vs one node |",
             "|" + "---|" * (9 + len(PHASES))]
    for r in out["records"]:
        if not r["ok"]:
            lines.append(f"| {r['workers']} | refused: {r['error'][:160]} | {r['time']:.1f} | "
                         + "- | " * (6 + len(PHASES)) + f"{r['peak_rss_mb']:.0f} "
                         f"({r['idle_rss_mb']:.0f}) | - |")
            continue
        h = r["history"]

        def count(key):
            return max(1, sum(key in x for x in h))

        def mean(key):       # over the outer iterations that have the phase
            return sum(x.get(key, 0.0) for x in h) / count(key)
        busy = r["busy"]

        def worker(key, methods):
            if not methods:
                return ""
            slowest = max(sum(b.get(m, 0.0) for m in methods) for b in busy)
            return f" ({slowest / count(key):.3f})"
        build = max(b.get("build", 0.0) for b in busy)
        lines.append(
            f"| {r['workers']} | ok, {r['nnz']} features | {r['time']:.1f} | {build:.1f} | "
            f"{r['n_iter']} | {mean('sent') / 1e3:.0f} kB | {mean('received') / 1e3:.0f} kB | "
            + " | ".join(f"{mean(key):.3f}{worker(key, m)}" for _, key, m in PHASES)
            + f" | {r['peak_rss_mb']:.0f} ({r['idle_rss_mb']:.0f}) | "
            f"{r.get('max_coef_diff_vs_single', float('nan')):.1e} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
