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

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.metrics import check_scoring, get_scorer
from sklearn.model_selection import BaseCrossValidator, ParameterGrid

from ._base import fit_atomically, param_names, _COMMON_CONSTRAINTS
from .linear_model import MultiTaskElasticNet, MultiTaskLasso
from .datafits import check_tasks
from ._cv_engine import (_TaskBound, task_folds, _RefitBest, _prepare, _run_cv, _make_folds, _check_grid,
                         _auto_grid, _fit_best, _split_params)

__all__ = ["MultiTaskElasticNetCV", "MultiTaskLassoCV", "PathCV", "TaskKFold",
           "SourceTargetSplit", "task_folds", "task_scorer"]


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
        names = param_names(self._model)
        params = {k: v for k, v in self.get_params().items() if k in names}
        est = self._model(**params)
        if "l1_ratio" in names:
            est.set_params(l1_ratio=float(l1_ratio))
        return est

    @fit_atomically
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
        _fit_best(model, X, Y, sw, tasks, task_weight, self)
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

    @fit_atomically
    def fit(self, X, y, sample_weight=None, *, tasks=None, task_weight=None, **params):
        super().fit(X, y, sample_weight, tasks=tasks, task_weight=task_weight, **params)
        del self.l1_ratio_
        return self


class PathCV(_RefitBest, BaseEstimator):
    """Cross-validate any mtlfast estimator along one hyper-parameter (and,
    with `grid`, over others crossed with it).

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
        The path's parameter. The structured models with two parts
        (DirtyMultiTaskLasso, MeanRegularizedMultiTask and their classifiers)
        name theirs "alpha_shared" and "alpha_specific".
    values : int or array-like, default=100
        The grid, or the number of values of the automatic grid alpha_max
        -> eps * alpha_max: for param "alpha" of the row-penalty estimators,
        and for every part's strength of the structured models (each part's
        own alpha_max; a part whose alpha_max is 0 takes the other's).
    grid : dict, "auto" or None, default=None
        Other parameters crossed with the path: {name: values}; one path per
        combination, on the same folds. "auto": the structured model's
        other strengths on their automatic grids (`values` values each),
        e.g. alpha_shared x alpha_specific.
    eps : float, default=1e-3
    cv, n_jobs, verbose : as MultiTaskLassoCV
    scoring : str, callable or None (the MSE), default=None

    Attributes
    ----------
    best_value_ : the chosen value of param (also alpha_ when param is "alpha")
    best_params_ : dict, the chosen param and grid values
    values_ : ndarray, the path's values (decreasing; also alphas_ when param is "alpha")
    loss_path_ : ndarray (n_values, n_folds): the MSE, or minus the score,
        along the path of the chosen grid combination
    grid_ : list of dict, the combinations of grid (one empty dict without)
    loss_surface_ : ndarray (n_combinations, n_values), the mean loss over
        the folds of every combination and path value
    best_estimator_ : the estimator refit on all data with best_params_
    coef_, intercept_ : the best estimator's
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "_fit_path"])],
        "param": [str],
        "values": [Interval(numbers.Integral, 1, None, closed="left"), "array-like"],
        "grid": [None, dict, StrOptions({"auto"})],
        "eps": [Interval(numbers.Real, 0, None, closed="neither")],
        "cv": ["cv_object"],
        "scoring": [None, str, callable],
        "n_jobs": [numbers.Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(self, estimator, *, param="alpha", values=100, grid=None, eps=1e-3, cv=None,
                 scoring=None, n_jobs=None, verbose=0):
        self.estimator = estimator
        self.param = param
        self.values = values
        self.grid = grid
        self.eps = eps
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _grids(self, X, Y, sw, tasks, task_weight):
        """(the path's values, the crossed combinations)."""
        auto = None
        if isinstance(self.values, numbers.Integral) or self.grid == "auto":
            if hasattr(self.estimator, "_auto_grids"):
                auto = self.estimator._auto_grids(X, Y, sw, tasks, task_weight, eps=self.eps,
                                                  n_values=int(self.values) if isinstance(
                                                      self.values, numbers.Integral) else 10)
                if self.param not in auto:
                    raise ValueError(f"{type(self.estimator).__name__}: no automatic grid for "
                                     f"{self.param!r}; automatic grids exist for "
                                     f"{sorted(auto)}: set param to one of them.")
        if not isinstance(self.values, numbers.Integral):
            values = np.sort(_check_grid(self.values, "values"))[::-1]
        elif auto is not None:
            values = auto[self.param]
        else:
            if self.param != "alpha":
                raise ValueError("an automatic grid exists only for param='alpha' (and the "
                                 "structured models' strengths): give values as an array.")
            values = _auto_grid(self.estimator, X, Y, sw, tasks, task_weight, self.eps,
                                int(self.values), caller="PathCV")
        if self.grid is None:
            return values, [{}]
        if self.grid == "auto":
            if auto is None:
                raise ValueError('grid="auto" needs a structured model (automatic grids of '
                                 "its parts' strengths).")
            crossed = {k: v for k, v in auto.items() if k != self.param}
        else:
            crossed = {k: _check_grid(v, k) for k, v in self.grid.items()}
        for k in crossed:
            if k == self.param or k not in self.estimator.get_params():
                raise ValueError(f"grid: {type(self.estimator).__name__} has no parameter "
                                 f"{k!r} to cross with the path (or it is param itself).")
        combos = [{k: float(v) for k, v in c.items()} for c in ParameterGrid(crossed)]
        return values, combos or [{}]

    @fit_atomically
    def fit(self, X, y, sample_weight=None, *, tasks=None, task_weight=None, **params):
        """Cross-validate, then refit the best value on all data (params:
        the splitter's, with scikit-learn's metadata routing enabled)."""
        self._validate_params()
        split_params = _split_params(self, sample_weight, params)
        if self.param not in self.estimator.get_params():
            raise ValueError(f"{type(self.estimator).__name__} has no parameter "
                             f"{self.param!r}.")
        X, Y, sw, tasks, codes = _prepare(self, X, y, sample_weight, tasks)
        grid, combos = self._grids(X, Y, sw, tasks, task_weight)
        scorer = None if self.scoring is None else check_scoring(self.estimator,
                                                                 scoring=self.scoring)
        n_tasks = None if codes is None else int(codes.max()) + 1
        folds = _make_folds(self.cv, X, Y, codes, n_tasks, split_params)
        templates = [clone(self.estimator).set_params(**c) for c in combos]
        loss, _ = _run_cv(templates, X, Y, sw, tasks, codes, task_weight, self.param,
                          [grid] * len(combos), folds, scorer, self.n_jobs, self.verbose)
        self.grid_ = combos
        self.loss_surface_ = loss.mean(axis=1)                  # (n_combos, n_values)
        c, i = np.unravel_index(int(np.argmin(self.loss_surface_)), self.loss_surface_.shape)
        self.loss_path_ = loss[c].T                             # (n_values, n_folds)
        self.values_ = grid
        self.best_value_ = float(grid[i])
        self.best_params_ = {**combos[c], self.param: self.best_value_}
        if self.param == "alpha":
            # the names of scikit-learn's CV estimators (loss_path_ is their mse_path_)
            self.alpha_, self.alphas_ = self.best_value_, grid
        best = clone(self.estimator).set_params(**self.best_params_)
        self.best_estimator_ = _fit_best(best, X, Y, sw, tasks, task_weight, self)
        self.coef_ = self.best_estimator_.coef_
        self.intercept_ = self.best_estimator_.intercept_
        self.n_features_in_ = self.best_estimator_.n_features_in_
        return self


class TaskKFold(BaseCrossValidator):
    """K-fold cross-validation within each task: every task has rows in every
    fold's training and test parts (fold k joins each task's k-th split of
    its own rows: mtlfast.model_selection.task_folds). Usable as ``cv=``
    anywhere in scikit-learn.

    The task labels come from, in this order: ``split(..., tasks=t)`` (metadata
    routing on: requested by default), ``split(..., groups=t)`` (routing off:
    ``GridSearchCV(...).fit(X, y, groups=t)``), or the column named
    ``task_column`` of a DataFrame X.

    Parameters
    ----------
    n_splits : int, default=5
    shuffle : bool, default=False
        Shuffle each task's rows before splitting them.
    random_state : int, RandomState or None, default=None
        With shuffle: the seed (each task's rows are shuffled by the same
        generator, in task order).
    task_column : str or None, default=None
        A DataFrame X's column holding the task labels.
    """
    __metadata_request__split = {"tasks": True, "groups": True}
    # mtlfast's own CV (task_folds) hands each task's rows to within_task_splitter()
    splits_within_tasks = True

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None, task_column=None):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state
        self.task_column = task_column

    def get_n_splits(self, X=None, y=None, groups=None, tasks=None):
        return self.n_splits

    def _labels(self, X, groups, tasks):
        if tasks is not None:
            return tasks
        if groups is not None:
            return groups
        if self.task_column is not None:
            if not hasattr(X, "columns") or self.task_column not in X.columns:
                raise ValueError(f"TaskKFold(task_column={self.task_column!r}): X has no such "
                                 "column.")
            return np.asarray(X[self.task_column])
        raise ValueError("TaskKFold needs the rows' task labels: split(X, y, tasks=t) "
                         "(metadata routing on), split(X, y, groups=t), or "
                         "TaskKFold(task_column=...) with a DataFrame X.")

    def split(self, X, y=None, groups=None, tasks=None):
        """Yield (train, test) row indices, every task in every part."""
        if not isinstance(self.n_splits, numbers.Integral) or self.n_splits < 2:
            raise ValueError(f"TaskKFold needs n_splits >= 2, got {self.n_splits!r}.")
        labels = self._labels(X, groups, tasks)
        n = len(labels)
        if X is not None and hasattr(X, "shape") and X.shape[0] != n:
            raise ValueError(f"TaskKFold: {n} task labels for {X.shape[0]} rows of X.")
        _, codes = check_tasks(labels, n)
        for train, test in task_folds(self.within_task_splitter(), codes,
                                      int(codes.max()) + 1):
            yield train, test

    def within_task_splitter(self):
        """The KFold that splits each task's rows (task_folds joins them)."""
        from sklearn.model_selection import KFold
        from sklearn.utils import check_random_state
        rs = check_random_state(self.random_state) if self.shuffle else None
        return KFold(self.n_splits, shuffle=self.shuffle,
                     random_state=None if rs is None else rs.randint(np.iinfo(np.int32).max))


