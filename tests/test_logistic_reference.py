"""The logistic datafit, its duality gap and the NumPy reference solver
(mtlfast.logistic) against scikit-learn's LogisticRegression (L2, one task)
and the convex-optimization oracle (cvxpy, L1 per task and L2,1 across
tasks), with weights, intercepts, sparse X and the certificate."""
import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from mtlfast import penalties as P
from mtlfast.datafits import LogisticPerTask, shared_to_long
from mtlfast.reference import prox_newton


def _problem(sizes=(40, 60, 30), p=8, seed=0):
    rng = np.random.default_rng(seed)
    T = len(sizes)
    codes = np.repeat(np.arange(T), sizes)
    rng.shuffle(codes)                         # rows not grouped by task
    X = rng.standard_normal((len(codes), p))
    W = rng.standard_normal((p, T)) * (rng.random((p, 1)) < 0.5)
    z = np.einsum("ij,ji->i", X, W[:, codes]) + 0.5
    y = (rng.random(len(codes)) < 1 / (1 + np.exp(-z))).astype(float)
    return X, y, codes


def _oracle(df, pen_kind, alpha):
    cp = pytest.importorskip("cvxpy")
    p, T = df.n_features, df.n_tasks
    W = cp.Variable((p, T))
    b = cp.Variable(T)
    Xd = df.X.toarray() if sparse.issparse(df.X) else df.X
    loss = 0
    for t in range(T):
        sl = df.task_slice(t)
        z = Xd[sl] @ W[:, t] + (b[t] if df.fit_intercept else 0)
        loss += df.c[sl] @ (cp.logistic(z) - cp.multiply(df.y[sl], z))
    reg = alpha * (cp.sum(cp.abs(W)) if pen_kind == "l1" else cp.sum(cp.norm(W, 2, axis=1)))
    prob = cp.Problem(cp.Minimize(loss + reg))
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-9, tol_gap_rel=1e-9, tol_feas=1e-9)
    return W.value, (b.value if df.fit_intercept else np.zeros(T)), prob.value


