"""positive=True for the multi-task models (W >= 0 with an L2,1, elastic-net
or sparse-group row penalty), regression and logistic: cvxpy as the
independent oracle, nonnegative coefficients, certified gaps."""
import numpy as np
import pytest

import mtlfast

cp = pytest.importorskip("cvxpy")


def _data(seed=0, n=60, p=12, T=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    W = rng.standard_normal((p, T)) * (rng.random((p, 1)) < 0.5)   # signs mixed
    Y = X @ W + 0.3 * rng.standard_normal((n, T)) + 1.0
    return X, Y


def _rows(V, kind, tau):
    l2 = cp.sum(cp.norm(V, 2, axis=1))
    return l2 if kind == "l21" else tau * cp.sum(cp.abs(V)) + (1 - tau) * l2


@pytest.mark.parametrize("make,kind,ridge,tau", [
    (lambda: mtlfast.MultiTaskLasso(alpha=0.05, positive=True, tol=1e-12), "l21", 0.0, 0.0),
    (lambda: mtlfast.MultiTaskElasticNet(alpha=0.08, l1_ratio=0.6, positive=True, tol=1e-12),
     "l21", 0.4, 0.0),
    (lambda: mtlfast.MultiTaskSparseGroupLasso(alpha=0.05, tau=0.3, positive=True, tol=1e-12),
     "sgl", 0.0, 0.3),
], ids=["lasso", "enet", "sparse-group"])
def test_positive_regression_matches_cvxpy(make, kind, ridge, tau):
    X, Y = _data()
    n, p = X.shape
    T = Y.shape[1]
    est = make().fit(X, Y)
    assert np.all(est.coef_ >= 0) and np.any(est.coef_ > 0)
    alpha = est.alpha
    l1 = alpha * (est.l1_ratio if ridge else 1.0)
    W, b = cp.Variable((p, T), nonneg=True), cp.Variable(T)
    obj = (cp.sum_squares(Y - X @ W - np.ones((n, 1)) @ cp.reshape(b, (1, T), order="C"))
           / (2 * n) + l1 * _rows(W, kind, tau) + 0.5 * alpha * ridge * cp.sum_squares(W))
    prob = cp.Problem(cp.Minimize(obj))
    prob.solve()
    assert prob.status == "optimal"
    Wm = est.coef_.T
    R = Y - X @ Wm - est.intercept_
    l2 = np.linalg.norm(Wm, axis=1).sum()
    rows = l2 if kind == "l21" else tau * np.abs(Wm).sum() + (1 - tau) * l2
    f = (R ** 2).sum() / (2 * n) + l1 * rows + 0.5 * alpha * ridge * (Wm ** 2).sum()
    assert f <= prob.value * (1 + 1e-6) + 1e-9
    assert f - prob.value <= est.dual_gap_ * (1 + 1e-6) + 1e-7      # the gap bounds it
    # the constraint binds: the unconstrained fit has negative entries
    free = type(est)(**{**est.get_params(), "positive": False}).fit(X, Y)
    assert np.any(free.coef_ < 0)


def test_positive_logistic_matches_cvxpy():
    X, Y = _data(1)
    Y01 = (Y > np.median(Y, axis=0)).astype(int)
    n, p = X.shape
    T = Y.shape[1]
    est = mtlfast.MultiTaskLogisticRegression(alpha=0.02, penalty="l21", positive=True,
                                              tol=1e-10).fit(X, Y01)
    assert np.all(est.coef_ >= 0)
    W, b = cp.Variable((p, T), nonneg=True), cp.Variable(T)
    Z = X @ W + np.ones((n, 1)) @ cp.reshape(b, (1, T), order="C")
    obj = cp.sum(cp.logistic(Z) - cp.multiply(Y01, Z)) / n + 0.02 * cp.sum(cp.norm(W, 2,
                                                                               axis=1))
    prob = cp.Problem(cp.Minimize(obj))
    prob.solve()
    Zm = X @ est.coef_.T + est.intercept_
    f = np.sum(np.logaddexp(0, Zm) - Y01 * Zm) / n + 0.02 * np.linalg.norm(est.coef_,
                                                                            axis=0).sum()
    assert f == pytest.approx(prob.value, rel=1e-6)


def test_positive_where_it_cannot_be_honoured():
    X, Y = _data(2)
    with pytest.raises(ValueError, match="positive=True needs a penalty with a norm"):
        mtlfast.MultiTaskLogisticRegression(penalty="l2", positive=True).fit(X, (Y > 0) * 1)
    with pytest.raises(ValueError, match="positive"):
        mtlfast.MultiTaskLasso(positive="yes").fit(X, Y)
