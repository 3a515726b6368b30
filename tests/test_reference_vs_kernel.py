"""The Cython kernels against their NumPy reference twin: after exactly 1 and 2
epochs (pins the algorithm, not just the optimum) and at convergence."""
import numpy as np
import pytest

from mtlfast import reference
from mtlfast.datafits import QuadraticShared
from mtlfast.penalties import L1, L2, L21, L21L2, ElasticNet, SparseGroupL1L21
from mtlfast.solvers import solve_shared as solve

from conftest import make_problem, as_sparse

PENALTIES = [L1(0.05), L1(0.05, positive=True), ElasticNet(0.05, 0.5), L2(0.5), L21(0.1),
             L21L2(0.1, 0.7), SparseGroupL1L21(0.08, 0.4), L21(0.1, positive=True),
             SparseGroupL1L21(0.08, 0.4, positive=True)]


def _datafit(fmt, weights, intercept, dtype=np.float64, seed=0, **kw):
    X, Y = make_problem(density=0.4 if fmt == "sparse" else 1.0, seed=seed, **kw)
    rng = np.random.default_rng(seed + 1)
    sw = rng.uniform(0.2, 3.0, X.shape[0]) if weights else None
    X = X.astype(dtype)
    if fmt == "sparse":
        X = as_sparse(X)
    return QuadraticShared(X, Y.astype(dtype), sw, intercept)


@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
@pytest.mark.parametrize("weights,intercept", [(False, False), (True, True), (False, True)])
@pytest.mark.parametrize("epochs", [1, 2])
def test_epochs_match_reference(pen, fmt, weights, intercept, epochs):
    df = _datafit(fmt, weights, intercept)
    rng = np.random.default_rng(3)
    coef0 = rng.standard_normal((df.n_tasks, df.n_features)) * 0.1   # non-trivial start
    k = solve(df, pen, coef0, max_iter=epochs, tol=-1.0, strategy="cd")
    r = solve(df, pen, coef0, max_iter=epochs, tol=-1.0, backend="reference")
    assert np.all(k.n_iter == epochs)
    np.testing.assert_allclose(k.coef, r.coef, rtol=0, atol=1e-12)
    np.testing.assert_allclose(k.gaps, r.gaps, rtol=1e-9, atol=1e-13)
    # the residual the kernel returns is the true one (implicit centering folded back)
    np.testing.assert_allclose(k.residual, df.residual(k.coef.T), atol=1e-12)


@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_float32_epochs_match_reference(pen, fmt):
    df = _datafit(fmt, True, True, dtype=np.float32)
    k = solve(df, pen, max_iter=2, tol=-1.0, strategy="cd")
    assert k.coef.dtype == np.float32
    r = solve(df, pen, max_iter=2, tol=-1.0, backend="reference")
    scale = max(1.0, np.abs(r.coef).max())
    np.testing.assert_allclose(k.coef, r.coef, rtol=0, atol=2e-5 * scale)


@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
@pytest.mark.parametrize("strategy", ["cd", "ws"])
def test_convergence_matches_reference(pen, fmt, strategy):
    df = _datafit(fmt, True, True)
    k = solve(df, pen, max_iter=20000, tol=1e-13, strategy=strategy)
    r = solve(df, pen, max_iter=5000, tol=1e-13, backend="reference")
    X, Y = df.design_dense(), df.Y
    f_k = reference.objective(X, Y, k.coef.T, pen)
    f_r = reference.objective(X, Y, r.coef.T, pen)
    assert abs(f_k - f_r) <= 1e-10 * max(1.0, abs(f_r))
    # the certificate: the kernel's gap equals the reference's gap at its point
    # and bounds the suboptimality
    gap_ref = reference.duality_gap(X, Y, k.coef.T.astype(float), pen) if not pen.separable else \
        sum(reference.duality_gap(X, Y[:, [t]], k.coef.T[:, [t]], pen) for t in range(df.n_tasks))
    # equal up to the rounding of ||R||^2 - <R, Y> (relative to ||Y||^2 / n)
    assert k.gaps.sum() == pytest.approx(gap_ref, rel=1e-6, abs=1e-13 * np.sum(Y ** 2) / X.shape[0])
    assert f_k - f_r <= k.gaps.sum() + 1e-12
    # KKT
    kkt = pen.subdiff_distance(k.coef.T, df.gradient(k.coef.T))
    assert kkt.max() < 1e-5


