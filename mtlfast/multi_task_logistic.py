"""Structured multi-task classifiers: the logistic counterparts of the
structured regressors of mtlfast.multi_task, each with its regression model's
parameters and penalty.

Data term: the per-task logistic loss of MultiTaskLogisticRegression
(mtlfast.datafits.LogisticPerTask), for a shared design X with labels Y
(n, T) or per-task data (tasks=..., or lists [X_1..X_T], [y_1..y_T]):

    sum_t omega_t / n_t * sum_{i in t} s_i (log(1 + exp(z_i)) - y_i z_i)
    z_i = x_i . w_t(i) + b_t(i),  y_i = 1 for the task's second (sorted) class

Penalties (W = coef_.T, shape (n_features, n_tasks)):

DirtyMultiTaskLogisticRegression            W = B + S, alpha_shared ||B||_21
                                            + alpha_specific ||S||_1
MeanRegularizedMultiTaskLogisticRegression  W_t = w_0 + v_t, h_0(w_0) + h_v(V)
TaskGraphMultiTaskLogisticRegression        0.5 graph_alpha sum_{s,t} A_st
                                            ||w_s - w_t||^2 + alpha N(W)
TransferLogisticRegression                  alpha (beta ||W||_1
                                            + (1 - beta) ||W - W_src||_1)

Solver: proximal Newton whose steps are solved by the structured kernel
(mtlfast.solvers.solve_structured_logistic), stopping when the duality gap
(mtlfast.penalties.structured.logistic_gaps) is <= tol * sum_t omega_t log 2,
the loss at W = 0, b = 0 (per task for the separable transfer model, each
task against its own omega_t log 2). dual_gap_ bounds objective(coef_) -
optimum in the objective above. The coefficients are computed in float64
whatever the dtype of X (coef_ and intercept_ come back in X's dtype).
"""
import numpy as np

from ._config import resolve_n_threads
from .classification import _BinaryTasksClassifier
from .multi_task import (DirtyMultiTaskLasso,
                         MeanRegularizedMultiTask, TaskGraphMultiTask, TransferLasso,
                         _TwoPartRegressor, _StructuredRegressor)
from .solvers import solve_structured_logistic

_LOGISTIC_DOC = """
    fit_intercept : bool, default=True
        One unpenalized intercept per task.
    max_iter : int, default=100
        Maximum number of proximal Newton steps.
    tol : float, default=1e-6
        Stop when the duality gap <= tol * sum_t omega_t log 2 (the loss at
        zero coefficients).
    warm_start : bool, default=False
        Start from the previous fit's parts and intercepts when the shapes match.
    n_threads : int or None, default=None
        OpenMP threads of the inner solves (None: OMP_NUM_THREADS or all
        cores). Results do not depend on it.
    verbose, callback, max_time : progress lines, a callable(info) that can
        stop the fit, a time budget in seconds (one report per Newton step).
    penalty_factor : array-like of shape (n_features,), default=None
        Per-feature factors (> 0) of the model's row penalties (glmnet's
        penalty.factor; the graph term is not scaled), rescaled to sum to
        n_features. Zeros (unpenalized features) are for the row-penalty
        models only.

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features)
    intercept_ : ndarray of shape (n_tasks,)
    classes_ : ndarray of 2 labels when every task has the same two, else a
        list of n_tasks such arrays (MultiTaskLogisticRegression's convention)
    n_iter_ : int, proximal Newton steps
    dual_gap_ : float
        Duality gap at the solution: a bound on objective(coef_) - optimum
        (for TransferLogisticRegression the sum of the tasks' gaps, each in
        task_dual_gaps_).
    tasks_ : ndarray of shape (n_tasks,)
        Task labels, with per-task data (long or list layout).
"""