class _TaskScorer:
    """A scikit-learn scorer with the test rows' tasks bound to predict."""
    _mtlfast_tasks = True

    def __init__(self, scoring):
        self.scoring = scoring
        self._scorer = get_scorer(scoring) if isinstance(scoring, str) else scoring

    def __call__(self, estimator, X, y, sample_weight=None, tasks=None):
        est = estimator if tasks is None else _TaskBound(estimator, np.asarray(tasks))
        kw = {} if sample_weight is None else {"sample_weight": sample_weight}
        return self._scorer(est, X, y, **kw)

    def __repr__(self):
        return f"task_scorer({self.scoring!r})"

    def get_metadata_routing(self):
        from sklearn.utils.metadata_routing import MetadataRequest
        req = MetadataRequest(owner=repr(self))
        req.score.add_request(param="tasks", alias=True)
        req.score.add_request(param="sample_weight", alias=None)
        return req


def task_scorer(scoring):
    """Wrap a scikit-learn scorer (a name such as "r2" or
    "neg_mean_squared_error", or a scorer object) for per-task models: the
    test rows' tasks, routed as metadata, are bound to predict /
    predict_proba / decision_function before the scorer runs. Use it as
    ``scoring=task_scorer("r2")`` in GridSearchCV, RandomizedSearchCV or
    cross_validate with metadata routing on."""
    return _TaskScorer(scoring)


