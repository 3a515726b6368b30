"""Structured multi-task estimators: shared + task-specific parts, task graphs,
transfer toward source coefficients.

Data term (DESIGN.md section 3), for a shared design X with Y (n, T) or for
per-task data (long layout with `tasks=`, or lists [X_1..X_T], [y_1..y_T]):

    sum_t omega_t / (2 n_t) * sum_{i in t} s_i (y_i - x_i w_t - b_t)^2

(a shared design: n_t = n, omega_t = 1 unless task_weight is given; this is
scikit-learn's 1/(2n) ||Y - XW - b||^2). W = coef_.T, shape (n_features,
n_tasks). Penalties:

DirtyMultiTaskLasso         W = B + S,  alpha_shared ||B||_21 + alpha_specific ||S||_1
MeanRegularizedMultiTask    W_t = w_0 + v_t,  h_0(w_0) + h_v(V), each L1
                            (alpha ||.||_1), L2,1 (V only: alpha sum_j ||V_j.||_2)
                            or ridge (0.5 alpha ||.||^2); ridge + ridge is the
                            regularized multi-task learning of Evgeniou & Pontil
TaskGraphMultiTask          0.5 graph_alpha sum_{s,t} A_st ||w_s - w_t||^2
                            + alpha ||W||_1 or alpha ||W||_21
TransferLasso               alpha (beta ||W||_1 + (1 - beta) ||W - W_src||_1)

Every fit stops on the duality gap (mtlfast.penalties.structured documents each dual):
gap <= tol * sum_t ||y_eff,t||^2 in the objective above (per task for
TransferLasso, which is separable), i.e. scikit-learn's rule in its n-scaled
form for a shared design. dual_gap_ is a duality gap of the objective above,
in its scaling, so it bounds objective(coef_) - optimum: for TransferLasso
the sum of the tasks' gaps (each task's in task_dual_gaps_).
"""
import numbers

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from . import penalties
from ._base import (fit_atomically, SharedDesignRegressor, _COMMON_CONSTRAINTS,
                    check_search_can_score_tasks, task_column, PENALTY_FACTOR_CONSTRAINT)
from .penalties.factors import check_penalty_factor
from .solvers import solve_structured
from .datafits._layout import by_label
from .penalties.structured import (TaskGraph, Transfer, TwoPart, aggregate_slack,
                                   check_similarity, check_source)

_POSITIVE = [Interval(numbers.Real, 0, None, closed="neither")]
_STRUCT_CONSTRAINTS = {**{k: v for k, v in _COMMON_CONSTRAINTS.items()
                          if k not in ("alpha", "selection", "random_state")},
                       **PENALTY_FACTOR_CONSTRAINT}


