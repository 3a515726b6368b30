"""Two builds of mtlfast side by side: the same public fits, timed in
alternation in one sitting (for a refactor that must not slow anything).

    pip install --no-deps --no-build-isolation --target /tmp/mtl_base <old checkout>
    pip install --no-deps --no-build-isolation --target /tmp/mtl_cur <new checkout>
    python benchmarks/compare_builds.py --baseline /tmp/mtl_base --current /tmp/mtl_cur \
        [--quick] [--repeat 3]

Compare two installs of the same kind: an editable install (pip install -e)
ran shape:random-7 1.4x slower than the very same commit installed with
--target (19 vs 13.5 ms, 60% more minor page faults; measured 2026-11-30),
which the two previous reviews took for a regression of the code.

Each fit runs in a child process (`--child`), once per build in turn, `--rounds`
times; a child fits `--repeat` times and reports its best time, n_iter_ and
dual_gap_. The table gives, per fit, the best time of each build over all
rounds and their ratio (current / baseline; < 1 is faster), and the largest
difference of the two builds' coefficients (relative to the largest one). The fits are the estimators'
defaults (fit_intercept=True, n_threads=None, tol=1e-4) on the suite's
problems (benchmarks/problems.py) at two strengths, per-task data, every
structured model, the logistic solver, and shapes the suite does not contain
(issue 15's tall problems, a dense one-task lasso, eight shapes drawn
from seeds); the machine's thread settings are
recorded. The current build is --current's directory, or the installed
mtlfast (run from outside the source tree); the baseline is the directory given, imported with any
editable-install import hook removed (such a hook shadows PYTHONPATH); each
child reports the directory it imported and the run stops if both match.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = ["meg", "wide", "tall", "sparse", "many-tasks", "sparse-lasso"]


def _suite_case(name, ratio, quick):
    sys.path.insert(0, HERE)
    from problems import make_problem
    import mtlfast
    pb = make_problem(name, quick=quick)
    X, Y = pb.X, pb.Y
    Xc = X - X.mean(axis=0) if not hasattr(X, "tocsc") else X
    Yc = Y - Y.mean(axis=0)
    XtY = np.asarray(Xc.T @ Yc)
    if Y.shape[1] == 1:
        alpha = float(np.abs(XtY).max() / X.shape[0]) / ratio
        return mtlfast.Lasso(alpha=alpha), (X, Y[:, 0]), {}
    alpha = float(np.linalg.norm(XtY, axis=1).max() / X.shape[0]) / ratio
    return mtlfast.MultiTaskLasso(alpha=alpha), (X, Y), {}


def _per_task_case(model, quick):
    import mtlfast
    from mtlfast.datasets import make_per_task_regression
    rng = np.random.default_rng(0)
    T = 20 if quick else 50
    sizes = rng.integers(40, 200 if quick else 400, T)
    X, y, tasks, _ = make_per_task_regression(sizes, n_features=500 if quick else 2000, seed=0)
    scale = 0.05
    if model == "mtlasso":
        est = mtlfast.MultiTaskLasso(alpha=scale)
    elif model == "lasso":
        est = mtlfast.Lasso(alpha=scale)
    elif model == "dirty":
        est = mtlfast.DirtyMultiTaskLasso(alpha_shared=scale, alpha_specific=2 * scale)
    elif model == "meanreg":
        est = mtlfast.MeanRegularizedMultiTask(alpha_shared=scale, alpha_specific=2 * scale,
                                               shared_penalty="l1", specific_penalty="l1")
    elif model == "graph":
        # a ring of tasks (each linked to its two neighbours)
        A = np.zeros((T, T))
        A[np.arange(T), (np.arange(T) + 1) % T] = 1.0
        est = mtlfast.TaskGraphMultiTask(alpha=scale, graph_alpha=0.05, similarity=A + A.T)
    elif model == "transfer":
        est = mtlfast.TransferLasso(alpha=scale, beta=0.5, coef_source=np.zeros((T, X.shape[1])))
    else:
        raise ValueError(model)
    return est, (X, y), {"tasks": tasks}


def _shape_case(name, quick):
    """Shapes the suite does not contain, with the estimators' defaults: the
    tall problems of issue 15, a dense one-task lasso, and shapes drawn at
    random from a seed (n/p ratio, T, correlation, density, alpha)."""
    import mtlfast
    from scipy import sparse
    from mtlfast.datasets import make_multitask_regression
    shrink = 4 if quick else 1
    if name == "tall-gauss":
        n, p, T, frac, dens, rho = 30000, 400, 8, 10, None, 0.0
    elif name == "tall-intercept":
        n, p, T, frac, dens, rho = 40000, 250, 5, 10, None, 0.0
    elif name == "lasso-dense":
        n, p, T, frac, dens, rho = 2000, 4000, 1, 100, None, 0.0
    else:                                   # random-<seed>
        rng = np.random.default_rng(int(name.split("-")[1]))
        T = int(rng.choice([1, 3, 8, 20]))
        n = int(10 ** rng.uniform(2.5, 4.3))
        p = int(np.clip(10 ** rng.uniform(2.3, 4.3), 50, 4e7 / (n * max(T, 4))))
        rho = float(rng.choice([0.0, 0.5, 0.9]))
        frac = float(rng.choice([5, 20, 100]))
        dens = float(rng.choice([0.005, 0.05])) if rng.random() < 0.3 else None
    n, p = max(n // shrink, 50), max(p // shrink, 20)
    X, Y, _ = make_multitask_regression(n_samples=n, n_features=p, n_tasks=T, rho=rho, seed=3)
    if dens is not None:
        mask = np.random.default_rng(4).random(X.shape) < dens
        X = sparse.csc_matrix(X * mask)
        Y = np.asarray(X @ np.random.default_rng(5).standard_normal((p, T))) + \
            0.1 * np.random.default_rng(6).standard_normal((n, T))
    Xc = X - X.mean(axis=0) if dens is None else X
    XtY = np.asarray(Xc.T @ (Y - Y.mean(axis=0)))
    if T == 1:
        return mtlfast.Lasso(alpha=float(np.abs(XtY).max() / n) / frac), (X, Y[:, 0]), {}
    alpha = float(np.linalg.norm(XtY, axis=1).max() / n) / frac
    return mtlfast.MultiTaskLasso(alpha=alpha), (X, Y), {}


def _logistic_case(penalty, quick):
    import mtlfast
    from mtlfast.datasets import make_multitask_regression
    n, p, T = (500, 1000, 5) if quick else (2000, 5000, 10)
    X, Y, _ = make_multitask_regression(n_samples=n, n_features=p, n_tasks=T, seed=1)
    Yb = (Y > np.median(Y, axis=0)).astype(float)
    est = mtlfast.MultiTaskLogisticRegression(penalty=penalty, alpha=0.01, tol=1e-6)
    return est, (X, Yb), {}


def _logistic_random_case(seed, quick):
    """A logistic fit drawn from a seed, with the estimator's defaults
    (fit_intercept=True, tol=1e-6, n_threads=None): n, p, T, correlation,
    sparse or dense, penalty, alpha as a fraction of alpha_max, and label
    noise (nearly separable labels are where proximal Newton's inner solves
    work hardest)."""
    import mtlfast
    from scipy import sparse
    from mtlfast.datasets import make_multitask_regression
    rng = np.random.default_rng(seed)
    T = int(rng.choice([1, 3, 8, 20]))
    n = int(10 ** rng.uniform(2.3, 3.8))
    p = int(np.clip(10 ** rng.uniform(1.3, 3.7), 10, 2e7 / (n * max(T, 4))))
    rho = float(rng.choice([0.0, 0.5, 0.9]))
    frac = float(rng.choice([3, 10, 50]))
    noise = float(rng.choice([0.1, 1.0, 3.0]))
    penalty = str(rng.choice(["l1", "l21"])) if T > 1 else "l1"
    dens = float(rng.choice([0.01, 0.1])) if rng.random() < 0.3 else None
    if quick:
        n, p = max(n // 4, 50), max(p // 4, 10)
    X, Y, _ = make_multitask_regression(n_samples=n, n_features=p, n_tasks=T, rho=rho, seed=seed)
    if dens is not None:
        X = sparse.csc_matrix(X * (np.random.default_rng(seed + 1).random(X.shape) < dens))
        Y = np.asarray(X @ np.random.default_rng(seed + 2).standard_normal((p, T)))
    Y = Y / Y.std(axis=0).clip(1e-12) + noise * np.random.default_rng(seed + 3).standard_normal(Y.shape)
    Yb = (Y > np.median(Y, axis=0)).astype(float)
    est = mtlfast.MultiTaskLogisticRegression(penalty=penalty, alpha=1.0)
    est.set_params(alpha=est._alpha_max(X, Yb) / frac)
    return est, (X, Yb), {}


def cases(quick):
    out = []
    for name in SUITE:
        for ratio in ((100, 1000) if name == "sparse-lasso" else (10, 100)):
            out.append(f"suite:{name}:{ratio}")
    for model in ("mtlasso", "lasso", "dirty", "meanreg", "graph", "transfer"):
        out.append(f"per-task:{model}")
    for penalty in ("l21", "l1"):
        out.append(f"logistic:{penalty}")
    for name in ("tall-gauss", "tall-intercept", "lasso-dense"):
        out.append(f"shape:{name}")
    out += [f"shape:random-{k}" for k in range(8)]
    out += [f"logistic-random-{k}" for k in range(8)]
    return out


def build_case(case, quick):
    kind, *rest = case.split(":")
    if kind.startswith("logistic-random-"):
        kind, rest = "logistic-random", [kind.rsplit("-", 1)[1]]
    if kind == "suite":
        return _suite_case(rest[0], float(rest[1]), quick)
    if kind == "per-task":
        return _per_task_case(rest[0], quick)
    if kind == "shape":
        return _shape_case(rest[0], quick)
    if kind == "logistic-random":
        return _logistic_random_case(int(rest[0]), quick)
    return _logistic_case(rest[0], quick)


def _import_build(baseline):
    """Import mtlfast from the baseline directory (an editable install's
    import hook would otherwise shadow it: PYTHONPATH alone is not enough),
    or the installed build; returns the imported package's directory."""
    if baseline:
        sys.meta_path[:] = [f for f in sys.meta_path
                            if "redirect" not in type(f).__name__.lower()
                            and "editable" not in type(f).__name__.lower()]
        sys.path.insert(0, baseline)
    import mtlfast
    where = os.path.dirname(os.path.abspath(mtlfast.__file__))
    if baseline and not where.startswith(os.path.abspath(baseline)):
        raise RuntimeError(f"the baseline run imported mtlfast from {where}")
    return where


