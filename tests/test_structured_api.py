"""Structured estimators (mtlfast.multi_task): an independent oracle (cvxpy
with its default solver on the original objective, intercepts and weights
included), equivalences with simpler models, bad input, and the
scikit-learn estimator API."""
import pickle
import warnings

import cvxpy as cp
import numpy as np
import pytest
import sklearn.linear_model as sk
from scipy import sparse
from sklearn.utils.estimator_checks import parametrize_with_checks

import mtlfast
from mtlfast.multi_task import (
    DirtyMultiTaskLasso, MeanRegularizedMultiTask, TaskGraphMultiTask, TransferLasso)

N_T = (14, 30, 9, 22)


def _data(p=10, seed=0):
    rng = np.random.default_rng(seed)
    T = len(N_T)
    codes = np.repeat(np.arange(T), N_T)
    X = rng.standard_normal((len(codes), p))
    w = rng.standard_normal(p) * (rng.random(p) < 0.5)
    W = w[:, None] + 0.3 * rng.standard_normal((p, T)) * (rng.random((p, 1)) < 0.5)
    y = np.einsum("ij,ji->i", X, W[:, codes]) + 0.3 * rng.standard_normal(len(codes)) + codes
    sw = rng.random(len(codes)) + 0.5
    tw = rng.random(T) + 0.5
    return X, y, codes, sw, tw, W


def _loss_cvx(X, y, codes, sw, tw, Wv, b):
    """sum_t omega_t/(2 n_t) sum_{i in t} s_i (y_i - x_i w_t - b_t)^2, s
    rescaled to mean 1 within each task (DESIGN.md section 3)."""
    tot = 0
    for t in range(len(tw)):
        m = codes == t
        s = sw[m] / sw[m].mean()
        tot += tw[t] / (2 * m.sum()) * cp.sum(cp.multiply(s, cp.square(
            y[m] - X[m] @ Wv[:, t] - b[t])))
    return tot


def _loss_np(X, y, codes, sw, tw, coef, intercept):
    tot = 0.0
    for t in range(len(tw)):
        m = codes == t
        s = sw[m] / sw[m].mean()
        tot += tw[t] / (2 * m.sum()) * s @ (y[m] - X[m] @ coef[t] - intercept[t]) ** 2
    return tot


def _l21(V):
    return cp.sum(cp.norm(V, 2, axis=1))


def _oracle(objective):
    prob = cp.Problem(cp.Minimize(objective))
    prob.solve()       # cvxpy's default solver
    assert prob.status == "optimal"
    return prob.value


def _graph_cvx(A, Wv, lam):
    T = A.shape[0]
    return 0.5 * lam * sum(A[s, t] * cp.sum_squares(Wv[:, s] - Wv[:, t])
                           for s in range(T) for t in range(T) if s != t and A[s, t] > 0)


def _graph_np(A, W, lam):
    T = A.shape[0]
    return 0.5 * lam * sum(A[s, t] * np.sum((W[:, s] - W[:, t]) ** 2)
                           for s in range(T) for t in range(T) if s != t)


def _similarity(T, seed=5):
    A = np.random.default_rng(seed).random((T, T))
    A = A + A.T
    A[0, 2] = A[2, 0] = 0.0
    return A


CASES = ["dirty", "mean-l1-l21", "mean-ridge-ridge", "mean-l1-ridge", "graph-l1",
         "graph-l21", "transfer", "transfer-shared-source"]