class _StructuredRegressor(SharedDesignRegressor):
    """Base: every fit runs on the long layout (a shared design is repeated
    per task) with the structured kernel (mtlfast._cd_structured)."""

    _parameter_constraints = dict(_STRUCT_CONSTRAINTS)
    _mono_task_name = "Lasso or TransferLasso"

    @fit_atomically
    def fit(self, X, y, sample_weight=None, *, tasks=None, task_weight=None):
        """Fit the model by block coordinate descent.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features), or a
            list [X_1, ..., X_T] of per-task designs
        y : ndarray of shape (n_samples, n_tasks) for a shared X; with
            per-task data (n_samples,) in the long layout or a list
            [y_1, ..., y_T]
        sample_weight : array-like of shape (n_samples,), default=None
            Rescaled to sum to n_t within each task.
        tasks : array-like of shape (n_samples,), default=None
            The task label of each row (long layout); coef_ row t belongs to
            the t-th sorted label (tasks_).
        task_weight : array-like of shape (n_tasks,), default=None
            Positive loss weights omega_t (ones by default).

        Returns
        -------
        self
        """
        self._validate_params()
        check_search_can_score_tasks(tasks)
        X, tasks = task_column(self, X, tasks, fitting=True)
        datafit, labels, per_task = self._per_task_datafit(X, y, sample_weight, tasks,
                                                           task_weight)
        init = self._path_init() if self.warm_start and hasattr(self, "coef_") else None
        self._solve_per_task(datafit, init, labels, per_task)
        return self

    _solve_shared = None    # every fit runs on the long layout

    def _solve_per_task(self, datafit, init, labels, per_task):
        """Solve from init (the parts of a previous fit; ignored when their
        shapes do not match this model's) and set the fitted attributes."""
        model = self._make_model(datafit, labels)
        shapes = [Pk.shape for Pk in model.init_parts(datafit.n_features, datafit.n_tasks)]
        if init is not None and [Pk.shape for Pk in init] != shapes:
            init = None
        res = solve_structured(datafit, model, init, max_iter=self.max_iter, tol=self.tol,
                               n_threads=self.n_threads)
        self._set_per_task_fit(datafit, np.ascontiguousarray(res.coef), res.n_iter, res.gaps,
                               labels, per_task)
        self._set_parts(res.parts)

    def _path_init(self):
        return self._get_parts()

    # the strengths of the model's parts, in the order of alpha_max_parts
    _strengths = ("alpha",)

    def _datafit_for(self, X, y, sample_weight, tasks, task_weight):
        datafit, labels, _ = self._per_task_datafit(X, y, sample_weight, tasks, task_weight)
        return datafit, labels

    def _auto_grids(self, X, y, sample_weight=None, tasks=None, task_weight=None, *,
                    eps=1e-3, n_values=10):
        """{strength: decreasing grid} for every part with a norm (ridge parts
        have no alpha_max and keep their value): n_values values from the
        part's alpha_max (model.alpha_max_parts at the intercepts-only fit)
        down to eps x it. A part whose alpha_max is 0 (the mean-regularized
        shared part on targets that add up to a constant, with intercepts)
        takes the other part's scale."""
        est = clone(self)
        datafit, labels = est._datafit_for(X, y, sample_weight, tasks, task_weight)
        model = est._make_model(datafit, labels)
        V = -datafit.gradient(np.zeros((datafit.n_features, datafit.n_tasks)))
        amax = dict(zip(self._strengths, model.alpha_max_parts(V)))
        amax = {k: v for k, v in amax.items() if v is not None}
        # the scale for a part whose alpha_max is 0: the other parts', or the
        # gradient's largest entry (an L1 penalty's alpha_max)
        scale = max([*amax.values(), float(np.abs(V).max(initial=0.0))])
        if scale <= 0:
            raise ValueError(f"{type(self).__name__}: the gradient at zero coefficients is "
                             "0 (targets constant within each task): no automatic grid.")
        nonzero = [v for v in amax.values() if v > 1e-12 * scale]
        fallback = max(nonzero) if nonzero else scale
        tops = {k: (v if v > 1e-12 * scale else fallback) for k, v in amax.items()}
        return {k: np.geomspace(v, v * eps, n_values) for k, v in tops.items()}

    # single-part models: the part is W itself
    def _get_parts(self):
        return [np.asarray(self.coef_, dtype=np.float64).T]

    def _set_parts(self, parts):
        pass


class _TwoPartRegressor(_StructuredRegressor):
    """coef_ = coef_shared_ + coef_specific_ (broadcast over tasks when the
    shared part is one vector)."""

    _strengths = ("alpha_shared", "alpha_specific")

    def _get_parts(self):
        shared = np.asarray(self.coef_shared_, dtype=np.float64)
        shared = shared[:, None] if shared.ndim == 1 else shared.T
        return [shared, np.asarray(self.coef_specific_, dtype=np.float64).T]

    def _set_parts(self, parts):
        shared, specific = parts
        self.coef_shared_ = np.ascontiguousarray(shared[:, 0] if shared.shape[1] == 1 and
                                                 self._shared_vector else shared.T)
        self.coef_specific_ = np.ascontiguousarray(specific.T)


