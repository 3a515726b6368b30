"""Solver adapters: each fits  1/(2n)||Y - XW||^2 + alpha ||W||_21  (no
intercept) at a given tolerance and returns W of shape (n_features, n_tasks).

`available()` lists the adapters whose package is installed; the others are
reported as absent, never silently dropped.
"""
import atexit
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

_HERE = os.path.dirname(os.path.abspath(__file__))


class Solver:
    name = "?"
    package = None
    default_tol = 1e-4
    sparse_ok = True

    def applies(self, problem):
        return self.sparse_ok or not hasattr(problem.X, "tocsc")

    def warmup(self, problem):
        pass

    def fit(self, problem, alpha, tol):
        raise NotImplementedError

    def path(self, problem, alphas, tol):
        """Coefficients (p, T, len(alphas)) along a decreasing alpha grid, warm
        started; the default runs warm-started fits."""
        raise NotImplementedError


class MtlFast(Solver):
    package = "mtlfast"

    def __init__(self, n_threads):
        self.n_threads = n_threads
        self.name = f"mtlfast[{n_threads}t]"

    def fit(self, problem, alpha, tol):
        import mtlfast
        T = problem.Y.shape[1]
        kw = dict(alpha=alpha, fit_intercept=False, tol=tol, max_iter=100000,
                  n_threads=self.n_threads)
        est = mtlfast.Lasso(**kw) if T == 1 else mtlfast.MultiTaskLasso(**kw)
        est.fit(problem.X, problem.Y[:, 0] if T == 1 else problem.Y)
        return np.atleast_2d(est.coef_).T

    def path(self, problem, alphas, tol):
        import mtlfast
        Y = problem.Y
        _, coefs, _ = mtlfast.lasso_path(problem.X, Y[:, 0] if Y.shape[1] == 1 else Y,
                                         alphas=alphas, tol=tol, max_iter=100000,
                                         n_threads=self.n_threads)
        return coefs[:, None, :] if Y.shape[1] == 1 else np.transpose(coefs, (1, 0, 2))


class SkLearn(Solver):
    package = "sklearn"
    name = "scikit-learn"

    def applies(self, problem):
        # multi-task sparse X arrived in scikit-learn 1.9
        import sklearn
        from sklearn.utils.fixes import parse_version
        if hasattr(problem.X, "tocsc") and problem.Y.shape[1] > 1:
            return parse_version(sklearn.__version__) >= parse_version("1.9")
        return True

    def fit(self, problem, alpha, tol):
        import sklearn.linear_model as sk
        T = problem.Y.shape[1]
        kw = dict(alpha=alpha, fit_intercept=False, tol=tol, max_iter=100000)
        est = sk.Lasso(**kw) if T == 1 else sk.MultiTaskLasso(**kw)
        est.fit(problem.X, problem.Y[:, 0] if T == 1 else problem.Y)
        return np.atleast_2d(est.coef_).T

    def path(self, problem, alphas, tol):
        from sklearn.linear_model import lasso_path
        Y = problem.Y
        _, coefs, _ = lasso_path(problem.X, Y[:, 0] if Y.shape[1] == 1 else Y, alphas=alphas,
                                 tol=tol, max_iter=100000)
        return coefs[:, None, :] if Y.shape[1] == 1 else np.transpose(coefs, (1, 0, 2))


class SkGlm(Solver):
    """skglm's estimators (numba; compiled on first use, so warmed up on a
    small problem of the same kind before timing)."""
    package = "skglm"
    name = "skglm"

    def _est(self, T, alpha, tol):
        import skglm
        kw = dict(alpha=alpha, fit_intercept=False, tol=tol, max_iter=1000, max_epochs=100000)
        return skglm.Lasso(**kw) if T == 1 else skglm.MultiTaskLasso(**kw)

    def warmup(self, problem):
        X, Y = problem.X, problem.Y
        Xs = X[:50, :30]
        self._est(Y.shape[1], 1e-3, 1e-4).fit(Xs, Y[:50, 0] if Y.shape[1] == 1 else Y[:50])

    def fit(self, problem, alpha, tol):
        T = problem.Y.shape[1]
        est = self._est(T, alpha, tol)
        est.fit(problem.X, problem.Y[:, 0] if T == 1 else problem.Y)
        return np.atleast_2d(est.coef_).T

    def path(self, problem, alphas, tol):
        T = problem.Y.shape[1]
        est = self._est(T, alphas[0], tol)
        est.warm_start = True
        out = []
        for a in alphas:
            est.alpha = a
            est.fit(problem.X, problem.Y[:, 0] if T == 1 else problem.Y)
            out.append(np.atleast_2d(est.coef_).T)
        return np.stack(out, axis=-1)


