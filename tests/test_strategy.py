"""The solver strategies of the shared-design estimators (issue 28): every
strategy reaches the same certified optimum; "cd" keeps scikit-learn's own
iterates (warm starts of unconverged fits included); "gram" solves on the
Gram matrix, computed once; solver_info_ says where the work went."""
import numpy as np
import pytest
from scipy import sparse
import sklearn.linear_model as sk

import mtlfast
from mtlfast import penalties
from mtlfast.datafits import QuadraticShared
from mtlfast.solvers import solve_shared
from mtlfast import reference


def _tall(n=400, p=30, T=3, seed=0, rho=0.5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho ** 2) * X[:, j]
    W = np.zeros((p, T))
    W[:4] = rng.standard_normal((4, T))
    return X, X @ W + 0.5 * rng.standard_normal((n, T)) + 2.0


@pytest.mark.parametrize("Est,T", [(mtlfast.MultiTaskLasso, 3), (mtlfast.Lasso, 1),
                                   (mtlfast.ElasticNet, 2),
                                   (mtlfast.MultiTaskElasticNet, 3)])
@pytest.mark.parametrize("intercept", [True, False])
def test_every_strategy_reaches_the_same_certified_optimum(Est, T, intercept):
    X, Y = _tall(T=T)
    y = Y[:, 0] if T == 1 else Y
    fits = {}
    for strategy in ("auto", "ws", "gram", "cd"):
        est = Est(alpha=0.05, tol=1e-12, max_iter=100000, fit_intercept=intercept,
                  strategy=strategy).fit(X, y)
        assert np.all(np.asarray(est.dual_gap_) <= np.asarray(est.eps_) / len(X) * (1 + 1e-9))
        fits[strategy] = est
    for strategy, est in fits.items():
        np.testing.assert_allclose(est.coef_, fits["cd"].coef_, atol=1e-7, err_msg=strategy)
        np.testing.assert_allclose(est.intercept_, fits["cd"].intercept_, atol=1e-7)
    info = fits["gram"].solver_info_
    assert info["strategy"] == "gram" and info["gram_max"] == X.shape[1]
    assert info["working_sets"] == (T if Est is mtlfast.ElasticNet else 1)   # one per block
    assert fits["cd"].solver_info_["gram_max"] == 0


def test_gram_kernel_matches_the_reference_twin():
    X, Y = _tall(n=300, p=25, T=4, seed=2)
    df = QuadraticShared(np.asfortranarray(X), Y, None, False)
    pen = penalties.L21(0.1)
    res = solve_shared(df, pen, tol=1e-14, max_iter=100000, strategy="gram")
    W, gap, _ = reference.bcd(X, Y, pen, None, 100000, 1e-14)
    np.testing.assert_allclose(res.coef.T, W, atol=1e-9)
    assert res.info["strategy"] == "gram" and res.info["gram_passes"] > 0


def test_gram_refused_on_sparse_runs_working_sets():
    X, Y = _tall(n=200, p=20, T=2)
    Xs = sparse.csc_matrix(X * (np.abs(X) > 0.5))
    est = mtlfast.MultiTaskLasso(alpha=0.05, tol=1e-10, strategy="gram").fit(Xs, Y)
    ref = mtlfast.MultiTaskLasso(alpha=0.05, tol=1e-10, strategy="cd").fit(Xs, Y)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-7)
    assert est.solver_info_["gram_max"] == 0


def test_cd_keeps_scikit_learns_iterates_of_unconverged_warm_starts():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 200))
    y = X[:, :5] @ rng.standard_normal(5) + 0.1 * rng.standard_normal(50)
    Y = np.c_[y, y]
    for Est, Sk, target in [(mtlfast.MultiTaskLasso, sk.MultiTaskLasso, Y),
                            (mtlfast.Lasso, sk.Lasso, y)]:
        warm = Est(alpha=0.1, max_iter=5, warm_start=True, strategy="cd")
        with pytest.warns(Warning):
            warm.fit(X, target)
        with pytest.warns(Warning):
            warm.fit(X, target)
        with pytest.warns(Warning):
            once = Est(alpha=0.1, max_iter=10, strategy="cd").fit(X, target)
        np.testing.assert_allclose(warm.coef_, once.coef_, atol=1e-12)
        with pytest.warns(Warning):
            theirs = Sk(alpha=0.1, max_iter=10).fit(X, target)
        np.testing.assert_allclose(once.coef_, theirs.coef_, atol=1e-10)


def test_precompute_true_runs_gram_and_strategy_is_validated():
    X, Y = _tall(T=1)
    est = mtlfast.Lasso(alpha=0.05, precompute=True).fit(X, Y[:, 0])
    assert est.solver_info_["strategy"] == "gram"
    with pytest.raises(ValueError, match="strategy"):
        mtlfast.MultiTaskLasso(strategy="fast").fit(X, Y)


def test_solver_info_counts_add_up():
    X, Y = _tall(n=2000, p=60, T=4, rho=0.8)
    est = mtlfast.MultiTaskLasso(alpha=0.01, tol=1e-8).fit(X, Y)
    info = est.solver_info_
    phases = info["gap_passes"] + info["epoch_passes"] + info["gram_passes"]
    # x_passes also counts the column norms' pass (and no initial residual at W = 0)
    assert abs(info["x_passes"] - (phases + 1.0)) < 1e-9
    assert info["gaps"] >= 1 and info["epochs"] == est.n_iter_
    assert set(info["seconds"]) == {"gaps", "epochs", "gram", "newton"}
