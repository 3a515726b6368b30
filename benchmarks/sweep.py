"""Shape sweep: mtlfast against every installed peer on a seeded random draw of
problems, not on chosen shapes (issue 15).

    python benchmarks/sweep.py [--seed 0] [--n-problems 30] [--quick]
                               [--max-time 30] [--repeat 3] [--out benchmarks/results]
    python benchmarks/sweep.py --load [--seed 0] [--n-problems 10]

Each problem is drawn from the seed: n / p log-uniform in [0.02, 100], T in
{1, 2, 4, ..., 256}, AR(1) column correlation in [0, 0.95], dense or CSC
(uniform or Zipf-like column densities), an intercept on half of the draws,
a true support of 0.1% to 50% of the features, alpha from alpha_max / 10 to
alpha_max / 1000 (log-uniform), sizes so that one fit stays in seconds.
Model: the lasso (T = 1) or the multi-task lasso (L2,1), scikit-learn's
objective  1/(2n) ||Y - X W - 1 b^T||^2 + alpha sum_j ||W_j||_2  (b free when
there is an intercept, else 0).

Metric, as in run.py: the time of the first fit whose solution is within 1e-6
relative suboptimality of f* (each solver's tolerance swept 1e-2, 1e-3, ...;
f* from mtlfast at tol 1e-14 within 4 x --max-time seconds, lowered to the
best objective any solver reached), best of --repeat. Peers: scikit-learn, skglm, celer, and glum
for T = 1 (absent ones are listed). mtlfast runs on one thread (the peers are
single-threaded; BLAS is limited to one thread for everyone) and with its
default n_threads; its X-passes (entries of X read over nnz(X), from the
estimator's x_passes_) are reported next to the time. The summary gives the
worst and the median ratio (fastest peer's time / mtlfast's) over the draw.

--load: a plain compute loop keeps one core busy while mtlfast is timed with
n_threads=1 and with the default n_threads (the default must never be the
slower); without --load the same two columns measure the quiet-machine
speedup of the default over one thread.
"""
import argparse
import datetime
import json
import multiprocessing
import os
import subprocess
import sys
import time
import warnings
from types import SimpleNamespace

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from problems import _zipf_sparse  # noqa: E402
import solvers  # noqa: E402
from cv import timed as best_time  # noqa: E402

TARGET = 1e-6
TOLS = [10.0 ** -k for k in range(2, 15)]


# ---- the draw --------------------------------------------------------------

def draw(rng, quick):
    """One problem's parameters (a dict), from rng."""
    budget = 10 ** rng.uniform(5.0, 5.7) if quick else 10 ** rng.uniform(5.5, 6.6)
    ratio = 10 ** rng.uniform(np.log10(0.02), 2.0)          # n / p
    T = int(2 ** rng.integers(0, 9))
    fmt = "csc" if rng.random() < 0.3 else "dense"
    dens = 1.0 if fmt == "dense" else 10 ** rng.uniform(-2.7, -1.3)
    # entries of X (nonzeros for CSC) x T bounded: one fit stays in seconds
    budget = min(budget, (3e6 if quick else 3e7) / T)
    n = int(max(20, np.sqrt(budget * ratio / dens)))
    p = int(max(5, budget / dens / n))
    return dict(n=n, p=p, T=T, fmt=fmt, density=dens,
                zipf=bool(fmt == "csc" and rng.random() < 0.5),
                rho=float(rng.uniform(0.0, 0.95)) if fmt == "dense" else 0.0,
                intercept=bool(rng.random() < 0.5),
                support=float(10 ** rng.uniform(-3.0, np.log10(0.5))),
                alpha_ratio=float(10 ** rng.uniform(1.0, 3.0)),
                seed=int(rng.integers(2 ** 31)))