def _case(name, p, T, W_true):
    """(estimator, cvxpy objective builder, numpy penalty of a fitted estimator)."""
    if name == "dirty":
        est = DirtyMultiTaskLasso(0.08, 0.03)

        def cvx():
            B, S = cp.Variable((p, T)), cp.Variable((p, T))
            return B + S, 0.08 * _l21(B) + 0.03 * cp.sum(cp.abs(S))

        def pen(m):
            return (0.08 * np.linalg.norm(m.coef_shared_, axis=0).sum()
                    + 0.03 * np.abs(m.coef_specific_).sum())
        return est, cvx, pen
    if name.startswith("mean"):
        sp, vp = name.split("-")[1:]
        a0, av = 0.04, 0.1
        est = MeanRegularizedMultiTask(a0, av, shared_penalty=sp, specific_penalty=vp)
        f = {"l1": lambda v, a: a * cp.sum(cp.abs(v)), "ridge": lambda v, a: 0.5 * a * cp.sum_squares(v),
             "l21": lambda v, a: a * _l21(v)}
        g = {"l1": lambda v, a: a * np.abs(v).sum(), "ridge": lambda v, a: 0.5 * a * np.sum(v ** 2),
             "l21": lambda v, a: a * np.linalg.norm(v, axis=0).sum()}

        def cvx():
            w0, V = cp.Variable((p, 1)), cp.Variable((p, T))
            return w0 @ np.ones((1, T)) + V, f[sp](w0, a0) + f[vp](V, av)

        def pen(m):
            return g[sp](m.coef_shared_, a0) + g[vp](m.coef_specific_, av)
        return est, cvx, pen
    if name.startswith("graph"):
        kind = name.split("-")[1]
        A, lam, a = _similarity(T), 0.2, 0.05
        est = TaskGraphMultiTask(a, graph_alpha=lam, similarity=A, penalty=kind)

        def cvx():
            Wv = cp.Variable((p, T))
            sparsity = a * (cp.sum(cp.abs(Wv)) if kind == "l1" else _l21(Wv))
            return Wv, _graph_cvx(A, Wv, lam) + sparsity

        def pen(m):
            W = m.coef_.T
            sparsity = a * (np.abs(W).sum() if kind == "l1" else np.linalg.norm(W, axis=1).sum())
            return _graph_np(A, W, lam) + sparsity
        return est, cvx, pen
    # transfer
    rng = np.random.default_rng(7)
    src = (W_true.T + 0.2 * rng.standard_normal(W_true.T.shape))
    if name == "transfer-shared-source":
        src = src.mean(axis=0)
    a, beta = 0.06, 0.3
    est = TransferLasso(a, beta=beta, coef_source=src)
    S = np.broadcast_to(np.atleast_2d(src), (T, p)).T

    def cvx():
        Wv = cp.Variable((p, T))
        return Wv, a * (beta * cp.sum(cp.abs(Wv)) + (1 - beta) * cp.sum(cp.abs(Wv - S)))

    def pen(m):
        return a * (beta * np.abs(m.coef_).sum() + (1 - beta) * np.abs(m.coef_.T - S).sum())
    return est, cvx, pen


@pytest.mark.parametrize("name", CASES)
def test_objective_matches_cvxpy_oracle(name):
    """Per-task data with unequal sizes, intercepts, sample and task weights:
    mtlfast's objective within 1e-6 (relative) of cvxpy's optimum, and the
    certificate bounds the distance."""
    X, y, codes, sw, tw, W = _data()
    p, T = X.shape[1], len(N_T)
    est, cvx, pen = _case(name, p, T, W)
    est.set_params(tol=1e-10, max_iter=50000)
    est.fit(X, y, sample_weight=sw, tasks=codes, task_weight=tw)
    ours = _loss_np(X, y, codes, sw, tw, est.coef_, est.intercept_) + pen(est)
    b = cp.Variable(T)
    Wv, penalty = cvx()
    opt = _oracle(_loss_cvx(X, y, codes, sw, tw, Wv, b) + penalty)
    assert abs(ours - opt) <= 1e-6 * abs(opt)
    assert ours - opt <= est.dual_gap_ + 1e-7 * abs(opt)


def test_dirty_with_huge_specific_penalty_is_the_multitask_lasso():
    X, Y = _shared(seed=1)
    m = DirtyMultiTaskLasso(0.1, 1e6, tol=1e-12, max_iter=10000).fit(X, Y)
    ref = sk.MultiTaskLasso(0.1, tol=1e-12, max_iter=10000).fit(X, Y)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-8)
    np.testing.assert_allclose(m.intercept_, ref.intercept_, atol=1e-8)
    assert not m.coef_specific_.any()


def test_dirty_with_huge_shared_penalty_is_independent_lassos():
    X, Y = _shared(seed=2)
    m = DirtyMultiTaskLasso(1e6, 0.05, tol=1e-12, max_iter=10000).fit(X, Y)
    ref = sk.Lasso(0.05, tol=1e-12, max_iter=10000).fit(X, Y)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-8)


@pytest.mark.parametrize("penalty,ref", [("l21", sk.MultiTaskLasso), ("l1", sk.Lasso)])
def test_graph_with_zero_strength_is_the_sparsity_penalty_alone(penalty, ref):
    X, Y = _shared(seed=3)
    m = TaskGraphMultiTask(0.08, graph_alpha=0.0, similarity=_similarity(Y.shape[1]),
                           penalty=penalty, tol=1e-12, max_iter=10000).fit(X, Y)
    r = ref(0.08, tol=1e-12, max_iter=10000).fit(X, Y)
    np.testing.assert_allclose(m.coef_, r.coef_, atol=1e-8)


