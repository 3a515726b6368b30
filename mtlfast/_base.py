"""Shared machinery of the shared-design estimators: validation, fitting
through the solver driver, prediction, and scikit-learn tags."""
import contextlib
import copy
import functools
import re
import numbers
import sys
import warnings
from types import SimpleNamespace

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight, check_array, check_is_fitted, validate_data)

from .datafits import (QuadraticShared, QuadraticPerTask, check_tasks, codes_for,
                       stack_task_list, check_task_weight, per_row_linear)
from .datafits._layout import repeat_design
from . import _control
from .solvers import solve_shared, solve_tasks
from .penalties.factors import check_penalty_factor, has_unpenalized, unpenalized

_COMMON_CONSTRAINTS = {
    "alpha": [Interval(numbers.Real, 0, None, closed="left")],
    "fit_intercept": ["boolean"],
    "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "warm_start": ["boolean"],
    "random_state": ["random_state"],
    "selection": [StrOptions({"cyclic", "random"})],
    "n_threads": [None, Options(numbers.Integral, {-1}),
                  Interval(numbers.Integral, 1, None, closed="left")],
    "verbose": ["verbose"],
    "callback": [None, callable],
    "max_time": [None, Interval(numbers.Real, 0, None, closed="neither")],
}


@contextlib.contextmanager
def _naming_errors(name):
    """Prefix validation errors with the argument they concern."""
    try:
        yield
    except ValueError as exc:
        msg = str(exc)
        if re.search(rf"\b{name}\b", msg):
            raise
        raise type(exc)(f"Invalid {name}: {msg}") from exc


def plain_fit_arrays(est, X, y):
    """(X, y) as they are, when fit's validation (validate_data and
    check_array, ~0.1 ms: their DataFrame sniffing and checks) would pass
    them unchanged: NumPy arrays (not subclasses) with a float64 or float32 X
    of at least one row and one column, a float y of 1 or 2 dimensions and
    as many rows, no NaN or infinity. Sets what validate_data sets at fit on
    such X (n_features_in_; no feature names). Else None: the full
    validation runs, and gives the error messages."""
    if type(X) is not np.ndarray or type(y) is not np.ndarray:
        return None
    if (X.ndim != 2 or X.dtype not in _FIT_DTYPES or X.shape[0] == 0 or X.shape[1] == 0
            or y.dtype.kind != "f" or y.ndim not in (1, 2) or y.shape[0] != X.shape[0]
            or y.size == 0):
        return None
    with np.errstate(all="ignore"):     # a finite sum proves every entry finite
        if not (np.isfinite(X.sum()) and np.isfinite(y.sum())):
            return None
    est.n_features_in_ = X.shape[1]
    est.__dict__.pop("feature_names_in_", None)
    return X, y


_FIT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def check_sample_weight(sample_weight, X):
    """Validated float64 sample weights, or None. Scalars mean no weights."""
    if sample_weight is None or isinstance(sample_weight, numbers.Number) and not isinstance(
            sample_weight, bool):
        if sample_weight is not None and (not np.isfinite(sample_weight) or sample_weight <= 0):
            raise ValueError(f"sample_weight must be positive and finite, got {sample_weight!r}.")
        return None
    with _naming_errors("sample_weight"):
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    if not np.isfinite(sw).all():
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if sw.sum() <= 0:
        raise ValueError("sample_weight: all weights are zero; at least one must be positive.")
    return sw


def _is_task_list(X):
    """The list layout: a list/tuple of 2-D arrays or sparse matrices (a list
    of rows, i.e. lists of numbers, is an ordinary X)."""
    return (isinstance(X, (list, tuple)) and len(X) > 0
            and all(hasattr(x, "shape") and len(x.shape) == 2 for x in X))


def _stack_task_list(X, y, tasks):
    """(X, y, tasks) with the list layout (one design and one y per task)
    stacked into the long one with its task labels; other layouts as given."""
    if not _is_task_list(X):
        return X, y, tasks
    if tasks is not None:
        raise ValueError("tasks must not be given with the list layout: the list position "
                         "is the task.")
    return stack_task_list(list(X), list(y) if isinstance(y, (list, tuple)) else y)


def warn_if_not_converged(gaps, eps, max_iter, stacklevel):
    """The one ConvergenceWarning of mtlfast: some block's gap above its
    tolerance after max_iter iterations, or when the time budget or the
    callback stopped the fit (mtlfast._control)."""
    gaps, eps = np.asarray(gaps, dtype=float), np.asarray(eps, dtype=float)
    if np.any(~(gaps <= eps)):          # a NaN gap is not converged either
        control = _control.current()
        reason = None if control is None else control.stop_reason()
        advice = (f"The fit was {reason}" if reason else
                  "You might want to increase the number of iterations "
                  f"(max_iter={max_iter})")
        warnings.warn(
            f"Objective did not converge. {advice}. Duality gap: {gaps.max():.3e}, "
            f"tolerance: {eps.max():.3e}.", ConvergenceWarning, stacklevel=_caller_level())


