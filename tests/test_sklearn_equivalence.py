"""Estimators against scikit-learn on the same problems, and the model
equivalences of DESIGN.md section 5."""
import numpy as np
import pytest
import sklearn
import sklearn.linear_model as sk
from sklearn.utils.fixes import parse_version

import mtlfast
from mtlfast import reference, penalties
from conftest import make_problem, as_sparse

SK_HAS_MT_SPARSE = parse_version(sklearn.__version__) >= parse_version("1.9")
TOL = 1e-10


def _objective(X, Y, coef, intercept, pen, sw=None):
    n = X.shape[0]
    sw = np.ones(n) if sw is None else sw * n / sw.sum()
    R = Y - X @ coef.T - intercept
    return 0.5 * np.sum(sw[:, None] * R ** 2) / n + pen.value(coef.T)


CASES = [
    ("MultiTaskLasso", dict(alpha=0.05), lambda e: penalties.L21(e.alpha)),
    ("MultiTaskElasticNet", dict(alpha=0.05, l1_ratio=0.6),
     lambda e: penalties.L21L2(e.alpha, e.l1_ratio)),
    ("Lasso", dict(alpha=0.02), lambda e: penalties.L1(e.alpha)),
    ("ElasticNet", dict(alpha=0.03, l1_ratio=0.3),
     lambda e: penalties.ElasticNet(e.alpha, e.l1_ratio)),
    ("Lasso", dict(alpha=0.02, positive=True), lambda e: penalties.L1(e.alpha, True)),
]


@pytest.mark.parametrize("name,params,pen", CASES, ids=lambda c: str(c))
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_matches_sklearn(name, params, pen, fit_intercept, weights, fmt):
    X, Y = make_problem(n=70, p=50, T=3, density=0.5 if fmt == "sparse" else 1.0, seed=2)
    sw = np.random.default_rng(0).uniform(0.1, 2, X.shape[0]) if weights else None
    if fmt == "sparse":
        X = as_sparse(X)
        if name.startswith("MultiTask") and not SK_HAS_MT_SPARSE:
            pytest.skip("scikit-learn < 1.9 has no sparse multi-task")
    if name.startswith("MultiTask") and weights and not SK_HAS_MT_SPARSE:
        pytest.skip("scikit-learn < 1.9 has no multi-task sample_weight")
    ours = getattr(mtlfast, name)(fit_intercept=fit_intercept, tol=TOL, max_iter=100000, **params)
    theirs = getattr(sk, name)(fit_intercept=fit_intercept, tol=TOL, max_iter=100000, **params)
    ours.fit(X, Y, sample_weight=sw)
    theirs.fit(X, Y, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=1e-6)
    Xd = X.toarray() if fmt == "sparse" else X
    P = pen(ours)
    f_ours = _objective(Xd, Y, ours.coef_, ours.intercept_, P, sw)
    f_theirs = _objective(Xd, Y, theirs.coef_, theirs.intercept_, P, sw)
    assert f_ours <= f_theirs + 1e-6 * abs(f_theirs)
    assert abs(f_ours - f_theirs) <= 1e-6 * abs(f_theirs)
    assert np.all(np.asarray(ours.dual_gap_) * X.shape[0] <= np.asarray(ours.eps_) + 1e-15)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), atol=1e-5)


@pytest.mark.parametrize("name", ["Lasso", "ElasticNet"])
def test_single_target_attributes_like_sklearn(name):
    X, Y = make_problem(T=1, seed=4)
    y = Y[:, 0]
    ours = getattr(mtlfast, name)(alpha=0.05, tol=1e-10).fit(X, y)
    theirs = getattr(sk, name)(alpha=0.05, tol=1e-10).fit(X, y)
    assert ours.coef_.shape == theirs.coef_.shape == (X.shape[1],)
    assert np.ndim(ours.intercept_) == np.ndim(theirs.intercept_) == 0
    assert isinstance(ours.n_iter_, int) and np.ndim(ours.dual_gap_) == 0
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-7)
    assert ours.predict(X).shape == (X.shape[0],)
    assert ours.sparse_coef_.shape == (1, X.shape[1])


def test_ridge_limit_matches_sklearn_ridge():
    """ElasticNet with l1_ratio=0 is ridge: 1/(2n)||y - Xw||^2 + alpha/2 ||w||^2
    == sklearn Ridge(alpha = n * alpha); the gap is the exact ridge dual."""
    X, Y = make_problem(seed=5)
    n = X.shape[0]
    ours = mtlfast.ElasticNet(alpha=0.3, l1_ratio=0.0, tol=1e-12, max_iter=100000).fit(X, Y)
    theirs = sk.Ridge(alpha=0.3 * n).fit(X, Y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-6)
    assert np.all(ours.dual_gap_ < 1e-10)