class _StructuredClassifier(_BinaryTasksClassifier):
    """Base: the regression counterpart's model (its _make_model) with the
    logistic datafit; parts are kept as the regressor keeps them."""

    _get_parts = _StructuredRegressor._get_parts
    _set_parts = _StructuredRegressor._set_parts
    _strengths = _StructuredRegressor._strengths
    _auto_grids = _StructuredRegressor._auto_grids

    def _datafit_for(self, X, y, sample_weight, tasks, task_weight):
        datafit, _, labels = self._validate(X, y, sample_weight, tasks, task_weight)
        return datafit, labels

    def _set_common(self, fit_intercept, max_iter, tol, warm_start, n_threads, verbose,
                    callback, max_time):
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.n_threads = n_threads
        self.verbose = verbose
        self.callback = callback
        self.max_time = max_time

    def _warm_init(self):
        return self._get_parts(), self.intercept_

    @staticmethod
    def _path_start(res):
        return res.parts, res.intercept

    def _solve(self, df, init, labels=None):
        model = self._make_model(df, labels)
        parts, b0 = (None, None) if init is None else init
        shapes = [Pk.shape for Pk in model.init_parts(df.n_features, df.n_tasks)]
        if parts is not None and [np.shape(Pk) for Pk in parts] != shapes:
            parts, b0 = None, None
        return solve_structured_logistic(df, model, parts, b0, max_iter=self.max_iter,
                                         tol=self.tol,
                                         n_threads=resolve_n_threads(self.n_threads))

    def _set_fit(self, res, per_task, labels, scale=None):
        super()._set_fit(res, per_task, labels, scale)
        self._set_parts([np.asarray(Pk, dtype=self._dtype) for Pk in res.parts])


class _TwoPartClassifier(_StructuredClassifier):
    _get_parts = _TwoPartRegressor._get_parts
    _set_parts = _TwoPartRegressor._set_parts
    _strengths = _TwoPartRegressor._strengths


class DirtyMultiTaskLogisticRegression(_TwoPartClassifier):
    __doc__ = """Dirty multi-task logistic regression: W = B + S with a row-sparse
    shared-support part B (L2,1) and an entry-sparse task-specific part S
    (L1); the classifier of DirtyMultiTaskLasso.

    Objective: the logistic data term of mtlfast.multi_task_logistic +
    alpha_shared ||B||_21 + alpha_specific ||S||_1.

    Parameters
    ----------
    alpha_shared : float > 0, default=1.0
    alpha_specific : float > 0, default=1.0
""" + _LOGISTIC_DOC + """
    coef_shared_ : ndarray of shape (n_tasks, n_features)
        B.T; coef_ = coef_shared_ + coef_specific_.
    coef_specific_ : ndarray of shape (n_tasks, n_features)
        S.T.
"""

    _parameter_constraints = DirtyMultiTaskLasso._parameter_constraints
    _shared_vector = False
    _make_model = DirtyMultiTaskLasso._make_model

    def __init__(self, alpha_shared=1.0, alpha_specific=1.0, *, fit_intercept=True,
                 max_iter=100, tol=1e-6, warm_start=False, n_threads=None, verbose=0,
                 callback=None, max_time=None, penalty_factor=None):
        self.penalty_factor = penalty_factor
        self.alpha_shared = alpha_shared
        self.alpha_specific = alpha_specific
        self._set_common(fit_intercept, max_iter, tol, warm_start, n_threads, verbose,
                         callback, max_time)


class MeanRegularizedMultiTaskLogisticRegression(_TwoPartClassifier):
    __doc__ = """Mean-regularized multi-task logistic regression: W_t = w_0 + v_t;
    the classifier of MeanRegularizedMultiTask.

    Objective: the logistic data term of mtlfast.multi_task_logistic +
    h_0(w_0) + h_v(V), h_0 = alpha_shared * (||w_0||_1 ("l1") or
    0.5 ||w_0||^2 ("ridge")), h_v = alpha_specific * (||V||_1 ("l1"),
    sum_j ||V_j.||_2 ("l21") or 0.5 ||V||_F^2 ("ridge")).

    Parameters
    ----------
    alpha_shared : float > 0, default=1.0
    alpha_specific : float > 0, default=1.0
    shared_penalty : {"l1", "ridge"}, default="l1"
    specific_penalty : {"l1", "l21", "ridge"}, default="l21"
""" + _LOGISTIC_DOC + """
    coef_shared_ : ndarray of shape (n_features,)
        w_0.
    coef_specific_ : ndarray of shape (n_tasks, n_features)
        The deviations v_t; coef_ = coef_shared_ + coef_specific_.
"""

    _parameter_constraints = MeanRegularizedMultiTask._parameter_constraints
    _shared_vector = True
    _make_model = MeanRegularizedMultiTask._make_model

    def __init__(self, alpha_shared=1.0, alpha_specific=1.0, *, shared_penalty="l1",
                 specific_penalty="l21", fit_intercept=True, max_iter=100, tol=1e-6,
                 warm_start=False, n_threads=None, verbose=0, callback=None, max_time=None,
                 penalty_factor=None):
        self.penalty_factor = penalty_factor
        self.alpha_shared = alpha_shared
        self.alpha_specific = alpha_specific
        self.shared_penalty = shared_penalty
        self.specific_penalty = specific_penalty
        self._set_common(fit_intercept, max_iter, tol, warm_start, n_threads, verbose,
                         callback, max_time)


