"""Paths solved in one kernel call (_cd_shared.solve with scales, issue 28):
the same points as solving each alpha on its own, certified, and the CV and
path functions built on it equal to their point-by-point form."""
import numpy as np
import pytest
from scipy import sparse

import mtlfast
from mtlfast import penalties
from mtlfast.datafits import QuadraticShared
from mtlfast.solvers import solve_shared
from mtlfast._base import SharedDesignRegressor
from mtlfast import reference


def _problem(n=80, p=30, T=3, seed=0, sparse_X=False, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if sparse_X:
        X = sparse.random(n, p, density=0.2, format="csc", random_state=seed,
                          data_rvs=rng.standard_normal)
    W = np.zeros((p, T))
    W[:5] = rng.standard_normal((5, T))
    Y = np.asarray(X @ W) + 0.3 * rng.standard_normal((n, T))
    return X.astype(dtype), Y.astype(dtype)


@pytest.mark.parametrize("sparse_X", [False, True])
@pytest.mark.parametrize("pen_cls,T", [(penalties.L21, 3), (penalties.L1, 3),
                                       (penalties.L1, 1)])
@pytest.mark.parametrize("intercept", [False, True])
def test_path_points_equal_single_solves(pen_cls, T, sparse_X, intercept):
    X, Y = _problem(T=T, sparse_X=sparse_X)
    df = QuadraticShared(X, Y, None, intercept)
    unit = pen_cls(1.0)
    amax = df.alpha_max(unit)
    scales = amax * np.geomspace(0.9, 0.01, 8)
    strategy = "cd" if sparse_X else "ws"
    tol = 1e-12
    res = solve_shared(df, unit, None, tol=tol, max_iter=10000, strategy=strategy,
                       scales=scales)
    assert res.coefs.shape == (8, T, X.shape[1])
    Yn2 = (df.Y ** 2).sum(axis=0)
    eps = tol * (Yn2 if unit.separable else Yn2.sum()) / df.n_samples
    assert np.all(res.gaps <= eps * (1 + 1e-9))          # every point certified
    prev = None
    for i, s in enumerate(scales):
        one = solve_shared(df, pen_cls(s), prev, tol=tol, max_iter=10000, strategy=strategy)
        np.testing.assert_allclose(res.coefs[i], one.coef, atol=1e-8 * np.abs(one.coef).max())
        prev = one.coef
    assert np.all(res.x_passes > 0)


def test_path_refuses_what_it_cannot_do():
    X, Y = _problem()
    df = QuadraticShared(X, Y, None, False)
    with pytest.raises(ValueError, match="path"):
        solve_shared(df, penalties.L21(1.0), scales=[1.0, 0.5])          # strategy "auto"
    pf = np.ones(X.shape[1])
    pf[0] = 0.0
    with pytest.raises(ValueError, match="path"):
        solve_shared(df, penalties.L21(1.0).with_factor(pf * X.shape[1] / pf.sum()),
                     scales=[1.0, 0.5], strategy="ws")


@pytest.mark.parametrize("est", [mtlfast.MultiTaskLassoCV(cv=4, alphas=20, tol=1e-10),
                                 mtlfast.MultiTaskElasticNetCV(cv=3, l1_ratio=[0.3, 0.9],
                                                               alphas=15, tol=1e-10)])
def test_cv_equals_its_point_by_point_form(est, monkeypatch):
    X, Y = _problem(n=90, p=25)
    sw = np.random.default_rng(3).uniform(0.5, 2.0, X.shape[0])
    fast = est.fit(X, Y, sample_weight=sw)
    mse, alpha, coef = fast.mse_path_.copy(), fast.alpha_, fast.coef_.copy()
    monkeypatch.setattr(SharedDesignRegressor, "_shared_batch", lambda self, d, v: None)
    slow = est.fit(X, Y, sample_weight=sw)
    np.testing.assert_allclose(mse, slow.mse_path_, rtol=1e-8)
    assert alpha == slow.alpha_
    np.testing.assert_allclose(coef, slow.coef_, rtol=1e-7, atol=1e-10)


def test_fit_path_estimators_equal_fits():
    X, Y = _problem(n=70, p=20)
    values = [0.5, 0.2, 0.05, 0.01]
    fits = list(mtlfast.MultiTaskLasso(tol=1e-12)._fit_path(X, Y, values=values))
    for est, a in zip(fits, values):
        ref = mtlfast.MultiTaskLasso(alpha=a, tol=1e-12).fit(X, Y)
        assert est.alpha == a
        np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-8)
        np.testing.assert_allclose(est.intercept_, ref.intercept_, atol=1e-8)
        assert est.dual_gap_ <= est.eps_ / X.shape[0] * (1 + 1e-9)


@pytest.mark.parametrize("y_ndim", [1, 2])
def test_lasso_path_matches_scikit_learn(y_ndim):
    from sklearn.linear_model import lasso_path as sk_path
    X, Y = _problem(n=60, p=40, T=2)
    y = Y[:, 0] if y_ndim == 1 else Y
    a1, c1, g1 = mtlfast.lasso_path(X, y, n_alphas=12, tol=1e-12)
    a2, c2, _ = sk_path(X, y, alphas=12, tol=1e-12, max_iter=100000)
    np.testing.assert_allclose(a1, a2)
    np.testing.assert_allclose(c1, c2, atol=1e-7)
    assert c1.shape == c2.shape


@pytest.mark.parametrize("pen_cls", [penalties.L21, penalties.L1])
def test_path_points_equal_the_reference_twin(pen_cls):
    """Each point of the one-call path against the NumPy reference solver,
    warm-started along the same alphas, both solved to their gap."""
    X, Y = _problem(n=60, p=20, T=3, seed=4)
    df = QuadraticShared(np.asfortranarray(X), Y, None, False)
    unit = pen_cls(1.0)
    scales = df.alpha_max(unit) * np.array([0.5, 0.2, 0.05])
    res = solve_shared(df, unit, None, tol=1e-14, max_iter=100000, strategy="ws",
                       scales=scales)
    W = None
    for i, s in enumerate(scales):
        if unit.separable:
            W = np.column_stack([reference.bcd(X, Y[:, t:t + 1], pen_cls(s), None if W is None
                                               else W[:, t:t + 1], 100000, 1e-14)[0][:, 0]
                                 for t in range(Y.shape[1])])
        else:
            W = reference.bcd(X, Y, pen_cls(s), W, 100000, 1e-14)[0]
        np.testing.assert_allclose(res.coefs[i].T, W, atol=1e-9)
