"""The per-task Cython kernel (mtlfast._cd_pertask) against its NumPy twin
(reference.bcd_tasks): after exactly 1 and 2 epochs and at convergence."""
import numpy as np
import pytest
from scipy import sparse

from mtlfast import reference
from mtlfast.penalties import L1, L2, L21, L21L2, ElasticNet, SparseGroupL1L21
from mtlfast.solvers import solve_tasks
from mtlfast.datafits import QuadraticPerTask, check_tasks, stack_task_list

PENALTIES = [L1(0.02), L1(0.02, positive=True), ElasticNet(0.03, 0.5), L2(0.1), L21(0.03),
             L21L2(0.03, 0.7), SparseGroupL1L21(0.03, 0.4), L21(0.03, positive=True)]


def _df(fmt="dense", weights=True, intercept=True, dtype=np.float64, n_t=(12, 30, 7, 20),
        p=25, seed=0, omega=None, density=None, n_zero_cols=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(p) * (rng.random(p) < 0.4)
    if density is None:
        density = 0.4 if fmt == "sparse" else 1.0
    Xs = [rng.standard_normal((k, p)) * (rng.random((k, p)) < density) for k in n_t]
    ys = [X @ (w + 0.3 * rng.standard_normal(p)) + rng.standard_normal()
          + 0.1 * rng.standard_normal(len(X)) for X in Xs]
    X, y, tasks = stack_task_list(Xs, ys)
    X[:, :n_zero_cols] = 0.0
    perm = rng.permutation(len(y))
    X, y, tasks = X[perm].astype(dtype), y[perm].astype(dtype), tasks[perm]
    if fmt == "sparse":
        X = sparse.csc_matrix(X)
    sw = rng.uniform(0.3, 2.0, len(y)) if weights else None
    labels, codes = check_tasks(tasks, len(y))
    return QuadraticPerTask(X, y, codes, len(labels), sw, omega, intercept)


@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
@pytest.mark.parametrize("fmt,intercept", [("dense", True), ("dense", False), ("sparse", False),
                                           ("sparse", True)])
@pytest.mark.parametrize("epochs", [1, 2])
def test_epochs_match_reference(pen, fmt, intercept, epochs):
    df = _df(fmt, True, intercept, omega=[1.0, 0.5, 2.0, 1.0])
    coef0 = np.random.default_rng(3).standard_normal((df.n_tasks, df.n_features)) * 0.1
    k = solve_tasks(df, pen, coef0, max_iter=epochs, tol=-1.0)
    r = solve_tasks(df, pen, coef0, max_iter=epochs, tol=-1.0, backend="reference")
    assert np.all(k.n_iter == epochs)
    np.testing.assert_allclose(k.coef, r.coef, rtol=0, atol=1e-12)
    np.testing.assert_allclose(k.residual, df.residual(k.coef.T), atol=1e-12)
    if not pen.separable:
        assert k.gaps[0] == pytest.approx(r.gaps[0], rel=1e-9, abs=1e-14)


@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
@pytest.mark.parametrize("strategy", ["ws", "cd"])
def test_convergence_and_certificate(pen, fmt, strategy):
    """At convergence: the reference's gap at the kernel's point equals the
    kernel's gap and is ~0 (an optimality certificate independent of the
    kernel), the KKT conditions hold, and no nearby point is better."""
    df = _df(fmt, True, fmt == "dense")
    k = solve_tasks(df, pen, max_iter=100000, tol=1e-12, strategy=strategy, p0=3)
    W = k.coef.T.astype(float)
    yy = float(np.sum(df.y_eff.astype(float) ** 2))
    gap_ref = (reference.duality_gap_tasks(df, W, pen) if not pen.separable else sum(
        reference.duality_gap_tasks(_one_task(df, t), W[:, [t]], pen)
        for t in range(df.n_tasks)))
    assert k.gaps.sum() == pytest.approx(gap_ref, rel=1e-6, abs=1e-12 * yy)
    assert gap_ref <= 1e-12 * yy * df.n_tasks + 1e-15
    kkt = pen.subdiff_distance(W, -df.xtr(df.residual(W)))
    assert kkt.max() < 1e-4
    f = reference.objective_tasks(df, W, pen)
    rng = np.random.default_rng(5)
    for _ in range(5):
        W2 = W + 1e-4 * rng.standard_normal(W.shape)
        if getattr(pen, "positive", False):
            W2 = np.maximum(W2, 0.0)          # stay feasible
        assert reference.objective_tasks(df, W2, pen) >= f - 1e-12


def _one_task(df, t):
    """The datafit restricted to task t (separable penalties: per-task gaps)."""
    import copy
    sub = copy.copy(df)
    sl = df.task_slices()[t]
    sub.X_eff = df.design_dense()[sl]
    sub.is_sparse = sub.centered = False
    sub.y_eff = df.y_eff[sl]
    sub.n_tasks, sub.n_samples = 1, sl.stop - sl.start
    sub.offsets = np.array([0, sl.stop - sl.start])
    return sub


@pytest.mark.parametrize("pen", [L21(0.03), L1(0.02), SparseGroupL1L21(0.03, 0.4)], ids=repr)
def test_float32(pen):
    df = _df("dense", True, True, dtype=np.float32)
    k = solve_tasks(df, pen, max_iter=2, tol=-1.0)
    assert k.coef.dtype == np.float32
    r = solve_tasks(df, pen, max_iter=2, tol=-1.0, backend="reference")
    np.testing.assert_allclose(k.coef, r.coef, atol=2e-5 * max(1, np.abs(r.coef).max()))


@pytest.mark.parametrize("intercept", [False, True])
def test_dense_equals_sparse(intercept):
    pen = L21(0.03)
    d = _df("dense", True, intercept, density=0.4)
    s = _df("sparse", True, intercept, density=0.4)
    a = solve_tasks(s, pen, max_iter=5000, tol=1e-12)
    b = solve_tasks(d, pen, max_iter=5000, tol=1e-12)
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-8)


