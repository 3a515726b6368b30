"""Solver adapters: each fits  1/(2n)||Y - XW||^2 + alpha ||W||_21  (no
intercept) at a given tolerance and returns W of shape (n_features, n_tasks).

`available()` lists the adapters whose package is installed; the others are
reported as absent, never silently dropped.
"""
import importlib
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning


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
    with scikit-learn >= 1.6); dense X only; lasso_path for T = 1."""
    package = "celer"
    name = "celer"
    sparse_ok = False

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


def all_solvers(threads=(1, 2)):
    return [MtlFast(t) for t in threads] + [SkLearn(), SkGlm(), Celer()]


def available(threads=(1, 2)):
    out, missing = [], []
    for s in all_solvers(threads):
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
