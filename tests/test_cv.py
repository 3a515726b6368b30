"""Cross-validation (mtlfast.model_selection): against scikit-learn's
MultiTaskLassoCV / MultiTaskElasticNetCV, against a plain fold-by-fold loop of
independent fits, per-task folds, n_jobs and Dask invariance, progress, and
bad input."""
import numpy as np
import pytest
from scipy import sparse
from sklearn import linear_model as sk
from sklearn.model_selection import KFold

import mtlfast
from mtlfast.model_selection import PathCV, task_folds
from mtlfast.datasets import make_per_task_regression


def _shared(n=60, p=30, T=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    W = np.zeros((p, T))
    W[:5] = rng.standard_normal((5, T))
    Y = X @ W + 0.5 * rng.standard_normal((n, T)) + 2.0
    return X, Y


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_multitask_lasso_cv_matches_sklearn(fit_intercept, fmt):
    X, Y = _shared()
    Xf = sparse.csc_matrix(X) if fmt == "sparse" else X
    kw = dict(alphas=8, eps=1e-2, cv=3, tol=1e-10, max_iter=100000,
              fit_intercept=fit_intercept)
    ours = mtlfast.MultiTaskLassoCV(**kw).fit(Xf, Y)
    ref = sk.MultiTaskLassoCV(**kw).fit(X, Y)
    np.testing.assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-12)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-6)
    assert ours.alpha_ == pytest.approx(ref.alpha_, rel=1e-12)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-6)
    assert not hasattr(ours, "l1_ratio_")


def test_multitask_enet_cv_l1_ratio_list_matches_sklearn():
    X, Y = _shared(seed=1)
    kw = dict(l1_ratio=[0.3, 0.7, 1.0], alphas=6, eps=1e-2, cv=4, tol=1e-10,
              max_iter=100000)
    ours = mtlfast.MultiTaskElasticNetCV(**kw).fit(X, Y)
    ref = sk.MultiTaskElasticNetCV(**kw).fit(X, Y)
    assert ours.mse_path_.shape == ref.mse_path_.shape == (3, 6, 4)
    assert ours.alphas_.shape == ref.alphas_.shape == (3, 6)
    np.testing.assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-12)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-6)
    assert ours.l1_ratio_ == ref.l1_ratio_
    assert ours.alpha_ == pytest.approx(ref.alpha_, rel=1e-12)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)


def test_alphas_array_and_sample_weight_match_fold_by_fold_fits():
    """The path engine (one problem per fold, warm starts) against a plain
    loop of independent fits, with sample weights (used in the fits and in
    each fold's weighted MSE) and an unsorted user grid."""
    X, Y = _shared(seed=2)
    sw = np.random.default_rng(3).uniform(0.5, 2.0, X.shape[0])
    alphas = np.array([0.05, 0.4, 0.1, 0.2])
    cv = mtlfast.MultiTaskLassoCV(alphas=alphas, cv=3, tol=1e-12, max_iter=100000)
    cv.fit(X, Y, sample_weight=sw)
    grid = np.sort(alphas)[::-1]
    np.testing.assert_array_equal(cv.alphas_, grid)
    expected = np.empty((len(grid), 3))
    for k, (tr, te) in enumerate(KFold(3).split(X)):
        for i, a in enumerate(grid):
            m = mtlfast.MultiTaskLasso(alpha=a, tol=1e-12, max_iter=100000)
            m.fit(X[tr], Y[tr], sample_weight=sw[tr])
            R2 = (m.predict(X[te]) - Y[te]) ** 2
            expected[i, k] = np.mean(np.average(R2, axis=0, weights=sw[te]))
    np.testing.assert_allclose(cv.mse_path_, expected, rtol=1e-8)
    assert cv.alpha_ == grid[np.argmin(expected.mean(axis=1))]


