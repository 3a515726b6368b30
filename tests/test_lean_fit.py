"""The lean path of small fits (issue 28): plain NumPy inputs skip
scikit-learn's input sniffing, parameter validation runs once per setting,
tiny problems skip the BLAS thread limit. Each shortcut must give the fit
the full path gives, and never accept what the full path refuses."""
import numpy as np
import pytest

import mtlfast
from mtlfast._base import plain_fit_arrays


def _data(n=60, p=8, T=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(dtype)
    Y = (X[:, :3] @ rng.standard_normal((3, T)) + 0.1 * rng.standard_normal((n, T))).astype(dtype)
    return X, Y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("est", [mtlfast.MultiTaskLasso(alpha=0.05),
                                 mtlfast.MultiTaskElasticNet(alpha=0.05, l1_ratio=0.3)])
def test_plain_arrays_fit_as_the_full_validation(est, dtype):
    X, Y = _data(dtype=dtype)
    fast = est.fit(X, Y).coef_.copy()
    assert plain_fit_arrays(est, X, Y) is not None
    # a list input takes the full validation path (check_array converts it)
    full = est.fit(X.tolist(), Y.tolist()).coef_
    assert full.dtype == np.float64
    if dtype == np.float64:
        np.testing.assert_array_equal(fast, full)
    assert est.n_features_in_ == X.shape[1]


def test_plain_path_refuses_what_the_full_path_refuses():
    X, Y = _data()
    est = mtlfast.MultiTaskLasso(alpha=0.1)
    for bad_X, bad_Y in [(np.where(np.eye(60, 8) > 0, np.nan, X), Y),
                         (X, np.where(np.eye(60, 3) > 0, np.inf, Y)),
                         (X[:0], Y[:0]), (X[:, :0], Y), (X, Y[:10]),
                         (X, Y.astype(np.complex128))]:
        assert plain_fit_arrays(est, bad_X, bad_Y) is None
        with pytest.raises(ValueError):
            mtlfast.MultiTaskLasso(alpha=0.1).fit(bad_X, bad_Y)
    # a 1-D y on a multi-task-only estimator: scikit-learn's message
    with pytest.raises(ValueError, match="For mono-task outputs"):
        est.fit(X, Y[:, 0])
    # huge finite entries whose sum overflows go the full way, and fit
    assert plain_fit_arrays(est, np.full((4, 2), 1e308), np.ones((4, 2))) is None


def test_feature_names_forgotten_on_a_plain_refit():
    pd = pytest.importorskip("pandas")
    X, Y = _data()
    est = mtlfast.MultiTaskLasso(alpha=0.1)
    est.fit(pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])]), Y)
    assert list(est.feature_names_in_)[0] == "f0"
    est.fit(X, Y)
    assert not hasattr(est, "feature_names_in_")


def test_parameters_are_checked_after_every_change():
    X, Y = _data()
    est = mtlfast.MultiTaskLasso(alpha=0.1).fit(X, Y)
    est.alpha = -1.0                       # plain attribute, no set_params
    with pytest.raises(ValueError, match="alpha"):
        est.fit(X, Y)
    est.set_params(alpha=0.1, max_iter=0)
    with pytest.raises(ValueError, match="max_iter"):
        est.fit(X, Y)
    est.set_params(max_iter=1000).fit(X, Y)
    est.set_params(fit_intercept=1)        # equal to True, but an int: refused
    with pytest.raises(ValueError, match="fit_intercept"):
        est.fit(X, Y)
    est.set_params(fit_intercept=True, selection="cyclicc")
    with pytest.raises(ValueError, match="selection"):
        est.fit(X, Y)
    est.set_params(selection="cyclic")
    est.fit(X, Y)


def test_tiny_fits_equal_with_and_without_the_blas_limit(monkeypatch):
    from mtlfast import _config
    X, Y = _data()
    a = mtlfast.MultiTaskLasso(alpha=0.05, tol=1e-10).fit(X, Y).coef_
    monkeypatch.setattr(_config, "TINY_BLAS", 0)       # always limit
    b = mtlfast.MultiTaskLasso(alpha=0.05, tol=1e-10).fit(X, Y).coef_
    np.testing.assert_array_equal(a, b)