_DOC_COMMON = """
    fit_intercept : bool, default=True
        One intercept per task (each task's rows centered with its weights).
    max_iter : int, default=1000
        Maximum number of epochs (passes over all features).
    tol : float, default=1e-4
        Stop when the duality gap <= tol * sum_t ||y_t - ybar_t||^2 (weighted
        and scaled as in the objective).
    warm_start : bool, default=False
        Start from the previous fit's parts when the shapes match.
    n_threads : int or None, default=None
        OpenMP threads (None: OMP_NUM_THREADS or all cores). Results do not
        depend on it.
    penalty_factor : array-like of shape (n_features,), default=None
        Per-feature factors (> 0) of the model's row penalties (glmnet's
        penalty.factor; the graph term is not scaled), rescaled to sum to
        n_features. Zeros (unpenalized features) are for the row-penalty
        models only.
"""

_DOC_ATTRS = """
    coef_ : ndarray of shape (n_tasks, n_features)
    intercept_ : ndarray of shape (n_tasks,)
    n_iter_ : int
    dual_gap_ : float
        Duality gap at the solution (objective scaling of the module
        docstring): a bound on objective(coef_) - optimum. For a separable
        model (TransferLasso) the sum of the tasks' gaps.
    task_dual_gaps_ : ndarray of shape (n_tasks,)
        Separable models only: each task's own gap (they sum to dual_gap_).
    eps_ : float
        The tolerance the gap was compared with (summed like dual_gap_).
    tasks_ : ndarray of shape (n_tasks,)
        Task labels, with per-task data (long or list layout).
"""


class DirtyMultiTaskLasso(_TwoPartRegressor):
    __doc__ = """Dirty multi-task model: W = B + S with a row-sparse shared-support
    part B (L2,1) and an entry-sparse task-specific part S (L1).

    Objective: data term of mtlfast.multi_task + alpha_shared ||B||_21 +
    alpha_specific ||S||_1 (Jalali et al., 2010). A huge alpha_specific gives
    the multi-task lasso, a huge alpha_shared independent lassos.

    Parameters
    ----------
    alpha_shared : float > 0, default=1.0
    alpha_specific : float > 0, default=1.0
""" + _DOC_COMMON + """
    Attributes
    ----------
    coef_shared_ : ndarray of shape (n_tasks, n_features)
        B.T, the part with one support for all tasks.
    coef_specific_ : ndarray of shape (n_tasks, n_features)
        S.T, the task-specific part; coef_ = coef_shared_ + coef_specific_.
""" + _DOC_ATTRS

    _shared_vector = False
    _parameter_constraints = {**_STRUCT_CONSTRAINTS, "alpha_shared": _POSITIVE,
                              "alpha_specific": _POSITIVE}

    def __init__(self, alpha_shared=1.0, alpha_specific=1.0, *, fit_intercept=True,
                 max_iter=1000, tol=1e-4, warm_start=False, n_threads=None,
                 verbose=0, callback=None, max_time=None, penalty_factor=None):
        self.penalty_factor = penalty_factor
        self.alpha_shared = alpha_shared
        self.alpha_specific = alpha_specific
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.n_threads = n_threads
        self.verbose = verbose
        self.callback = callback
        self.max_time = max_time

    def _make_model(self, datafit, labels=None):
        return TwoPart(penalties.L21(self.alpha_shared), penalties.L1(self.alpha_specific),
                       factor=_factor(self, datafit))


def _factor(est, datafit):
    """est.penalty_factor validated and rescaled (mtlfast.penalties.factors);
    the structured models take factors > 0 only."""
    return check_penalty_factor(getattr(est, "penalty_factor", None), datafit.n_features)


def _part_penalty(name, alpha, allow_l21):
    if name == "l1":
        return penalties.L1(alpha)
    if name == "ridge":
        return penalties.L2(alpha)
    if name == "l21" and allow_l21:
        return penalties.L21(alpha)
    raise ValueError(f"unknown penalty {name!r}.")