def make(params):
    """X, Y (n, T) and alpha for the drawn parameters."""
    rng = np.random.default_rng(params["seed"])
    n, p, T = params["n"], params["p"], params["T"]
    k = int(max(1, round(params["support"] * p)))
    if params["zipf"]:
        X = _zipf_sparse(n, p, params["density"], params["seed"])
    elif params["fmt"] == "csc":
        X = sparse.random(n, p, density=params["density"], format="csc", random_state=rng,
                          data_rvs=rng.standard_normal)
    else:
        X = rng.standard_normal((n, p))
        rho = params["rho"]
        for j in range(1, p):
            X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho ** 2) * X[:, j]
        X = np.asfortranarray(X + rng.normal(0.0, 2.0, p))        # columns with offsets
    W = np.zeros((p, T))
    W[rng.choice(p, k, replace=False)] = rng.standard_normal((k, T))
    XW = np.asarray(X @ W)
    Y = XW + 0.5 * np.std(XW) * rng.standard_normal((n, T)) + rng.normal(0, 1.0, T)
    if not np.any(XW):
        Y = rng.standard_normal((n, T))
    Y = np.asfortranarray(Y)
    Xc_T_Yc = _xt(X, _center(Y) if params["intercept"] else Y, params["intercept"])
    alpha_max = float(np.linalg.norm(Xc_T_Yc, axis=1).max() / n)
    return X, Y, alpha_max / params["alpha_ratio"]


def _center(Y):
    return Y - Y.mean(axis=0)


def _xt(X, R, intercept):
    """X_eff^T R for a centered residual R (the centering of X drops out)."""
    return np.asarray(X.T @ R)


def objective(X, Y, W, alpha, intercept):
    R = Y - np.asarray(X @ W)
    if intercept:
        R = _center(R)
    return 0.5 * float(np.sum(R * R)) / X.shape[0] + alpha * float(
        np.linalg.norm(W, axis=1).sum())


# ---- the solvers: fit(X, Y, alpha, tol, intercept) -> W (p, T) ---------------

def _y(Y):
    return Y[:, 0] if Y.shape[1] == 1 else Y


def _coef(est):
    return np.atleast_2d(est.coef_).T


class MtlFast:
    def __init__(self, n_threads, max_time=None):
        self.n_threads = n_threads
        self.max_time = max_time
        self.name = "mtlfast[1t]" if n_threads == 1 else "mtlfast[default]"
        self.x_passes = None

    def applies(self, p):
        return True

    def fit(self, X, Y, alpha, tol, intercept):
        import mtlfast
        Est = mtlfast.Lasso if Y.shape[1] == 1 else mtlfast.MultiTaskLasso
        est = Est(alpha=alpha, tol=tol, max_iter=100000, fit_intercept=intercept,
                  n_threads=self.n_threads, max_time=self.max_time).fit(X, _y(Y))
        self.x_passes = est.x_passes_
        return _coef(est)


class SkLearn:
    name = "scikit-learn"

    def applies(self, p):
        return True

    def fit(self, X, Y, alpha, tol, intercept):
        import sklearn.linear_model as sk
        Est = sk.Lasso if Y.shape[1] == 1 else sk.MultiTaskLasso
        return _coef(Est(alpha=alpha, tol=tol, max_iter=100000,
                         fit_intercept=intercept).fit(X, _y(Y)))


class SkGlm:
    name = "skglm"

    def applies(self, p):
        return True

    def warmup(self):
        rng = np.random.default_rng(0)
        for X in (rng.standard_normal((30, 20)), sparse.random(30, 20, 0.3, format="csc",
                                                                random_state=0)):
            for T in (1, 3):
                for icpt in (False, True):
                    self.fit(X, rng.standard_normal((30, T)), 0.01, 1e-4, icpt)

    def fit(self, X, Y, alpha, tol, intercept):
        import skglm
        Est = skglm.Lasso if Y.shape[1] == 1 else skglm.MultiTaskLasso
        return _coef(Est(alpha=alpha, tol=tol, max_iter=1000, max_epochs=100000,
                         fit_intercept=intercept).fit(X, _y(Y)))


class Celer:
    """celer 0.7.4's path functions (its estimators fail on scikit-learn >=
    1.6): no intercept; multi-task on dense X only."""
    name = "celer"

    def applies(self, p):
        return not p["intercept"] and (p["T"] == 1 or p["fmt"] == "dense")

    def fit(self, X, Y, alpha, tol, intercept):
        return solvers.Celer().fit(SimpleNamespace(X=X, Y=Y), alpha, tol)