class Celer(Solver):
    """celer 0.7.4 through celer.homotopy.mtl_path (its estimators do not work
    with scikit-learn >= 1.6; dense X only) and celer_path for T = 1 (dense
    or sparse X)."""
    package = "celer"
    name = "celer"

    def applies(self, problem):
        return problem.Y.shape[1] == 1 or not hasattr(problem.X, "tocsc")

    def fit(self, problem, alpha, tol):
        from celer.homotopy import mtl_path, celer_path
        X, Y = problem.X, problem.Y
        if Y.shape[1] == 1:
            out = celer_path(X, Y[:, 0], "lasso", alphas=np.array([alpha]), tol=tol,
                             max_iter=1000, max_epochs=100000)
            return out[1][:, :1]
        out = mtl_path(X, Y, alphas=np.array([alpha]), tol=tol, max_iter=1000,
                       max_epochs=100000)
        return out[1][..., 0].T

    def path(self, problem, alphas, tol):
        from celer.homotopy import mtl_path, celer_path
        X, Y = problem.X, problem.Y
        if Y.shape[1] == 1:
            out = celer_path(X, Y[:, 0], "lasso", alphas=np.asarray(alphas), tol=tol,
                             max_iter=1000, max_epochs=100000)
            return out[1][:, None, :]
        out = mtl_path(X, Y, alphas=np.asarray(alphas), tol=tol, max_iter=1000,
                       max_epochs=100000)
        return np.transpose(out[1], (1, 0, 2))


