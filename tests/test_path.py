"""Path functions: scikit-learn's enet_path/lasso_path semantics, warm starts."""
import numpy as np
import pytest
import sklearn.linear_model as sk

import mtlfast
from conftest import make_problem, as_sparse


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_path_matches_sklearn(multi, l1_ratio, fmt):
    X, Y = make_problem(n=50, p=30, T=3, seed=1, density=0.5 if fmt == "sparse" else 1.0)
    X = X - X.mean(0)
    Y = Y - Y.mean(0)
    y = Y if multi else Y[:, 0]
    Xin = as_sparse(X) if fmt == "sparse" else X
    a1, c1, g1 = mtlfast.enet_path(Xin, y, l1_ratio=l1_ratio, n_alphas=12, eps=1e-2, tol=1e-10,
                                   max_iter=100000)
    _, c2, _ = sk.enet_path(X, y, l1_ratio=l1_ratio, alphas=a1, tol=1e-10, max_iter=100000)
    a3, _, _ = mtlfast.enet_path(Xin, y, l1_ratio=l1_ratio, alphas=12, eps=1e-2, max_iter=10)
    np.testing.assert_allclose(a3, a1, rtol=1e-12)         # alphas=int == n_alphas
    # our grid is scikit-learn's: alpha_max = max_j ||X_j^T Y|| / (n l1_ratio), geometric
    amax = (np.linalg.norm(X.T @ Y, axis=1).max() if multi else np.abs(X.T @ y).max()) \
        / (X.shape[0] * l1_ratio)
    np.testing.assert_allclose(a1, np.geomspace(amax, amax * 1e-2, 12), rtol=1e-12)
    assert c1.shape == c2.shape
    np.testing.assert_allclose(c1, c2, atol=1e-6)
    assert g1.shape == (12,) and np.all(g1 >= -1e-12)


def test_lasso_path_first_point_is_zero_and_warm_start_helps():
    X, Y = make_problem(n=80, p=200, T=4, seed=2)
    X = X - X.mean(0)
    alphas, coefs, gaps, iters = mtlfast.lasso_path(X, Y, n_alphas=10, eps=1e-2,
                                                    return_n_iter=True, tol=1e-8)
    assert coefs.shape == (4, 200, 10)
    assert np.all(coefs[..., 0] == 0)                   # alpha_max
    assert np.all(np.diff(alphas) < 0)
    # each point equals a cold fit at the same alpha
    for i in (3, 9):
        cold = mtlfast.MultiTaskLasso(alpha=alphas[i], fit_intercept=False, tol=1e-10,
                                      max_iter=10000).fit(X, Y)
        np.testing.assert_allclose(coefs[..., i], cold.coef_, atol=1e-5)


def test_path_bad_input():
    X, Y = make_problem(n=20, p=5, T=2)
    with pytest.raises(ValueError, match="alphas"):
        mtlfast.lasso_path(X, Y, alphas=[])
    with pytest.raises(ValueError, match="alphas"):
        mtlfast.lasso_path(X, Y, alphas=[-1.0])
    with pytest.raises(ValueError, match="positive"):
        mtlfast.lasso_path(X, Y, positive=True)
    with pytest.raises(ValueError, match="samples"):
        mtlfast.lasso_path(X, Y[:-1])
