"""Cross-validation along regularization paths.

Every fold fits the whole path (alphas from large to small, each solve
warm-started from the previous one, the fold's problem assembled once:
SharedDesignRegressor._fit_path) and scores every path point on the held-out
rows. Folds and path grids are independent jobs run through joblib, so
`n_jobs` uses local cores (threads: the kernels release the GIL) and

    with joblib.parallel_config(backend="dask"):
        cv.fit(X, Y)

runs them on a Dask cluster. Results do not depend on n_jobs or the backend.

Default score: the mean squared error, scikit-learn's: for each task the
(sample-weighted) mean of the squared residuals over the fold's rows, then the
mean over the tasks; lower is better. Classifiers (MultiTaskLogisticRegression)
use the log-loss in the same way (per task, then the mean over tasks). With per-task data (tasks=... or the
list layout) the folds are split within each task (every task is in every
fold's training and test rows).

MultiTaskElasticNetCV, MultiTaskLassoCV  drop-in for scikit-learn's
PathCV                                   any mtlfast estimator, any
                                         hyper-parameter, any scorer
"""
import numbers
import sys
import time

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from scipy import sparse
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin, clone
from sklearn.metrics import check_scoring
from sklearn.model_selection import KFold, check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils._metadata_requests import _raise_for_params
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.metadata_routing import (
    MetadataRouter, MethodMapping, _routing_enabled, process_routing)
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._base import _COMMON_CONSTRAINTS, _stack_task_list, check_sample_weight
from ._config import resolve_n_threads
from .linear_model import MultiTaskElasticNet, MultiTaskLasso
from .datafits import check_tasks

__all__ = ["MultiTaskElasticNetCV", "MultiTaskLassoCV", "PathCV", "task_folds"]


# -- folds ---------------------------------------------------------------
def task_folds(cv, codes, n_tasks):
    """Folds of per-task data split within each task.

    cv (None, int or a splitter with split / get_n_splits) is applied to the
    rows of each task separately (int or None: KFold, scikit-learn's default
    of 5 folds); fold k joins every task's k-th split, so each task has rows
    in every fold's training and test parts.

    Returns a list of (train, test) index arrays into the stacked rows.
    """
    if cv is None:
        cv = 5
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv must be at least 2 folds, got {cv}.")
        cv = KFold(int(cv))
    if not hasattr(cv, "split"):
        raise ValueError("with per-task data cv must be None, an int or a splitter "
                         f"(an object with split), got {cv!r}.")
    sizes = np.bincount(codes, minlength=n_tasks)
    n_splits = cv.get_n_splits() if hasattr(cv, "get_n_splits") else None
    if n_splits is not None and n_splits > sizes.min():
        t = int(np.argmin(sizes))
        raise ValueError(f"cv asks for {n_splits} folds but task {t} has only {sizes[t]} "
                         "rows: every task must have at least one row per fold.")
    per_task = []
    for t in range(n_tasks):
        rows = np.flatnonzero(codes == t)
        per_task.append([(rows[tr], rows[te]) for tr, te in cv.split(rows)])
    counts = {len(s) for s in per_task}
    if len(counts) != 1:
        raise ValueError("the splitter gave different numbers of folds for different tasks.")
    return [(np.sort(np.concatenate([s[k][0] for s in per_task])),
             np.sort(np.concatenate([s[k][1] for s in per_task])))
            for k in range(counts.pop())]


def _take(A, idx):
    return None if A is None else A[idx]


# -- scoring ---------------------------------------------------------------
class _TaskBound:
    """A fitted per-task estimator whose predict methods get the test rows'
    tasks bound, so that scikit-learn scorers (which call predict(X)) work."""

    def __init__(self, est, tasks):
        self._est, self._tasks = est, tasks

    def predict(self, X):
        return self._est.predict(X, tasks=self._tasks)

    def predict_proba(self, X):
        return self._est.predict_proba(X, tasks=self._tasks)

    def decision_function(self, X):
        return self._est.decision_function(X, tasks=self._tasks)

    def __getattr__(self, name):
        return getattr(self._est, name)