class MeanRegularizedMultiTask(_TwoPartRegressor):
    __doc__ = """Mean-regularized multi-task model: W_t = w_0 + v_t, one vector w_0
    shared by all tasks plus task deviations v_t.

    Objective: data term of mtlfast.multi_task + h_0(w_0) + h_v(V), with
    h_0 = alpha_shared * (||w_0||_1 if shared_penalty == "l1",
    0.5 ||w_0||^2 if "ridge") and h_v = alpha_specific * (||V||_1 ("l1"),
    sum_j ||V_j.||_2 ("l21", deviations sharing one support) or 0.5 ||V||_F^2
    ("ridge")). Ridge on both parts is the regularized multi-task learning
    of Evgeniou & Pontil (2004).

    Parameters
    ----------
    alpha_shared : float > 0, default=1.0
    alpha_specific : float > 0, default=1.0
    shared_penalty : {"l1", "ridge"}, default="l1"
    specific_penalty : {"l1", "l21", "ridge"}, default="l21"
""" + _DOC_COMMON + """
    Attributes
    ----------
    coef_shared_ : ndarray of shape (n_features,)
        w_0.
    coef_specific_ : ndarray of shape (n_tasks, n_features)
        The deviations v_t; coef_ = coef_shared_ + coef_specific_.
""" + _DOC_ATTRS

    _shared_vector = True
    _parameter_constraints = {**_STRUCT_CONSTRAINTS, "alpha_shared": _POSITIVE,
                              "alpha_specific": _POSITIVE,
                              "shared_penalty": [StrOptions({"l1", "ridge"})],
                              "specific_penalty": [StrOptions({"l1", "l21", "ridge"})]}

    def __init__(self, alpha_shared=1.0, alpha_specific=1.0, *, shared_penalty="l1",
                 specific_penalty="l21", fit_intercept=True, max_iter=1000, tol=1e-4,
                 warm_start=False, n_threads=None,
                 verbose=0, callback=None, max_time=None, penalty_factor=None):
        self.penalty_factor = penalty_factor
        self.alpha_shared = alpha_shared
        self.alpha_specific = alpha_specific
        self.shared_penalty = shared_penalty
        self.specific_penalty = specific_penalty
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.n_threads = n_threads
        self.verbose = verbose
        self.callback = callback
        self.max_time = max_time

    def _make_model(self, datafit, labels=None):
        factor = _factor(self, datafit)
        return TwoPart(_part_penalty(self.shared_penalty, self.alpha_shared, False),
                       _part_penalty(self.specific_penalty, self.alpha_specific, True),
                       shared_a=True, factor=factor,
                       agg_slack=aggregate_slack(datafit, factor))


class TaskGraphMultiTask(_StructuredRegressor):
    __doc__ = """Multi-task model with a task-similarity graph: related tasks'
    coefficients are pulled together.

    Objective: data term of mtlfast.multi_task
    + 0.5 graph_alpha sum_{s,t} A_st ||w_s - w_t||^2 + alpha * N(W), N the
    L1 norm (penalty="l1") or the L2,1 norm (penalty="l21"); A = similarity.

    Parameters
    ----------
    alpha : float > 0, default=1.0
        Strength of the sparsity penalty.
    graph_alpha : float >= 0, default=1.0
        Strength of the graph term (0: the sparsity penalty alone).
    similarity : array-like or sparse of shape (n_tasks, n_tasks), default=None
        Symmetric, non-negative task similarities A (its diagonal is
        ignored); rows and columns in the order of tasks_ (the sorted labels),
        or of the columns of Y. None: every pair of tasks with weight 1 (the
        graph term is then T times the spread around the tasks' mean).
    penalty : {"l1", "l21"}, default="l21"
""" + _DOC_COMMON + """
    Attributes
    ----------
""" + _DOC_ATTRS

    _parameter_constraints = {**_STRUCT_CONSTRAINTS, "alpha": _POSITIVE,
                              "graph_alpha": [Interval(numbers.Real, 0, None, closed="left")],
                              "similarity": ["array-like", "sparse matrix", None],
                              "penalty": [StrOptions({"l1", "l21"})]}

    def __init__(self, alpha=1.0, *, graph_alpha=1.0, similarity=None, penalty="l21",
                 fit_intercept=True, max_iter=1000, tol=1e-4, warm_start=False,
                 n_threads=None,
                 verbose=0, callback=None, max_time=None, penalty_factor=None):
        self.penalty_factor = penalty_factor
        self.alpha = alpha
        self.graph_alpha = graph_alpha
        self.similarity = similarity
        self.penalty = penalty
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.n_threads = n_threads
        self.verbose = verbose
        self.callback = callback
        self.max_time = max_time

    def _make_model(self, datafit, labels=None):
        T = datafit.n_tasks
        # a DataFrame labelled by task is aligned by label (by_label)
        A = np.ones((T, T)) if self.similarity is None else by_label(
            self.similarity, labels, "similarity")
        pen = penalties.L1(self.alpha) if self.penalty == "l1" else penalties.L21(self.alpha)
        return TaskGraph(pen, self.graph_alpha, check_similarity(A, T),
                         factor=_factor(self, datafit))


