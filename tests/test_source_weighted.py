"""SourceWeighted: lam * L_source + (1 - lam) * L_target by sample weights,
lam chosen on the target's folds (SourceTargetSplit)."""
import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV

import mtlfast
from mtlfast.datasets import make_transfer_problem
from mtlfast.model_selection import SourceTargetSplit, task_scorer
from mtlfast.transfer import SourceWeighted


def _pooled(seed=0):
    d = make_transfer_problem(n_target=40, n_features=60, seed=seed)
    X = np.vstack([d["X_source"], d["X_target"]])
    y = np.concatenate([d["y_source"], d["y_target"]])
    tasks = np.array(["src"] * len(d["y_source"]) + ["target"] * len(d["y_target"]))
    return X, y, tasks, d


def test_objective_is_the_weighted_pooled_loss():
    X, y, tasks, d = _pooled()
    lam = 0.3
    m = SourceWeighted(mtlfast.Lasso(alpha=0.05, tol=1e-12), source_weight=lam).fit(
        X, y, tasks=tasks)
    n_s, n_t = (tasks == "src").sum(), (tasks == "target").sum()
    sw = np.where(tasks == "target", (1 - lam) / n_t, lam / n_s) * len(y)
    ref = mtlfast.Lasso(alpha=0.05, tol=1e-12).fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(m.coef_, ref.coef_)
    alone = SourceWeighted(mtlfast.Lasso(alpha=0.05, tol=1e-12), source_weight=0.0).fit(
        X, y, tasks=tasks)
    np.testing.assert_allclose(alone.coef_, mtlfast.Lasso(alpha=0.05, tol=1e-12).fit(
        d["X_target"], d["y_target"]).coef_, atol=1e-10)


def test_search_over_source_weight_equals_a_manual_loop_and_helps_a_related_source():
    """The search scores the target's folds only (a hand-written loop over
    the same folds gives the same means); with a source drawn like the target
    (n_changed=0) pooling must beat the target alone on held-out data."""
    d = make_transfer_problem(n_target=30, n_features=60, n_changed=0, seed=1)
    X = np.vstack([d["X_source"], d["X_target"]])
    y = np.concatenate([d["y_source"], d["y_target"]])
    tasks = np.array(["src"] * len(d["y_source"]) + ["target"] * len(d["y_target"]))
    grid = [0.0, 0.3, 0.6, 0.9]
    cv = SourceTargetSplit("target", 5)
    base = SourceWeighted(mtlfast.Lasso(alpha=0.05, max_iter=10000))
    with sklearn.config_context(enable_metadata_routing=True):
        gs = GridSearchCV(base, {"source_weight": grid}, cv=cv,
                          scoring=task_scorer("neg_mean_squared_error")).fit(X, y, tasks=tasks)
    manual = []
    for lam in grid:
        errs = []
        for tr, te in cv.split(X, y, tasks=tasks):
            m = sklearn.base.clone(base).set_params(source_weight=lam).fit(X[tr], y[tr],
                                                                          tasks=tasks[tr])
            errs.append(-np.mean((m.predict(X[te]) - y[te]) ** 2))
        manual.append(np.mean(errs))
    np.testing.assert_allclose(gs.cv_results_["mean_test_score"], manual, rtol=1e-10)
    assert gs.best_params_["source_weight"] > 0
    err = np.mean((gs.best_estimator_.predict(d["X_test"]) - d["y_test"]) ** 2)
    alone = mtlfast.Lasso(alpha=0.05, max_iter=10000).fit(d["X_target"], d["y_target"])
    assert err < np.mean((alone.predict(d["X_test"]) - d["y_test"]) ** 2)


def test_classifier_and_bad_input():
    X, y, tasks, _ = _pooled(2)
    yc = (y > 0).astype(int)
    m = SourceWeighted(mtlfast.MultiTaskLogisticRegression(alpha=0.01), source_weight=0.5)
    m.fit(X, yc, tasks=tasks)
    assert sklearn.base.is_classifier(m)
    assert m.predict_proba(X[:3]).shape[0] == 3
    with pytest.raises(ValueError, match="needs each row's task label"):
        SourceWeighted(mtlfast.Lasso()).fit(X, y)
    with pytest.raises(ValueError, match="no row has the target label"):
        SourceWeighted(mtlfast.Lasso(), target="tgt").fit(X, y, tasks=tasks)
    with pytest.raises(ValueError, match="source_weight"):
        SourceWeighted(mtlfast.Lasso(), source_weight=1.0).fit(X, y, tasks=tasks)