def test_float32_kept_and_close_to_float64():
    X, Y = make_problem(seed=6)
    m64 = mtlfast.MultiTaskLasso(alpha=0.05, tol=1e-6).fit(X, Y)
    m32 = mtlfast.MultiTaskLasso(alpha=0.05, tol=1e-6).fit(X.astype(np.float32),
                                                            Y.astype(np.float32))
    assert m32.coef_.dtype == np.float32 and m32.intercept_.dtype == np.float32
    assert m32.predict(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(m32.coef_, m64.coef_, atol=2e-4)


@pytest.mark.parametrize("name", ["MultiTaskLasso", "MultiTaskElasticNet", "Lasso",
                                  "ElasticNet", "MultiTaskSparseGroupLasso"])
def test_dense_equals_sparse(name):
    X, Y = make_problem(density=0.3, seed=7)
    sw = np.random.default_rng(1).uniform(0.5, 2, X.shape[0])
    a = getattr(mtlfast, name)(alpha=0.03, tol=1e-12, max_iter=10000).fit(X, Y, sample_weight=sw)
    b = getattr(mtlfast, name)(alpha=0.03, tol=1e-12, max_iter=10000).fit(as_sparse(X), Y,
                                                                      sample_weight=sw)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-8)
    np.testing.assert_allclose(a.intercept_, b.intercept_, atol=1e-8)


def test_equivalences():
    X, Y = make_problem(seed=8)
    kw = dict(tol=1e-12, max_iter=20000)
    # sparse-group with tau=1 == independent lassos; tau=0 == multi-task lasso
    sg1 = mtlfast.MultiTaskSparseGroupLasso(alpha=0.05, tau=1.0, **kw).fit(X, Y)
    las = mtlfast.Lasso(alpha=0.05, **kw).fit(X, Y)
    np.testing.assert_allclose(sg1.coef_, las.coef_, atol=1e-8)
    sg0 = mtlfast.MultiTaskSparseGroupLasso(alpha=0.05, tau=0.0, **kw).fit(X, Y)
    mtl = mtlfast.MultiTaskLasso(alpha=0.05, **kw).fit(X, Y)
    np.testing.assert_allclose(sg0.coef_, mtl.coef_, atol=1e-8)
    # one task: L2,1 == L1
    mt1 = mtlfast.MultiTaskLasso(alpha=0.05, **kw).fit(X, Y[:, :1])
    l1 = mtlfast.Lasso(alpha=0.05, **kw).fit(X, Y[:, 0])
    np.testing.assert_allclose(mt1.coef_[0], l1.coef_, atol=1e-8)
    # sample weights == repeated rows
    rep = np.random.default_rng(0).integers(1, 4, X.shape[0])
    a = mtlfast.MultiTaskLasso(alpha=0.05, **kw).fit(X, Y, sample_weight=rep.astype(float))
    b = mtlfast.MultiTaskLasso(alpha=0.05, **kw).fit(np.repeat(X, rep, 0), np.repeat(Y, rep, 0))
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-8)


def test_sparse_group_between_its_limits_and_certified():
    X, Y = make_problem(seed=9)
    m = mtlfast.MultiTaskSparseGroupLasso(alpha=0.05, tau=0.5, tol=1e-10).fit(X, Y)
    pen = penalties.SparseGroupL1L21(0.05, 0.5)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    gap = reference.duality_gap(Xc, Yc, m.coef_.T, pen)
    assert gap <= 1e-10 * np.sum(Yc ** 2) / X.shape[0] * 1.01
    assert pen.subdiff_distance(m.coef_.T, -Xc.T @ (Yc - Xc @ m.coef_.T) / X.shape[0]).max() < 1e-5


def test_alpha_max_gives_zero():
    X, Y = make_problem(seed=10)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    for est, pen in [(mtlfast.MultiTaskLasso, penalties.L21(1.0)),
                     (mtlfast.Lasso, penalties.L1(1.0)),
                     (lambda alpha: mtlfast.MultiTaskSparseGroupLasso(alpha, tau=0.3),
                      penalties.SparseGroupL1L21(1.0, 0.3))]:
        amax = pen.alpha_max(Xc.T @ Yc / X.shape[0])
        assert np.all(est(alpha=amax * 1.0001).fit(X, Y).coef_ == 0)
        below = est(alpha=amax * 0.99)
        below.set_params(tol=1e-14)
        assert np.any(below.fit(X, Y).coef_ != 0)


def test_alpha_zero_is_least_squares():
    """alpha=0 converges to ordinary least squares (scikit-learn's gap value
    0.5 ||R||^2 vanishes at an exact fit)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 20))
    y = X @ rng.standard_normal(20) + 1.5
    with pytest.warns(UserWarning, match="alpha=0"):
        m = mtlfast.ElasticNet(alpha=0.0, tol=1e-15, max_iter=100000).fit(X, y)
    ols = sk.LinearRegression().fit(X, y)
    np.testing.assert_allclose(m.coef_, ols.coef_, atol=1e-9)
    np.testing.assert_allclose(m.intercept_, ols.intercept_, atol=1e-9)
