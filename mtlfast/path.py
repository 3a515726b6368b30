"""Regularization paths with warm starts, scikit-learn's enet_path/lasso_path
semantics: 1-D y fits the (elastic-net) lasso, 2-D Y the multi-task model
(L2,1 (+ L2)); X and Y are used as given (no intercept: center them first, as
with scikit-learn's path functions).

Each path point starts from the previous solution, so the working set of the
next point starts from the previous support.
"""
import numbers

import numpy as np
from scipy import sparse
from sklearn.utils.validation import check_array

from . import penalties
from .datafits import QuadraticShared
from .solvers import solve_shared as solve
from ._base import warn_if_not_converged, check_finite_fit


def alpha_grid(X, Y, l1_ratio=1.0, eps=1e-3, n_alphas=100):
    """Geometric grid from alpha_max (smallest alpha with W = 0) down to
    eps * alpha_max, as scikit-learn's _alpha_grid (no intercept)."""
    if l1_ratio <= 0:
        raise ValueError("Automatic alpha grid generation is not supported for l1_ratio=0. "
                         "Please supply a grid by providing your estimator with the "
                         "appropriate `alphas=` argument.")
    Y2 = Y[:, None] if Y.ndim == 1 else Y
    XtY = np.asarray(X.T @ Y2)
    n = X.shape[0]
    alpha_max = (np.sqrt(np.sum(XtY ** 2, axis=1)).max() if Y.ndim == 2 else
                 np.abs(XtY).max()) / (n * l1_ratio)
    if alpha_max <= np.finfo(float).resolution:
        return np.full(n_alphas, np.finfo(float).resolution)
    return np.geomspace(alpha_max, alpha_max * eps, num=n_alphas)


def _check_path_params(*, eps, n_alphas, max_iter, tol, selection):
    """The path functions' own parameters, with the estimators' rules."""
    def integer(name, v, low):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {v!r}.")
    integer("n_alphas", n_alphas, 1)
    integer("max_iter", max_iter, 1)
    if (isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not np.isfinite(eps)
            or not 0 < eps):
        raise ValueError(f"eps (the smallest alpha as a fraction of alpha_max) must be a "
                         f"finite number > 0, got {eps!r}.")
    if (isinstance(tol, bool) or not isinstance(tol, numbers.Real) or np.isnan(tol)
            or tol < 0):
        raise ValueError(f"tol must be a number >= 0, got {tol!r}.")
    if selection not in ("cyclic", "random"):
        raise ValueError(f"selection must be 'cyclic' or 'random', got {selection!r}.")


