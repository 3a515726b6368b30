"""Shared-design estimators, drop-in for scikit-learn's coordinate-descent models.

Objective of every estimator here (W = coef_.T, shape (n_features, n_tasks)):

    1/(2n) * sum_i s_i ||y_i - x_i W - b||^2 + Omega(W)

MultiTaskLasso        Omega = alpha * ||W||_21
MultiTaskElasticNet   Omega = alpha*l1_ratio*||W||_21 + 0.5*alpha*(1-l1_ratio)*||W||_F^2
Lasso                 Omega = alpha * ||W||_1                (each task on its own)
ElasticNet            Omega = alpha*l1_ratio*||W||_1 + 0.5*alpha*(1-l1_ratio)*||W||_F^2
MultiTaskSparseGroupLasso  Omega = alpha * (tau*||W||_1 + (1-tau)*||W||_21)
"""
import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from . import penalties
from ._base import (fit_atomically, SharedDesignRegressor, _COMMON_CONSTRAINTS,
                    PENALTY_FACTOR_CONSTRAINT, STRATEGY_CONSTRAINT)

_RATIO = [Interval(numbers.Real, 0, 1, closed="both")]


class MultiTaskElasticNet(SharedDesignRegressor):
    """Multi-task elastic net: L2,1 + squared Frobenius penalty.

    Drop-in for :class:`sklearn.linear_model.MultiTaskElasticNet`: same
    constructor arguments, objective, tolerance meaning (duality gap
    <= tol * ||Y||_F^2 in the objective multiplied by n) and fitted attributes.

    Parameters
    ----------
    alpha : float, default=1.0
    l1_ratio : float in [0, 1], default=0.5
    fit_intercept : bool, default=True
    copy_X : bool, default=True
        Accepted for compatibility; inputs are never modified.
    max_iter : int, default=1000
        Maximum number of epochs (passes over all features).
    tol : float, default=1e-4
    warm_start : bool, default=False
    random_state : int, RandomState or None
        Seeds the feature draws when selection='random'.
    selection : {'cyclic', 'random'}, default='cyclic'
    n_threads : int or None, default=None
        OpenMP threads (None: OMP_NUM_THREADS or all cores; -1: all cores).
        Results do not depend on it.
    penalty_factor : array-like of shape (n_features,), default=None
        Per-feature factors of the penalty (glmnet's penalty.factor): feature
        j's penalty is multiplied by pf_j (both its norm and ridge parts); 0
        leaves a feature unpenalized. Rescaled internally to sum to
        n_features, as glmnet does. None: all 1.
    strategy : {"auto", "ws", "gram", "cd"}, default="auto"
        How the solver proceeds (the optimum and its certificate are the
        same): "ws" working sets grown from the dual constraints, solved with
        Anderson-accelerated epochs; "gram" (dense X) the whole problem on
        the Gram matrix X^T X, computed once (glmnet's covariance mode); "cd"
        plain cyclic epochs over all features with scikit-learn's stopping
        schedule: scikit-learn's own iterates, also when max_iter stops the
        fit early. "auto": "ws" on dense designs (turning to the whole
        problem, on its Gram for a tall design, once a working set would hold
        half the features), "cd" on sparse ones and on tiny problems (n p T
        < 20000, where plain epochs cost microseconds). The fitted
        solver_info_ says which ran and where the work went.

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features)
    intercept_ : ndarray of shape (n_tasks,)
    n_iter_ : int
    dual_gap_ : float
        Duality gap at the solution, in the 1/(2n) objective scaling.
    eps_ : float
        The tolerance the gap was compared with (tol * ||Y||_F^2, n-scaled).
    solver_info_ : dict
        Where the solve's work went: strategy, x_passes (entries of X read /
        nnz(X)) split into gap_passes, epoch_passes and gram_passes, the
        counts of gaps, epochs and working sets, gram_max (the largest set
        solved on its Gram matrix), and seconds spent in gaps, epochs and
        Gram matrices.
    """

    _mono_task_name = "ElasticNet"
    _parameter_constraints = {**_COMMON_CONSTRAINTS, "l1_ratio": _RATIO, "copy_X": ["boolean"],
                              "positive": ["boolean"], **PENALTY_FACTOR_CONSTRAINT,
                              **STRATEGY_CONSTRAINT}

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, copy_X=True,
                 max_iter=1000, tol=1e-4, warm_start=False, random_state=None,
                 selection="cyclic", n_threads=None,
                 verbose=0, callback=None, max_time=None, positive=False,
                 penalty_factor=None, strategy="auto"):
        self.positive = positive
        self.penalty_factor = penalty_factor
        self.strategy = strategy
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state
        self.selection = selection
        self.n_threads = n_threads
        self.verbose = verbose
        self.callback = callback
        self.max_time = max_time

    def _make_penalty(self):
        return penalties.L21L2(self.alpha, self.l1_ratio, positive=self.positive)