def _mse(est, X, Y, sw, tasks, codes):
    """scikit-learn's CV MSE: per task the weighted mean squared residual,
    then the mean over tasks (per-task data: over each task's own rows).
    Predictions X @ coef_.T + intercept_ directly (X is validated)."""
    coef = np.asarray(est.coef_, dtype=np.float64).reshape(-1, X.shape[1])
    b = np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64))
    if tasks is None:
        P = np.asarray(X @ coef.T, dtype=np.float64) + b
        R2 = (P.reshape(Y.shape) - Y) ** 2
        R2 = R2[:, None] if R2.ndim == 1 else R2
        return float(np.mean(np.average(R2, axis=0, weights=sw)))
    # per-task fit: coef_ row k belongs to the label tasks_[k]
    k = np.searchsorted(est.tasks_, tasks)
    Xc = X.tocsr() if sparse.issparse(X) else X
    pred = np.asarray(Xc.multiply(coef[k]).sum(axis=1)).ravel() if sparse.issparse(Xc) \
        else np.einsum("ij,ij->i", Xc, coef[k])
    R2 = (pred + b[k] - Y) ** 2
    per = [np.average(R2[codes == t], weights=None if sw is None else sw[codes == t])
           for t in np.unique(codes)]
    return float(np.mean(per))


def _fold_path(template, X, Y, sw, tasks, codes, task_weight, train, test, param, values,
               scorer, n_threads):
    """Fit the path on the training rows and score every point on the test
    rows. Returns (losses (n_values,), epochs (n_values,)); losses are
    minimized (the MSE, or minus a scorer's score)."""
    est = clone(template)
    if "n_threads" in est.get_params():
        est.set_params(n_threads=n_threads)
    Xtr, Ytr = _safe_indexing(X, train), Y[train]
    Xte, Yte = _safe_indexing(X, test), Y[test]
    ttr, tte = _take(tasks, train), _take(tasks, test)
    losses, epochs = [], []
    for fitted in est._fit_path(Xtr, Ytr, _take(sw, train), ttr, task_weight,
                                param=param, values=values):
        if scorer is None:      # the model's own CV loss (classifiers), else the MSE
            loss = getattr(fitted, "_cv_loss", None) or (lambda *a: _mse(fitted, *a))
            losses.append(loss(Xte, Yte, _take(sw, test), tte, _take(codes, test)))
        else:
            bound = fitted if tte is None else _TaskBound(fitted, tte)
            kw = {} if sw is None else {"sample_weight": sw[test]}
            losses.append(-float(scorer(bound, Xte, Yte, **kw)))
        epochs.append(fitted.n_iter_)
    return np.asarray(losses), np.asarray(epochs)


class _Progress:
    """Progress of the CV jobs: nothing (verbose=0), one line per finished
    job on stderr (verbose >= 1), or a tqdm bar when tqdm is installed and
    verbose >= 1. Updated as jobs finish, never inside a kernel."""

    def __init__(self, total, verbose, desc):
        self.total, self.verbose, self.done, self.bar = total, verbose, 0, None
        self.t0 = time.perf_counter()
        if verbose:
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=total, desc=desc, file=sys.stderr)
            except ImportError:
                pass

    def update(self, info):
        self.done += 1
        if not self.verbose:
            return
        if self.bar is not None:
            self.bar.update(1)
            if self.verbose > 1:
                self.bar.write(info, file=sys.stderr)
        else:
            print(f"[mtlfast CV] {self.done}/{self.total} {info} "
                  f"({time.perf_counter() - self.t0:.1f} s)", file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()


# -- the generic engine ----------------------------------------------------
def _prepare(est, X, y, sample_weight, tasks):
    """(X, Y, sw, tasks, codes): validated (NaN, inf, complex, object data
    and shapes rejected; n_features_in_ set on est), the list layout
    stacked, sparse X as CSR for the folds' row subsets; tasks as given
    (labels) and their codes for per-task data."""
    if y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y "
                         "is None.")
    X, y, tasks = _stack_task_list(X, y, tasks)
    X = validate_data(est, X, accept_sparse=["csr", "csc"], dtype=[np.float64, np.float32],
                      accept_large_sparse=False)
    if sparse.issparse(X):
        X = X.tocsr()
    Y = check_array(y, ensure_2d=False, dtype=[np.float64, np.float32], input_name="y")
    if Y.ndim > 2:
        raise ValueError(f"y must be 1-D or 2-D, got an array of shape {Y.shape}.")
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y have inconsistent numbers of samples: X has {X.shape[0]} "
                         f"rows, y has {Y.shape[0]}.")
    sw = check_sample_weight(sample_weight, X)
    codes = None
    if tasks is not None:
        tasks = np.asarray(tasks)
        _, codes = check_tasks(tasks, X.shape[0])
    return X, Y, sw, tasks, codes