class Glum:
    """glum's GeneralizedLinearRegressor (IRLS-CD with active sets), the
    normal family with l1_ratio=1: scikit-learn's lasso objective
    1/(2n) ||y - X w - b||^2 + alpha ||w||_1 (T = 1 only); its tolerance is
    gradient_tol."""
    name = "glum"
    fork_safe = False       # its kernels use OpenMP: a forked child can hang in libgomp

    def applies(self, p):
        return p["T"] == 1

    def warmup(self):
        rng = np.random.default_rng(0)
        for X in (rng.standard_normal((30, 20)), sparse.random(30, 20, 0.3, format="csc",
                                                                random_state=0)):
            self.fit(X, rng.standard_normal((30, 1)), 0.01, 1e-4, True)

    def fit(self, X, Y, alpha, tol, intercept):
        from glum import GeneralizedLinearRegressor
        est = GeneralizedLinearRegressor(family="normal", alpha=alpha, l1_ratio=1.0,
                                         fit_intercept=intercept, gradient_tol=tol,
                                         max_iter=10000).fit(X, Y[:, 0])
        return np.asarray(est.coef_)[:, None]


def peers():
    """The installed peers (absent ones are listed, never silently dropped)."""
    found, absent = [], []
    for cls, mod in ((SkLearn, "sklearn"), (SkGlm, "skglm"), (Celer, "celer"),
                     (Glum, "glum")):
        try:
            __import__(mod)
            found.append(cls())
        except ImportError:
            absent.append(cls.name)
    return found, absent


# ---- timing ------------------------------------------------------------------

def time_to_target(solver, X, Y, alpha, icpt, f_star, repeat, max_time):
    """(time, tol, x_passes, f_star) of the first tolerance whose fit reaches
    TARGET relative suboptimality; time None when none does within max_time."""
    spent = 0.0
    for tol in TOLS:
        t, W = best_time(lambda: solver.fit(X, Y, alpha, tol, icpt), repeat)
        spent += t * repeat
        f = objective(X, Y, W, alpha, icpt)
        f_star = min(f_star, f)
        if (f - f_star) / abs(f_star) <= TARGET:
            return t, tol, getattr(solver, "x_passes", None), f_star
        if spent > max_time:
            break
    return None, None, None, f_star


def quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def _in_child(conn, solver, X, Y, alpha, icpt, f_star, repeat, max_time):
    # one untimed fit first: skglm compiles (numba) each new kind of input on first use
    with threadpool_limits(limits=1, user_api="blas"):     # (a spawned child starts anew)
        _timed_child(conn, solver, X, Y, alpha, icpt, f_star, repeat, max_time)


def _timed_child(conn, solver, X, Y, alpha, icpt, f_star, repeat, max_time):
    quiet(lambda: solver.fit(X, Y, alpha, 1e-1, icpt))
    conn.send(quiet(lambda: time_to_target(solver, X, Y, alpha, icpt, f_star, repeat,
                                           max_time)))
    conn.close()


def guarded(solver, X, Y, alpha, icpt, f_star, repeat, max_time):
    """time_to_target in a forked child (a peer's fit at a tight tolerance
    can run for hours: the child is killed after 2 max_time + 30 s). A
    forked child, except for peers whose kernels use OpenMP (fork_safe =
    False: GNU OpenMP initialized by mtlfast in this process can hang a
    forked child), which run in a spawned one; mtlfast runs in this process."""
    ctx = multiprocessing.get_context("fork" if getattr(solver, "fork_safe", True)
                                      else "spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_in_child,
                       args=(send, solver, X, Y, alpha, icpt, f_star, repeat, max_time))
    omp = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"     # a spawned peer's OpenMP on one thread, as all peers
    try:
        proc.start()
    finally:
        if omp is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = omp
    send.close()
    out = None
    try:
        if recv.poll(2 * max_time + 30):
            out = recv.recv()
    except EOFError:        # the child died (a peer out of memory: glum's p x p Hessian)
        out = None
    proc.kill()
    proc.join()
    return out if out is not None else (None, None, None, f_star)