@pytest.mark.parametrize("pen", [L21(0.1), SparseGroupL1L21(0.08, 0.4), ElasticNet(0.05, 0.5)], ids=repr)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
@pytest.mark.parametrize("strategy", ["cd", "ws"])
def test_random_selection_converges(pen, fmt, strategy):
    df = _datafit(fmt, False, True)
    k = solve(df, pen, max_iter=20000, tol=1e-12, selection="random", seed=7, strategy=strategy)
    c = solve(df, pen, max_iter=20000, tol=1e-12, strategy="cd")
    np.testing.assert_allclose(k.coef, c.coef, atol=1e-6)
    k2 = solve(df, pen, max_iter=20000, tol=1e-12, selection="random", seed=7, strategy=strategy)
    np.testing.assert_array_equal(k.coef, k2.coef)


@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
@pytest.mark.parametrize("strategy", ["cd", "ws"])
def test_thread_count_invariance(pen, fmt, strategy):
    df = _datafit(fmt, True, True, n=80, p=300, T=6)
    one = solve(df, pen, max_iter=50, tol=1e-10, n_threads=1, strategy=strategy)
    two = solve(df, pen, max_iter=50, tol=1e-10, n_threads=2, strategy=strategy)
    np.testing.assert_array_equal(one.coef, two.coef)
    np.testing.assert_array_equal(one.gaps, two.gaps)
    np.testing.assert_array_equal(one.n_iter, two.n_iter)


def test_edge_shapes():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 30))            # p > n
    X[:, 3] = 0.0                                # zero column
    X[:, 5] = X[:, 4]                            # duplicated column
    Y = rng.standard_normal((10, 1))             # one task
    for pen in PENALTIES:
        df = QuadraticShared(X, Y, None, True)
        init = np.ones((1, 30))                  # zero column must be zeroed
        k = solve(df, pen, init, max_iter=5, tol=-1.0, strategy="cd")
        r = solve(df, pen, init, max_iter=5, tol=-1.0, backend="reference")
        np.testing.assert_allclose(k.coef, r.coef, atol=1e-12)
        assert k.coef[0, 3] == 0.0
    # constant Y with an intercept: W = 0, converged immediately
    df = QuadraticShared(X, np.full((10, 3), 2.5), None, True)
    k = solve(df, L21(0.1), max_iter=10, tol=1e-4)
    assert np.all(k.coef == 0) and k.n_iter[0] == 0
    np.testing.assert_allclose(df.intercept(k.coef.T), 2.5)


@pytest.mark.parametrize("pen", [L21(0.05), L21L2(0.05, 0.5), SparseGroupL1L21(0.05, 0.3)], ids=repr)
@pytest.mark.parametrize("block_size", [2, 3, 16, 64])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blocked_epochs_equal_plain_epochs(pen, block_size, dtype):
    """The level-3 blocked epoch runs the same iterates as the plain one."""
    df = _datafit("dense", True, True, dtype=dtype, T=6, p=50)
    coef0 = np.random.default_rng(0).standard_normal((6, 50)).astype(dtype) * 0.1
    plain = solve(df, pen, coef0, max_iter=2, tol=-1.0, strategy="cd", block_size=0)
    blocked = solve(df, pen, coef0, max_iter=2, tol=-1.0, strategy="cd", block_size=block_size)
    atol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(blocked.coef, plain.coef, atol=atol)
    ref = solve(df, pen, coef0, max_iter=2, tol=-1.0, backend="reference")
    np.testing.assert_allclose(blocked.coef, ref.coef, atol=atol)


@pytest.mark.parametrize("block_size", [0, 5])
@pytest.mark.parametrize("anderson_k", [0, 5])
def test_working_sets_with_blocks_converge(block_size, anderson_k):
    """Working sets (non-contiguous features -> gathered blocks) reach the
    reference optimum; p > n and a dense-ish solution."""
    df = _datafit("dense", False, False, n=30, p=70, T=5)
    pen = L21(0.03)
    k = solve(df, pen, max_iter=100000, tol=1e-13, strategy="ws", block_size=block_size,
              anderson_k=anderson_k)
    r = solve(df, pen, max_iter=20000, tol=1e-11, backend="reference")
    X, Y = df.design_dense(), df.Y
    assert reference.objective(X, Y, k.coef.T, pen) <= reference.objective(X, Y, r.coef.T, pen) + 1e-11
    assert k.gaps[0] <= 1e-13 * np.sum(Y ** 2) / 30


