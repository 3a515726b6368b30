"""mtlfast._cd_structured (Cython) against its NumPy twin mtlfast.structured: same
iterates after 1 and 2 epochs, same gaps, and certified convergence; for every
structured model, dense and sparse X, unequal task sizes, a column that
vanishes in one task, and float32."""
import numpy as np
import pytest
from scipy import sparse

from mtlfast import penalties as P
from mtlfast.solver import solve_structured
from mtlfast.penalties import TaskGraph, Transfer, TwoPart, check_similarity
from mtlfast.datafits import QuadraticPerTask

N_T = (15, 25, 10, 30)


def _problem(p=12, seed=1):
    rng = np.random.default_rng(seed)
    T = len(N_T)
    codes = np.repeat(np.arange(T), N_T)
    X = rng.standard_normal((len(codes), p))
    X[codes == 1, 3] = 0.0           # feature 3 vanishes in task 1
    X[:, 5] = X[:, 4]                # duplicated column
    W = rng.standard_normal((p, T)) * (rng.random((p, 1)) < 0.4)
    y = np.einsum("ij,ji->i", X, W[:, codes]) + 0.3 * rng.standard_normal(len(codes)) + codes
    A = rng.random((T, T))
    A[0, 3] = 0.0
    return X, y, codes, W, A + A.T


def _models(W, A):
    rng = np.random.default_rng(3)
    G = check_similarity(A, A.shape[0])
    return {
        "dirty": TwoPart(P.L21(0.1), P.L1(0.05)),
        "dirty-enet": TwoPart(P.L21L2(0.1, 0.7), P.ElasticNet(0.05, 0.5)),
        "mean-l1-l21": TwoPart(P.L1(0.05), P.L21(0.1), shared_a=True),
        "mean-ridge-ridge": TwoPart(P.L2(0.2), P.L2(0.5), shared_a=True),
        "mean-l1-l1": TwoPart(P.L1(0.05), P.L1(0.03), shared_a=True),
        "mean-enet-sgl": TwoPart(P.ElasticNet(0.05, 0.5), P.SparseGroupL1L21(0.1, 0.3),
                                 shared_a=True),
        "graph-l1": TaskGraph(P.L1(0.05), 0.3, G),
        "graph-l21": TaskGraph(P.L21(0.1), 0.3, G),
        "graph-enet": TaskGraph(P.ElasticNet(0.05, 0.5), 0.3, G),
        "transfer": Transfer(0.1, 0.3, W + 0.1 * rng.standard_normal(W.shape)),
        "transfer-beta0": Transfer(0.1, 0.0, W),
    }


X0, Y0, CODES, W0, A0 = _problem()
MODELS = _models(W0, A0)


