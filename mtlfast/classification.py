"""Multi-task logistic regression (binary per task).

Objective (mtlfast.datafits.LogisticPerTask), for a shared design X with labels Y (n, T) or
per-task data (long layout with tasks=..., or lists [X_1..X_T], [y_1..y_T]):

    sum_t omega_t / n_t * sum_{i in t} s_i (log(1 + exp(z_i)) - y_i z_i) + Omega(W)
    z_i = x_i . w_t(i) + b_t(i),  y_i = 1 for the task's second (sorted) class

penalty   Omega(W), W = coef_.T of shape (n_features, n_tasks)
"l1"            alpha ||W||_1                       (each task on its own)
"l2"            alpha / 2 ||W||_F^2
"elasticnet"    alpha (l1_ratio ||W||_1 + (1 - l1_ratio) / 2 ||W||_F^2)
"l21"           alpha sum_j ||W_j.||_2              (one support for all tasks)
"l21+l2"        alpha (l1_ratio ||W||_21 + (1 - l1_ratio) / 2 ||W||_F^2)
"sparse-group"  alpha (tau ||W||_1 + (1 - tau) ||W||_21)

With one task and "l1"/"l2" this is scikit-learn's LogisticRegression with
C = 1 / (n_samples * alpha). Solver: proximal Newton (mtlfast._pn_logistic),
stopping when the duality gap is <= tol * sum_t omega_t log 2 (the loss at
W = 0, b = 0). Multi-class problems: one task per class on the same X with
0/1 labels (one-vs-rest), e.g. Y = label_binarize(y, classes=...).
"""
import copy
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MultiOutputMixin, clone
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import penalties
from ._config import resolve_n_threads
from ._base import (TaskMetadata, check_search_can_score_tasks, fit_atomically, task_column,
                    _COMMON_CONSTRAINTS, _naming_errors, _stack_task_list,
                    _is_task_list, check_sample_weight,
                    warn_if_not_converged, check_finite_fit, factored_penalty)
from .datafits import (LogisticPerTask, check_tasks, codes_for, check_task_weight,
                       per_row_linear)
from .solvers import solve_logistic

_PENALTIES = {"l1", "l2", "elasticnet", "l21", "l21+l2", "sparse-group"}


def _reserve_coefficients(n_tasks, n_features):
    """Fail at once, with the size, when the (n_tasks, n_features) float64
    coefficients cannot be allocated (before the per-task set-up, which
    takes seconds with 10^4 tasks)."""
    try:
        np.empty((n_tasks, n_features))
    except MemoryError:
        raise MemoryError(f"the coefficients alone need {n_tasks * n_features * 8 / 2**30:.1f} "
                          f"GiB ({n_tasks} tasks x {n_features} features x 8 bytes), more "
                          "than this process can allocate.") from None


def _binary_columns(Y):
    """[(classes (2,), 0/1 codes)] of every column of a numeric label matrix
    whose columns each hold exactly two integral values, in one pass (what
    _encode finds column by column: scikit-learn's target check costs ~0.1 ms
    a call, 4 s for 40,000 tasks); None otherwise."""
    if Y.dtype.kind not in "biuf" or Y.shape[0] == 0:
        return None
    lo, hi = Y.min(axis=0), Y.max(axis=0)
    if not (np.all(lo < hi) and np.all((Y == lo) | (Y == hi))):
        return None
    if Y.dtype.kind == "f" and not (np.all(lo == np.round(lo)) and np.all(hi == np.round(hi))):
        return None
    Z = (Y == hi).astype(np.float64)
    return [(np.array([lo[t], hi[t]]), Z[:, t]) for t in range(Y.shape[1])]