@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_thread_count_invariance(pen, fmt):
    df = _df(fmt, True, False, n_t=(40, 90, 25, 60, 33), p=200)
    one = solve_tasks(df, pen, max_iter=30, tol=1e-10, n_threads=1)
    two = solve_tasks(df, pen, max_iter=30, tol=1e-10, n_threads=2)
    np.testing.assert_array_equal(one.coef, two.coef)
    np.testing.assert_array_equal(one.gaps, two.gaps)


def test_per_task_screening_is_safe_and_keeps_the_optimum():
    """The twin of the kernel's rule (reference.gap_safe_screen_tasks) never
    screens a row that is nonzero at a high-precision optimum, screens most
    zero rows near it; the kernel with and without screening reaches the same
    optimum."""
    from mtlfast import penalties as P
    from mtlfast.reference import gap_safe_screen_tasks
    from mtlfast.solvers import solve_tasks
    from mtlfast.datafits import QuadraticPerTask
    from mtlfast.datasets import make_per_task_regression
    X, y, tasks, _ = make_per_task_regression([30, 80, 50, 45], 120, 8, seed=3)
    df = QuadraticPerTask(X, y, tasks, 4, fit_intercept=True)
    am = np.linalg.norm(df.xtr(df.y_eff.astype(float)), axis=1).max()
    for pen in (P.L21(am / 5), P.L21L2(am / 5, 0.7), P.SparseGroupL1L21(am / 5, 0.3)):
        opt = solve_tasks(df, pen, max_iter=100000, tol=1e-14, screening=False).coef.T
        zero = ~np.any(opt != 0, axis=1)
        for tol in (1e-2, 1e-4):
            W = solve_tasks(df, pen, max_iter=100000, tol=tol, screening=False).coef.T
            screened = gap_safe_screen_tasks(df, W.astype(float), pen)
            assert not np.any(screened & ~zero)
        near = gap_safe_screen_tasks(df, opt.astype(float), pen)
        assert near[zero].mean() > 0.5
        on = solve_tasks(df, pen, max_iter=100000, tol=1e-12, screening=True)
        off = solve_tasks(df, pen, max_iter=100000, tol=1e-12, screening=False)
        np.testing.assert_allclose(on.coef, off.coef, atol=1e-7)


@pytest.mark.parametrize("make", [L1, L21, lambda a: SparseGroupL1L21(a, 0.5)],
                         ids=["l1", "l21", "sgl"])
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_working_sets_reach_the_reference_optimum(make, fmt):
    """A wide problem (p = 400, a sparse optimum): working sets, started from
    p0 = 10 features, and from a warm start with rows on zero columns, end at
    the optimum of plain epochs over all features (the twin's iterates, see
    test_epochs_match_reference), certified by the twin's gap."""
    df = _df(fmt, True, fmt == "dense", n_t=(30, 60, 45), p=400, seed=4, density=0.1,
             n_zero_cols=3)
    pen = make(np.abs(df.xtr(df.y_eff.astype(float))).max() / 4)
    ref = solve_tasks(df, pen, max_iter=200000, tol=1e-13, strategy="cd", screening=False)
    W0 = np.zeros((df.n_tasks, df.n_features))
    W0[:, :3] = 1.0          # rows on zero columns: the solver must clear them
    ws = solve_tasks(df, pen, W0, max_iter=200000, tol=1e-13, strategy="ws", p0=10)
    np.testing.assert_allclose(ws.coef, ref.coef, atol=1e-7 * np.abs(ref.coef).max())
    W = ws.coef.T.astype(float)
    yy = float(np.sum(df.y_eff.astype(float) ** 2))
    if not pen.separable:
        assert reference.duality_gap_tasks(df, W, pen) <= 1e-12 * yy
    assert 0 < np.count_nonzero(np.any(W != 0, axis=1)) < df.n_features // 4


def test_sparse_with_intercept_stays_sparse_and_matches_dense():
    """Sparse X with per-task intercepts is centered implicitly (never
    densified) and gives the dense fit: same iterates after 2 epochs, same
    optimum, residual and gap."""
    d = _df("dense", True, True, density=0.3, p=60, seed=6)
    s = _df("sparse", True, True, density=0.3, p=60, seed=6)
    assert sparse.issparse(s.X_eff) and s.X_eff.nnz < 0.5 * s.X_eff.shape[0] * s.X_eff.shape[1]
    np.testing.assert_allclose(s.design_dense(), d.design_dense(), atol=1e-13)
    for pen in (L21(0.02), L1(0.01), SparseGroupL1L21(0.02, 0.3)):
        a = solve_tasks(s, pen, max_iter=2, tol=-1.0)
        b = solve_tasks(d, pen, max_iter=2, tol=-1.0)
        np.testing.assert_allclose(a.coef, b.coef, atol=1e-12)
        np.testing.assert_allclose(a.residual, b.residual, atol=1e-12)
        a = solve_tasks(s, pen, max_iter=100000, tol=1e-12)
        b = solve_tasks(d, pen, max_iter=100000, tol=1e-12)
        np.testing.assert_allclose(a.coef, b.coef, atol=1e-7)
        np.testing.assert_allclose(a.residual, s.residual(a.coef.T.astype(float)), atol=1e-10)