class TransferLasso(_StructuredRegressor):
    __doc__ = """Transfer lasso: coefficients pulled toward source coefficients.

    Objective: data term of mtlfast.multi_task
    + alpha * (beta ||W||_1 + (1 - beta) ||W - W_src||_1), W_src =
    coef_source.T. beta = 1 is the lasso; beta = 0 shrinks toward the source
    only (Takada & Fujisawa, 2020). Tasks are independent given the source,
    solved in parallel, each with its own gap (tol * ||y_t||^2).

    Typical use: fit a model on source data (or pooled source tasks), then
    TransferLasso(coef_source=source_model.coef_).fit(X_target, y_target).

    Parameters
    ----------
    alpha : float >= 0, default=1.0
    beta : float in [0, 1], default=0.5
    coef_source : array-like of shape (n_tasks, n_features) or (n_features,),
        a fitted estimator, default=None
        Source coefficients; one row is shared by all tasks; a fitted source
        model gives its coef_ (its features must be the target's). None:
        zeros (the lasso).
""" + _DOC_COMMON + """
    Attributes
    ----------
""" + _DOC_ATTRS

    _multi_task_only = False
    _parameter_constraints = {**_STRUCT_CONSTRAINTS,
                              "alpha": [Interval(numbers.Real, 0, None, closed="left")],
                              "beta": [Interval(numbers.Real, 0, 1, closed="both")],
                              "coef_source": ["array-like", HasMethods(["get_params"]),
                                              None]}

    def __init__(self, alpha=1.0, *, beta=0.5, coef_source=None, fit_intercept=True,
                 max_iter=1000, tol=1e-4, warm_start=False, n_threads=None,
                 verbose=0, callback=None, max_time=None, penalty_factor=None):
        self.penalty_factor = penalty_factor
        self.alpha = alpha
        self.beta = beta
        self.coef_source = coef_source
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.n_threads = n_threads
        self.verbose = verbose
        self.callback = callback
        self.max_time = max_time

    @fit_atomically
    def fit(self, X, y, sample_weight=None, *, tasks=None, task_weight=None):
        super().fit(X, y, sample_weight, tasks=tasks, task_weight=task_weight)
        if self._fit_1d:
            # one task on a shared design: 1-D attributes, as scikit-learn's Lasso
            self.coef_ = self.coef_[0]
            self.intercept_ = self.intercept_[0]
        return self

    def _get_parts(self):
        return [np.atleast_2d(np.asarray(self.coef_, dtype=np.float64)).T]

    def _make_model(self, datafit, labels=None):
        S = check_source(self.coef_source, datafit.n_tasks, datafit.n_features)
        return Transfer(self.alpha, self.beta, S, factor=_factor(self, datafit))