class _BinaryTasksClassifier(TaskMetadata, MultiOutputMixin, ClassifierMixin, BaseEstimator):
    """What every binary-per-task logistic estimator shares: labels (classes_
    per task), the datafit (mtlfast.datafits.LogisticPerTask), fit and
    warm-started paths around the subclass's _solve(datafit, init, labels)
    (init: what _warm_init or the previous path point gives), fitted
    attributes, prediction and the cross-validation loss."""

    # -- labels --------------------------------------------------------------
    @staticmethod
    def _encode(labels, name):
        """(classes (2,), 0/1 codes) of one task's labels."""
        check_classification_targets(labels)
        classes, codes = np.unique(labels, return_inverse=True)
        if classes.size == 1:
            raise ValueError(f"{name} has only one class ({classes[0]!r}): a binary "
                             "logistic task needs both classes in its training labels.")
        if classes.size > 2:
            raise ValueError(f"Only binary classification is supported: {name} has "
                             f"{classes.size} classes. For multi-class labels fit one task "
                             "per class (one-vs-rest): Y = sklearn.preprocessing."
                             "label_binarize(y, classes=...).")
        return classes, codes.astype(np.float64)

    def _validate(self, X, y, sample_weight, tasks, task_weight):
        """(datafit, per_task, labels) with the classes_ set."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target "
                             "y is None.")
        X, y, tasks = _stack_task_list(X, y, tasks)
        with _naming_errors("X"):
            X = validate_data(self, X, accept_sparse=["csc", "csr"],
                              dtype=[np.float64, np.float32], accept_large_sparse=True)
        with _naming_errors("y"):
            Y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
        if Y.shape[0] != X.shape[0]:
            raise ValueError(f"X and y have inconsistent numbers of samples: X has "
                             f"{X.shape[0]} rows, y has {Y.shape[0]}.")
        if Y.dtype.kind == "f" and not np.isfinite(Y).all():
            raise ValueError("Input y contains NaN or infinity.")
        sw = check_sample_weight(sample_weight, X)
        self._fit_1d = tasks is None and Y.ndim == 1
        if tasks is None:
            if Y.ndim == 1:
                Y = Y[:, None]
            if Y.ndim != 2:
                raise ValueError(f"y must be 1-D or 2-D, got shape {Y.shape}.")
            _reserve_coefficients(Y.shape[1], X.shape[1])
            enc = _binary_columns(Y)
            if enc is None:     # not two numeric labels per column: each checked, named
                enc = [self._encode(Y[:, t], f"task {t}") for t in range(Y.shape[1])]
            self.classes_ = [c for c, _ in enc]
            Y01 = np.column_stack([z for _, z in enc])
            labels, per_task = None, False
        else:
            if Y.ndim != 1:
                raise ValueError(f"with per-task data y must be 1-D, got shape {Y.shape}.")
            labels, codes = check_tasks(tasks, X.shape[0])
            _reserve_coefficients(len(labels), X.shape[1])
            yl = np.empty(len(Y))
            self.classes_ = []
            for t in range(len(labels)):
                m = codes == t
                cls, z = self._encode(Y[m], f"task {labels[t]!r}")
                self.classes_.append(cls)
                yl[m] = z
            per_task = True
        T = len(self.classes_)
        self._task_classes = self.classes_
        if self._fit_1d or all(np.array_equal(c, self.classes_[0]) for c in self.classes_):
            # one task, or every task with the same two labels (a 0/1 indicator
            # matrix): one (2,) array, scikit-learn's single/multilabel convention
            self.classes_ = self.classes_[0]
        tw = check_task_weight(task_weight, T, labels)
        if per_task:
            df = LogisticPerTask(X, yl, codes, T, sw, tw, self.fit_intercept)
        else:
            df = LogisticPerTask.from_shared(X, Y01, sw, tw, self.fit_intercept)
        self._dtype = X.dtype
        return df, per_task, labels

    # -- fit -------------------------------------------------------------------
    @fit_atomically
    def fit(self, X, y, sample_weight=None, *, tasks=None, task_weight=None):
        """Fit by proximal Newton.

        X : {ndarray, sparse matrix} (n_samples, n_features) or a list of
            per-task designs; y : (n_samples, n_tasks) labels for a shared X
            (1-D: one task), per-task data: (n_samples,) with tasks, or a list
        sample_weight : (n_samples,), rescaled to sum to n_t in each task
        tasks : (n_samples,) task label of each row (per-task data)
        task_weight : (n_tasks,) positive loss weights omega_t
        """
        self._validate_params()
        check_search_can_score_tasks(tasks)
        X, tasks = task_column(self, X, tasks, fitting=True)
        df, per_task, labels = self._validate(X, y, sample_weight, tasks, task_weight)
        init = None
        if self.warm_start and hasattr(self, "coef_") and self.coef_.shape == (
                df.n_tasks, df.n_features):
            init = self._warm_init()
        res = self._solve(df, init, labels)
        self._set_fit(res, per_task, labels, df.gap_scale())
        return self

    def _set_fit(self, res, per_task, labels, scale=None):
        """Fitted attributes from a SolveResult; dual_gap_ certifies the
        whole objective: the sum of the blocks' gaps (task_dual_gaps_: each
        task's, when the penalty is separable)."""
        gap = float(res.gaps.sum())
        check_finite_fit(res.coef, res.gaps, res.intercept)
        if scale is not None:
            warn_if_not_converged(gap, self.tol * scale, self.max_iter, stacklevel=3)
        self.coef_ = np.ascontiguousarray(res.coef, dtype=self._dtype)
        self.intercept_ = res.intercept.astype(self._dtype)
        self.n_iter_ = int(res.n_iter.max())
        self.dual_gap_ = gap
        if len(res.gaps) > 1:
            self.task_dual_gaps_ = np.asarray(res.gaps, dtype=float)
        elif hasattr(self, "task_dual_gaps_"):
            del self.task_dual_gaps_
        self._per_task = per_task
        if per_task:
            self.tasks_ = labels
        elif hasattr(self, "tasks_"):
            del self.tasks_

    # -- paths and cross-validation (mtlfast.model_selection) ------------------
    def _fit_path(self, X, y, sample_weight=None, tasks=None, task_weight=None, *,
                  param="alpha", values=()):
        """Fit along `values` of `param`, each solve warm-started from the
        previous one, the problem validated once (see
        SharedDesignRegressor._fit_path). Yields fitted shallow copies."""
        self._validate_params()
        check_search_can_score_tasks(tasks)
        X, tasks = task_column(self, X, tasks, fitting=True)
        df, per_task, labels = self._validate(X, y, sample_weight, tasks, task_weight)
        res = None
        for value in values:
            est = copy.copy(self)
            setattr(est, param, value)
            res = est._solve(df, None if res is None else est._path_start(res), labels)
            est._set_fit(res, per_task, labels, df.gap_scale())
            yield est

    def _cv_loss(self, X, y, sample_weight, tasks, codes):
        """Per task the (weighted) mean log-loss of the held-out rows, then
        the mean over tasks (labels outside a task's classes count as errors
        of the largest loss in the fold's precision)."""
        z = np.asarray(self.decision_function(X, tasks), dtype=np.float64)
        if not self._per_task:
            Y = np.asarray(y).reshape(len(y), -1)
            Z = z.reshape(len(y), -1)
            losses = []
            for t in range(Z.shape[1]):
                y01 = (Y[:, t] == self._task_classes[t][1]).astype(float)
                ll = np.logaddexp(0.0, Z[:, t]) - y01 * Z[:, t]
                losses.append(np.average(ll, weights=sample_weight))
            return float(np.mean(losses))
        k = codes_for(tasks, self.tasks_, len(z))
        pos = np.array([self._task_classes[t][1] for t in k])
        y01 = (np.asarray(y) == pos).astype(float)
        ll = np.logaddexp(0.0, z) - y01 * z
        return float(np.mean([np.average(ll[k == t], weights=None if sample_weight is None
                                         else sample_weight[k == t]) for t in np.unique(k)]))

    # -- prediction ------------------------------------------------------------
    def _per_design(self, method, X, tasks):
        """The list layout ([X_1, ..., X_T], as in fit): one result per task's
        design, from `method` with that task's label; None otherwise."""
        if not _is_task_list(X):
            return None
        check_is_fitted(self)
        if not self._per_task:
            raise ValueError("a list of designs needs a model fitted on per-task data.")
        if tasks is not None:
            raise ValueError("tasks must not be given with the list layout: the list "
                             "position is the task.")
        if len(X) != len(self.tasks_):
            raise ValueError(f"got {len(X)} designs for {len(self.tasks_)} tasks.")
        return [method(Xt, np.full(Xt.shape[0], self.tasks_[t])) for t, Xt in enumerate(X)]

    def decision_function(self, X, tasks=None):
        """z = X @ coef_.T + intercept_: (n_samples, n_tasks) for a shared
        design; per-task fits: (n_samples,) for the given tasks."""
        X, tasks = task_column(self, X, tasks, fitting=False)
        per_design = self._per_design(self.decision_function, X, tasks)
        if per_design is not None:
            return per_design
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=True, dtype=[np.float64, np.float32],
                          reset=False)
        if not self._per_task:
            if tasks is not None:
                raise ValueError("tasks was given but the model was fitted on a shared "
                                 "design.")
            z = np.asarray(X @ self.coef_.T) + self.intercept_
            return z[:, 0] if self._fit_1d else z
        if tasks is None:
            raise ValueError("this model was fitted on per-task data: pass tasks=... (the "
                             "task label of each row).")
        return per_row_linear(X, self.coef_, self.intercept_,
                              codes_for(tasks, self.tasks_, X.shape[0]))

    def predict_proba(self, X, tasks=None):
        """Probabilities. Shared design with several tasks: (n_samples,
        n_tasks), each task's positive-class probability (scikit-learn's
        multilabel convention); one task (1-D y) or per-task fits:
        (n_samples, 2) in the task's class order."""
        X, tasks = task_column(self, X, tasks, fitting=False)
        per_design = self._per_design(self.predict_proba, X, tasks)
        if per_design is not None:
            return per_design
        z = self.decision_function(X, tasks)
        p1 = 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))
        if self._per_task or self._fit_1d:
            return np.column_stack([1 - p1, p1])
        return p1

    def predict(self, X, tasks=None):
        """Labels: (n_samples, n_tasks) for a shared design ((n_samples,) if
        fitted on 1-D y); per-task fits: (n_samples,) for the given tasks."""
        X, tasks = task_column(self, X, tasks, fitting=False)
        per_design = self._per_design(self.predict, X, tasks)
        if per_design is not None:
            return per_design
        z = self.decision_function(X, tasks)
        if self._per_task:
            k = codes_for(tasks, self.tasks_, z.shape[0])
            out = np.empty(z.shape[0], dtype=object)
            for t in np.unique(k):
                m = k == t
                out[m] = self._task_classes[t][(z[m] > 0).astype(int)]
            return _tight(out)
        if self._fit_1d:
            return self.classes_[(z > 0).astype(int)]
        return np.column_stack([self._task_classes[t][(z[:, t] > 0).astype(int)]
                                for t in range(z.shape[1])])

    def score(self, X, y, sample_weight=None, tasks=None):
        """Mean accuracy over all labels."""
        pred = self.predict(X, tasks)
        y = np.asarray(y)
        return float(np.average((pred == y.reshape(pred.shape)).mean(axis=1)
                                if pred.ndim == 2 else pred == y, weights=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        tags.classifier_tags.multi_class = False
        return tags




class MultiTaskLogisticRegression(_BinaryTasksClassifier):
    """Binary logistic regression for many related tasks at once.

    Parameters
    ----------
    alpha : float, default=1.0
    penalty : {"l1", "l2", "elasticnet", "l21", "l21+l2", "sparse-group"}, default="l21"
    l1_ratio : float in [0, 1], default=1.0
        Mixing of "elasticnet" and "l21+l2".
    tau : float in [0, 1], default=0.5
        L1 share of "sparse-group".
    fit_intercept : bool, default=True
    max_iter : int, default=100
        Proximal Newton steps (per task for the separable penalties l1, l2
        and elasticnet, whose tasks are solved apart).
    tol : float, default=1e-6
        Duality gap tolerance, relative to sum_t omega_t log 2.
    warm_start : bool, default=False
    n_threads : int or None, default=None
        OpenMP threads: the separable penalties (l1, l2, elasticnet) solve
        their tasks in parallel; the group penalties share the passes over
        the features (gaps, the Newton model) among them, while the
        coordinate passes stay serial.
        None: OMP_NUM_THREADS or all cores; -1: all cores.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    penalty_factor : array-like of shape (n_features,), default=None
        Per-feature factors of the penalty (glmnet's penalty.factor): feature
        j's penalty is multiplied by pf_j (both its norm and ridge parts); 0
        leaves a feature unpenalized. Rescaled internally to sum to
        n_features, as glmnet does. None: all 1.

    Attributes
    ----------
    coef_ : ndarray (n_tasks, n_features)
    intercept_ : ndarray (n_tasks,)
    classes_ : ndarray of 2 labels when every task has the same two (a 0/1
        indicator matrix, or one task), else a list of n_tasks such arrays;
        the second label of a task is its positive class
    tasks_ : ndarray, the task labels (per-task data only)
    n_iter_, dual_gap_ : outer iterations and the final duality gap
    """

    _parameter_constraints = {
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "penalty": [StrOptions(_PENALTIES)],
        "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both")],
        "tau": [Interval(numbers.Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "n_threads": _COMMON_CONSTRAINTS["n_threads"],
        "verbose": _COMMON_CONSTRAINTS["verbose"],
        "callback": _COMMON_CONSTRAINTS["callback"],
        "max_time": _COMMON_CONSTRAINTS["max_time"],
        "positive": ["boolean"],
        "penalty_factor": [None, "array-like"],
    }

    def __init__(self, alpha=1.0, *, penalty="l21", l1_ratio=1.0, tau=0.5,
                 fit_intercept=True, max_iter=100, tol=1e-6, warm_start=False,
                 n_threads=None,
                 verbose=0, callback=None, max_time=None, positive=False,
                 penalty_factor=None):
        self.positive = positive
        self.penalty_factor = penalty_factor
        self.alpha = alpha
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.tau = tau
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.n_threads = n_threads
        self.verbose = verbose
        self.callback = callback
        self.max_time = max_time

    def _make_penalty(self):
        a = self.alpha
        if self.penalty in ("l2", "elasticnet", "l21+l2") and a == 0:
            raise ValueError(f"penalty={self.penalty!r} needs alpha > 0.")
        pos = self.positive
        if pos and self.penalty == "l2":
            raise ValueError("positive=True needs a penalty with a norm part (l1, elasticnet, "
                             "l21, l21+l2, sparse-group), not the ridge penalty 'l2'.")
        return {"l1": lambda: penalties.L1(a, positive=pos),
                "l2": lambda: penalties.L2(a),
                "elasticnet": lambda: penalties.ElasticNet(a, self.l1_ratio, positive=pos),
                "l21": lambda: penalties.L21(a, positive=pos),
                "l21+l2": lambda: penalties.L21L2(a, self.l1_ratio, positive=pos),
                "sparse-group": lambda: penalties.SparseGroupL1L21(a, self.tau, positive=pos)
                }[self.penalty]()

    def _warm_init(self):
        return self.coef_, self.intercept_

    @staticmethod
    def _path_start(res):
        return res.coef, res.intercept

    def _solve(self, df, init, labels=None):
        W0, b0 = (None, None) if init is None else init
        return solve_logistic(df, factored_penalty(self, df), W0, b0,
                              max_iter=self.max_iter,
                              tol=self.tol, dtype=self._dtype,
                              n_threads=resolve_n_threads(self.n_threads))

    def _alpha_max(self, X, y, sample_weight=None, tasks=None, task_weight=None):
        """Smallest alpha with W = 0 optimal (the intercepts fitted): the
        largest dual norm of the rows of A^T (c (y - p0)) over the penalty's
        L1 share."""
        est = clone(self)
        df, _, _ = est._validate(X, y, sample_weight, tasks, task_weight)
        return df.alpha_max(factored_penalty(est.set_params(alpha=1.0), df))


def _tight(a):
    """An object array of labels back to their common dtype."""
    try:
        return np.array(a.tolist())
    except (ValueError, TypeError):
        return a