def bench_problem(params, solvers, repeat, max_time):
    X, Y, alpha = make(params)
    icpt = params["intercept"]
    # the reference at tol 1e-14, within a time budget: the gap can floor above
    # that tolerance in floating point (then the best objective reached counts)
    ref = MtlFast(1, max_time=4 * max_time)
    f_star = objective(X, Y, quiet(lambda: ref.fit(X, Y, alpha, 1e-14, icpt)), alpha, icpt)
    rows = {}
    for s in solvers:
        if not s.applies(params):
            rows[s.name] = dict(status="not applicable")
            continue
        if s.name.startswith("mtlfast"):
            t, tol, xp, f_star = quiet(lambda: time_to_target(s, X, Y, alpha, icpt, f_star,
                                                              repeat, max_time))
        else:
            t, tol, xp, f_star = guarded(s, X, Y, alpha, icpt, f_star, repeat, max_time)
        rows[s.name] = dict(time=t, tol=tol, x_passes=xp,
                            status="ok" if t is not None else "target not reached")
    return dict(params=params, alpha=alpha, f_star=f_star, results=rows)


def ratio_of(rec):
    """Fastest peer's time / mtlfast[1t]'s, and the fastest peer's name (0:
    mtlfast missed the target that a peer reached; None: no peer reached it)."""
    r = rec["results"]
    ours = r.get("mtlfast[1t]", {}).get("time")
    best, name = np.inf, None
    for k, v in r.items():
        if not k.startswith("mtlfast") and v.get("time") is not None and v["time"] < best:
            best, name = v["time"], k
    if name is None:
        return None, name
    if ours is None:
        return 0.0, name          # a peer reached the target, mtlfast did not
    return best / ours, name


# ---- load mode -----------------------------------------------------------------

def bench_load(params, repeat, load):
    X, Y, alpha = make(params)
    icpt = params["intercept"]
    hog = None
    if load:
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
    try:
        t1 = quiet(lambda: best_time(lambda: MtlFast(1).fit(X, Y, alpha, 1e-6, icpt), repeat))[0]
        td = quiet(lambda: best_time(lambda: MtlFast(None).fit(X, Y, alpha, 1e-6, icpt),
                                     repeat))[0]
        t2 = quiet(lambda: best_time(lambda: MtlFast(2).fit(X, Y, alpha, 1e-6, icpt), repeat))[0]
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    return dict(params=params, t_1=t1, t_default=td, t_2=t2)


# ---- report ----------------------------------------------------------------------

def shape_str(p):
    s = f"{p['n']}x{p['p']} T={p['T']} {p['fmt']}"
    if p["fmt"] == "csc":
        s += f" {'zipf' if p['zipf'] else 'unif'} {p['density']:.1%}"
    else:
        s += f" rho={p['rho']:.2f}"
    return s + (" +icpt" if p["intercept"] else "") + (
        f" supp={p['support']:.1%} a=amax/{p['alpha_ratio']:.0f}")


def fmt_t(x):
    return "-" if x is None else f"{x:.4f}"


def markdown(records, names):
    lines = ["| # | problem | " + " | ".join(names) + " | X-passes (1t) | best peer | ratio |",
             "|---|---|" + "---|" * len(names) + "---|---|---|"]
    for i, rec in enumerate(records):
        r = rec["results"]
        cells = []
        for nm in names:
            v = r.get(nm, {})
            cells.append("n/a" if v.get("status") == "not applicable" else fmt_t(v.get("time")))
        xp = r.get("mtlfast[1t]", {}).get("x_passes")
        ratio, peer = ratio_of(rec)
        lines.append(f"| {rec.get('index', i)} | {shape_str(rec['params'])} | " + " | ".join(cells)
                     + f" | {'-' if xp is None else f'{xp:.1f}'} | {peer or '-'} | "
                     + ("-" if ratio is None else f"{ratio:.2f}") + " |")
    return "\n".join(lines)


def summary(records):
    ratios = [ratio_of(r)[0] for r in records]
    ok = [x for x in ratios if x is not None]
    if not ok:
        return "no problem with both mtlfast and a peer reaching the target"
    worst = int(np.argmin([x if x is not None else np.inf for x in ratios]))
    return (f"ratio (fastest peer's time / mtlfast on one thread) over {len(ok)} problems: "
            f"worst {min(ok):.2f} (problem {records[worst].get('index', worst)}), median {np.median(ok):.2f}, "
            f"below 1: {sum(x < 1 for x in ok)}, below 2: {sum(x < 2 for x in ok)}")