class SourceTargetSplit(TaskKFold):
    """Cross-validation for source -> target transfer on pooled per-task data:
    the target task's rows are split into `n_splits` folds; every source row
    is in every training part and never in a test part, so the scores are the
    target's held-out error only (hyper-parameters such as task weights are
    chosen on the target).

    The rows' task labels come as in TaskKFold (whose labels, routing
    request and get_n_splits it shares): split(..., tasks=t) (routing on),
    split(..., groups=t), or the DataFrame column `task_column`.

    Parameters
    ----------
    target : the target task's label
    n_splits : int, default=5
    shuffle, random_state : as scikit-learn's KFold (the target's rows)
    task_column : str or None
    """
    def __init__(self, target, n_splits=5, *, shuffle=False, random_state=None,
                 task_column=None):
        super().__init__(n_splits, shuffle=shuffle, random_state=random_state,
                         task_column=task_column)
        self.target = target

    def split(self, X, y=None, groups=None, tasks=None):
        from sklearn.model_selection import KFold
        labels = np.asarray(self._labels(X, groups, tasks))
        is_target = labels == self.target
        if not is_target.any():
            raise ValueError(f"SourceTargetSplit: no row has the target label "
                             f"{self.target!r}; labels: {sorted(set(labels.tolist()))[:10]}.")
        rows_t = np.flatnonzero(is_target)
        rows_s = np.flatnonzero(~is_target)
        if rows_t.size < self.n_splits:
            raise ValueError(f"SourceTargetSplit: {rows_t.size} target rows for "
                             f"{self.n_splits} folds.")
        kf = KFold(self.n_splits, shuffle=self.shuffle, random_state=self.random_state)
        for tr, te in kf.split(rows_t):
            yield np.sort(np.concatenate([rows_s, rows_t[tr]])), rows_t[te]