class MultiTaskLasso(MultiTaskElasticNet):
    """Multi-task lasso: alpha * ||W||_21 (one support shared by all tasks).

    Drop-in for :class:`sklearn.linear_model.MultiTaskLasso`; see
    :class:`MultiTaskElasticNet` for parameters and attributes.
    """

    _mono_task_name = "Lasso"
    _parameter_constraints = {**_COMMON_CONSTRAINTS, "copy_X": ["boolean"],
                              "positive": ["boolean"], **PENALTY_FACTOR_CONSTRAINT,
                              **STRATEGY_CONSTRAINT}

    def __init__(self, alpha=1.0, *, fit_intercept=True, copy_X=True, max_iter=1000,
                 tol=1e-4, warm_start=False, random_state=None, selection="cyclic",
                 n_threads=None,
                 verbose=0, callback=None, max_time=None, positive=False,
                 penalty_factor=None, strategy="auto"):
        super().__init__(alpha=alpha, l1_ratio=1.0, fit_intercept=fit_intercept,
                         copy_X=copy_X, max_iter=max_iter, tol=tol, warm_start=warm_start,
                         random_state=random_state, selection=selection, n_threads=n_threads,
                         verbose=verbose, callback=callback, max_time=max_time,
                         positive=positive, penalty_factor=penalty_factor, strategy=strategy)

    def _make_penalty(self):
        return penalties.L21(self.alpha, positive=self.positive)


class ElasticNet(SharedDesignRegressor):
    """Elastic net, each column of a 2-D y fitted independently (in parallel).

    Drop-in for :class:`sklearn.linear_model.ElasticNet`. With 2-D y the
    tasks are solved concurrently with OpenMP, each with its own duality gap
    and tolerance tol * ||y_t||^2, as scikit-learn does column by column.

    Parameters
    ----------
    alpha : float, default=1.0
    l1_ratio : float in [0, 1], default=0.5
    fit_intercept : bool, default=True
    precompute : bool, 'auto' or array-like, default=False
        True on dense X runs strategy "gram" (unless strategy says
        otherwise); a Gram matrix passed in is checked against X, not used.
    max_iter : int, default=1000
    copy_X : bool, default=True
        Accepted for compatibility; inputs are never modified.
    tol : float, default=1e-4
    warm_start : bool, default=False
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    random_state : int, RandomState or None
    selection : {'cyclic', 'random'}, default='cyclic'
    n_threads : int or None, default=None
    penalty_factor, strategy : as :class:`MultiTaskElasticNet`.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_tasks, n_features)
    intercept_ : float or ndarray of shape (n_tasks,)
    n_iter_ : int or list of int (one per task)
    dual_gap_ : float or ndarray of shape (n_tasks,)
    sparse_coef_ : scipy sparse matrix
    """

    _multi_task_only = False
    _parameter_constraints = {**_COMMON_CONSTRAINTS, "l1_ratio": _RATIO, "copy_X": ["boolean"],
                              "positive": ["boolean"],
                              "precompute": ["boolean", "array-like", StrOptions({"auto"})],
                              **PENALTY_FACTOR_CONSTRAINT, **STRATEGY_CONSTRAINT}

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, precompute=False,
                 max_iter=1000, copy_X=True, tol=1e-4, warm_start=False, positive=False,
                 random_state=None, selection="cyclic", n_threads=None,
                 verbose=0, callback=None, max_time=None, penalty_factor=None, strategy="auto"):
        self.penalty_factor = penalty_factor
        self.strategy = strategy
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.copy_X = copy_X
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.n_threads = n_threads
        self.verbose = verbose
        self.callback = callback
        self.max_time = max_time

    def _make_penalty(self):
        if self.l1_ratio == 0:
            return penalties.L2(self.alpha)
        return penalties.ElasticNet(self.alpha, self.l1_ratio, positive=self.positive)

    @fit_atomically
    def fit(self, X, y, sample_weight=None, check_input=True, *, tasks=None,
            task_weight=None):
        """Fit the model (see SharedDesignRegressor.fit). `check_input` is
        accepted for compatibility; inputs are always validated."""
        return super().fit(X, y, sample_weight, tasks=tasks, task_weight=task_weight)

    def _set_fitted(self, coef, intercept, n_iter, gaps, eps, y_was_1d):
        if y_was_1d:
            self.coef_ = coef[0]
            self.intercept_ = intercept[0]
            self.n_iter_ = int(n_iter[0])
            self.dual_gap_ = gaps[0]
            self.eps_ = float(eps[0])
        else:
            self.coef_ = coef
            self.intercept_ = intercept
            self.n_iter_ = [int(k) for k in n_iter]
            self.dual_gap_ = gaps
            self.eps_ = eps


