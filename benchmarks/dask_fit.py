"""One MultiTaskLasso on a LocalCluster of 1, 2 and 4 worker processes
(mtlfast.dask.fit_distributed), on per-task data generated on the workers
(nothing passes through the client). --worker-limit-mb sets each worker's
memory limit (it counts the whole process: ~150 MiB of Python and libraries
come first; a limit below that leaves the worker paused, and the fit waits:
the first run of this script hung that way). Not yet: a problem sized above
one worker's limit (issue 18 asks for it).

    python benchmarks/dask_fit.py [--quick]

Per outer iteration (the working-set loop): the bytes sent to and received
from the workers (numpy payloads), the time of the gap pass (every worker's
pass over its data plus the reduction), of the Gram blocks, of the driver's
subproblem solve (the compiled kernel) and of the coefficient update; and the
iterations to the single-node tolerance 1e-6 (gap <= 1e-6 sum_t ||y_t||^2).
The same fit on one node (fit(X, y, tasks=...)) is the reference (when the
data fit in this process). Results: benchmarks/results/dask_fit.json and .md.
The machine has 2 cores: 4 worker processes share them, so the times measure
the protocol, not a speed-up. Never run two benchmarks at once.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from run import environment  # noqa: E402


def make_task(t, n, p, seed=0):
    """Task t's rows (a pandas DataFrame), generated where it is computed."""
    import pandas as pd
    rng = np.random.default_rng([seed, t])
    X = rng.standard_normal((n, p))
    support = np.random.default_rng(seed).choice(p, 20, replace=False)
    w = np.zeros(p)
    w[support] = np.random.default_rng([seed, 10 ** 6 + t]).standard_normal(20)
    y = X @ w + rng.standard_normal(n) + t
    f = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
    f["y"] = y
    f["task"] = t
    return f


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    ap.add_argument("--worker-limit-mb", type=float, default=None)
    args = ap.parse_args(argv)
    import dask
    import dask.dataframe as dd
    import distributed
    import mtlfast
    from mtlfast.dask import fit_distributed
    T, n, p = (8, 400, 200) if args.quick else (24, 1500, 600)
    data_mb = T * n * (p + 2) * 8 / 2 ** 20
    limit_mb = args.worker_limit_mb
    meta = make_task(0, 1, p)
    ddf = dd.from_delayed([dask.delayed(make_task)(t, n, p) for t in range(T)], meta=meta)
    features = [f"x{j}" for j in range(p)]
    records = []
    alpha = 0.05
    for k in args.workers:
        cluster = distributed.LocalCluster(n_workers=k, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=50,
                                           memory_limit=(f"{limit_mb:.0f}MiB" if limit_mb
                                                         else None))
        client = distributed.Client(cluster)
        rec = dict(workers=k, data_mb=data_mb, worker_limit_mb=limit_mb)
        t0 = time.perf_counter()
        try:
            est = fit_distributed(mtlfast.MultiTaskLasso(alpha, tol=1e-6), ddf, client,
                                  task="task", target="y", features=features)
            rec.update(ok=True, time=time.perf_counter() - t0, n_iter=est.n_iter_,
                       gap=est.dual_gap_, history=est.history_, rebuilt=est.n_rebuilt_,
                       coef=est.coef_.tolist() if args.quick else None)
        except Exception as exc:      # noqa: BLE001 (reported: e.g. the data do not fit)
            rec.update(ok=False, time=time.perf_counter() - t0,
                       error=f"{type(exc).__name__}: {str(exc)[:200]}")
        client.close()
        cluster.close()
        records.append(rec)
        print(k, "workers:", {kk: v for kk, v in rec.items() if kk not in ("history", "coef")},
              flush=True)
    # the single-node reference
    import pandas as pd
    df = pd.concat([make_task(t, n, p) for t in range(T)], ignore_index=True)
    t0 = time.perf_counter()
    one = mtlfast.MultiTaskLasso(alpha, tol=1e-6).fit(df[features].to_numpy(), df["y"].to_numpy(),
                                                      tasks=df["task"].to_numpy())
    single = dict(time=time.perf_counter() - t0, n_iter=one.n_iter_, gap=float(one.dual_gap_))
    os.makedirs(os.path.join(os.path.dirname(__file__), "results"), exist_ok=True)
    out = dict(environment=environment(), T=T, n_per_task=n, p=p, alpha=alpha,
               single_node=single, records=records)
    with open(os.path.join(os.path.dirname(__file__), "results", "dask_fit.json"), "w") as f:
        json.dump(out, f, indent=1, default=float)
    lines = [f"T={T} tasks x n={n} rows, p={p} (data {data_mb:.0f} MiB; worker limit "
             f"{limit_mb} MiB); single node: {single['time']:.2f} s, gap {single['gap']:.3g}",
             "", "| workers | outcome | time s | outer iterations | gap | bytes sent / iter | "
             "bytes received / iter | gap pass s / iter | Gram s / iter | driver solve s / iter |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        if not r["ok"]:
            lines.append(f"| {r['workers']} | {r['error'][:60]} | {r['time']:.1f} | - | - | - | "
                         "- | - | - | - |")
            continue
        h = r["history"]

        def mean(key):
            vals = [x[key] for x in h if key in x]
            return float(np.mean(vals)) if vals else float("nan")
        lines.append(f"| {r['workers']} | ok | {r['time']:.2f} | {r['n_iter']} | {r['gap']:.3g} | "
                     f"{mean('sent'):.0f} | {mean('received'):.0f} | {mean('t_gap'):.3f} | "
                     f"{mean('t_gram'):.3f} | {mean('t_solve'):.3f} |")
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(os.path.dirname(__file__), "results", "dask_fit.md"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
