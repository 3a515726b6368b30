"""Source -> target transfer as a workflow: a fitted source model as the
anchor, cross-validation on the target's rows with the source's rows in
every training fold, and the weighted pooled objective (SourceWeighted)."""
import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV

import mtlfast
from mtlfast.datasets import make_transfer_problem
from mtlfast.model_selection import SourceTargetSplit, task_scorer
from mtlfast.transfer import SourceWeighted


def test_coef_source_takes_a_fitted_model():
    d = make_transfer_problem(n_target=40, n_features=50, seed=1)
    src = mtlfast.Lasso(alpha=0.02).fit(d["X_source"], d["y_source"])
    a = mtlfast.TransferLasso(alpha=0.05, coef_source=src).fit(d["X_target"], d["y_target"])
    b = mtlfast.TransferLasso(alpha=0.05, coef_source=src.coef_).fit(d["X_target"],
                                                                     d["y_target"])
    np.testing.assert_array_equal(a.coef_, b.coef_)
    with pytest.raises(ValueError, match="not fitted"):
        mtlfast.TransferLasso(coef_source=mtlfast.Lasso()).fit(d["X_target"], d["y_target"])
    other = mtlfast.Lasso(alpha=0.02).fit(d["X_source"][:, :30], d["y_source"])
    with pytest.raises(ValueError, match="fitted on 30 features, the target data have 50"):
        mtlfast.TransferLasso(coef_source=other).fit(d["X_target"], d["y_target"])


def _pooled(seed=2, source="source", n_target=30, n_features=40, **kw):
    """Source and target rows stacked, with their task labels."""
    d = make_transfer_problem(n_target=n_target, n_features=n_features, seed=seed, **kw)
    X = np.vstack([d["X_source"], d["X_target"]])
    y = np.concatenate([d["y_source"], d["y_target"]])
    tasks = np.array([source] * len(d["y_source"]) + ["target"] * len(d["y_target"]))
    return X, y, tasks, d


def test_source_target_split_scores_the_target_only():
    X, y, tasks, _ = _pooled()
    folds = list(SourceTargetSplit("target", 5).split(X, y, tasks=tasks))
    src = np.flatnonzero(tasks == "source")
    tgt = np.flatnonzero(tasks == "target")
    assert len(folds) == 5
    for train, test in folds:
        assert np.isin(src, train).all()
        assert set(tasks[test]) == {"target"}
        assert np.intersect1d(train, test).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([te for _, te in folds])), tgt)
    with pytest.raises(ValueError, match="no row has the target label"):
        list(SourceTargetSplit("tgt").split(X, y, tasks=tasks))
    with pytest.raises(ValueError, match="target rows for 50 folds"):
        list(SourceTargetSplit("target", 50).split(X, y, tasks=tasks))


def test_pooled_search_on_the_target_equals_a_manual_loop():
    X, y, tasks, _ = _pooled(3)
    grid = [0.3, 0.1, 0.03]
    cv = SourceTargetSplit("target", 4)
    est = mtlfast.MeanRegularizedMultiTask(0.05, 0.05, shared_penalty="l1",
                                           specific_penalty="l1", tol=1e-6, max_iter=5000)
    with sklearn.config_context(enable_metadata_routing=True):
        gs = GridSearchCV(est, {"alpha_specific": grid}, cv=cv,
                          scoring=task_scorer("neg_mean_squared_error")).fit(X, y, tasks=tasks)
    manual = []
    for a in grid:
        errs = []
        for tr, te in cv.split(X, y, tasks=tasks):
            m = sklearn.base.clone(est).set_params(alpha_specific=a).fit(X[tr], y[tr],
                                                                        tasks=tasks[tr])
            errs.append(-np.mean((m.predict(X[te], tasks[te]) - y[te]) ** 2))
        manual.append(np.mean(errs))
    np.testing.assert_allclose(gs.cv_results_["mean_test_score"], manual, rtol=1e-10)


def test_objective_is_the_weighted_pooled_loss():
    X, y, tasks, d = _pooled(0, "src")
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
    X, y, tasks, d = _pooled(1, "src", n_features=60, n_changed=0)
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
    X, y, tasks, _ = _pooled(2, "src")
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