def _datafit(fmt, dtype=np.float64, seed=2):
    """fmt: "dense" (with intercepts), "sparse" (none) or "sparse-centered"
    (intercepts: implicit centering)."""
    X = X0
    if fmt.startswith("sparse"):
        X = sparse.csc_matrix(X0 * (np.random.default_rng(seed).random(X0.shape) < 0.5))
    return QuadraticPerTask(X.astype(dtype), Y0.astype(dtype), CODES, len(N_T), None, None,
                            fit_intercept=fmt != "sparse")


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("fmt", ["dense", "sparse", "sparse-centered"])
def test_kernel_matches_reference_after_1_and_2_epochs(name, fmt):
    model, df = MODELS[name], _datafit(fmt)
    for epochs in (1, 2):
        ref, _, _ = solve_structured(df, model, max_iter=epochs, tol=-1, backend="reference")
        ker, n_iter, gaps = solve_structured(df, model, max_iter=epochs, tol=-1)
        assert np.all(n_iter == epochs)
        for a, b in zip(ref, ker):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)
        # the kernel's gap is the twin's gap at the kernel's point
        np.testing.assert_allclose(gaps, model.gaps(df, ker), rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("fmt", ["dense", "sparse", "sparse-centered"])
def test_kernel_converges_with_certificate(name, fmt):
    model, df = MODELS[name], _datafit(fmt)
    tol = 1e-10
    parts, n_iter, gaps = solve_structured(df, model, max_iter=20000, tol=tol)
    yy = np.array([df.y_eff[s] @ df.y_eff[s] for s in df.task_slices()])
    bound = tol * (yy if len(gaps) == len(N_T) else yy.sum())
    assert np.all(gaps <= bound) and np.all(n_iter < 20000)
    np.testing.assert_allclose(gaps, model.gaps(df, parts), rtol=1e-6, atol=1e-12)
    if "sgl" in name:
        return   # the twin's bisection dual norm makes its gaps slow; iterates checked above
    # the reference reaches the same objective
    ref, ref_gaps, _ = solve_structured(df, model, max_iter=20000, tol=1e-8, backend="reference")

    def objective(pp):
        r = df.residual(model.effective(pp))
        return 0.5 * r @ r + model.value(pp)
    assert abs(objective(parts) - objective(ref)) <= gaps.sum() + ref_gaps.sum() + 1e-14


@pytest.mark.parametrize("name", ["dirty", "mean-l1-l21", "graph-l21", "transfer"])
def test_float32_kernel_close_to_float64(name):
    model = MODELS[name]
    p64, _, _ = solve_structured(_datafit("dense"), model, max_iter=3, tol=-1)
    p32, _, g32 = solve_structured(_datafit("dense", np.float32), model, max_iter=3, tol=-1)
    assert all(Pk.dtype == np.float32 for Pk in p32)
    for a, b in zip(p64, p32):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-4)
    _, n_iter, gaps = solve_structured(_datafit("dense", np.float32), model, max_iter=5000,
                                       tol=1e-5)
    assert np.all(n_iter < 5000)


@pytest.mark.parametrize("name", ["dirty", "mean-l1-l21", "graph-l1", "graph-l21", "transfer"])
def test_thread_count_does_not_change_the_result(name):
    model, df = MODELS[name], _datafit("dense")
    one, _, g1 = solve_structured(df, model, max_iter=50, tol=-1, n_threads=1)
    two, _, g2 = solve_structured(df, model, max_iter=50, tol=-1, n_threads=2)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(g1, g2, rtol=1e-12)


def test_warm_start_parts_are_not_modified():
    model, df = MODELS["dirty"], _datafit("dense")
    init, _, _ = solve_structured(df, model, max_iter=5, tol=-1)
    saved = [Pk.copy() for Pk in init]
    out, _, _ = solve_structured(df, model, init, max_iter=5, tol=-1)
    for a, b in zip(init, saved):
        np.testing.assert_array_equal(a, b)
    ten, _, _ = solve_structured(df, model, max_iter=10, tol=-1)
    for a, b in zip(out, ten):
        np.testing.assert_allclose(a, b, atol=1e-12)
    with pytest.raises(ValueError, match="shapes"):
        solve_structured(df, model, [np.zeros((3, 3))], max_iter=5)


@pytest.mark.parametrize("name", ["dirty", "mean-l1-l21", "mean-enet-sgl", "graph-l1",
                                  "graph-l21", "mean-ridge-ridge"])
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_working_sets_reach_the_plain_epoch_optimum(name, fmt):
    """A wide problem (p = 300, few informative features): working sets from
    p0 = 5 features (ridge parts fall back to plain epochs) end at the optimum
    of plain epochs over all features, and the twin's gap certifies it."""
    rng = np.random.default_rng(7)
    p, T = 300, len(N_T)
    codes = np.repeat(np.arange(T), N_T)
    X = rng.standard_normal((len(codes), p))
    if fmt == "sparse":
        X = sparse.csc_matrix(X * (rng.random(X.shape) < 0.3))
    W = np.zeros((p, T))
    W[:6] = rng.standard_normal((6, T)) + 1.0
    X6 = X[:, :6].toarray() if fmt == "sparse" else X[:, :6]
    y = np.einsum("ij,ji->i", X6, W[:6, codes]) + 0.1 * rng.standard_normal(len(codes))
    df = QuadraticPerTask(X, y, codes, T, None, None, fit_intercept=fmt == "dense")
    am = np.abs(df.xtr(df.y_eff.astype(float))).max()
    G = check_similarity(np.ones((T, T)), T)
    model = {
        "dirty": TwoPart(P.L21(am / 3), P.L1(am / 5)),
        "mean-l1-l21": TwoPart(P.L1(am / 3), P.L21(am / 4), shared_a=True),
        "mean-enet-sgl": TwoPart(P.ElasticNet(am / 3, 0.5), P.SparseGroupL1L21(am / 4, 0.3),
                                 shared_a=True),
        "graph-l1": TaskGraph(P.L1(am / 2), 0.5, G),
        "graph-l21": TaskGraph(P.L21(am / 4), 0.5, G),
        "mean-ridge-ridge": TwoPart(P.L2(0.2), P.L2(0.5), shared_a=True),
    }[name]
    cd, _, _ = solve_structured(df, model, max_iter=100000, tol=1e-12, strategy="cd")
    ws, n_iter, gaps = solve_structured(df, model, max_iter=100000, tol=1e-12, strategy="ws",
                                        p0=5)
    scale = max(np.abs(a).max() for a in cd)
    for a, b in zip(cd, ws):
        np.testing.assert_allclose(b, a, atol=1e-6 * scale)
    yy = float(np.sum(df.y_eff.astype(float) ** 2))
    assert model.gaps(df, ws).sum() <= 1e-12 * yy * 1.01
    if "ridge" not in name:
        nz = np.any(np.abs(model.effective(ws)) > 0, axis=1)
        assert 0 < nz.sum() < p // 4