def _run_cv(template, X, Y, sw, tasks, codes, task_weight, param, grids, folds, scorer,
            n_jobs, verbose):
    """Every (grid, fold) path as one joblib job. Returns losses of shape
    (n_grids, n_folds, n_values) and epochs of the same shape."""
    n_jobs_eff = max(1, effective_n_jobs(n_jobs))
    # the kernels' OpenMP threads split between the concurrent jobs
    n_threads = max(1, resolve_n_threads(getattr(template, "n_threads", None)) // n_jobs_eff)
    jobs = [(g, k) for g in range(len(grids)) for k in range(len(folds))]
    progress = _Progress(len(jobs), verbose, f"{type(template).__name__} CV")
    out = {}
    try:
        results = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(
            delayed(_fold_path)(template, X, Y, sw, tasks, codes, task_weight,
                                folds[k][0], folds[k][1], param, grids[g], scorer, n_threads)
            for g, k in jobs)
        for (g, k), res in zip(jobs, results):
            out[g, k] = res
            if not np.all(np.isfinite(res[0])):
                raise ValueError(f"the score of fold {k} is not finite (NaN or inf) for "
                                 "some path points; check the scorer and the data.")
            progress.update(f"grid {g + 1}, fold {k + 1}: best loss {res[0].min():.4g}")
    finally:
        progress.close()
    losses = np.array([[out[g, k][0] for k in range(len(folds))] for g in range(len(grids))])
    epochs = np.array([[out[g, k][1] for k in range(len(folds))] for g in range(len(grids))])
    return losses, epochs


def _split_params(est, sample_weight, params):
    """The splitter's fit metadata (groups, ...): scikit-learn's metadata
    routing when enabled, else none (and an error for any given)."""
    _raise_for_params(params, est, "fit")
    if _routing_enabled():
        return process_routing(est, "fit", sample_weight=sample_weight, **params).splitter.split
    return {}


def _router(est):
    return (MetadataRouter(owner=est).add_self_request(est)
            .add(splitter=check_cv(est.cv),
                 method_mapping=MethodMapping().add(caller="fit", callee="split")))


def _make_folds(cv, X, Y, codes, n_tasks, split_params=None):
    if codes is not None:
        if split_params:
            raise ValueError("splitter parameters (groups, ...) are not supported with "
                             "per-task data: the folds are split within each task.")
        folds = task_folds(cv, codes, n_tasks)
    else:
        cv = check_cv(cv)
        n_splits = cv.get_n_splits(X, Y, **(split_params or {}))
        if n_splits > X.shape[0]:
            raise ValueError(f"cv asks for {n_splits} folds but there are only "
                             f"{X.shape[0]} samples.")
        folds = list(cv.split(X, Y, **(split_params or {})))
    if len(folds) < 2:
        raise ValueError("cross-validation needs at least 2 folds.")
    return folds


def _check_grid(values, name="alphas"):
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError(f"{name} must not be empty.")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"{name} must be finite and non-negative.")
    return values


def _auto_grid(template, X, Y, sw, tasks, task_weight, eps, n_alphas):
    """Geometric grid alpha_max -> eps * alpha_max of the template's penalty
    on the full data (the template's own assembly: centering, weights)."""
    est = clone(template)
    if not hasattr(est, "_make_penalty"):
        raise ValueError(f"{type(template).__name__}: give the grid of values explicitly "
                         "(no automatic alpha grid for this model).")
    if hasattr(est, "_alpha_max"):                      # its own (logistic)
        alpha_max = est._alpha_max(X, Y, sw, tasks, task_weight)
    else:
        datafit = est._assemble(X, Y, sw, tasks, task_weight)[0]
        pen = est.set_params(alpha=1.0)._make_penalty()
        if getattr(datafit, "y_eff", None) is not None:     # per-task layout
            XtY = datafit.xtr(datafit.y_eff.astype(np.float64))
        else:
            XtY = datafit.XtY_over_n()
        alpha_max = pen.alpha_max(XtY)
    if not np.isfinite(alpha_max):
        raise ValueError("Automatic alpha grid generation is not supported for l1_ratio=0. "
                         "Please supply a grid by providing your estimator with the "
                         "appropriate `alphas=` argument.")
    if alpha_max <= np.finfo(float).resolution:
        return np.full(n_alphas, np.finfo(float).resolution)
    return np.geomspace(alpha_max, alpha_max * eps, num=n_alphas)