@pytest.mark.parametrize("penalty", ["l1", "l21"])
def test_graph_strength_fuses_connected_tasks(penalty):
    X, Y = _shared(seed=4)
    spread = []
    for lam in (0.0, 1.0, 10.0):
        with warnings.catch_warnings():
            warnings.simplefilter("error")    # each fit converges
            m = TaskGraphMultiTask(0.05, graph_alpha=lam, penalty=penalty, tol=1e-8,
                                   max_iter=20000).fit(X, Y)
        spread.append(np.ptp(m.coef_, axis=0).max())
    assert spread[0] > 5 * spread[1] > 25 * spread[2]


@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_transfer_with_beta_one_is_the_lasso(fmt):
    X, Y = _shared(seed=5)
    src = np.random.default_rng(0).standard_normal(X.shape[1])
    if fmt == "sparse":
        X = sparse.csc_matrix(X * (np.abs(X) > 0.5))
    fi = fmt == "dense"
    m = TransferLasso(0.05, beta=1.0, coef_source=src, fit_intercept=fi, tol=1e-12).fit(X, Y[:, 0])
    r = sk.Lasso(0.05, fit_intercept=fi, tol=1e-12).fit(X, Y[:, 0])
    assert m.coef_.shape == r.coef_.shape and np.ndim(m.intercept_) == 0
    np.testing.assert_allclose(m.coef_, r.coef_, atol=1e-8)
    np.testing.assert_allclose(m.intercept_, r.intercept_, atol=1e-8)