@pytest.mark.parametrize("n", [1100, 11000])
@pytest.mark.parametrize("strategy", ["cd", "ws"])
def test_thread_count_invariance_threaded_blocks(n, strategy):
    """Large enough for the blocked epoch to run its chunks on several threads
    (n * T * 32 >= 2e5); n=1100 takes the chunked G = R^T X_B (R fits in
    cache), n=11000 the single G gemm (R > 512 KB). Same bits for 1 and 2
    threads, and the same iterates as the plain epoch."""
    df = _datafit("dense", False, True, n=n, p=70, T=6, seed=4)
    pen = L21L2(0.02, 0.8)
    one = solve(df, pen, max_iter=30, tol=1e-12, n_threads=1, strategy=strategy)
    two = solve(df, pen, max_iter=30, tol=1e-12, n_threads=2, strategy=strategy)
    np.testing.assert_array_equal(one.coef, two.coef)
    np.testing.assert_array_equal(one.gaps, two.gaps)
    if strategy == "cd":
        plain = solve(df, pen, max_iter=30, tol=1e-12, strategy="cd", block_size=0)
        np.testing.assert_allclose(two.coef, plain.coef, atol=1e-10)


@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
@pytest.mark.parametrize("covariance", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("epochs", [1, 2, 5])
@pytest.mark.parametrize("strategy", ["ws", "gram"])
def test_covariance_epochs_match_reference(pen, covariance, dtype, epochs, strategy):
    """Working sets on a tall dense design (n = 400 >= 4 * p): the set (all p
    features, p0 = p; "gram": the full Gram mode, X read in place) runs
    covariance epochs, on the set's Gram matrix and X_S^T R, with the
    residual brought up to date once at the end; the same iterates as the
    reference's cyclic epochs."""
    df = _datafit("dense", True, True, dtype=dtype, n=400, p=60, T=3, seed=5)
    rng = np.random.default_rng(4)
    coef0 = rng.standard_normal((df.n_tasks, df.n_features)) * 0.1
    k = solve(df, pen, coef0, max_iter=epochs, tol=-1.0, strategy=strategy, p0=df.n_features,
              anderson_k=0, covariance=covariance)
    r = solve(df, pen, coef0, max_iter=epochs, tol=-1.0, backend="reference")
    atol = 1e-12 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(k.coef, r.coef, rtol=0, atol=atol)
    # (float32 gaps near the optimum are rounding: compared to ~1e-6 of the scale)
    np.testing.assert_allclose(k.gaps, r.gaps, rtol=1e-8 if dtype == np.float64 else 1e-2,
                               atol=1e-13 if dtype == np.float64 else 1e-6 * df.gap_scale())
    # the returned residual is the true one (caught up with the epochs)
    W = k.coef.T.astype(np.float64)
    R_true = df.Y.astype(np.float64) - df.design_dense() @ W
    np.testing.assert_allclose(k.residual, R_true, atol=1e-10 if dtype == np.float64 else 1e-3)


@pytest.mark.parametrize("pen", [L1(0.02), L21(0.05), SparseGroupL1L21(0.04, 0.4)], ids=repr)
def test_covariance_working_sets_converge(pen):
    """A tall problem solved with and without covariance epochs: the same
    optimum, each certified by its gap."""
    df = _datafit("dense", False, True, n=2000, p=120, T=4, seed=6, n_informative=15)
    a = solve(df, pen, tol=1e-10, strategy="ws", covariance=True)
    b = solve(df, pen, tol=1e-10, strategy="ws", covariance=False)
    r = solve(df, pen, tol=1e-10, backend="reference")
    scale = df.gap_scale()
    assert np.all(a.gaps <= 1e-10 * scale * 1.0001)
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-6)
    np.testing.assert_allclose(a.coef, r.coef, atol=1e-6)


@pytest.mark.parametrize("pen", [L1(0.01), L21(0.02)], ids=repr)
def test_auto_strategy_on_sparse_designs(pen, monkeypatch):
    """"auto" on sparse X: plain epochs (the same iterates as "cd"), and on a
    wide design, a fit still running after CD_FIRST epochs continues with
    working sets from there: the reference's optimum, certified."""
    from mtlfast.solvers import _compiled
    wide = _datafit("sparse", False, True, n=100, p=1300, T=2, seed=7, n_informative=10)
    tall = _datafit("sparse", False, True, n=1300, p=100, T=2, seed=8, n_informative=10)
    for df in (wide, tall):
        auto = solve(df, pen, tol=1e-10, strategy="auto")
        np.testing.assert_array_equal(auto.coef, solve(df, pen, tol=1e-10, strategy="cd").coef)
    monkeypatch.setattr(_compiled, "CD_FIRST", 3)
    cd = solve(wide, pen, tol=1e-10, strategy="cd")
    auto = solve(wide, pen, tol=1e-10, strategy="auto")
    assert auto.n_iter.max() > 3 and not np.array_equal(auto.coef, cd.coef)
    assert np.all(auto.gaps <= 1e-10 * wide.gap_scale() * 1.0001)
    ref = solve(wide, pen, tol=1e-10, backend="reference")
    np.testing.assert_allclose(auto.coef, ref.coef, atol=1e-6)