def _fit_best(est, X, Y, sw, tasks, task_weight):
    kw = {} if tasks is None and task_weight is None else {"tasks": tasks,
                                                            "task_weight": task_weight}
    return est.fit(X, Y, sw, **kw)


# -- estimators --------------------------------------------------------------
class _RefitBest:
    """What the CV estimators share: the splitter's metadata routing and the
    predictions of the model refit on all data (best_estimator_)."""

    def get_metadata_routing(self):
        """Metadata routing (scikit-learn): fit's extra parameters go to the
        splitter's split."""
        return _router(self)

    def predict(self, X, tasks=None):
        """Predict with the final model (per-task fits: pass tasks)."""
        check_is_fitted(self)
        return self.best_estimator_.predict(X, tasks=tasks)

    def score(self, X, y, sample_weight=None, tasks=None):
        check_is_fitted(self)
        return self.best_estimator_.score(X, y, sample_weight=sample_weight, tasks=tasks)


_CV_CONSTRAINTS = {
    "eps": [Interval(numbers.Real, 0, None, closed="neither")],
    "alphas": [Interval(numbers.Integral, 1, None, closed="left"), "array-like"],
    "cv": ["cv_object"],
    "verbose": ["verbose"],
    "n_jobs": [numbers.Integral, None],
}