class Lasso(ElasticNet):
    """Lasso: alpha * ||w||_1, each column of a 2-D y fitted independently.

    Drop-in for :class:`sklearn.linear_model.Lasso`; see :class:`ElasticNet`
    for parameters and attributes.
    """

    _parameter_constraints = {k: v for k, v in ElasticNet._parameter_constraints.items()
                              if k != "l1_ratio"}

    def __init__(self, alpha=1.0, *, fit_intercept=True, precompute=False, copy_X=True,
                 max_iter=1000, tol=1e-4, warm_start=False, positive=False,
                 random_state=None, selection="cyclic", n_threads=None,
                 verbose=0, callback=None, max_time=None, penalty_factor=None, strategy="auto"):
        super().__init__(alpha=alpha, l1_ratio=1.0, fit_intercept=fit_intercept,
                         precompute=precompute, max_iter=max_iter, copy_X=copy_X, tol=tol,
                         warm_start=warm_start, positive=positive,
                         random_state=random_state, selection=selection, n_threads=n_threads,
                         verbose=verbose, callback=callback, max_time=max_time,
                         penalty_factor=penalty_factor, strategy=strategy)

    def _make_penalty(self):
        return penalties.L1(self.alpha, positive=self.positive)


class MultiTaskSparseGroupLasso(MultiTaskLasso):
    """Sparse-group lasso across tasks: alpha * (tau*||W||_1 + (1-tau)*||W||_21).

    Selects features jointly (the L2,1 part) while letting each selected
    feature be used by only some tasks (the L1 part). tau=0 gives the
    multi-task lasso, tau=1 independent lassos. Parameters and attributes as
    :class:`MultiTaskLasso`, plus

    tau : float in [0, 1], default=0.5
        Share of the L1 norm in the penalty.
    """

    _parameter_constraints = {**MultiTaskLasso._parameter_constraints, "tau": _RATIO}

    def __init__(self, alpha=1.0, *, tau=0.5, fit_intercept=True, copy_X=True, max_iter=1000,
                 tol=1e-4, warm_start=False, random_state=None, selection="cyclic",
                 n_threads=None,
                 verbose=0, callback=None, max_time=None, positive=False,
                 penalty_factor=None, strategy="auto"):
        super().__init__(alpha=alpha, fit_intercept=fit_intercept, copy_X=copy_X,
                         max_iter=max_iter, tol=tol, warm_start=warm_start,
                         random_state=random_state, selection=selection, n_threads=n_threads,
                         verbose=verbose, callback=callback, max_time=max_time,
                         positive=positive, penalty_factor=penalty_factor, strategy=strategy)
        self.tau = tau

    def _make_penalty(self):
        return penalties.SparseGroupL1L21(self.alpha, self.tau, positive=self.positive)