def enet_path(X, y, *, l1_ratio=0.5, eps=1e-3, n_alphas=100, alphas=None, coef_init=None,
              verbose=False, return_n_iter=False, positive=False, max_iter=1000, tol=1e-4,
              selection="cyclic", random_state=None, n_threads=None, check_input=True,
              **ignored):
    """Elastic-net path by block coordinate descent with warm starts.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_tasks)
        2-D y gives the multi-task path (penalty on row norms of W).
    l1_ratio, eps, n_alphas, alphas, coef_init, positive : as scikit-learn
        (alphas may be an int: the number of alphas of the automatic grid).
    max_iter, tol, selection, random_state, n_threads : as the estimators.

    Returns
    -------
    alphas : ndarray (n_alphas,), decreasing
    coefs : ndarray (n_features, n_alphas) or (n_tasks, n_features, n_alphas)
    dual_gaps : ndarray (n_alphas,), in the 1/(2n) objective scaling
    n_iters : list of int, if return_n_iter
    """
    _check_path_params(eps=eps, n_alphas=n_alphas, max_iter=max_iter, tol=tol,
                       selection=selection)
    if check_input:
        X = check_array(X, accept_sparse="csc", dtype=[np.float64, np.float32], order="F",
                        input_name="X")
        y = check_array(y, ensure_2d=False, dtype=X.dtype, order="F", input_name="y")
    if y.ndim > 2:
        raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}.")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]}.")
    multi = y.ndim == 2
    if multi and positive:
        raise ValueError("positive=True is not allowed for multi-output (y.ndim == 2).")
    if not isinstance(l1_ratio, numbers.Real) or not 0 <= l1_ratio <= 1:
        raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio!r}.")
    Y = y if multi else y[:, None]
    if isinstance(alphas, numbers.Integral) and not isinstance(alphas, bool):
        if alphas < 1:
            raise ValueError(f"alphas as an int is the number of alphas; got {alphas}.")
        n_alphas, alphas = int(alphas), None        # scikit-learn >= 1.9 spelling
    if alphas is None:
        alphas = alpha_grid(X, y, l1_ratio, eps, n_alphas)
    else:
        alphas = np.sort(np.asarray(alphas, dtype=np.float64))[::-1]
        if alphas.size == 0:
            raise ValueError("alphas must not be empty.")
        if np.any(alphas < 0) or not np.all(np.isfinite(alphas)):
            raise ValueError("alphas must be finite and non-negative.")
    datafit = QuadraticShared(X, np.asarray(Y, dtype=X.dtype), None, fit_intercept=False)
    T, p = Y.shape[1], X.shape[1]
    Yn2 = (datafit.Y.astype(np.float64) ** 2).sum(axis=0)
    coef = None if coef_init is None else np.asarray(coef_init, dtype=X.dtype).reshape(T, p)
    coefs = np.empty((T, p, alphas.size), dtype=X.dtype)
    gaps = np.empty(alphas.size)
    n_iters = []
    seed = 0
    if selection == "random":
        from sklearn.utils import check_random_state
        seed = check_random_state(random_state).randint(1, np.iinfo(np.int32).max)
    def penalty(alpha):
        if multi:
            return penalties.L21L2(alpha, l1_ratio)
        if l1_ratio == 0:
            return penalties.L2(alpha)
        return penalties.ElasticNet(alpha, l1_ratio, positive=positive)

    if selection == "cyclic" and not verbose and alphas.min() > 0:
        # the whole path in one kernel call: the penalty at alpha = 1, scaled per point
        unit = penalty(1.0)
        res = solve(datafit, unit, coef, max_iter=max_iter, tol=tol, n_threads=n_threads,
                    scales=alphas, strategy="cd" if datafit.is_sparse else "ws")
        check_finite_fit(res.coefs, res.gaps)
        warn_if_not_converged(res.gaps * datafit.n_samples,
                              tol * (Yn2 if unit.separable else np.array([Yn2.sum()])),
                              max_iter, stacklevel=2)
        coefs = np.moveaxis(res.coefs, 0, -1)
        gaps = res.gaps.max(axis=1)
        n_iters = [int(k) for k in res.n_iter.max(axis=1)]
        alphas = np.asarray(alphas, dtype=np.float64)
    for i, alpha in (() if n_iters else enumerate(alphas)):
        pen = penalty(alpha)
        res = solve(datafit, pen, coef, max_iter=max_iter, tol=tol, selection=selection,
                    seed=seed, n_threads=n_threads)
        coef = res.coef
        check_finite_fit(coef, res.gaps)
        # the estimators' convergence rule (n-scaled gap against tol * ||y||^2)
        warn_if_not_converged(res.gaps * datafit.n_samples,
                              tol * (Yn2 if pen.separable else np.array([Yn2.sum()])),
                              max_iter, stacklevel=2)
        coefs[..., i] = coef
        gaps[i] = res.gaps.max()
        n_iters.append(int(res.n_iter.max()))
        if verbose:
            print(f"path point {i + 1}/{alphas.size}: alpha={alpha:.4g}, gap={gaps[i]:.2e}, "
                  f"epochs={n_iters[-1]}")
    if not multi:
        coefs = coefs[0]
    if return_n_iter:
        return alphas, coefs, gaps, n_iters
    return alphas, coefs, gaps


def lasso_path(X, y, *, eps=1e-3, n_alphas=100, alphas=None, **params):
    """Lasso path (l1_ratio=1): see enet_path; 2-D y gives the multi-task lasso path."""
    return enet_path(X, y, l1_ratio=1.0, eps=eps, n_alphas=n_alphas, alphas=alphas, **params)