def child(case, quick, repeat, baseline):
    where = _import_build(baseline)
    est, args, kw = build_case(case, quick)
    import warnings
    best = np.inf
    for _ in range(repeat):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            est.fit(*args, **kw)
            best = min(best, time.perf_counter() - t0)
    coef = np.asarray(est.coef_, dtype=np.float64)
    print(json.dumps({"time": best, "build": where, "n_iter": np.asarray(est.n_iter_).tolist(),
                      "gap": float(np.sum(est.dual_gap_)),
                      "coef_sum": float(np.abs(coef).sum()),
                      "coef": coef.ravel()[:: max(1, coef.size // 2000)].tolist()}))


def run_child(case, quick, repeat, build):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    cmd = [sys.executable, os.path.abspath(__file__), "--child", case, "--repeat", str(repeat)]
    if build:
        cmd += ["--baseline", build]
    if quick:
        cmd.append("--quick")
    out = subprocess.run(cmd, env=env, cwd="/", capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", help="install directory of the baseline build")
    ap.add_argument("--current", default=None,
                    help="install directory of the current build (default: the installed one)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="fits per child (best kept)")
    ap.add_argument("--rounds", type=int, default=2, help="children per build per fit")
    ap.add_argument("--cases", nargs="*", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "compare_builds.json"))
    a = ap.parse_args()
    if a.child:
        child(a.child, a.quick, a.repeat, a.baseline)
        return
    if not a.baseline:
        ap.error("--baseline is required")
    from threadpoolctl import threadpool_info
    info = {"cpu_count": os.cpu_count(), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "blas": [{k: d.get(k) for k in ("internal_api", "version", "num_threads")}
                     for d in threadpool_info()], "quick": a.quick, "repeat": a.repeat,
            "rounds": a.rounds, "baseline": a.baseline, "current": a.current or "installed"}
    rows = []
    print("| fit | baseline s | current s | current / baseline | coef diff | n_iter "
          "(base / cur) |")
    print("|---|---|---|---|---|---|")
    for case in a.cases or cases(a.quick):
        base, cur = [], []
        for _ in range(a.rounds):
            base.append(run_child(case, a.quick, a.repeat, a.baseline))
            cur.append(run_child(case, a.quick, a.repeat, a.current))
        if base[0]["build"] == cur[0]["build"]:
            raise RuntimeError(f"both builds imported from {cur[0]['build']}")
        tb = min(r["time"] for r in base)
        tc = min(r["time"] for r in cur)
        cb, cc = np.asarray(base[0]["coef"]), np.asarray(cur[0]["coef"])
        diff = float(np.abs(cb - cc).max() / max(np.abs(cb).max(), 1e-300))
        rows.append({"case": case, "baseline": tb, "current": tc, "ratio": tc / tb,
                     "coef_rel_diff": diff, "n_iter": [base[0]["n_iter"], cur[0]["n_iter"]],
                     "gap": [base[0]["gap"], cur[0]["gap"]]})
        nb, nc = base[0]["n_iter"], cur[0]["n_iter"]
        short = (lambda v: v if np.ndim(v) == 0 else f"max {max(v)}")
        print(f"| {case} | {tb:.4f} | {tc:.4f} | {tc / tb:.2f} | {diff:.1e} | "
              f"{short(nb)} / {short(nc)} |", flush=True)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump({"machine": info, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
