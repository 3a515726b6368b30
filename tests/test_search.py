"""Per-task data in scikit-learn's searches: TaskKFold, tasks routed as
metadata through GridSearchCV / RandomizedSearchCV / cross_validate /
Pipeline, task_scorer, and a clear error (never NaN scores) otherwise."""
import numpy as np
import pytest
import sklearn
from sklearn.model_selection import (GridSearchCV, RandomizedSearchCV, cross_validate,
                                     KFold)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.metrics import r2_score, mean_squared_error

import mtlfast
from mtlfast.model_selection import TaskKFold, task_scorer


def _data(seed=0, T=3, n=30, p=10):
    rng = np.random.default_rng(seed)
    sizes = [n, n + 7, n + 3][:T]
    X = rng.standard_normal((sum(sizes), p))
    tasks = np.repeat(np.array(["a", "b", "c"][:T]), sizes)
    W = np.zeros((p, T))
    W[:3] = rng.standard_normal((3, T))
    codes = np.searchsorted(["a", "b", "c"], tasks)
    y = np.einsum("ij,ij->i", X, W[:, codes].T) + 0.5 * rng.standard_normal(len(tasks))
    perm = rng.permutation(len(y))          # tasks interleaved, as in a real file
    return X[perm], y[perm], tasks[perm]


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def test_task_kfold_keeps_every_task_in_every_fold():
    X, y, tasks = _data()
    folds = list(TaskKFold(4).split(X, y, tasks=tasks))
    assert len(folds) == 4
    test_all = np.sort(np.concatenate([te for _, te in folds]))
    np.testing.assert_array_equal(test_all, np.arange(len(y)))
    for train, test in folds:
        assert np.intersect1d(train, test).size == 0
        assert set(tasks[train]) == set(tasks[test]) == {"a", "b", "c"}
    # groups= (routing off) and a DataFrame column give the same folds
    for other in (TaskKFold(4).split(X, y, groups=tasks),):
        for (a, b), (c, d) in zip(folds, other):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X).assign(school=tasks)
    for (a, b), (c, d) in zip(folds, TaskKFold(4, task_column="school").split(df)):
        np.testing.assert_array_equal(b, d)
    with pytest.raises(ValueError, match="task labels"):
        list(TaskKFold(4).split(X, y))
    with pytest.raises(ValueError, match="at least one row per fold"):
        list(TaskKFold(50).split(X, y, tasks=tasks))


@pytest.mark.parametrize("est", [mtlfast.MultiTaskLasso(), mtlfast.Lasso(),
                                 mtlfast.DirtyMultiTaskLasso(alpha_specific=0.05)],
                         ids=lambda e: type(e).__name__)
def test_grid_search_with_tasks_equals_manual_loop(routing, est):
    X, y, tasks = _data(1)
    grid = [0.3, 0.1, 0.03, 0.01]
    param = "alpha" if not isinstance(est, mtlfast.DirtyMultiTaskLasso) else "alpha_shared"
    est = est.set_params(tol=1e-10)
    search = GridSearchCV(est, {param: grid}, cv=TaskKFold(3)).fit(X, y, tasks=tasks)

    def manual():
        folds = list(TaskKFold(3).split(X, y, tasks=tasks))
        out = []
        for a in grid:
            s = []
            for tr, te in folds:
                m = sklearn.base.clone(est).set_params(**{param: a}).fit(X[tr], y[tr],
                                                                         tasks=tasks[tr])
                s.append(r2_score(y[te], m.predict(X[te], tasks[te])))
            out.append(np.mean(s))
        return np.array(out)

    means = manual()
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], means, rtol=1e-10)
    assert search.best_params_[param] == grid[int(np.argmax(means))]
    # the refit model predicts with tasks
    assert search.best_estimator_.predict(X[:5], tasks=tasks[:5]).shape == (5,)


@pytest.mark.parametrize("scoring", ["r2", "neg_mean_squared_error"])
def test_string_scorers_through_task_scorer(routing, scoring):
    X, y, tasks = _data(2)
    grid = [0.3, 0.05, 0.01]
    search = GridSearchCV(mtlfast.MultiTaskLasso(tol=1e-10), {"alpha": grid}, cv=TaskKFold(3),
                          scoring=task_scorer(scoring)).fit(X, y, tasks=tasks)
    metric = r2_score if scoring == "r2" else (lambda a, b: -mean_squared_error(a, b))
    folds = list(TaskKFold(3).split(X, y, tasks=tasks))
    means = [np.mean([metric(y[te], mtlfast.MultiTaskLasso(alpha=a, tol=1e-10).fit(
        X[tr], y[tr], tasks=tasks[tr]).predict(X[te], tasks[te])) for tr, te in folds])
        for a in grid]
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], means, rtol=1e-10)


