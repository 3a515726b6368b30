"""Side-by-side benchmark of mtlfast against peers on the suite problems.

    python benchmarks/run.py [--quick] [--problems meg wide sparse ...]
                             [--ratios 10 100] [--out benchmarks/results]

Metric: time for each solver to reach a relative suboptimality of 1e-6,
(f(W) - f*) / f* <= 1e-6, against a high-precision reference objective f*
computed in the same run (mtlfast at tol=1e-14, then lowered to the best
objective any solver reached). A solver's tolerance is swept 1e-2, 1e-3, ...
until its solution meets the target; the reported time is that of the single
fit that first met it (each fit timed alone, best of --repeat). Also reported:
time and suboptimality at the solver's default tolerance. BLAS is limited to
one thread for every solver; mtlfast runs with 1 and 2 OpenMP threads.
Results are written as JSON and a markdown table, with versions and thread
settings.

Peers: scikit-learn, skglm and celer when importable (`pip install .[bench]`);
adelie, run by the Python named in MTLFAST_BENCH_ADELIE_PYTHON (it pins
numpy < 2, so it gets its own venv: `python -m venv .venv-adelie &&
.venv-adelie/bin/pip install adelie`); R's glmnet when `Rscript` can load it
(Debian: `apt-get install r-base-core r-cran-glmnet`). The last two run in
their own process: the time and peak memory are measured there, around the
solver call alone.
"""
import argparse
import datetime
import json
import os
import platform
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from problems import RATIOS, SIZES, make_problem  # noqa: E402
from solvers import available, quiet_fit  # noqa: E402
from roofline import describe, roofline  # noqa: E402
from memory import peak_extra_bytes  # noqa: E402

TARGET = 1e-6
TOLS = [10.0 ** -k for k in range(2, 15)]


def objective(problem, W, alpha):
    X, Y = problem.X, problem.Y
    R = Y - np.asarray(X @ W)
    return 0.5 * float(np.sum(R * R)) / X.shape[0] + alpha * float(np.linalg.norm(W, axis=1).sum())


def timed(fn, repeat, measure_memory=False, solver=None):
    """Best time of `repeat` calls of fn; the first call also gives the peak
    resident memory above the pre-call level (MB) when asked. A solver run in
    its own process (External) reports the time and peak memory of the solver
    call measured inside that process; those replace the wall-clock figures."""
    best, out, peak = np.inf, None, None
    for i in range(repeat):
        def run():
            t0 = time.perf_counter()
            res = fn()
            return res, time.perf_counter() - t0
        if measure_memory and i == 0:
            (out, t), peak = peak_extra_bytes(run)
        else:
            out, t = run()
        inner = getattr(solver, "inner_time", None)
        if inner is not None:
            t = inner
            if measure_memory and i == 0:
                peak = solver.inner_peak_mb
                peak = None if peak is None else peak * 1e6
        best = min(best, t)
    return best, out, (None if peak is None else peak / 1e6)


def sweep(run, objectives, f_star, repeat, max_time, solver=None):
    """Run `run(tol)` for tol = 1e-2, 1e-3, ... until every point of its
    solution is within TARGET relative suboptimality of f_star (lowered to the
    best objective seen). Returns the fields of a result row and f_star."""
    spent = 0.0
    for tol in TOLS:
        t, W = timed(lambda: run(tol), repeat, solver=solver)[:2]
        spent += t * repeat
        f = objectives(W)
        f_star = np.minimum(f_star, f)
        if np.max((f - f_star) / np.abs(f_star)) <= TARGET:
            return dict(status="ok", time_to_target=t, tol_to_target=tol), f_star
        if spent > max_time:
            return dict(status=f"> {spent:.0f} s without reaching {TARGET:g}",
                        time_to_target=None), f_star
    return dict(status=f"target not reached at tol {TOLS[-1]:g}", time_to_target=None), f_star