class External(Solver):
    """A peer run in its own process (R, or a Python environment with
    incompatible pins). The problem is written once per problem as raw
    little-endian binary files; each fit starts the worker script, which
    times the solver call alone and reports its peak resident memory.
    `inner_time` / `inner_peak_mb` hold the last fit's figures, and the
    benchmark reports those instead of the wall time of the subprocess."""
    script = None
    default_tol = 1e-7

    def __init__(self):
        self.inner_time = None
        self.inner_peak_mb = None
        self.version = None

    def command(self):
        raise NotImplementedError

    def is_available(self):
        cmd = self.command()
        if cmd is None or shutil.which(cmd[0]) is None and not os.path.exists(cmd[0]):
            return False
        probe = subprocess.run(self.probe_command(), capture_output=True, text=True)
        return probe.returncode == 0

    def _data_dir(self, problem):
        d = problem.__dict__.get("_external_dir")
        if d is not None:
            return d
        d = tempfile.mkdtemp(prefix="mtlfast-bench-")
        atexit.register(shutil.rmtree, d, True)
        X, Y = problem.X, problem.Y
        n, p = X.shape
        if hasattr(X, "tocsc"):
            X = X.tocsc()
            X.sort_indices()
            X.indptr.astype("<i4").tofile(os.path.join(d, "indptr.bin"))
            X.indices.astype("<i4").tofile(os.path.join(d, "indices.bin"))
            X.data.astype("<f8").tofile(os.path.join(d, "data.bin"))
        else:
            np.asarray(X, dtype="<f8").ravel(order="F").tofile(os.path.join(d, "X.bin"))
        np.asarray(Y, dtype="<f8").ravel(order="F").tofile(os.path.join(d, "Y.bin"))
        with open(os.path.join(d, "shape.txt"), "w") as fh:
            fh.write(f"{n} {p} {Y.shape[1]} {int(hasattr(X, 'tocsc'))}\n")
        problem._external_dir = d
        return d

    def _worker(self, problem):
        """The worker process of this problem, started on first use (one per
        solver and problem: the data are read once, each fit is one line)."""
        d = self._data_dir(problem)
        procs = problem.__dict__.setdefault("_external_procs", {})
        proc = procs.get(self.name)
        if proc is None or proc.poll() is not None:
            env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                       MKL_NUM_THREADS="1")
            proc = subprocess.Popen(self.command() + [d], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, env=env)
            atexit.register(proc.kill)
            procs[self.name] = proc
        return d, proc

    def _run(self, problem, alphas, tol):
        d, proc = self._worker(problem)
        lam = os.path.join(d, f"lambdas-{self.name}.bin")
        np.asarray(alphas, dtype="<f8").tofile(lam)
        out = os.path.join(d, f"out-{self.name}")
        proc.stdin.write(f"{float(tol)!r} {lam} {out}\n")
        proc.stdin.flush()
        reply = proc.stdout.readline().strip()
        if reply != "ok":
            raise RuntimeError(f"{self.name} worker failed: {reply or 'exited'}")
        with open(out + ".info.txt") as fh:
            elapsed, peak, version = fh.read().split()[:3]
        self.inner_time = float(elapsed)
        self.inner_peak_mb = None if peak == "nan" else max(0.0, float(peak)) / 1e6
        self.version = version
        p, T = problem.X.shape[1], problem.Y.shape[1]
        W = np.fromfile(out + ".W.bin", dtype="<f8")
        return W.reshape((p, T, len(alphas)), order="F")

    def warmup(self, problem):
        # the first fit of a process pays for lazy loading (R's DLLs)
        self._run(problem, [problem.alpha_max], 1e-2)

    def close(self, problem):
        proc = problem.__dict__.get("_external_procs", {}).pop(self.name, None)
        if proc is not None:
            proc.stdin.close()
            proc.wait()

    def fit(self, problem, alpha, tol):
        return self._run(problem, [alpha], tol)[..., 0]

    def path(self, problem, alphas, tol):
        return self._run(problem, alphas, tol)


class Glmnet(External):
    """R's glmnet (Fortran), family "mgaussian" (T = 1: "gaussian"),
    standardize = FALSE, intercept = FALSE; tolerance = glmnet's thresh.
    Needs Rscript with the glmnet package (Debian: r-base-core r-cran-glmnet)."""
    name = "glmnet"
    package = "glmnet (R)"

    def command(self):
        return ["Rscript", os.path.join(_HERE, "external", "glmnet_fit.R")]

    def probe_command(self):
        return ["Rscript", "-e", "suppressMessages(library(glmnet))"]


class Adelie(External):
    """adelie's grpnet with the grouped multi-response Gaussian GLM, run by
    the Python given in MTLFAST_BENCH_ADELIE_PYTHON (adelie pins numpy < 2,
    so it lives in its own environment); tolerance = grpnet's tol."""
    name = "adelie"
    package = "adelie"

    def command(self):
        py = os.environ.get("MTLFAST_BENCH_ADELIE_PYTHON")
        if py is None:
            try:
                importlib.import_module("adelie")
                py = sys.executable
            except ImportError:
                return None
        return [py, os.path.join(_HERE, "external", "adelie_fit.py")]

    def probe_command(self):
        return [self.command()[0], "-c", "import adelie"]


def all_solvers(threads=(1, 2)):
    return [MtlFast(t) for t in threads] + [SkLearn(), SkGlm(), Celer(), Adelie(), Glmnet()]


def available(threads=(1, 2)):
    out, missing = [], []
    for s in all_solvers(threads):
        if isinstance(s, External):
            if s.is_available():
                out.append(s)
            else:
                missing.append(s.name)
            continue
        try:
            importlib.import_module(s.package)
            out.append(s)
        except ImportError:
            missing.append(s.name)
    return out, missing


def quiet_fit(solver, problem, alpha, tol):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return solver.fit(problem, alpha, tol)