def test_l2_single_task_matches_sklearn():
    X, y, _ = _problem(sizes=(120,), seed=1)
    n = len(y)
    alpha = 0.05
    df = LogisticPerTask(X, y, np.zeros(n, int), 1)
    W, b, gap, _ = prox_newton(df, P.L2(alpha), max_iter=100, tol=1e-14)
    ref = LogisticRegression(C=1 / (n * alpha), tol=1e-12, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(W[:, 0], ref.coef_[0], atol=1e-7)
    np.testing.assert_allclose(b, ref.intercept_, atol=1e-7)
    assert -1e-14 <= gap <= 1e-14 * df.gap_scale()


# Clarabel may flag its last digits; the asserts check the oracle's accuracy
@pytest.mark.filterwarnings("ignore:Solution may be inaccurate")
@pytest.mark.parametrize("pen_kind", ["l1", "l21"])
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_per_task_matches_the_convex_oracle(pen_kind, fmt):
    X, y, codes = _problem(seed=2)
    sw = np.random.default_rng(3).uniform(0.5, 2.0, len(y))
    Xf = sparse.csc_matrix(X * (np.abs(X) > 0.3)) if fmt == "sparse" else X
    df = LogisticPerTask(Xf, y, codes, 3, sample_weight=sw, task_weight=[1.0, 2.0, 0.5])
    alpha = 0.02
    pen = P.L1(alpha) if pen_kind == "l1" else P.L21(alpha)
    W, b, gap, n_iter = prox_newton(df, pen, max_iter=200, tol=1e-10)
    assert n_iter < 200
    Wo, bo, fo = _oracle(df, pen_kind, alpha)
    f = df.value(W, b, pen)
    assert f <= fo + 1e-8 * abs(fo)
    assert f - fo <= gap + 1e-9                  # the gap bounds the suboptimality
    np.testing.assert_allclose(W, Wo, atol=2e-5)
    np.testing.assert_allclose(b, bo, atol=2e-5)


def test_shared_design_l21_matches_the_oracle_and_sgl_tau1_is_l1():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((70, 6))
    Y = (rng.random((70, 3)) < 1 / (1 + np.exp(-X[:, :3]))).astype(float)
    Xl, yl, codes = shared_to_long(X, Y)
    df = LogisticPerTask(Xl, yl, codes, 3, fit_intercept=False)
    W, b, gap, _ = prox_newton(df, P.L21(0.03), max_iter=200, tol=1e-10)
    Wo, _, fo = _oracle(df, "l21", 0.03)
    np.testing.assert_allclose(W, Wo, atol=2e-5)
    W1, _, _, _ = prox_newton(df, P.L1(0.03), max_iter=200, tol=1e-10)
    Ws, _, _, _ = prox_newton(df, P.SparseGroupL1L21(0.03, 1.0), max_iter=200, tol=1e-10)
    np.testing.assert_allclose(Ws, W1, atol=1e-9)


@pytest.mark.parametrize("pen", [P.L1(0.05), P.L21(0.05), P.L21L2(0.05, 0.6),
                                 P.ElasticNet(0.05, 0.4), P.L2(0.05),
                                 P.SparseGroupL1L21(0.05, 0.3)])
def test_gap_is_nonnegative_and_vanishes_at_the_optimum(pen):
    X, y, codes = _problem(seed=5)
    df = LogisticPerTask(X, y, codes, 3)
    rng = np.random.default_rng(6)
    for _ in range(5):                         # weak duality at arbitrary points
        W = rng.standard_normal((8, 3)) * (rng.random((8, 3)) < 0.5)
        b = df.optimal_intercept(W, np.zeros(3))
        assert df.gap(W, b, pen) >= -1e-12
    W, b, gap, _ = prox_newton(df, pen, max_iter=200, tol=1e-11)
    assert 0 <= gap <= 1e-11 * df.gap_scale()
    # the intercepts are optimal: each task's mean residual vanishes
    p = 1 / (1 + np.exp(-df.z(W, b)))
    for t in range(3):
        sl = df.task_slice(t)
        assert abs(df.c[sl] @ (p[sl] - df.y[sl])) < 1e-12


def test_integer_sample_weights_equal_repeated_rows():
    X, y, codes = _problem(seed=7)
    sw = np.random.default_rng(8).integers(1, 4, len(y))
    df_w = LogisticPerTask(X, y, codes, 3, sample_weight=sw)
    rep = np.repeat(np.arange(len(y)), sw)
    df_r = LogisticPerTask(X[rep], y[rep], codes[rep], 3)
    Ww, bw, _, _ = prox_newton(df_w, P.L21(0.02), max_iter=200, tol=1e-11)
    Wr, br, _, _ = prox_newton(df_r, P.L21(0.02), max_iter=200, tol=1e-11)
    np.testing.assert_allclose(Ww, Wr, atol=1e-9)
    np.testing.assert_allclose(bw, br, atol=1e-9)


def test_bad_labels():
    X, y, codes = _problem()
    with pytest.raises(ValueError, match="0 or 1"):
        LogisticPerTask(X, y * 2, codes, 3)


# -- the compiled kernel (mtlfast._pn_logistic) against the twin -----------------
KERNEL_PENALTIES = [P.L1(0.02), P.L21(0.02), P.L21L2(0.02, 0.5),
                    P.SparseGroupL1L21(0.02, 0.3), P.ElasticNet(0.02, 0.6), P.L2(0.02),
                    P.L21(0.02, positive=True), P.L1(0.02, positive=True)]


@pytest.mark.parametrize("pen", KERNEL_PENALTIES, ids=lambda p: type(p).__name__)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_kernel_matches_the_twin_after_1_and_2_iterations(pen, fmt, fit_intercept):
    from mtlfast.logistic import solve_logistic
    X, y, codes = _problem(seed=9)
    X[codes == 1, 2] = 0.0                     # a column that vanishes in one task
    sw = np.random.default_rng(10).uniform(0.5, 2.0, len(y))
    Xf = sparse.csc_matrix(X * (np.abs(X) > 0.3)) if fmt == "sparse" else X
    df = LogisticPerTask(Xf, y, codes, 3, sample_weight=sw, task_weight=[1.0, 2.0, 0.5],
                         fit_intercept=fit_intercept)
    for k in (1, 2):
        Wr, br, _, _ = prox_newton(df, pen, max_iter=k, tol=-1)
        Wk, bk, _, nk = solve_logistic(df, pen, max_iter=k, tol=-1)
        assert nk == k
        np.testing.assert_allclose(Wk, Wr, rtol=0, atol=1e-12)
        np.testing.assert_allclose(bk, br, rtol=0, atol=1e-12)
    W, b, gap, n_iter = solve_logistic(df, pen, max_iter=500, tol=1e-9)
    assert n_iter < 500 and -1e-14 <= gap <= 1e-9 * df.gap_scale()
    np.testing.assert_allclose(gap, df.gap(W, b, pen), rtol=1e-6, atol=1e-13)
    Wr, br, _, _ = prox_newton(df, pen, max_iter=500, tol=1e-9)
    assert abs(df.value(W, b, pen) - df.value(Wr, br, pen)) <= 2e-9 * df.gap_scale()


def test_kernel_float32_close_to_float64():
    from mtlfast.logistic import solve_logistic
    X, y, codes = _problem(seed=11)
    df = LogisticPerTask(X, y, codes, 3)
    W64, b64, _, _ = solve_logistic(df, P.L21(0.02), max_iter=200, tol=1e-8)
    W32, b32, gap32, _ = solve_logistic(df, P.L21(0.02), max_iter=200, tol=1e-5,
                                        dtype=np.float32)
    np.testing.assert_allclose(W32, W64, atol=2e-3)
    np.testing.assert_allclose(b32, b64, atol=2e-3)


WS_PENALTIES = [P.L1(0.01), P.L21(0.015), P.SparseGroupL1L21(0.015, 0.3),
                P.ElasticNet(0.01, 0.7)]


@pytest.mark.parametrize("pen", WS_PENALTIES, ids=lambda p: type(p).__name__)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_kernel_matches_the_twin_with_working_sets(pen, fmt):
    """With gaps and working sets (p = 60 > p0 = 10, so the first sets leave
    features out): after 1..4 Newton steps the kernel and the twin hold the
    same iterates, and the working-set solve certifies the optimum of the
    plain one."""
    from mtlfast.logistic import solve_logistic
    X, y, codes = _problem(sizes=(50, 70, 40), p=60, seed=12)
    X[:, 7] = 0.0                              # a column that vanishes everywhere
    Xf = sparse.csc_matrix(X * (np.abs(X) > 0.3)) if fmt == "sparse" else X
    df = LogisticPerTask(Xf, y, codes, 3, sample_weight=np.random.default_rng(13).uniform(
        0.5, 2.0, len(y)), task_weight=[1.0, 2.0, 0.5])
    W0 = np.zeros((60, 3))
    W0[7] = 1.0                                # its row must be set to 0
    for k in (1, 2, 3, 4):
        Wr, br, gr, _ = prox_newton(df, pen, W0, max_iter=k, tol=1e-13)
        Wk, bk, gk, nk = solve_logistic(df, pen, W0, max_iter=k, tol=1e-13)
        assert nk == k
        np.testing.assert_allclose(Wk, Wr, rtol=0, atol=1e-12)
        np.testing.assert_allclose(bk, br, rtol=0, atol=1e-12)
        np.testing.assert_allclose(gk, gr, rtol=1e-8, atol=1e-14)
    assert np.all(Wk[7] == 0)
    # the first step ran on a working set: it differs from a step on all features
    W1, _, _, _ = solve_logistic(df, pen, W0, max_iter=1, tol=1e-13)
    W1all, _, _, _ = solve_logistic(df, pen, W0, max_iter=1, tol=1e-13, use_ws=False)
    assert np.abs(W1 - W1all).max() > 1e-3
    W, b, gap, n_iter = solve_logistic(df, pen, max_iter=500, tol=1e-10)
    assert n_iter < 500 and gap <= 1e-10 * df.gap_scale()
    np.testing.assert_allclose(gap, df.gap(W, b, pen), rtol=1e-6, atol=1e-13)
    assert 0 < np.sum(np.any(W != 0, axis=1)) < 60   # the sets do leave rows out
    Wp, bp, gp, _ = solve_logistic(df, pen, max_iter=500, tol=1e-10, use_ws=False)
    assert abs(df.value(W, b, pen) - df.value(Wp, bp, pen)) <= 2e-10 * df.gap_scale()
    np.testing.assert_allclose(W, Wp, atol=1e-4)


@pytest.mark.parametrize("pen", [P.L1(0.01), P.L21(0.015), P.ElasticNet(0.01, 0.7)],
                         ids=lambda p: type(p).__name__)
@pytest.mark.parametrize("fmt", ["dense", "csc", "csc-unsorted"])
def test_shared_design_kernel_equals_the_long_layout(pen, fmt):
    """One X for every task (LogisticPerTask.from_shared: X not repeated)
    gives the iterates of the long layout with X repeated per task, in the
    kernel (after 1-3 steps, with working sets) and in the twin; an unsorted
    CSC input is left as it is."""
    from mtlfast.logistic import solve_logistic
    rng = np.random.default_rng(14)
    n, p, T = 80, 40, 3
    X = rng.standard_normal((n, p)) * (rng.random((n, p)) < (0.3 if fmt != "dense" else 1))
    Y = (rng.random((n, T)) < 1 / (1 + np.exp(-X[:, :T] * 3))).astype(float)
    sw = rng.uniform(0.5, 2.0, n)
    Xs = X
    if fmt != "dense":
        Xs = sparse.csc_matrix(X)
        if fmt == "csc-unsorted":
            # the same matrix with each column's entries in reverse order
            perm = np.concatenate([np.arange(a, b)[::-1] for a, b in
                                   zip(Xs.indptr[:-1], Xs.indptr[1:])])
            Xs = sparse.csc_matrix((Xs.data[perm], Xs.indices[perm], Xs.indptr), shape=Xs.shape)
            assert not Xs.has_sorted_indices
    before = (Xs.data.copy(), Xs.indices.copy()) if sparse.issparse(Xs) else Xs.copy()
    shared = LogisticPerTask.from_shared(Xs, Y, sw, [1.0, 2.0, 0.5])
    Xl, yl, codes = shared_to_long(X, Y)
    long = LogisticPerTask(Xl if fmt == "dense" else sparse.csc_matrix(Xl), yl, codes, T,
                           np.tile(sw, T), [1.0, 2.0, 0.5])
    for k in (1, 2, 3):
        Wl, bl, gl, _ = solve_logistic(long, pen, max_iter=k, tol=1e-13)
        Ws, bs, gs, _ = solve_logistic(shared, pen, max_iter=k, tol=1e-13)
        Wt, bt, gt, _ = prox_newton(shared, pen, max_iter=k, tol=1e-13)
        for W, b in ((Ws, bs), (Wt, bt)):
            np.testing.assert_allclose(W, Wl, rtol=0, atol=1e-12)
            np.testing.assert_allclose(b, bl, rtol=0, atol=1e-12)
        np.testing.assert_allclose([gs, gt], gl, rtol=1e-8, atol=1e-14)
    W, b, gap, _ = solve_logistic(shared, pen, max_iter=200, tol=1e-10, n_threads=2)
    assert gap <= 1e-10 * shared.gap_scale()
    W1, b1, gap1, _ = solve_logistic(shared, pen, max_iter=200, tol=1e-10, n_threads=1)
    np.testing.assert_array_equal(W, W1)       # the tasks' solves are apart: same bits
    np.testing.assert_array_equal(b, b1)
    np.testing.assert_allclose(gap, long.gap(W, b, pen), rtol=1e-6, atol=1e-13)
    if sparse.issparse(Xs):
        np.testing.assert_array_equal(Xs.data, before[0])
        np.testing.assert_array_equal(Xs.indices, before[1])
    else:
        np.testing.assert_array_equal(Xs, before)