def test_n_jobs_does_not_change_the_result():
    X, Y = _shared(seed=4)
    one = mtlfast.MultiTaskElasticNetCV(l1_ratio=[0.5, 0.9], alphas=5, cv=3, n_jobs=1).fit(X, Y)
    two = mtlfast.MultiTaskElasticNetCV(l1_ratio=[0.5, 0.9], alphas=5, cv=3, n_jobs=2).fit(X, Y)
    np.testing.assert_array_equal(one.mse_path_, two.mse_path_)
    np.testing.assert_array_equal(one.coef_, two.coef_)


def test_dask_cluster_gives_the_local_result():
    distributed = pytest.importorskip("dask.distributed")
    from joblib import parallel_config
    X, Y = _shared(seed=5)
    local = mtlfast.MultiTaskLassoCV(alphas=5, cv=3).fit(X, Y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as stream:
            with parallel_config(backend="dask"):
                remote = mtlfast.MultiTaskLassoCV(alphas=5, cv=3, n_jobs=2).fit(X, Y)
        assert len(stream.data) >= 3        # the 3 folds ran as tasks on the cluster
    np.testing.assert_array_equal(remote.mse_path_, local.mse_path_)
    np.testing.assert_array_equal(remote.coef_, local.coef_)


def _per_task(seed=0):
    sizes = [20, 35, 15, 30]
    X, y, tasks, _ = make_per_task_regression(sizes, 25, n_informative=5, seed=seed)
    labels = np.array(["a", "b", "c", "d"])[tasks]
    return X, y, labels


def test_task_folds_split_within_each_task():
    codes = np.repeat(np.arange(3), [7, 12, 5])
    folds = task_folds(4, codes, 3)
    assert len(folds) == 4
    seen = np.zeros(codes.size, int)
    for tr, te in folds:
        assert set(np.unique(codes[tr])) == set(np.unique(codes[te])) == {0, 1, 2}
        assert np.intersect1d(tr, te).size == 0 and tr.size + te.size == codes.size
        seen[te] += 1
    np.testing.assert_array_equal(seen, 1)
    with pytest.raises(ValueError, match="task 2 has only 5 rows"):
        task_folds(6, codes, 3)


def test_per_task_cv_matches_fold_by_fold_fits():
    X, y, labels = _per_task()
    grid = np.array([0.3, 0.1, 0.03])
    cv = mtlfast.MultiTaskLassoCV(alphas=grid, cv=3, tol=1e-12, max_iter=100000)
    cv.fit(X, y, tasks=labels)
    codes = np.unique(labels, return_inverse=True)[1]
    expected = np.empty((3, 3))
    for k, (tr, te) in enumerate(task_folds(3, codes, 4)):
        for i, a in enumerate(grid):
            m = mtlfast.MultiTaskLasso(alpha=a, tol=1e-12, max_iter=100000)
            m.fit(X[tr], y[tr], tasks=labels[tr])
            r2 = (m.predict(X[te], tasks=labels[te]) - y[te]) ** 2
            expected[i, k] = np.mean([r2[codes[te] == t].mean() for t in range(4)])
    np.testing.assert_allclose(cv.mse_path_, expected, rtol=1e-8)
    np.testing.assert_array_equal(cv.tasks_, ["a", "b", "c", "d"])
    assert cv.predict(X[:5], tasks=labels[:5]).shape == (5,)


def test_path_cv_structured_model_other_param_and_scorer():
    """PathCV on the task-graph model along graph_alpha, scored by a
    scikit-learn scorer on per-task data (the scorer's predict gets the
    test rows' tasks), against fold-by-fold fits."""
    X, y, labels = _per_task(seed=1)
    A = np.ones((4, 4)) - np.eye(4)
    est = mtlfast.TaskGraphMultiTask(alpha=0.05, graph_alpha=1.0, similarity=A, tol=1e-12,
                                     max_iter=100000)
    values = [0.0, 0.1, 1.0, 10.0]
    cv = PathCV(est, param="graph_alpha", values=values, cv=3,
                scoring="neg_mean_absolute_error").fit(X, y, tasks=labels)
    np.testing.assert_array_equal(cv.values_, sorted(values, reverse=True))
    codes = np.unique(labels, return_inverse=True)[1]
    expected = np.empty((4, 3))
    for k, (tr, te) in enumerate(task_folds(3, codes, 4)):
        for i, v in enumerate(cv.values_):
            m = mtlfast.TaskGraphMultiTask(alpha=0.05, graph_alpha=v, similarity=A,
                                           tol=1e-12, max_iter=100000)
            m.fit(X[tr], y[tr], tasks=labels[tr])
            expected[i, k] = np.mean(np.abs(m.predict(X[te], tasks=labels[te]) - y[te]))
    np.testing.assert_allclose(cv.loss_path_, expected, rtol=1e-7)
    assert cv.best_value_ == cv.values_[np.argmin(expected.mean(axis=1))]
    assert cv.best_estimator_.graph_alpha == cv.best_value_


def test_path_cv_automatic_alpha_grid_is_alpha_max_down():
    X, Y = _shared(seed=6)
    est = mtlfast.DirtyMultiTaskLasso(alpha_shared=0.1, alpha_specific=0.1)
    with pytest.raises(ValueError, match="no automatic grid for 'tol'"):
        PathCV(est, param="tol", values=5).fit(X, Y)
    with pytest.raises(ValueError, match="only for param='alpha'"):
        PathCV(mtlfast.MultiTaskLasso(), param="tol", values=5).fit(X, Y)
    # a structured model's parts: each from its own alpha_max (both at it: W = 0)
    cv = PathCV(est, param="alpha_shared", values=5, grid="auto", cv=3).fit(X, Y)
    top = {"alpha_shared": cv.values_[0],
           "alpha_specific": max(g["alpha_specific"] for g in cv.grid_)}
    assert np.all(mtlfast.DirtyMultiTaskLasso(**top).fit(X, Y).coef_ == 0)
    assert not np.all(mtlfast.DirtyMultiTaskLasso(
        top["alpha_shared"] * 0.9, top["alpha_specific"] * 0.9).fit(X, Y).coef_ == 0)
    assert cv.loss_surface_.shape == (5, 5)
    cv = PathCV(mtlfast.MultiTaskLasso(), values=5, eps=1e-2, cv=3).fit(X, Y)
    ref = sk.MultiTaskLassoCV(alphas=5, eps=1e-2, cv=3).fit(X, Y)
    np.testing.assert_allclose(cv.values_, ref.alphas_, rtol=1e-12)
    np.testing.assert_allclose(cv.alphas_, ref.alphas_, rtol=1e-12)   # scikit-learn's names
    np.testing.assert_allclose(cv.alpha_, ref.alpha_, rtol=1e-12)
    assert np.all(mtlfast.MultiTaskLasso(alpha=cv.values_[0]).fit(X, Y).coef_ == 0)


def test_progress_lines_without_tqdm(capsys, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    X, Y = _shared(seed=7)
    mtlfast.MultiTaskLassoCV(alphas=3, cv=3, verbose=1).fit(X, Y)
    err = capsys.readouterr().err
    assert err.count("[mtlfast CV]") == 3 and "3/3" in err
    mtlfast.MultiTaskLassoCV(alphas=3, cv=3, verbose=0).fit(X, Y)
    assert capsys.readouterr().err == ""


def test_progress_bar_with_tqdm(capsys):
    pytest.importorskip("tqdm")
    X, Y = _shared(seed=7)
    mtlfast.MultiTaskLassoCV(alphas=3, cv=3, verbose=2).fit(X, Y)
    err = capsys.readouterr().err
    assert "3/3" in err and "best loss" in err


@pytest.mark.parametrize("kw, match", [
    (dict(alphas=[]), "must not be empty"),
    (dict(alphas=[0.1, np.nan]), "finite"),
    (dict(alphas=[0.1, -1.0]), "non-negative"),
    (dict(cv=100), "folds"),
    (dict(eps=0.0), "eps"),
    (dict(n_jobs="two"), "n_jobs"),
])
def test_bad_input(kw, match):
    X, Y = _shared()
    with pytest.raises(ValueError, match=match):
        mtlfast.MultiTaskLassoCV(**kw).fit(X, Y)


def test_bad_data_and_scores():
    X, Y = _shared()
    with pytest.raises(ValueError, match="mono-task"):
        mtlfast.MultiTaskLassoCV().fit(X, Y[:, 0])
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mtlfast.MultiTaskLassoCV(alphas=3).fit(Xn, Y)
    with pytest.raises(ValueError, match="not finite"):
        PathCV(mtlfast.MultiTaskLasso(), values=3,
               scoring=lambda est, X, y: np.nan).fit(X, Y)
    with pytest.raises(ValueError, match="no parameter"):
        PathCV(mtlfast.MultiTaskLasso(), param="beta").fit(X, Y)
    Xs, ys, labels = _per_task()
    with pytest.raises(ValueError, match="rows: every task"):
        mtlfast.MultiTaskLassoCV(cv=16).fit(Xs, ys, tasks=labels)


def test_inputs_not_modified():
    X, Y = _shared()
    X0, Y0 = X.copy(), Y.copy()
    mtlfast.MultiTaskElasticNetCV(alphas=3, cv=3).fit(X, Y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)


@pytest.mark.parametrize("layout", ["shared", "per-task"])
def test_path_cv_logistic_log_loss_matches_fold_by_fold_fits(layout):
    """PathCV on MultiTaskLogisticRegression: the default loss is the per-task
    log-loss averaged over tasks; automatic grid from the logistic alpha_max
    (all-zero coefficients there)."""
    rng = np.random.default_rng(12)
    X = rng.standard_normal((90, 8))
    Y = (rng.random((90, 3)) < 1 / (1 + np.exp(-X[:, :3]))).astype(int)
    est = mtlfast.MultiTaskLogisticRegression(alpha=0.1, tol=1e-10)
    if layout == "shared":
        args, kw = (X, Y), {}
        folds = list(KFold(3).split(X))
    else:
        args = (np.vstack([X] * 3), Y.T.ravel())
        tasks = np.repeat([0, 1, 2], len(X))
        kw = {"tasks": tasks}
        folds = task_folds(3, tasks, 3)
    cv = PathCV(est, values=4, eps=0.05, cv=3).fit(*args, **kw)
    assert np.all(mtlfast.MultiTaskLogisticRegression(alpha=cv.values_[0] * 1.0001)
                  .fit(*args, **kw).coef_ == 0)
    Xa, ya = args
    expected = np.empty((4, 3))
    for k, (tr, te) in enumerate(folds):
        for i, a in enumerate(cv.values_):
            kk = {} if layout == "shared" else {"tasks": kw["tasks"][tr]}
            m = mtlfast.MultiTaskLogisticRegression(alpha=a, tol=1e-10).fit(Xa[tr], ya[tr], **kk)
            z = m.decision_function(Xa[te], **({} if layout == "shared"
                                               else {"tasks": kw["tasks"][te]}))
            if layout == "shared":
                ll = np.logaddexp(0, z) - ya[te] * z
                expected[i, k] = ll.mean(axis=0).mean()
            else:
                ll = np.logaddexp(0, z) - ya[te] * z
                expected[i, k] = np.mean([ll[kw["tasks"][te] == t].mean() for t in range(3)])
    np.testing.assert_allclose(cv.loss_path_, expected, rtol=1e-6)
    assert cv.best_value_ == cv.values_[np.argmin(expected.mean(axis=1))]


def test_pathcv_without_a_grid_for_a_ridge_penalty_says_so():
    from mtlfast import MultiTaskLogisticRegression
    from conftest import make_problem
    X, Y = make_problem(n=40, p=6, T=2)
    with pytest.raises(ValueError, match=r"PathCV: no automatic alpha grid .* values=\[") as e:
        PathCV(MultiTaskLogisticRegression(penalty="l2")).fit(X, (Y > 0).astype(int))
    assert "l1_ratio" not in str(e.value) and "alphas=" not in str(e.value)