class TaskGraphMultiTaskLogisticRegression(_StructuredClassifier):
    __doc__ = """Multi-task logistic regression with a task-similarity graph;
    the classifier of TaskGraphMultiTask.

    Objective: the logistic data term of mtlfast.multi_task_logistic
    + 0.5 graph_alpha sum_{s,t} A_st ||w_s - w_t||^2 + alpha * N(W), N the
    L1 (penalty="l1") or L2,1 norm (penalty="l21"); A = similarity.

    Parameters
    ----------
    alpha : float > 0, default=1.0
    graph_alpha : float >= 0, default=1.0
    similarity : array-like or sparse of shape (n_tasks, n_tasks), default=None
        Symmetric, non-negative; rows and columns in the order of tasks_ (or
        of the columns of Y); a DataFrame labelled by task is aligned by
        label. None: every pair of tasks with weight 1.
    penalty : {"l1", "l21"}, default="l21"
""" + _LOGISTIC_DOC

    _parameter_constraints = TaskGraphMultiTask._parameter_constraints
    _make_model = TaskGraphMultiTask._make_model

    def __init__(self, alpha=1.0, *, graph_alpha=1.0, similarity=None, penalty="l21",
                 fit_intercept=True, max_iter=100, tol=1e-6, warm_start=False,
                 n_threads=None, verbose=0, callback=None, max_time=None,
                 penalty_factor=None):
        self.penalty_factor = penalty_factor
        self.alpha = alpha
        self.graph_alpha = graph_alpha
        self.similarity = similarity
        self.penalty = penalty
        self._set_common(fit_intercept, max_iter, tol, warm_start, n_threads, verbose,
                         callback, max_time)


class TransferLogisticRegression(_StructuredClassifier):
    __doc__ = """Transfer logistic regression: coefficients pulled toward source
    coefficients; the classifier of TransferLasso.

    Objective: the logistic data term of mtlfast.multi_task_logistic
    + alpha * (beta ||W||_1 + (1 - beta) ||W - W_src||_1), W_src =
    coef_source.T. beta = 1 is L1-penalized logistic regression; beta = 0
    shrinks toward the source only. Tasks are independent given the source:
    each has its own gap (tol * omega_t log 2).

    Typical use: fit a classifier on the source data, then
    TransferLogisticRegression(coef_source=source_model).fit(X_target, y_target).

    Parameters
    ----------
    alpha : float >= 0, default=1.0
    beta : float in [0, 1], default=0.5
    coef_source : array-like of shape (n_tasks, n_features) or (n_features,),
        a fitted estimator, default=None
        Source coefficients; one row is shared by all tasks; a fitted model
        gives its coef_ (its features must be the target's). None: zeros.
""" + _LOGISTIC_DOC + """
    task_dual_gaps_ : ndarray of shape (n_tasks,)
        Each task's gap (they sum to dual_gap_), with more than one task.
"""

    _parameter_constraints = TransferLasso._parameter_constraints
    _make_model = TransferLasso._make_model
    _get_parts = TransferLasso._get_parts

    def __init__(self, alpha=1.0, *, beta=0.5, coef_source=None, fit_intercept=True,
                 max_iter=100, tol=1e-6, warm_start=False, n_threads=None, verbose=0,
                 callback=None, max_time=None, penalty_factor=None):
        self.penalty_factor = penalty_factor
        self.alpha = alpha
        self.beta = beta
        self.coef_source = coef_source
        self._set_common(fit_intercept, max_iter, tol, warm_start, n_threads, verbose,
                         callback, max_time)


__all__ = ["DirtyMultiTaskLogisticRegression", "MeanRegularizedMultiTaskLogisticRegression",
           "TaskGraphMultiTaskLogisticRegression", "TransferLogisticRegression"]