def test_transfer_with_beta_zero_and_exact_source_returns_the_source():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((50, 8))
    src = rng.standard_normal(8)
    y = X @ src
    m = TransferLasso(0.5, beta=0.0, coef_source=src, fit_intercept=False, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(m.coef_, src, atol=1e-10)


def _shared(seed=0, n=40, p=15, T=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    W = rng.standard_normal((p, T)) * (rng.random((p, 1)) < 0.4)
    return X, X @ W + 0.3 * rng.standard_normal((n, T))


ESTS = [DirtyMultiTaskLasso(0.05, 0.03), MeanRegularizedMultiTask(0.03, 0.05),
        TaskGraphMultiTask(0.05, graph_alpha=0.1), TransferLasso(0.05, beta=0.5)]


@pytest.mark.parametrize("est", ESTS, ids=lambda e: type(e).__name__)
def test_identical_designs_per_task_equal_the_shared_fit(est):
    X, Y = _shared(seed=7)
    a = est.set_params(tol=1e-12, max_iter=20000).fit(X, Y)
    coef, icpt = a.coef_.copy(), a.intercept_.copy()
    b = pickle.loads(pickle.dumps(est)).fit([X] * Y.shape[1], list(Y.T))
    np.testing.assert_allclose(b.coef_, coef, atol=1e-9)
    np.testing.assert_allclose(b.intercept_, icpt, atol=1e-9)
    assert list(b.tasks_) == list(range(Y.shape[1]))
    pred = b.predict([X] * Y.shape[1])
    np.testing.assert_allclose(np.column_stack(pred), a.predict(X), atol=1e-9)


@pytest.mark.parametrize("est", ESTS, ids=lambda e: type(e).__name__)
def test_sparse_equals_dense_float32_kept_and_inputs_unmodified(est):
    X, Y = _shared(seed=8)
    X[np.abs(X) < 0.6] = 0.0
    Xc, Yc = X.copy(), Y.copy()
    d = est.set_params(tol=1e-12, max_iter=20000, fit_intercept=False).fit(X, Y)
    coef = d.coef_.copy()
    s = est.fit(sparse.csc_matrix(X), Y)
    np.testing.assert_allclose(s.coef_, coef, atol=1e-9)
    np.testing.assert_array_equal(X, Xc)
    np.testing.assert_array_equal(Y, Yc)
    f = est.set_params(tol=1e-6).fit(X.astype(np.float32), Y.astype(np.float32))
    assert f.coef_.dtype == np.float32
    np.testing.assert_allclose(f.coef_, coef, atol=2e-3)


@pytest.mark.parametrize("est", ESTS, ids=lambda e: type(e).__name__)
def test_warm_start_resumes(est):
    X, Y = _shared(seed=9)
    cold = est.set_params(tol=1e-10, max_iter=20000, warm_start=False).fit(X, Y)
    n_cold, coef = cold.n_iter_, cold.coef_.copy()
    warm = est.set_params(warm_start=True).fit(X, Y)
    assert warm.n_iter_ < n_cold
    np.testing.assert_allclose(warm.coef_, coef, atol=1e-7)


def test_parts_add_up():
    X, Y = _shared(seed=10)
    d = DirtyMultiTaskLasso(0.05, 0.03).fit(X, Y)
    np.testing.assert_allclose(d.coef_, d.coef_shared_ + d.coef_specific_, atol=1e-12)
    m = MeanRegularizedMultiTask(0.03, 0.05).fit(X, Y)
    assert m.coef_shared_.shape == (X.shape[1],)
    np.testing.assert_allclose(m.coef_, m.coef_shared_ + m.coef_specific_, atol=1e-12)


# -- bad input -----------------------------------------------------------------

@pytest.mark.parametrize("A,match", [
    (-np.ones((4, 4)), "non-negative"),
    (np.triu(np.ones((4, 4))), "symmetric"),
    (np.ones((3, 3)), "shape"),
    (np.full((4, 4), np.nan), "NaN"),
    (np.array([["a"] * 4] * 4), "numeric|could not convert"),
])
def test_bad_similarity(A, match):
    X, Y = _shared()
    with pytest.raises(ValueError, match=match):
        TaskGraphMultiTask(0.1, similarity=A).fit(X, Y)


@pytest.mark.parametrize("src,match", [
    (np.zeros((3, 15)), "shape"), (np.zeros(14), "shape"), (np.full(15, np.nan), "NaN"),
    (np.zeros((4, 15, 1)), "shape"), (np.array(["a"] * 15), "numeric"),
])
def test_bad_source(src, match):
    X, Y = _shared()
    with pytest.raises(ValueError, match=match):
        TransferLasso(0.1, coef_source=src).fit(X, Y)


@pytest.mark.parametrize("est,match", [
    (DirtyMultiTaskLasso(0.0, 0.1), "alpha_shared"),
    (MeanRegularizedMultiTask(0.1, -1.0), "alpha_specific"),
    (MeanRegularizedMultiTask(0.1, 0.1, shared_penalty="l21"), "shared_penalty"),
    (TaskGraphMultiTask(0.0), "alpha"),
    (TaskGraphMultiTask(0.1, graph_alpha=-1), "graph_alpha"),
    (TransferLasso(0.1, beta=1.5), "beta"),
])
def test_bad_parameters(est, match):
    X, Y = _shared()
    with pytest.raises(ValueError, match=match):
        est.fit(X, Y)


@pytest.mark.parametrize("est", ESTS, ids=lambda e: type(e).__name__)
def test_bad_task_labels(est):
    X, y, codes, *_ = _data()
    with pytest.raises(ValueError, match="rows"):
        est.fit(X, y, tasks=codes[:-1])
    bad = codes.astype(float)
    bad[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(X, y, tasks=bad)
    est.fit(X, y, tasks=codes)
    with pytest.raises(ValueError, match="not seen"):
        est.predict(X[:3], tasks=[0, 1, 99])
    with pytest.raises(ValueError, match="tasks"):
        est.predict(X[:3])
    with pytest.raises(ValueError, match="NaN|infinity"):
        est.fit(np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X), y, tasks=codes)


@parametrize_with_checks(ESTS)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        check(estimator)


@pytest.mark.parametrize("seed", [1, 2])
def test_transfer_demo_beats_the_target_alone(seed):
    """The README's source -> target workflow (python -m mtlfast transfer):
    with few target samples, transferring from the source lowers the
    held-out error below both the target fitted alone and the source model."""
    import argparse
    from mtlfast.__main__ import transfer_demo
    rows = {name: err for name, _, err in transfer_demo(
        argparse.Namespace(n_target=40, n_features=100, seed=seed))}
    assert rows["TransferLasso"] < 0.5 * rows["target alone (Lasso)"]
    assert rows["TransferLasso"] < rows["source model only"]
    assert rows["pooled, task_weight"] < rows["target alone (Lasso)"]


def test_task_graph_default_similarity_with_many_tasks():
    """The default similarity (all pairs 1) with 50 tasks: its Laplacian's top
    eigenvalue (T, repeated T - 1 times) made LAPACK's subset solver fail."""
    from mtlfast.penalties import laplacian_max_eig
    T = 50
    A = sparse.csr_matrix(np.ones((T, T)) - np.eye(T))
    assert laplacian_max_eig(A) == pytest.approx(T, rel=1e-7)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((T * 8, 5))
    y = X @ rng.standard_normal(5) + rng.standard_normal(T * 8)
    tasks = np.repeat(np.arange(T), 8)
    m = mtlfast.TaskGraphMultiTask(alpha=0.05, graph_alpha=0.1).fit(X, y, tasks=tasks)
    assert m.coef_.shape == (T, 5) and m.dual_gap_ <= m.eps_