def bench_one(problem, ratio, solvers, repeat, max_time):
    alpha = problem.alpha_max / ratio
    ref_solver = next(s for s in solvers if s.name.startswith("mtlfast"))
    t_ref0 = time.perf_counter()
    f_star = objective(problem, quiet_fit(ref_solver, problem, alpha, 1e-14), alpha)
    ref_time = time.perf_counter() - t_ref0
    rows = []
    for s in solvers:
        if not s.applies(problem):
            rows.append(dict(solver=s.name, status="not applicable"))
            continue
        s.warmup(problem)
        t_def, W, peak = timed(lambda: quiet_fit(s, problem, alpha, s.default_tol), repeat,
                               measure_memory=True, solver=s)
        row = dict(solver=s.name, time_default_tol=t_def, peak_extra_mb=peak,
                   subopt_default_tol=(objective(problem, W, alpha) - f_star) / abs(f_star))
        res, f_star = sweep(lambda tol: quiet_fit(s, problem, alpha, tol),
                            lambda W: objective(problem, W, alpha), f_star, repeat, max_time,
                            solver=s)
        row.update(res)
        rows.append(row)
    return dict(alpha_ratio=ratio, alpha=alpha, f_star=float(f_star), reference_time=ref_time,
                results=rows)


N_PATH = 20


def bench_path(problem, solvers, repeat, max_time):
    """Time for a 20-point warm-started path alpha_max -> alpha_max/100 whose
    every point reaches relative suboptimality 1e-6 (tolerance swept)."""
    alphas = np.geomspace(problem.alpha_max, problem.alpha_max / 100, N_PATH)

    def objectives(W):
        return np.array([objective(problem, W[..., k], a) for k, a in enumerate(alphas)])

    def quiet_path(s, tol):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return s.path(problem, alphas, tol)

    ref = next(s for s in solvers if s.name.startswith("mtlfast"))
    f_star = objectives(quiet_path(ref, 1e-13))
    rows = []
    for s in solvers:
        if not s.applies(problem):
            rows.append(dict(solver=s.name, status="not applicable"))
            continue
        s.warmup(problem)
        res, f_star = sweep(lambda tol: quiet_path(s, tol), objectives, f_star, repeat,
                            max_time, solver=s)
        rows.append(dict(solver=s.name, **res))
    return dict(alpha_ratio="path", alpha=list(alphas), results=rows)


def fmt_time(x):
    return "-" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def _solver_names(records):
    """Solver names in order of first appearance."""
    names = []
    for rec in records:
        for r in rec["results"]:
            if r["solver"] not in names:
                names.append(r["solver"])
    return names


