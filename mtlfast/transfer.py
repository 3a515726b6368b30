"""Source -> target transfer by weighted pooling: one model fitted on the
source's and the target's rows together, the objective

    lam * L_source + (1 - lam) * L_target

(each loss the mean over its own rows), through sample weights. The weight
`source_weight` (lam) is a hyper-parameter like any other: choose it with a
search whose folds split the target's rows only
(mtlfast.model_selection.SourceTargetSplit).

    model = SourceWeighted(mtlfast.MultiTaskLogisticRegression(alpha=0.01),
                           target="target", source_weight=0.3)
    model.fit(X_pooled, y_pooled, tasks=labels)   # labels: "target" or a source's
    model.predict(X_new)                          # the target's predictions
"""
import numbers

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from ._base import TaskMetadata, fit_atomically, task_column


class SourceWeighted(TaskMetadata, MetaEstimatorMixin, BaseEstimator):
    """Fit `estimator` on pooled source and target rows, the target's loss
    weighted 1 - source_weight and the sources' source_weight (each group's
    weights sum to its share times the number of rows, so a sample weight's
    scale means the same as in a plain fit). Rows are told apart by their
    task label (`tasks`, routed as metadata in searches, or a DataFrame
    column named by tasks="..."); every label other than `target` is source.

    Parameters
    ----------
    estimator : an mtlfast (or scikit-learn) estimator whose fit takes
        sample_weight; fitted as one task on the pooled rows
    target : the target task's label
    source_weight : float in [0, 1), default=0.5
        lam in lam * L_source + (1 - lam) * L_target; 0 fits the target alone.

    Attributes
    ----------
    estimator_ : the fitted estimator; coef_, intercept_, classes_ (when the
        estimator has them) are its.
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit"])],
        "target": "no_validation",
        "source_weight": [Interval(numbers.Real, 0, 1, closed="left")],
    }

    def __init__(self, estimator, *, target="target", source_weight=0.5):
        self.estimator = estimator
        self.target = target
        self.source_weight = source_weight

    @fit_atomically
    def fit(self, X, y, sample_weight=None, *, tasks=None):
        self._validate_params()
        X, tasks = task_column(self, X, tasks, fitting=True)
        if tasks is None:
            raise ValueError("SourceWeighted needs each row's task label (tasks=...): the "
                             f"rows labelled {self.target!r} are the target's.")
        tasks = np.asarray(tasks)
        if tasks.ndim != 1 or tasks.shape[0] != np.shape(y)[0]:
            raise ValueError(f"tasks must hold one label per row ({np.shape(y)[0]}), got "
                             f"shape {tasks.shape}.")
        is_target = tasks == self.target
        n_t, n_s = int(is_target.sum()), int((~is_target).sum())
        if n_t == 0:
            raise ValueError(f"no row has the target label {self.target!r}.")
        base = (np.ones(len(tasks)) if sample_weight is None
                else np.asarray(sample_weight, dtype=np.float64))
        lam = float(self.source_weight) if n_s else 0.0
        w = np.empty(len(tasks))
        for mask, share in ((is_target, 1.0 - lam), (~is_target, lam)):
            if mask.any():
                total = base[mask].sum()
                if total <= 0:
                    raise ValueError("sample_weight sums to zero on the target's or the "
                                     "sources' rows.")
                w[mask] = base[mask] / total * share * len(tasks)
        keep = w > 0
        Xk = X[keep] if hasattr(X, "shape") else [x for x, k in zip(X, keep) if k]
        self.estimator_ = clone(self.estimator).fit(Xk, np.asarray(y)[keep],
                                                    sample_weight=w[keep])
        self.n_target_, self.n_source_ = n_t, n_s
        for attr in ("coef_", "intercept_", "classes_", "n_features_in_",
                     "feature_names_in_", "dual_gap_", "n_iter_"):
            if hasattr(self.estimator_, attr):
                setattr(self, attr, getattr(self.estimator_, attr))
        return self

    def _X(self, X, tasks):
        check_is_fitted(self)
        X, _ = task_column(self, X, tasks, fitting=False)
        return X

    def predict(self, X, tasks=None):
        """The target's predictions (tasks, if given, are ignored: one model)."""
        return self.estimator_.predict(self._X(X, tasks))

    def predict_proba(self, X, tasks=None):
        return self.estimator_.predict_proba(self._X(X, tasks))

    def decision_function(self, X, tasks=None):
        return self.estimator_.decision_function(self._X(X, tasks))

    def score(self, X, y, sample_weight=None, tasks=None):
        return self.estimator_.score(self._X(X, tasks), y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = clone(self.estimator).__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    @property
    def _estimator_type(self):
        return "classifier" if is_classifier(self.estimator) else "regressor"