def environment():
    import mtlfast
    return dict(date=datetime.datetime.now().isoformat(timespec="seconds"),
                mtlfast=mtlfast.config(),
                threadpools=[{k: d.get(k) for k in ("user_api", "internal_api", "num_threads")}
                             for d in threadpool_info()],
                OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS"), cpu_count=os.cpu_count())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-problems", type=int, default=30)
    ap.add_argument("--quick", action="store_true", help="smaller problems (minutes)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--max-time", type=float, default=30.0,
                    help="seconds per solver and problem before giving up")
    ap.add_argument("--load", action="store_true",
                    help="time 1 thread and the default with one core kept busy")
    ap.add_argument("--quiet-threads", action="store_true",
                    help="the --load table on a quiet machine (no busy loop)")
    ap.add_argument("--only", default=None,
                    help="comma-separated problem numbers of the draw to run (the others "
                         "are drawn, so the numbers keep their problems, but not run)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    draws = [draw(rng, args.quick) for _ in range(args.n_problems)]
    only = (set(range(args.n_problems)) if args.only is None
            else {int(k) for k in args.only.split(",")})
    os.makedirs(args.out, exist_ok=True)
    stamp = (f"sweep-seed{args.seed}" + ("-quick" if args.quick else "")
             + ("" if args.only is None else "-only-" + args.only.replace(",", "-")))
    if args.load or args.quiet_threads:
        rows = []
        print("| problem | 1 thread s | default s | 2 threads s | 1t / default | 1t / 2t |")
        print("|---|---|---|---|---|---|")
        for i, params in enumerate(draws):
            if i not in only:
                continue
            r = bench_load(params, args.repeat, args.load)
            rows.append(r)
            print(f"| {shape_str(params)} | {r['t_1']:.4f} | {r['t_default']:.4f} | "
                  f"{r['t_2']:.4f} | {r['t_1'] / r['t_default']:.2f} | "
                  f"{r['t_1'] / r['t_2']:.2f} |", flush=True)
        sp = [r["t_1"] / r["t_default"] for r in rows]
        print(f"\n{'load' if args.load else 'quiet'}: default vs 1 thread, worst "
              f"{min(sp):.2f}x, median {np.median(sp):.2f}x (>= 1: never slower)")
        name = stamp + ("-load" if args.load else "-threads")
        with open(os.path.join(args.out, name + ".json"), "w") as f:
            json.dump(dict(environment=environment(), rows=rows), f, indent=1, default=float)
        return
    found, absent = peers()
    for s in found:
        if hasattr(s, "warmup"):
            quiet(s.warmup)
    solvers = [MtlFast(1), MtlFast(None)] + found
    names = [s.name for s in solvers]
    print(f"peers: {[s.name for s in found]}; absent: {absent}", flush=True)
    records = []
    with threadpool_limits(limits=1, user_api="blas"):
        env = environment()          # the thread settings the fits run with
        for i, params in enumerate(draws):
            if i not in only:
                continue
            rec = bench_problem(params, solvers, args.repeat, args.max_time)
            rec["index"] = i
            records.append(rec)
            ratio, peer = ratio_of(rec)
            print(f"{i}: {shape_str(params)}: " + ", ".join(
                f"{k} {fmt_t(v.get('time'))}" for k, v in rec["results"].items())
                + f" -> ratio {ratio if ratio is None else round(ratio, 2)} vs {peer}",
                flush=True)
    table = markdown(records, names)
    print("\n" + table + "\n\n" + summary(records))
    with open(os.path.join(args.out, stamp + ".json"), "w") as f:
        json.dump(dict(environment=env, absent=absent, records=records), f,
                  indent=1, default=float)
    with open(os.path.join(args.out, stamp + ".md"), "w") as f:
        f.write(table + "\n\n" + summary(records) + "\n")


if __name__ == "__main__":
    main()