def test_randomized_search_cross_validate_and_pipeline(routing):
    X, y, tasks = _data(3)
    rs = RandomizedSearchCV(mtlfast.MultiTaskLasso(), {"alpha": [0.2, 0.05, 0.01]}, n_iter=3,
                            cv=TaskKFold(3), random_state=0).fit(X, y, tasks=tasks)
    assert np.all(np.isfinite(rs.cv_results_["mean_test_score"]))
    cvr = cross_validate(mtlfast.MultiTaskLasso(alpha=0.05), X, y, cv=TaskKFold(3),
                         params={"tasks": tasks}, scoring=task_scorer("r2"))
    assert np.all(np.isfinite(cvr["test_score"]))
    pipe = make_pipeline(StandardScaler(), mtlfast.MultiTaskLasso(alpha=0.05))
    pipe.fit(X, y, tasks=tasks)
    Xs = StandardScaler().fit(X).transform(X)
    ref = mtlfast.MultiTaskLasso(alpha=0.05).fit(Xs, y, tasks=tasks)
    np.testing.assert_allclose(pipe.predict(X, tasks=tasks), ref.predict(Xs, tasks), rtol=1e-12)
    assert pipe.score(X, y, tasks=tasks) == pytest.approx(ref.score(Xs, y, tasks=tasks))
    gs = GridSearchCV(pipe, {"multitasklasso__alpha": [0.1, 0.01]}, cv=TaskKFold(3)).fit(
        X, y, tasks=tasks)
    assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))


def test_classifier_search_with_tasks(routing):
    X, y, tasks = _data(4)
    y01 = (y > np.median(y)).astype(int)
    gs = GridSearchCV(mtlfast.MultiTaskLogisticRegression(), {"alpha": [0.05, 0.005]},
                      cv=TaskKFold(3), scoring=task_scorer("roc_auc")).fit(X, y01, tasks=tasks)
    assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))


def test_clear_error_instead_of_nan_scores():
    X, y, tasks = _data(5)
    # routing off: tasks reach fit only
    with pytest.raises(ValueError, match="metadata routing off"):
        GridSearchCV(mtlfast.MultiTaskLasso(), {"alpha": [0.1, 0.01]}, cv=KFold(3)).fit(
            X, y, tasks=tasks)
    with pytest.raises(ValueError, match="metadata routing off"):
        cross_validate(mtlfast.MultiTaskLasso(), X, y, params={"tasks": tasks},
                       error_score="raise")
    # routing on, a scorer name that would call predict(X) without tasks
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(ValueError, match="without the test rows' tasks"):
            GridSearchCV(mtlfast.MultiTaskLasso(), {"alpha": [0.1, 0.01]}, cv=TaskKFold(3),
                         scoring="r2").fit(X, y, tasks=tasks)
    # a plain fit with tasks, outside any search, is not affected
    mtlfast.MultiTaskLasso(alpha=0.1).fit(X, y, tasks=tasks)


@pytest.mark.parametrize("make", [lambda: mtlfast.MultiTaskLasso(alpha=0.05),
                                  lambda: mtlfast.DirtyMultiTaskLasso(0.05, 0.05),
                                  lambda: mtlfast.MultiTaskLogisticRegression(alpha=0.01)],
                         ids=["lasso", "dirty", "logistic"])
def test_dataframe_task_column_by_name(make):
    pd = pytest.importorskip("pandas")
    X, y, tasks = _data(6)
    if "Logistic" in type(make()).__name__:
        y = (y > np.median(y)).astype(int)
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    df.insert(3, "school", tasks)
    ref = make().fit(X, y, tasks=tasks)
    est = make().fit(df, y, tasks="school")
    assert est.task_column_ == "school"
    np.testing.assert_array_equal(est.coef_, ref.coef_)
    np.testing.assert_allclose(est.predict(df), ref.predict(X, tasks), rtol=1e-12, atol=1e-14)
    assert list(est.feature_names_in_) == [f"f{j}" for j in range(X.shape[1])]
    with pytest.raises(ValueError, match="no such column"):
        make().fit(df, y, tasks="district")
    with pytest.raises(ValueError, match="must then be a pandas DataFrame"):
        make().fit(X, y, tasks="school")


def test_search_with_a_task_column_needs_no_routing():
    """A DataFrame's task column travels with X: any scorer and TaskKFold work
    with routing off, the same scores as a manual loop."""
    pd = pytest.importorskip("pandas")
    X, y, tasks = _data(7)
    df = pd.DataFrame(X).rename(columns=str).assign(school=tasks)
    grid = [0.3, 0.05, 0.01]
    cv = TaskKFold(3, task_column="school")
    search = GridSearchCV(mtlfast.MultiTaskLasso(tol=1e-10), {"alpha": grid}, cv=cv,
                          scoring="r2").fit(df, y, tasks="school")
    folds = list(cv.split(df))
    means = [np.mean([r2_score(y[te], mtlfast.MultiTaskLasso(alpha=a, tol=1e-10).fit(
        X[tr], y[tr], tasks=tasks[tr]).predict(X[te], tasks[te])) for tr, te in folds])
        for a in grid]
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], means, rtol=1e-10)