class MultiTaskElasticNetCV(_RefitBest, MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Multi-task elastic net with alpha (and l1_ratio) chosen by
    cross-validation.

    Drop-in for :class:`sklearn.linear_model.MultiTaskElasticNetCV`: same
    arguments, grid (alpha_max of the centered, weighted data down to eps *
    alpha_max, per l1_ratio), fold MSE and fitted attributes. Every fold runs
    the whole path with warm starts; folds and l1_ratios are joblib jobs
    (module docstring: local cores or a Dask cluster). Per-task data
    (``tasks=`` or the list layout) are split within each task.

    Parameters
    ----------
    l1_ratio : float or list of float in [0, 1], default=0.5
    eps : float, default=1e-3
    alphas : int or array-like, default=100
        Number of alphas of the automatic grid, or the grid itself.
    fit_intercept, max_iter, tol, copy_X, random_state, selection :
        as :class:`mtlfast.MultiTaskElasticNet`.
    cv : int, cross-validation generator or iterable, default=None (5-fold)
    verbose : bool or int, default=0
        >= 1: progress per finished fold (a tqdm bar when tqdm is
        installed); >= 2: also each fold's best loss.
    n_jobs : int, default=None
        Concurrent folds (joblib); the OpenMP threads (n_threads) are split
        between them.
    n_threads : int or None, default=None

    Attributes
    ----------
    alpha_, l1_ratio_ : the chosen values
    alphas_ : ndarray (n_alphas,) or (n_l1_ratio, n_alphas)
    mse_path_ : ndarray (n_alphas, n_folds) or (n_l1_ratio, n_alphas, n_folds)
    coef_, intercept_, dual_gap_, n_iter_ : of the final fit on all data
    n_features_in_ : int
    """

    _parameter_constraints = {
        **_CV_CONSTRAINTS,
        **{k: v for k, v in _COMMON_CONSTRAINTS.items() if k not in ("alpha", "warm_start")},
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both"), "array-like"],
        "copy_X": ["boolean"],
    }
    _model = MultiTaskElasticNet

    def __init__(self, *, l1_ratio=0.5, eps=1e-3, alphas=100, fit_intercept=True,
                 max_iter=1000, tol=1e-4, cv=None, copy_X=True, verbose=0, n_jobs=None,
                 random_state=None, selection="cyclic", n_threads=None):
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.copy_X = copy_X
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.selection = selection
        self.n_threads = n_threads

    def _l1_ratios(self):
        return np.atleast_1d(np.asarray(self.l1_ratio, dtype=np.float64))

    def _template(self, l1_ratio):
        params = {k: v for k, v in self.get_params().items()
                  if k in self._model().get_params()}
        est = self._model(**params)
        if "l1_ratio" in est.get_params():
            est.set_params(l1_ratio=float(l1_ratio))
        return est

    def fit(self, X, y, sample_weight=None, *, tasks=None, task_weight=None, **params):
        """Cross-validate the path, then fit on all data with the best alpha.

        Parameters
        ----------
        X : {ndarray, sparse matrix} (n_samples, n_features), or a list of
            per-task designs
        y : ndarray (n_samples, n_tasks); per-task data: (n_samples,) or a
            list
        sample_weight : array-like (n_samples,), default=None
            Used in the fits and in each fold's weighted MSE.
        tasks, task_weight : per-task data, as the estimators' fit.
        **params : parameters of the splitter (groups, ...), with
            scikit-learn's metadata routing enabled.
        """
        self._validate_params()
        split_params = _split_params(self, sample_weight, params)
        ratios = self._l1_ratios()
        if ratios.size == 0 or np.any((ratios < 0) | (ratios > 1)) or not np.all(
                np.isfinite(ratios)):
            raise ValueError(f"l1_ratio must be in [0, 1] (one value or a list), got "
                             f"{self.l1_ratio!r}.")
        X, Y, sw, tasks, codes = _prepare(self, X, y, sample_weight, tasks)
        if tasks is None and Y.ndim != 2 and task_weight is None:
            raise ValueError(f"For mono-task outputs, use "
                             f"{self._model._mono_task_name}CV")
        if isinstance(self.alphas, numbers.Integral):
            grids = [_auto_grid(self._template(r), X, Y, sw, tasks, task_weight, self.eps,
                                int(self.alphas)) for r in ratios]
        else:
            grid = np.sort(_check_grid(self.alphas))[::-1]
            grids = [grid for _ in ratios]
        n_tasks = None if codes is None else int(codes.max()) + 1
        folds = _make_folds(self.cv, X, Y, codes, n_tasks, split_params)
        losses = []
        for r, grid in zip(ratios, grids):
            loss, _ = _run_cv(self._template(r), X, Y, sw, tasks, codes, task_weight, "alpha",
                              [grid], folds, None, self.n_jobs, self.verbose)
            losses.append(loss[0])
        mse = np.array(losses)                                   # (n_l1, n_folds, n_alphas)
        self.mse_path_ = np.squeeze(np.moveaxis(mse, 2, 1))
        mean = mse.mean(axis=1)
        best = (np.inf, None, None)
        for r, grid, m in zip(ratios, grids, mean):
            i = int(np.argmin(m))
            if m[i] < best[0]:
                best = (m[i], grid[i], r)
        self.alpha_, self.l1_ratio_ = float(best[1]), float(best[2])
        if isinstance(self.alphas, numbers.Integral):
            self.alphas_ = np.asarray(grids)
            if ratios.size == 1:
                self.alphas_ = self.alphas_[0]
        else:
            self.alphas_ = np.asarray(grids[0])
        model = self._template(self.l1_ratio_).set_params(alpha=self.alpha_)
        _fit_best(model, X, Y, sw, tasks, task_weight)
        for attr in ("coef_", "intercept_", "dual_gap_", "n_iter_", "n_features_in_",
                     "feature_names_in_", "tasks_"):
            if hasattr(model, attr):
                setattr(self, attr, getattr(model, attr))
        self.best_estimator_ = model
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags


class MultiTaskLassoCV(MultiTaskElasticNetCV):
    """Multi-task lasso (L2,1) with alpha chosen by cross-validation.

    Drop-in for :class:`sklearn.linear_model.MultiTaskLassoCV`; see
    :class:`MultiTaskElasticNetCV` (no l1_ratio; l1_ratio_ is not set).
    """

    _parameter_constraints = {k: v for k, v in MultiTaskElasticNetCV._parameter_constraints.items()
                              if k != "l1_ratio"}
    _model = MultiTaskLasso

    def __init__(self, *, eps=1e-3, alphas=100, fit_intercept=True, max_iter=1000, tol=1e-4,
                 copy_X=True, cv=None, verbose=False, n_jobs=None, random_state=None,
                 selection="cyclic", n_threads=None):
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.copy_X = copy_X
        self.cv = cv
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.selection = selection
        self.n_threads = n_threads

    def _l1_ratios(self):
        return np.array([1.0])

    def fit(self, X, y, sample_weight=None, *, tasks=None, task_weight=None, **params):
        super().fit(X, y, sample_weight, tasks=tasks, task_weight=task_weight, **params)
        del self.l1_ratio_
        return self


class PathCV(_RefitBest, BaseEstimator):
    """Cross-validate any mtlfast estimator along one hyper-parameter.

    Each fold fits the path over `values` (sorted from large to small: from
    the most to the least regularized model) with warm starts, and scores
    every point on its held-out rows: by the MSE (the default, as
    MultiTaskLassoCV; the log-loss for MultiTaskLogisticRegression) or by a
    scikit-learn scorer (a name such as
    "neg_mean_absolute_error", or a callable(estimator, X, y)); per-task
    data are split within each task and the scorer sees an estimator whose
    predict knows the test rows' tasks. The best value is refit on all data.

    Parameters
    ----------
    estimator : an mtlfast estimator (its other parameters are kept)
    param : str, default="alpha"
    values : int or array-like, default=100
        The grid, or (param "alpha" of estimators with one penalty) the
        number of values of the automatic grid alpha_max -> eps * alpha_max.
    eps : float, default=1e-3
    cv, n_jobs, verbose : as MultiTaskLassoCV
    scoring : str, callable or None (the MSE), default=None

    Attributes
    ----------
    best_value_ : the chosen value (also alpha_ when param is "alpha")
    values_ : ndarray, the grid (decreasing; also alphas_ when param is "alpha")
    loss_path_ : ndarray (n_values, n_folds): the MSE, or minus the score
    best_estimator_ : the estimator refit on all data with best_value_
    coef_, intercept_ : the best estimator's
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "_fit_path"])],
        "param": [str],
        "values": [Interval(numbers.Integral, 1, None, closed="left"), "array-like"],
        "eps": [Interval(numbers.Real, 0, None, closed="neither")],
        "cv": ["cv_object"],
        "scoring": [None, str, callable],
        "n_jobs": [numbers.Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(self, estimator, *, param="alpha", values=100, eps=1e-3, cv=None,
                 scoring=None, n_jobs=None, verbose=0):
        self.estimator = estimator
        self.param = param
        self.values = values
        self.eps = eps
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None, *, tasks=None, task_weight=None, **params):
        """Cross-validate, then refit the best value on all data (params:
        the splitter's, with scikit-learn's metadata routing enabled)."""
        self._validate_params()
        split_params = _split_params(self, sample_weight, params)
        if self.param not in self.estimator.get_params():
            raise ValueError(f"{type(self.estimator).__name__} has no parameter "
                             f"{self.param!r}.")
        X, Y, sw, tasks, codes = _prepare(self, X, y, sample_weight, tasks)
        if isinstance(self.values, numbers.Integral):
            if self.param != "alpha":
                raise ValueError("an automatic grid exists only for param='alpha': give "
                                 "values as an array.")
            grid = _auto_grid(self.estimator, X, Y, sw, tasks, task_weight, self.eps,
                              int(self.values))
        else:
            grid = np.sort(_check_grid(self.values, "values"))[::-1]
        scorer = None if self.scoring is None else check_scoring(self.estimator,
                                                                 scoring=self.scoring)
        n_tasks = None if codes is None else int(codes.max()) + 1
        folds = _make_folds(self.cv, X, Y, codes, n_tasks, split_params)
        loss, _ = _run_cv(self.estimator, X, Y, sw, tasks, codes, task_weight, self.param,
                          [grid], folds, scorer, self.n_jobs, self.verbose)
        self.loss_path_ = loss[0].T                             # (n_values, n_folds)
        self.values_ = grid
        i = int(np.argmin(self.loss_path_.mean(axis=1)))
        self.best_value_ = float(grid[i])
        if self.param == "alpha":
            # the names of scikit-learn's CV estimators (loss_path_ is their mse_path_)
            self.alpha_, self.alphas_ = self.best_value_, grid
        best = clone(self.estimator).set_params(**{self.param: self.best_value_})
        self.best_estimator_ = _fit_best(best, X, Y, sw, tasks, task_weight)
        self.coef_ = self.best_estimator_.coef_
        self.intercept_ = self.best_estimator_.intercept_
        self.n_features_in_ = self.best_estimator_.n_features_in_
        return self