def markdown(records):
    solvers = _solver_names(records)
    head = "| problem (n, p, T) | alpha_max / | " + " | ".join(solvers) + \
        " | speed-up of mtlfast[1t] over fastest peer |"
    lines = [head, "|" + "---|" * (len(solvers) + 3)]
    for rec in records:
        cells, peer_best, ours = [], None, None
        for name in solvers:
            r = next((r for r in rec["results"] if r["solver"] == name), None)
            if r is None or r.get("time_to_target") is None:
                cells.append(r["status"] if r else "-")
                continue
            t = r["time_to_target"]
            cells.append(fmt_time(t))
            if name == "mtlfast[1t]":
                ours = t
            elif not name.startswith("mtlfast"):
                peer_best = t if peer_best is None else min(peer_best, t)
        ratio = f"{peer_best / ours:.2f}x" if ours and peer_best else "-"
        n, p, T = rec["shape"]
        ar = rec["alpha_ratio"]
        ar = f"{ar:g}" if not isinstance(ar, str) else "20-pt path to 100"
        lines.append(f"| {rec['problem']} ({n}, {p}, {T}) | {ar} | "
                     + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


def memory_markdown(records):
    """Peak resident memory above the pre-fit level (MB) of the default-tol fit."""
    solvers = _solver_names(records)
    lines = ["| problem | alpha_max / | " + " | ".join(solvers) + " |",
             "|" + "---|" * (len(solvers) + 2)]
    for rec in records:
        cells = []
        for name in solvers:
            r = next((r for r in rec["results"] if r["solver"] == name), None)
            mb = None if r is None else r.get("peak_extra_mb")
            cells.append("-" if mb is None else f"{mb:.0f}")
        ar = rec["alpha_ratio"]
        ar = f"{ar:g}" if not isinstance(ar, str) else "path"
        lines.append(f"| {rec['problem']} | {ar} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def environment():
    import mtlfast
    return dict(date=datetime.datetime.now().isoformat(timespec="seconds"),
                python=platform.python_version(), machine=platform.machine(),
                cpu_count=os.cpu_count(), mtlfast=mtlfast.config(),
                threadpools_during_runs=threadpool_info(),
                OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS"))


def peer_versions(solvers):
    """Version of each solver's package (external ones: as their worker
    reported it)."""
    import importlib
    out = {}
    for s in solvers:
        v = getattr(s, "version", None)
        if v is None and not hasattr(s, "inner_time"):
            try:
                v = getattr(importlib.import_module(s.package), "__version__", "?")
            except ImportError:
                v = None
        out[s.name] = v
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="scaled-down problems (under 2 minutes)")
    ap.add_argument("--problems", nargs="+", default=list(SIZES), choices=list(SIZES))
    ap.add_argument("--ratios", nargs="+", type=float, default=None,
                    help="alpha = alpha_max / ratio (default: the suite's, 10 and 100; "
                         "100 and 1000 for sparse-lasso)")
    ap.add_argument("--repeat", type=int, default=1, help="best of R timings per fit")
    ap.add_argument("--max-time", type=float, default=None,
                    help="give up on a solver after this many seconds of fitting per "
                         "problem and alpha (default 120; 5 with --quick)")
    ap.add_argument("--threads", default="1,2",
                    help="comma-separated mtlfast thread counts to run (scaling mode: 1,2,4,8)")
    ap.add_argument("--solvers", nargs="+", default=None,
                    help="only these solvers (names as printed, e.g. scikit-learn celer)")
    ap.add_argument("--path-problems", nargs="*", default=["meg", "wide", "sparse"],
                    choices=list(SIZES), help="problems also run as a 20-point path")
    ap.add_argument("--no-roofline", action="store_true",
                    help="skip the full-pass vs peak/bandwidth measurement")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    args = ap.parse_args(argv)

    if args.max_time is None:
        args.max_time = 5.0 if args.quick else 120.0
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    solvers, missing = available(threads)
    if args.solvers:
        solvers = [s for s in solvers if s.name in args.solvers or
                   (s.name.startswith("mtlfast") and "mtlfast" in args.solvers)]
    print(f"solvers: {[s.name for s in solvers]}; not installed: {missing}")
    records = []
    roof = None
    if not args.no_roofline:
        roof = roofline(quick=args.quick)
        print(describe(roof))
    with threadpool_limits(1, user_api="blas"):
        env = environment()
        for name in args.problems:
            prob = make_problem(name, quick=args.quick)
            if name in (args.path_problems or []):
                rec = bench_path(prob, solvers, args.repeat, args.max_time)
                rec.update(problem=name, shape=prob.shape, meta=prob.meta)
                records.append(rec)
                for r in rec["results"]:
                    print(f"  {name:<13} 20-point path  {r['solver']:<14} "
                          f"to 1e-6: {fmt_time(r.get('time_to_target')):>8} s   {r['status']}")
            for ratio in (args.ratios or RATIOS[name]):
                rec = bench_one(prob, ratio, solvers, args.repeat, args.max_time)
                rec.update(problem=name, shape=prob.shape, meta=prob.meta)
                records.append(rec)
                for r in rec["results"]:
                    print(f"  {name:<13} alpha_max/{ratio:<5g} {r['solver']:<14} "
                          f"to 1e-6: {fmt_time(r.get('time_to_target')):>8} s   "
                          f"default tol: {fmt_time(r.get('time_default_tol')):>8} s "
                          f"(subopt {r.get('subopt_default_tol', float('nan')):.1e})   "
                          f"peak +{r.get('peak_extra_mb') or 0:.0f} MB   {r['status']}")
            for s in solvers:          # stop the external workers of this problem
                if hasattr(s, "close"):
                    s.close(prob)
    table = markdown(records)
    print("\nTime (s) to relative suboptimality 1e-6, single-threaded BLAS:\n")
    print(table)
    mem = memory_markdown(records)
    print("\nPeak resident memory above the pre-fit level (MB), default tolerance:\n")
    print(mem)
    os.makedirs(args.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = os.path.join(args.out, f"bench-{'quick-' if args.quick else ''}{stamp}")
    with open(base + ".json", "w") as fh:
        env["solver_versions"] = peer_versions(solvers)
        json.dump(dict(environment=env, target=TARGET, quick=args.quick, records=records,
                       roofline=roof),
                  fh, indent=1, default=str)
    with open(base + ".md", "w") as fh:
        fh.write("Solvers: " + ", ".join(f"{k} {v}" for k, v in env["solver_versions"].items())
                 + "\n\n" + table + "\n")
        fh.write("\nPeak resident memory above the pre-fit level (MB), default tolerance:\n\n"
                 + mem + "\n")
        if roof:
            fh.write("\n" + describe(roof) + "\n")
    print(f"\nwrote {base}.json and {base}.md")


if __name__ == "__main__":
    main()