_PACKAGE_DIR = __import__("os").path.dirname(__import__("os").path.abspath(__file__))


def _caller_level():
    """warnings.warn's stacklevel of the first frame outside mtlfast (the
    user's line, or the library that called fit), as seen from the function
    that calls warnings.warn."""
    import os
    frame, level = sys._getframe(2), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
            _PACKAGE_DIR + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def fit_atomically(fit):
    """Decorate an estimator's fit: when it raises (bad input, non-finite
    values, Ctrl-C), the estimator is left exactly as it was before."""
    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        check_search_scored_a_candidate()
        state = dict(self.__dict__)
        try:
            if _control.current() is None and hasattr(self, "max_time"):
                # the outermost fit of an estimator with feedback and control
                control = _control.FitControl(type(self).__name__, self.verbose,
                                              self.callback, self.max_time)
                with _control.fit_control(control):
                    return fit(self, *args, **kwargs)
            return fit(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise
    return wrapper


PENALTY_FACTOR_CONSTRAINT = {"penalty_factor": [None, "array-like"]}
STRATEGY_CONSTRAINT = {"strategy": [StrOptions({"auto", "ws", "gram", "cd"})]}


def factored_penalty(est, datafit):
    """est._make_penalty() with est.penalty_factor (validated, rescaled as
    glmnet does: mtlfast.penalties.factors; per-task factors of shape
    (n_features, n_tasks) for separable penalties)."""
    pen = est._make_penalty()
    pf = check_penalty_factor(getattr(est, "penalty_factor", None), datafit.n_features,
                              datafit.n_tasks if pen.separable else None)
    return pen if pf is None else pen.with_factor(pf)


def check_finite_fit(coef, gaps, intercept=None):
    """The one check of a finished solve: coefficients, intercepts and duality
    gaps must be finite. A non-finite value is never returned as a fit (nor a
    NaN gap as a certificate): the solve overflowed."""
    if not (np.isfinite(coef).all() and np.isfinite(gaps).all()
            and (intercept is None or np.isfinite(intercept).all())):
        raise ValueError(
            # the first words are scikit-learn's (its tests match them)
            "Coordinate descent iterations resulted in non-finite parameter values "
            "(coefficients, intercepts or duality gap): the fit overflowed in floating point. "
            "The data (or alpha) are too large or too small in magnitude; rescale X and y "
            "(README, section Guarantees).")


_PARAM_NAMES = {}
_CACHEABLE = (type(None), bool, int, float, str, np.bool_, np.integer, np.floating)


def param_names(cls):
    """cls._get_param_names(), read once per class (get_params reads the
    constructor's signature on every call: ~15 us)."""
    names = _PARAM_NAMES.get(cls)
    if names is None:
        names = _PARAM_NAMES[cls] = tuple(cls._get_param_names())
    return names


def _params_key(est):
    """The estimator's class and parameters as a comparable tuple (name,
    type, value), or None when one is not an immutable scalar or a callable
    (arrays, lists, dicts, estimators: those are validated on every fit)."""
    cls = type(est)
    key = [cls]
    for name in param_names(cls):
        v = getattr(est, name, None)
        if not (isinstance(v, _CACHEABLE) or callable(v) and not hasattr(v, "get_params")):
            return None
        key.append((name, type(v), v))
    return tuple(key)


_VALIDATED = set()        # _params_key of settings that passed validation
_VALIDATED_MAX = 4096


class CachedParamValidation:
    """scikit-learn's parameter validation (_validate_params, ~60 us: it
    reads the constructor's signature and builds every constraint) run once
    per parameter setting: a fit whose class and parameters equal, in type
    and value, a setting that passed before (in this process: clones of a
    search or of CV folds included) skips it. Parameters that are not
    immutable scalars or callables are validated on every fit."""

    def _validate_params(self):
        key = _params_key(self)
        if key is not None and key in _VALIDATED:
            return
        super()._validate_params()
        if key is not None:
            if len(_VALIDATED) >= _VALIDATED_MAX:
                _VALIDATED.clear()
            _VALIDATED.add(key)


def shallow_copy(est):
    """copy.copy(est) for mtlfast's estimators (their state is __dict__),
    without copy's pickling protocol (~8 us: a path copies per point)."""
    new = object.__new__(type(est))
    new.__dict__.update(est.__dict__)
    return new


class TaskMetadata(CachedParamValidation):
    """Per-task data in scikit-learn's searches, cross-validation and
    pipelines: with metadata routing on
    (``sklearn.set_config(enable_metadata_routing=True)``), the row labels
    ``tasks`` are requested by default by fit, predict, score,
    decision_function and predict_proba, so GridSearchCV(...).fit(X, y,
    tasks=t) hands every fold's labels to each of them (and to a
    mtlfast.model_selection.TaskKFold splitter)."""
    __metadata_request__fit = {"tasks": True}
    __metadata_request__predict = {"tasks": True}
    __metadata_request__score = {"tasks": True}
    __metadata_request__predict_proba = {"tasks": True}
    __metadata_request__decision_function = {"tasks": True}


_SEARCH_HELP = (
    "Turn metadata routing on (sklearn.set_config(enable_metadata_routing=True)): "
    "mtlfast's estimators then receive each fold's tasks in fit, predict and score; "
    "score with the estimator's own score (scoring=None) or wrap a scorer with "
    "mtlfast.model_selection.task_scorer('r2'); split with "
    "cv=mtlfast.model_selection.TaskKFold() to keep every task in every fold.")


def task_column(est, X, tasks, fitting):
    """(X, tasks) with a DataFrame's task column split off: at fit, `tasks`
    given as a column name of a DataFrame X (``fit(df, y, tasks="school")``;
    remembered as task_column_); afterwards, predict/score take a column
    name too, or find the column in X by that name (and drop it when tasks
    are given explicitly). Any other input passes through."""
    frame = hasattr(X, "columns") and hasattr(X, "drop")
    if isinstance(tasks, str):      # a column name (fit, predict, score alike)
        if not frame:
            raise ValueError(f"tasks={tasks!r} names a column: X must then be a pandas "
                             "DataFrame with that column (else pass one label per row).")
        if tasks not in X.columns:
            raise ValueError(f"tasks={tasks!r}: X has no such column; columns: "
                             f"{list(X.columns)[:20]}.")
        if fitting:
            est.task_column_ = tasks
        return X.drop(columns=[tasks]), X[tasks].to_numpy()
    if fitting:
        est.__dict__.pop("task_column_", None)
        return X, tasks
    col = getattr(est, "task_column_", None)
    if col is not None and frame and col in X.columns:
        return X.drop(columns=[col]), (X[col].to_numpy() if tasks is None else tasks)
    return X, tasks


def check_search_can_score_tasks(tasks):
    """Per-task data fitted inside scikit-learn's _fit_and_score (a search or
    cross_validate): fail the fit with a clear message when the test rows
    would be scored without their tasks, where scikit-learn would otherwise
    record NaN scores and pick a hyper-parameter at random. The two cases:
    routing off (the tasks reach fit only), or routing on with a scorer that
    calls predict(X) without them (a scorer name such as "r2")."""
    if tasks is None or isinstance(tasks, str):   # a DataFrame's column travels with X
        return
    frame = sys._getframe(1)
    for _ in range(12):
        frame = frame.f_back
        if frame is None:
            return
        if (frame.f_code.co_name == "_fit_and_score"
                and frame.f_globals.get("__name__", "").startswith("sklearn.")):
            break
    else:
        return
    import sklearn
    if not sklearn.get_config().get("enable_metadata_routing", False):
        raise ValueError("per-task data (tasks=...) reached fit inside a scikit-learn search "
                         "or cross-validation with metadata routing off: the test rows would "
                         "be scored without their tasks (NaN scores). " + _SEARCH_HELP)
    scorer = frame.f_locals.get("scorer")
    scorers = getattr(scorer, "_scorers", None)
    for s in (scorers.values() if isinstance(scorers, dict) else [scorer]):
        if s is None or getattr(s, "_mtlfast_tasks", False):
            continue
        if type(s).__name__ == "_PassthroughScorer":      # the estimator's own score
            continue
        raise ValueError(f"the scorer {s!r} calls predict(X) without the test rows' tasks "
                         "(per-task data): its scores would be NaN. " + _SEARCH_HELP)


def check_search_scored_a_candidate():
    """Refuse the refit of a scikit-learn search (GridSearchCV, ...) in which
    no candidate got a score: every mean test score NaN. scikit-learn turns
    each fold's error into a NaN score and a warning, ranks all-NaN
    candidates equal and refits the first: a choice by position. With
    per-task data this happens when folds hold tasks absent from their
    training rows (rows sorted by task, an unshuffled KFold): such rows
    cannot be predicted. Fold fits (inside _fit_and_score) are not checked;
    a search with refit=False never calls fit again and is not either."""
    frame = sys._getframe(2)
    for _ in range(16):
        if frame is None:
            return
        name, module = frame.f_code.co_name, frame.f_globals.get("__name__", "")
        if name == "_fit_and_score" and module.startswith("sklearn."):
            return
        if name == "fit" and module == "sklearn.model_selection._search":
            break
        frame = frame.f_back
    else:
        return
    results, search = frame.f_locals.get("results"), frame.f_locals.get("self")
    if not isinstance(results, dict) or not hasattr(search, "best_index_"):
        return
    means = [np.asarray(v, dtype=float) for k, v in results.items()
             if k.startswith("mean_test_")]
    if means and all(np.isnan(m).all() for m in means):
        raise ValueError(
            f"{type(search).__name__} could not score any candidate: every fold's test score "
            "is NaN, and scikit-learn would refit the first candidate (a choice by position, "
            "not by score). Its warnings above give each fold's error. With per-task data, "
            "folds whose test rows hold tasks absent from their training rows cannot be "
            "scored: rows sorted by task split by an unshuffled KFold do that. "
            + _SEARCH_HELP)


def _path_strategy(datafit, selection):
    """The solver strategy of a path's points: working sets on dense X
    whatever its size (a warm start brings the support, and "auto"'s plain
    epochs for small problems cost 2-4x more there), plain epochs on sparse X
    and with random selection."""
    return "cd" if datafit.is_sparse or selection == "random" else "ws"


class SharedDesignRegressor(TaskMetadata, MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Base class: squared loss on one design X shared by all tasks.

    Subclasses define `_make_penalty()` and may set `_multi_task_only` (2-D y
    required, as in scikit-learn's MultiTask* estimators).
    """

    _multi_task_only = True
    _parameter_constraints = dict(_COMMON_CONSTRAINTS)

    # -- validation -------------------------------------------------------
    def _validate_fit_data(self, X, y, sample_weight):
        plain = plain_fit_arrays(self, X, y) if sample_weight is None else None
        if plain is not None:
            if plain[1].ndim == 1 and self._multi_task_only:
                plain = None        # the full path gives scikit-learn's message
            else:
                return plain[0], plain[1], None
        with _naming_errors("X"):
            X = validate_data(self, X, accept_sparse="csc", dtype=[np.float64, np.float32],
                              accept_large_sparse=True, ensure_min_samples=1,
                              ensure_min_features=1)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        with _naming_errors("y"):
            y = check_array(y, ensure_2d=False, dtype=None, input_name="y", allow_nd=True,
                            ensure_min_samples=1, ensure_min_features=0,
                            ensure_all_finite=True)
        if y.dtype.kind not in "biuf":
            if y.dtype.kind == "c":
                raise ValueError("Complex data not supported: y must be real-valued.")
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"y must be numeric, got dtype {y.dtype}.") from exc
            if not np.isfinite(y).all():
                raise ValueError("Input y contains NaN or infinity.")
        if y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got an array of shape {y.shape}.")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X and y have inconsistent numbers of samples: "
                             f"X has {X.shape[0]} rows, y has {y.shape[0]}.")
        if y.ndim == 1 and self._multi_task_only:
            # scikit-learn's words first (its tests match them)
            raise ValueError(
                f"For mono-task outputs, use {self._mono_task_name}. {type(self).__name__} "
                "needs a 2-D y (one column per task) on a shared design; for per-task data "
                "in the long layout (one target per row) pass tasks=..., each row's task "
                "label.")
        if y.ndim == 2 and y.shape[1] == 0:
            raise ValueError("y has 0 columns: at least one task is required.")
        sw = check_sample_weight(sample_weight, X)
        return X, y, sw

    # -- fitting ----------------------------------------------------------
    @fit_atomically
    def fit(self, X, y, sample_weight=None, *, tasks=None, task_weight=None):
        """Fit the model by block coordinate descent.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features), or a
            list [X_1, ..., X_T] of per-task designs
            Data. float32 input is kept as float32. Pass Fortran-ordered
            dense data (or CSC) to avoid a copy.
        y : ndarray of shape (n_samples, n_tasks) (or (n_samples,) where
            allowed); with per-task data: (n_samples,) in the long layout or
            a list [y_1, ..., y_T]
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, rescaled internally to sum to n_samples
            (per-task data: to n_t within each task).
        tasks : array-like of shape (n_samples,), default=None
            Per-task data in the long layout: the task label of each row.
            The objective becomes sum_t omega_t/(2 n_t) sum_{i in t}
            s_i (y_i - x_i w_t - b_t)^2 + penalty; coef_ row t belongs to
            the t-th sorted label (tasks_).
        task_weight : array-like of shape (n_tasks,), default=None
            Positive loss weights omega_t of the tasks (ones by default). With
            a shared design the fit runs on the long layout (X repeated per
            task).

        Returns
        -------
        self
        """
        self._validate_params()
        check_search_can_score_tasks(tasks)
        X, tasks = task_column(self, X, tasks, fitting=True)
        if _is_task_list(X) or tasks is not None or task_weight is not None:
            return self._fit_per_task(X, y, sample_weight, tasks, task_weight)
        self._per_task = False
        X, y, sw = self._validate_fit_data(X, y, sample_weight)
        y_was_1d = y.ndim == 1
        Y = (y[:, None] if y_was_1d else y).astype(X.dtype, copy=False)
        datafit = QuadraticShared(X, Y, sw, self.fit_intercept)
        self._check_precompute(datafit)
        coef_init = None
        if self.warm_start and hasattr(self, "coef_"):
            prev = np.atleast_2d(self.coef_)
            if prev.shape == (Y.shape[1], X.shape[1]):
                coef_init = prev
        self._solve_shared(datafit, coef_init, y_was_1d)
        return self

    def _solve_shared(self, datafit, coef_init, y_was_1d, strategy=None):
        """Solve on an assembled shared design from coef_init (or zeros) and
        set the fitted attributes (strategy: mtlfast.solvers.solve_shared's;
        None: the estimator's own, with scikit-learn's precompute=True read
        as "gram" under "auto")."""
        if strategy is None:
            strategy = getattr(self, "strategy", "auto")
            if strategy == "auto" and getattr(self, "precompute", False) is True \
                    and not datafit.is_sparse:
                strategy = "gram"
        penalty = factored_penalty(self, datafit)
        if self.alpha == 0:
            warnings.warn("With alpha=0, this algorithm does not converge well. "
                          "You are advised to use the LinearRegression estimator.",
                          stacklevel=3)
        seed = 0
        if self.selection == "random":
            seed = check_random_state(self.random_state).randint(1, np.iinfo(np.int32).max)
        res = solve_shared(datafit, penalty, coef_init, max_iter=self.max_iter, tol=self.tol,
                    selection=self.selection, seed=seed, n_threads=self.n_threads,
                    strategy=strategy)
        self._set_shared_fit(datafit, penalty.separable, res.coef, res.n_iter, res.gaps,
                             res.x_passes, y_was_1d)
        self.solver_info_ = res.info

    def _set_shared_fit(self, datafit, separable, coef, n_iter, gaps, x_passes, y_was_1d,
                        tol_abs=None):
        """The fitted attributes of a shared-design solve (coef (T, p), its
        epochs and gaps per block): the convergence warning at scikit-learn's
        tolerance (n-scaled; tol_abs: tol * ||Y||^2 per block, when the
        caller has it), the intercepts, the finite-fit check."""
        if tol_abs is None:
            Yn2 = (datafit.Y.astype(np.float64) ** 2).sum(axis=0)
            tol_abs = self.tol * (Yn2 if separable else np.array([Yn2.sum()]))
        warn_if_not_converged(gaps * datafit.n_samples, tol_abs, self.max_iter, stacklevel=4)
        dtype = datafit.dtype
        with np.errstate(all="ignore"):
            intercept = datafit.intercept(coef.T.astype(np.float64)).astype(dtype)
        check_finite_fit(coef, gaps, intercept)
        self._set_fitted(coef, intercept, n_iter, gaps.astype(dtype), tol_abs, y_was_1d)
        # the solver's work in passes over X (machine independent; the input
        # checks and a dense X's centering copy come on top)
        self.x_passes_ = float(x_passes)

    def _shared_batch(self, datafit, values):
        """The path of alpha `values` on a shared design in one kernel call
        (solve_shared with scales), as arrays (a SimpleNamespace: coefs (k,
        T, p), intercepts (k, T), n_iter and gaps (k, n_blocks), tol_abs,
        x_passes (k,)); None where that does not apply (random selection,
        unpenalized features, a value <= 0, a penalty not linear in alpha),
        and the caller solves point by point."""
        if (self.selection != "cyclic" or len(values) < 2
                or not all(isinstance(v, numbers.Real) and v > 0 for v in values)):
            return None
        unit = shallow_copy(self)
        unit.alpha = 1.0
        pen = factored_penalty(unit, datafit)
        unit.alpha = 2.0
        twice = factored_penalty(unit, datafit).kernel_params()
        kind, lam1, lam2, tau, positive = pen.kernel_params()
        if (has_unpenalized(unpenalized(pen)) or twice[0] != kind or twice[1] != 2 * lam1
                or twice[2] != 2 * lam2 or twice[3:] != (tau, positive)):
            return None
        strategy = _path_strategy(datafit, self.selection)
        res = solve_shared(datafit, pen, None, max_iter=self.max_iter, tol=self.tol,
                           n_threads=self.n_threads, scales=np.asarray(values, dtype=float),
                           strategy=strategy)
        # what _set_shared_fit does, for all points at once
        Yn2 = (datafit.Y.astype(np.float64) ** 2).sum(axis=0)
        tol_abs = self.tol * (Yn2 if pen.separable else np.array([Yn2.sum()]))
        warn_if_not_converged(res.gaps * datafit.n_samples, tol_abs, self.max_iter,
                              stacklevel=4)
        dtype = datafit.dtype
        if datafit.fit_intercept:
            with np.errstate(all="ignore"):
                intercepts = (datafit.Y_offset - res.coefs.astype(np.float64)
                              @ datafit.X_offset).astype(dtype)
        else:
            intercepts = np.zeros((len(values), datafit.n_tasks), dtype=dtype)
        check_finite_fit(res.coefs, res.gaps, intercepts)
        return SimpleNamespace(coefs=res.coefs, intercepts=intercepts, n_iter=res.n_iter,
                               gaps=res.gaps.astype(dtype), tol_abs=tol_abs,
                               x_passes=res.x_passes, strategy=strategy)

    def _path_batch(self, X, y, sample_weight=None, tasks=None, task_weight=None, *,
                    param="alpha", values=()):
        """_fit_path's solve as arrays (see _shared_batch), when the path is
        one of alpha on a shared design solved in one kernel call; else None
        (nothing validated or solved: call _fit_path)."""
        if (param != "alpha" or tasks is not None or task_weight is not None
                or _is_task_list(X) or getattr(self, "_solve_shared", None) is None
                or self.selection != "cyclic"):
            return None
        base, datafit, shared, y_was_1d, _, _, values = self._path_setup(
            X, y, sample_weight, tasks, task_weight, param, values)
        return base._shared_batch(datafit, values) if shared else None

    def _path_setup(self, X, y, sample_weight, tasks, task_weight, param, values):
        """The parameters validated (with the first value), the problem
        assembled once: (base, datafit, shared, y_was_1d, labels, per_task,
        values) for the path's points."""
        self._validate_params()
        datafit, shared, y_was_1d, labels, per_task = self._assemble(
            X, y, sample_weight, tasks, task_weight)
        values = list(values)
        base = clone(self)
        if values:
            base.set_params(**{param: values[0]})
            base._validate_params()
        for attr in ("n_features_in_", "feature_names_in_", "_fit_1d"):
            if hasattr(self, attr):
                setattr(base, attr, getattr(self, attr))
        return base, datafit, shared, y_was_1d, labels, per_task, values

    def _fit_per_task(self, X, y, sample_weight, tasks, task_weight):
        """Per-task designs (long or list layout), or a shared design with
        task weights, through mtlfast.datafits.QuadraticPerTask and the per-task kernel."""
        datafit, labels, per_task = self._per_task_datafit(X, y, sample_weight, tasks,
                                                           task_weight)
        init = self._path_init() if self.warm_start and hasattr(self, "coef_") else None
        self._solve_per_task(datafit, init, labels, per_task)
        return self

    def _solve_per_task(self, datafit, init, labels, per_task):
        """Solve on an assembled per-task problem from init (coef (T, p) or
        None; ignored when its shape does not match) and set the fitted
        attributes."""
        if init is not None and np.shape(init) != (datafit.n_tasks, datafit.n_features):
            init = None
        res = solve_tasks(datafit, factored_penalty(self, datafit), init,
                          max_iter=self.max_iter,
                          tol=self.tol, n_threads=self.n_threads)
        self._set_per_task_fit(datafit, res.coef, res.n_iter, res.gaps, labels, per_task)

    def _path_init(self):
        """What the next solve of a path (or a warm start) starts from."""
        return np.atleast_2d(self.coef_)

    # -- paths (cross-validation) ------------------------------------------
    def _assemble(self, X, y, sample_weight=None, tasks=None, task_weight=None):
        """Validate and assemble the problem as fit does: (datafit, shared,
        y_was_1d, labels, per_task); shared: a QuadraticShared problem, else
        the per-task layout."""
        shared = not (_is_task_list(X) or tasks is not None or task_weight is not None
                      or getattr(self, "_solve_shared", None) is None)
        if shared:
            X, y, sw = self._validate_fit_data(X, y, sample_weight)
            y_was_1d = y.ndim == 1
            Y = (y[:, None] if y_was_1d else y).astype(X.dtype, copy=False)
            return QuadraticShared(X, Y, sw, self.fit_intercept), True, y_was_1d, None, False
        datafit, labels, per_task = self._per_task_datafit(X, y, sample_weight, tasks,
                                                           task_weight)
        return datafit, False, False, labels, per_task

    def _alpha_max(self, X, y, sample_weight=None, tasks=None, task_weight=None):
        """The smallest alpha whose fit is W = 0, on these data as fit would
        assemble them (the datafit protocol's alpha_max at alpha = 1)."""
        est = clone(self)
        datafit = est._assemble(X, y, sample_weight, tasks, task_weight)[0]
        return datafit.alpha_max(factored_penalty(est.set_params(alpha=1.0), datafit))

    def _fit_path(self, X, y, sample_weight=None, tasks=None, task_weight=None, *,
                  param="alpha", values=()):
        """Fit along `values` of the hyper-parameter `param`, in the given
        order, each solve warm-started from the previous one and the problem
        validated and assembled once. Yields one fitted clone of self per
        value (with param set), as fit(X, y, ...) would leave it. The
        parameters are validated with the first value; the caller checks the
        others (finite, non-negative grids)."""
        base, datafit, shared, y_was_1d, labels, per_task, values = self._path_setup(
            X, y, sample_weight, tasks, task_weight, param, values)
        batch = base._shared_batch(datafit, values) if shared and param == "alpha" else None
        if batch is not None:
            for i, value in enumerate(values):
                est = shallow_copy(base)
                est.alpha = value
                est._per_task = False
                est._set_fitted(batch.coefs[i], batch.intercepts[i], batch.n_iter[i],
                                batch.gaps[i], batch.tol_abs, y_was_1d)
                est.x_passes_ = float(batch.x_passes[i])
                est.solver_info_ = {"strategy": batch.strategy, "path": True,
                                    "x_passes": est.x_passes_}
                yield est
            return
        prev = None
        for value in values:
            # a shallow copy with the value set (clone and get_params cost more than a
            # warm-started solve of a small problem); every fit sets its own attributes
            est = shallow_copy(base)
            setattr(est, param, value)
            init = None if prev is None else prev._path_init()
            if shared:
                est._per_task = False
                est._solve_shared(datafit, init, y_was_1d,
                                  _path_strategy(datafit, self.selection))
            else:
                est._solve_per_task(datafit, init, labels, per_task)
            prev = est
            yield est

    def _per_task_datafit(self, X, y, sample_weight, tasks, task_weight):
        """Validated long layout -> (QuadraticPerTask, task labels, per_task).

        Per-task data come as the list layout or with `tasks`; otherwise X is
        one shared design with a 2-D y (or 1-D where the model allows one
        task), which is repeated per task (per_task False: predict returns
        all tasks' columns)."""
        per_task = True
        self._fit_1d = False
        X, y, tasks = _stack_task_list(X, y, tasks)
        if tasks is None:
            # a shared design: the long layout, X repeated per task
            per_task = False
            X, Y, sw = self._validate_fit_data(X, y, sample_weight)
            self._fit_1d = Y.ndim == 1
            if Y.ndim != 2:
                if task_weight is not None:
                    raise ValueError("task_weight needs a 2-D y (one column per task) or "
                                     "per-task data (tasks=...).")
                Y = Y[:, None]
            n, T = Y.shape
            X = repeat_design(X, T)
            y = Y.T.ravel()
            tasks = np.repeat(np.arange(T), n)
            sample_weight = None if sw is None else np.tile(sw, T)
        else:
            # (a shared design was validated above: validating its repetition
            # again would reset the feature names it recorded)
            with _naming_errors("X"):
                X = validate_data(self, X, accept_sparse="csc", dtype=[np.float64, np.float32],
                                  accept_large_sparse=True, ensure_min_samples=1,
                                  ensure_min_features=1)
        with _naming_errors("y"):
            y = check_array(y, ensure_2d=False, dtype=None, input_name="y",
                            ensure_all_finite=True)
        if y.ndim != 1:
            raise ValueError(f"with per-task data y must be 1-D (one target per row), got "
                             f"shape {y.shape}.")
        if y.dtype.kind not in "biuf":
            raise ValueError(f"y must be numeric, got dtype {y.dtype}.")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X and y have inconsistent numbers of samples: X has "
                             f"{X.shape[0]} rows, y has {y.shape[0]}.")
        labels, codes = check_tasks(tasks, X.shape[0])
        T = len(labels)
        sw = check_sample_weight(sample_weight, X)
        tw = check_task_weight(task_weight, T, labels)
        datafit = QuadraticPerTask(X, y.astype(X.dtype), codes, T, sw, tw, self.fit_intercept)
        return datafit, labels, per_task

    def _set_per_task_fit(self, datafit, coef, n_iter, gaps, labels, per_task):
        """Convergence check (gap <= tol * ||y_block||^2), intercepts and the
        fitted attributes of a per-task fit."""
        ye = datafit.y_eff.astype(np.float64)
        yy = np.array([ye[s] @ ye[s] for s in datafit.task_slices()])
        eps = self.tol * (yy if len(gaps) == datafit.n_tasks else np.array([yy.sum()]))
        warn_if_not_converged(gaps, eps, self.max_iter, stacklevel=4)
        intercept = datafit.intercept(coef.T.astype(np.float64)).astype(datafit.dtype)
        check_finite_fit(coef, gaps, intercept)
        self.coef_ = coef
        self.intercept_ = intercept
        self.n_iter_ = int(n_iter.max())
        # the certificate of the stated objective (a sum over the tasks): the
        # sum of the blocks' gaps; each separable task's own gap stays apart
        self.dual_gap_ = gaps.sum().astype(datafit.dtype)
        self.eps_ = float(eps.sum())
        if len(gaps) > 1:
            self.task_dual_gaps_ = gaps.astype(datafit.dtype)
        elif hasattr(self, "task_dual_gaps_"):
            del self.task_dual_gaps_
        self._per_task = per_task
        if per_task:
            self.tasks_ = labels
        elif hasattr(self, "tasks_"):
            del self.tasks_

    def _check_precompute(self, datafit):
        """Validate a user-given Gram matrix like scikit-learn (it is not used:
        the kernels work on X directly)."""
        G = getattr(self, "precompute", None)
        if G is None or isinstance(G, (bool, str)):
            return
        G = np.asarray(G)
        p = datafit.n_features
        if G.shape != (p, p):
            raise ValueError(f"precompute: Gram matrix of shape {G.shape} does not match "
                             f"n_features={p}; expected ({p}, {p}).")
        if datafit.fit_intercept and not np.allclose(datafit.X_offset, 0.0):
            warnings.warn("Gram matrix was provided but X was centered to fit intercept: "
                          "recomputing Gram matrix.", UserWarning, stacklevel=3)
            return
        if datafit.is_sparse:
            return
        X = datafit.X_dense
        rng = np.random.default_rng(0)
        for i, j in [(0, 0), (p - 1, p - 1), tuple(rng.integers(0, p, 2))]:
            expected = float(np.dot(X[:, i], X[:, j]))
            if not np.isclose(G[i, j], expected, rtol=1e-4, atol=1e-8 * max(1.0, abs(expected))):
                raise ValueError(
                    "Gram matrix passed in via 'precompute' parameter did not pass "
                    f"validation when a single element was checked: G[{i}, {j}] = "
                    f"{G[i, j]!r}, X[:, {i}] @ X[:, {j}] = {expected!r} (X centered and "
                    "weighted as in the fit).")

    def _set_fitted(self, coef, intercept, n_iter, gaps, eps, y_was_1d):
        self.coef_ = coef
        self.intercept_ = intercept
        self.n_iter_ = int(n_iter.max())
        self.dual_gap_ = gaps.max()
        self.eps_ = float(eps.max())

    # -- prediction ------------------------------------------------------
    def _decision_function(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=True, dtype=[np.float64, np.float32],
                          reset=False)
        coef = self.coef_
        out = X @ coef.T if sparse.issparse(X) else np.dot(X, coef.T)
        return np.asarray(out) + self.intercept_

    def predict(self, X, tasks=None):
        """Predict with the linear model: X @ coef_.T + intercept_.

        Returns an array of shape (n_samples, n_tasks), or (n_samples,) when
        the model was fitted on 1-D y. A model fitted on per-task data needs
        the task of each row (`tasks`, labels as in fit) and returns one
        prediction per row, x_i . coef_[t(i)] + intercept_[t(i)]; a list of
        per-task designs gives a list of predictions.
        """
        X, tasks = task_column(self, X, tasks, fitting=False)
        if not getattr(self, "_per_task", False):
            if tasks is not None:
                raise ValueError("tasks was given but the model was fitted on a shared "
                                 "design: predict returns all tasks' columns.")
            return self._decision_function(X)
        check_is_fitted(self)
        if _is_task_list(X):
            if len(X) != len(self.tasks_):
                raise ValueError(f"got {len(X)} designs for {len(self.tasks_)} tasks.")
            return [self.predict(Xt, np.full(Xt.shape[0], self.tasks_[t]))
                    for t, Xt in enumerate(X)]
        if tasks is None:
            raise ValueError("this model was fitted on per-task data: pass tasks=... (the "
                             "task label of each row).")
        X = validate_data(self, X, accept_sparse=True, dtype=[np.float64, np.float32],
                          reset=False)
        out = per_row_linear(X, self.coef_, self.intercept_,
                             codes_for(tasks, self.tasks_, X.shape[0]))
        return out.astype(np.result_type(X.dtype, self.coef_.dtype), copy=False)

    def score(self, X, y, sample_weight=None, tasks=None):
        """R^2 of the predictions (per-task data: pass tasks as in predict)."""
        from sklearn.metrics import r2_score
        X, tasks = task_column(self, X, tasks, fitting=False)
        if not getattr(self, "_per_task", False) and tasks is None:
            return super().score(X, y, sample_weight=sample_weight)
        pred = self.predict(X, tasks)
        if isinstance(pred, list):
            pred, y = np.concatenate(pred), np.concatenate([np.asarray(v) for v in y])
        return r2_score(y, pred, sample_weight=sample_weight)

    @property
    def sparse_coef_(self):
        """coef_ as a scipy sparse CSR matrix."""
        return sparse.csr_matrix(np.atleast_2d(self.coef_))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = not self._multi_task_only
        return tags