def _chain(T):
    A = np.zeros((T, T))
    i = np.arange(T - 1)
    A[i, i + 1] = A[i + 1, i] = 1.0
    return A


@pytest.mark.parametrize("pen", [P.L21(0.3), P.SparseGroupL1L21(0.3, 0.4), P.L21L2(0.3, 0.6)])
@pytest.mark.parametrize("zero_curvature", [False, True])
def test_graph_row_solve_is_near_exact(pen, zero_curvature):
    """The coupled row update of the task-graph model against a long plain
    proximal gradient run on the row's problem F (an independent, slow and
    simple minimizer): within 1e-3 of the decrease F(w_old) - F*, never
    worse than one proximal gradient step; chain graph with a strong graph
    term (the case one step handled badly), one task with H_t = 0 (q = 0)."""
    T = 12
    rng = np.random.default_rng(7)
    model = TaskGraph(pen, 4.0, check_similarity(_chain(T), T))
    H = rng.uniform(0.5, 2.0, T)
    if zero_curvature:
        H[3] = 0.0
    old, g = rng.standard_normal(T), 3.0 * rng.standard_normal(T)
    b = H * old + g
    M = H.max() + 2 * model.lam * model.lmax
    F = lambda v: model._row_value(v, b, H, 0)  # noqa: E731

    def pg_step(v):
        grad = H * v + 2 * model.lam * (model.Lap @ v) - b
        return pen.prox((v - grad / M)[None, :], 1.0 / M)[0]

    v = old.copy()
    for _ in range(20000):
        v = pg_step(v)
    assert np.max(np.abs(pg_step(v) - v)) < 1e-13     # the oracle converged
    f_star = F(v)
    w = model._coupled_row(old, g, H, 0)
    assert F(w) <= F(pg_step(old)) + 1e-12
    assert F(w) - f_star <= 1e-3 * (F(old) - f_star)


def test_graph_model_with_a_strong_graph_converges_in_few_epochs():
    """Strong chain graph (the graph term's curvature ~30x the data's): the
    kernel certifies the gap in few epochs and its optimum is the twin's."""
    X, y, codes = X0, Y0, CODES
    T = len(N_T)
    model = TaskGraph(P.L21(0.05), 5.0, check_similarity(_chain(T), T))
    df = QuadraticPerTask(X, y, codes, T, None, None, fit_intercept=True)
    for strategy in ("cd", "ws"):
        parts, n_iter, gaps = solve_structured(df, model, max_iter=100, tol=1e-10,
                                               strategy=strategy)
        assert n_iter[0] < 100
        assert gaps[0] <= 1e-10 * np.sum(df.y_eff ** 2)
    ref, _, _ = solve_structured(df, model, max_iter=400, tol=1e-10, backend="reference")
    np.testing.assert_allclose(parts[0], ref[0], atol=1e-5)
