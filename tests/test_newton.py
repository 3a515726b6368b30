"""Newton steps on the support (mtlfast._cd_shared: support_newton), against
their NumPy twin (mtlfast.reference.cd_shared.support_newton), and in the
working sets: the same certified optimum as without them, in fewer epochs on
the ill-conditioned problems they exist for."""
import numpy as np
import pytest

import mtlfast
from mtlfast import _cd_shared, reference
from mtlfast.datafits import QuadraticShared
from mtlfast.penalties import L1, ElasticNet
from mtlfast.solvers import solve_shared as solve

PENALTIES = [L1(0.05), ElasticNet(0.05, 0.5), L1(0.05, positive=True),
             L1(0.05).with_factor(np.linspace(0.0, 2.0, 30))]


def _point(seed, positive):
    rng = np.random.default_rng(seed)
    X = np.asfortranarray(rng.standard_normal((60, 30)))
    y = X[:, :5] @ rng.standard_normal(5) + 0.1 * rng.standard_normal(60)
    w = np.zeros(30)
    w[rng.choice(30, 12, replace=False)] = rng.standard_normal(12)
    if positive:
        w = np.abs(w)
    return X, y, w, y - X @ w


@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
@pytest.mark.parametrize("seed", range(4))
def test_newton_step_matches_reference(pen, seed):
    X, y, w, r = _point(seed, pen.positive)
    feats = np.arange(3, 30, dtype=np.intc)          # a working set
    wk, rk = w.copy(), r.copy()
    code = _cd_shared.newton_step(X, wk, rk, pen, feats)
    wr, rr, code_r = reference.cd_shared.support_newton(X, r, w, pen, feats)
    assert code == code_r
    np.testing.assert_allclose(wk, wr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rk, rr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rk, y - X @ wk, atol=1e-12)     # the residual follows w
    # never an increase of the objective
    assert (reference.objective(X, y[:, None], wk[:, None], pen)
            <= reference.objective(X, y[:, None], w[:, None], pen) + 1e-15)


def test_full_step_from_the_optimum_signs_lands_on_the_optimum():
    rng = np.random.default_rng(0)
    X = np.asfortranarray(rng.standard_normal((80, 40)))
    y = X[:, :6] @ rng.standard_normal(6) + 0.1 * rng.standard_normal(80)
    pen = L1(0.02)
    w_star = reference.bcd(X, y[:, None], pen, max_epochs=20000, tol=1e-14)[0][:, 0]
    w = w_star * (1.0 + 0.05 * rng.uniform(-1, 1, 40))     # same signs, off the optimum
    r = y - X @ w
    wr, rr, code_r = reference.cd_shared.support_newton(X, r, w, pen)
    code = _cd_shared.newton_step(X, w, r, pen, np.arange(40, dtype=np.intc))
    assert code == code_r == 2
    np.testing.assert_allclose(w, wr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r, rr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(w, w_star, atol=1e-9)


def _near_interpolating(T=1, seed=0, dtype=np.float64):
    # a support near n on correlated columns: plain epochs crawl here
    rng = np.random.default_rng(seed)
    n, p = 60, 300
    X = rng.standard_normal((n, p))
    for j in range(1, p):
        X[:, j] = 0.7 * X[:, j - 1] + np.sqrt(1 - 0.49) * X[:, j]
    Y = X[:, rng.choice(p, 5, replace=False)] @ rng.standard_normal((5, T))
    Y += 0.5 * rng.standard_normal((n, T))
    return np.asfortranarray(X.astype(dtype)), Y.astype(dtype)


@pytest.mark.parametrize("pen", [L1(0.003), ElasticNet(0.003, 0.9), L1(0.003, positive=True)],
                         ids=repr)
@pytest.mark.parametrize("T", [1, 3])
def test_working_sets_with_newton_reach_the_same_certified_optimum(pen, T):
    X, Y = _near_interpolating(T)
    df = QuadraticShared(X, Y, None, True)
    on = solve(df, pen, tol=1e-10, max_iter=200000, strategy="ws")
    off = solve(df, pen, tol=1e-10, max_iter=200000, strategy="ws", newton=False)
    scale = (Y - Y.mean(0)) ** 2
    assert np.all(on.gaps * 60 <= 1e-10 * scale.sum(0) * 1.0001)
    np.testing.assert_allclose(on.coef, off.coef, atol=1e-6)
    assert on.info["newton_steps"] > 0 and off.info["newton_steps"] == 0
    assert on.n_iter.sum() < off.n_iter.sum()


def test_estimator_float32_and_the_solver_info():
    X, Y = _near_interpolating(1, seed=1, dtype=np.float32)
    kw = dict(alpha=0.003, tol=1e-6, max_iter=100000, strategy="ws")
    est = mtlfast.Lasso(**kw).fit(X, Y[:, 0])
    ref = mtlfast.Lasso(**kw).fit(X.astype(np.float64), Y[:, 0].astype(np.float64))
    assert est.coef_.dtype == np.float32
    for e in (est, ref):
        assert e.solver_info_["strategy"] == "ws"
        assert e.solver_info_["newton_steps"] > 0
        assert e.solver_info_["seconds"]["newton"] > 0.0
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=2e-3)
