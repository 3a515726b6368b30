"""Penalty factors (glmnet's penalty.factor): kernels against their twins,
the convex oracle (cvxpy), the certificate with unpenalized features, alpha_max,
glmnet's rescaling, and bad input."""
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning

from mtlfast import (Lasso, ElasticNet, MultiTaskLasso, MultiTaskElasticNet,
                     MultiTaskSparseGroupLasso, MultiTaskLogisticRegression)
from mtlfast.datafits import QuadraticShared, QuadraticPerTask, LogisticPerTask
from mtlfast.penalties import L1, L2, L21, L21L2, ElasticNet as EN, SparseGroupL1L21
from mtlfast.penalties.factors import check_penalty_factor, refit_unpenalized
from mtlfast.reference import prox_newton
from mtlfast.solvers import solve_shared, solve_tasks, solve_logistic

cp = pytest.importorskip("cvxpy")

P = 10
PF_POS = check_penalty_factor(np.r_[0.2, 0.5, 2.0, 1.0, 1.0, 0.3, 3.0, 1.0, 1.0, 1.5], P)
PF_ZERO = check_penalty_factor(np.r_[0.0, 0.5, 2.0, 1.0, 1.0, 0.0, 3.0, 1.0, 1.0, 1.5], P)
KINDS = [lambda a, pf: L21(a, factor=pf), lambda a, pf: EN(a, 0.6, factor=pf),
         lambda a, pf: L21L2(a, 0.5, factor=pf), lambda a, pf: SparseGroupL1L21(a, 0.4, factor=pf),
         lambda a, pf: L1(a, factor=pf), lambda a, pf: L21(a, positive=True, factor=pf)]
KIND_IDS = ["l21", "enet", "l21l2", "sgl", "l1", "l21+"]


def _pf_for(kind, pf):
    """Positivity with unpenalized features is refused (see the last tests):
    the positive kinds get the factors without zeros."""
    return PF_POS if kind is KINDS[-1] else pf


def _data(seed=0, n_t=(30, 45, 25)):
    rng = np.random.default_rng(seed)
    N = sum(n_t)
    X = rng.standard_normal((N, P))
    codes = np.repeat(np.arange(len(n_t)), n_t)
    W = rng.standard_normal((P, len(n_t))) * (rng.random((P, 1)) < 0.5)
    y = np.einsum("ij,ji->i", X, W[:, codes]) + 0.5 * rng.standard_normal(N) + 1.0
    sw = rng.uniform(0.5, 1.5, N)
    return X, y, codes, sw


def _fmt(X, fmt, seed=1):
    if fmt == "dense":
        return X
    return sparse.csc_matrix(X * (np.random.default_rng(seed).random(X.shape) < 0.6))


def _norms(pen, W):
    if pen.kind == 0:
        return cp.sum(cp.abs(W), axis=1)
    if pen.kind == 1:
        return cp.norm(W, 2, axis=1)
    return pen.tau * cp.sum(cp.abs(W), axis=1) + (1 - pen.tau) * cp.norm(W, 2, axis=1)


def _pen_expr(pen, W):
    if pen.factor is not None and pen.factor.ndim == 2:      # per task (separable)
        return (pen.lam1 * cp.sum(cp.multiply(pen.factor, cp.abs(W)))
                + 0.5 * pen.lam2 * cp.sum(cp.multiply(pen.factor, cp.square(W))))
    pf = pen.row_factors(P)
    return (pen.lam1 * pf @ _norms(pen, W)
            + 0.5 * pen.lam2 * pf @ cp.sum(cp.square(W), axis=1))


def _check_per_task_oracle(df, pen):
    """A per-task quadratic fit at tol 1e-10 against cvxpy: objective to 1e-6
    and the gap bounding the suboptimality."""
    res = solve_tasks(df, pen, tol=1e-10, max_iter=20000)
    W = res.coef.T.astype(float)
    r = df.residual(W)
    obj = 0.5 * r @ r + pen.value(W)
    Xe, sl = df.design_dense(), df.task_slices()
    Wv = cp.Variable((P, df.n_tasks))
    pred = cp.hstack([Xe[sl[t]] @ Wv[:, t] for t in range(df.n_tasks)])
    ref = _oracle(0.5 * cp.sum_squares(df.y_eff - pred) + _pen_expr(pen, Wv), Wv, pen.positive)
    assert abs(obj - ref) <= 1e-6 * abs(ref)
    assert obj - ref <= res.gaps.sum() + 1e-8 * abs(ref)


def _oracle(objective, W, positive):
    cons = [W >= 0] if positive else []
    prob = cp.Problem(cp.Minimize(objective), cons)
    prob.solve(solver="CLARABEL")
    return prob.value


# -- the kernels against their twins (fixed epochs, factors > 0 and = 0) -------------
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("pf", [PF_POS, PF_ZERO], ids=["pf>0", "pf=0"])
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_shared_epochs_match_the_twin(kind, pf, fmt):
    X, y, codes, sw = _data()
    Y = np.column_stack([y[:50], y[50:]])
    df = QuadraticShared(_fmt(X[:50], fmt), Y, sw[:50], True)
    pen = kind(0.05, _pf_for(kind, pf))
    coef0 = np.random.default_rng(3).standard_normal((2, P)) * 0.1
    for epochs in (1, 2):
        k = solve_shared(df, pen, coef0, max_iter=epochs, tol=-1.0, strategy="cd")
        r = solve_shared(df, pen, coef0, max_iter=epochs, tol=-1.0, backend="reference")
        np.testing.assert_allclose(k.coef, r.coef, rtol=0, atol=1e-12)
        np.testing.assert_allclose(k.gaps, r.gaps, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_per_task_epochs_match_the_twin(kind, fmt):
    X, y, codes, sw = _data(seed=2)
    df = QuadraticPerTask(_fmt(X, fmt), y, codes, 3, sw, [1.0, 2.0, 0.5], True)
    pen = kind(0.05, _pf_for(kind, PF_ZERO))
    for epochs in (1, 2):
        k = solve_tasks(df, pen, max_iter=epochs, tol=-1.0)
        r = solve_tasks(df, pen, max_iter=epochs, tol=-1.0, backend="reference")
        np.testing.assert_allclose(k.coef, r.coef, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_logistic_newton_steps_match_the_twin(kind, fmt):
    X, y, codes, sw = _data(seed=4)
    df = LogisticPerTask(_fmt(X, fmt), (y > np.median(y)).astype(float), codes, 3, sw,
                         [1.0, 2.0, 0.5], True)
    pen = kind(0.02, _pf_for(kind, PF_ZERO))
    for k in (1, 2):
        Wr, br, _, _ = prox_newton(df, pen, max_iter=k, tol=-1)
        res = solve_logistic(df, pen, max_iter=k, tol=-1)
        np.testing.assert_allclose(res.coef.T, Wr, rtol=0, atol=1e-12)
        np.testing.assert_allclose(res.intercept, br, rtol=0, atol=1e-12)


# -- the convex oracle and the certificate -----------------------------------------
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("pf", [PF_POS, PF_ZERO], ids=["pf>0", "pf=0"])
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_shared_design_matches_cvxpy_and_the_gap_bounds(kind, pf, fmt):
    X, y, codes, sw = _data(seed=5)
    n = 50
    Y = np.column_stack([y[:n], y[n:]])
    df = QuadraticShared(_fmt(X[:n], fmt), Y, sw[:n], True)
    pen = kind(0.08, _pf_for(kind, pf))
    res = solve_shared(df, pen, tol=1e-10, max_iter=20000)
    W = res.coef.T.astype(float)
    obj = df.value(W) + pen.value(W)
    Wv = cp.Variable((P, 2))
    Xe, Ye = df.design_dense(), df.Y
    ref = _oracle(cp.sum_squares(Ye - Xe @ Wv) / (2 * n) + _pen_expr(pen, Wv), Wv, pen.positive)
    assert abs(obj - ref) <= 1e-6 * abs(ref)
    # the certificate bounds the suboptimality (up to the oracle's own accuracy)
    assert obj - ref <= res.gaps.sum() + 1e-8 * abs(ref)
    assert res.gaps.sum() <= 1e-10 * np.sum(Ye ** 2) / n * 1.0001


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_per_task_and_logistic_match_cvxpy(kind, fmt):
    X, y, codes, sw = _data(seed=6)
    Xf = _fmt(X, fmt)
    Xd = Xf.toarray() if sparse.issparse(Xf) else Xf
    tw = [1.0, 2.0, 0.5]
    pen = kind(0.05, _pf_for(kind, PF_ZERO))
    _check_per_task_oracle(QuadraticPerTask(Xf, y, codes, 3, sw, tw, True), pen)

    yl = (y > np.median(y)).astype(float)
    ldf = LogisticPerTask(Xf, yl, codes, 3, sw, tw, True)
    pen = kind(0.02, _pf_for(kind, PF_ZERO))
    res = solve_logistic(ldf, pen, tol=1e-10, max_iter=300)
    W, b = res.coef.T.astype(float), res.intercept
    obj = ldf.value(W, b, pen)
    Wv, bv = cp.Variable((P, 3)), cp.Variable(3)
    order = ldf.order
    Xs, cs = Xd[order], codes[order]
    z = cp.hstack([Xs[cs == t] @ Wv[:, t] + bv[t] for t in range(3)])
    ref = _oracle(ldf.c @ cp.logistic(z) - (ldf.c * ldf.y) @ z + _pen_expr(pen, Wv), Wv,
                  pen.positive)
    assert abs(obj - ref) <= 1e-6 * abs(ref)
    assert obj - ref <= res.gaps.sum() + 1e-8 * abs(ref)
    assert res.gaps.sum() <= 1e-10 * ldf.gap_scale() * 1.0001


def test_refit_makes_the_unpenalized_columns_orthogonal():
    X, y, codes, sw = _data(seed=7)
    U = np.array([0, 5])
    df = QuadraticPerTask(X, y, codes, 3, sw, None, True)
    W = refit_unpenalized(df, np.zeros((P, 3)), U)
    np.testing.assert_allclose(df.xtr(df.residual(W))[U], 0.0, atol=1e-10)
    ldf = LogisticPerTask(X, (y > 1).astype(float), codes, 3, sw, None, True)
    W, b = refit_unpenalized(ldf, np.zeros((P, 3)), U)
    from scipy.special import expit
    rho = ldf.c * (ldf.y - expit(ldf.z(W, b)))
    np.testing.assert_allclose(ldf.adjoint(rho)[U], 0.0, atol=1e-12)
    np.testing.assert_allclose([rho[s].sum() for s in ldf.task_slices()], 0.0, atol=1e-12)


# -- estimators ------------------------------------------------------------------------
ESTIMATORS = [Lasso(0.05), ElasticNet(0.05, l1_ratio=0.5), MultiTaskLasso(0.1),
              MultiTaskElasticNet(0.1), MultiTaskSparseGroupLasso(0.1),
              MultiTaskLogisticRegression(0.02)]


def _xy(est, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((80, 12))
    Y = X[:, :4] @ rng.standard_normal((4, 3)) + rng.standard_normal((80, 3))
    if isinstance(est, MultiTaskLogisticRegression):
        return X, (Y > 0).astype(int)
    return X, Y


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_equal_factors_are_no_factors_and_scale_free(est):
    X, Y = _xy(est)
    a = est.set_params(penalty_factor=None).fit(X, Y)
    coef = a.coef_.copy()
    b = est.set_params(penalty_factor=np.full(12, 3.0)).fit(X, Y)
    np.testing.assert_array_equal(b.coef_, coef)        # rescaled to sum to p: all ones
    pf = np.r_[2.0, 0.0, np.ones(10)]
    c1 = est.set_params(penalty_factor=pf).fit(X, Y).coef_.copy()
    c2 = est.set_params(penalty_factor=7 * pf).fit(X, Y).coef_
    np.testing.assert_allclose(c1, c2, rtol=0, atol=1e-10)


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_unpenalized_feature_is_kept_and_alpha_max_follows(est):
    X, Y = _xy(est, seed=1)
    pf = np.ones(12)
    pf[[0, 9]] = 0.0          # feature 9 is pure noise: unpenalized, it is still fitted
    pf[1] = 4.0
    est = est.set_params(penalty_factor=pf)
    amax = est._alpha_max(X, Y)
    fit = est.set_params(alpha=amax * 1.0001).fit(X, Y)
    coef = np.atleast_2d(fit.coef_)
    pen = np.flatnonzero(pf > 0)
    assert np.all(coef[:, pen] == 0)
    assert np.all(coef[:, [0, 9]] != 0)
    fit = est.set_params(alpha=amax * 0.95).fit(X, Y)
    assert np.any(np.atleast_2d(fit.coef_)[:, pen] != 0)


@pytest.mark.parametrize("bad,match", [
    (np.ones(11), "one entry per feature"), (-np.ones(12), "non-negative"),
    (np.zeros(12), "at least one positive"), (np.r_[np.nan, np.ones(11)], "finite"),
    (np.array(["a"] * 12), "numeric"), (np.ones((12, 2)), "one entry per feature"),
    (3.0, "array-like")])
@pytest.mark.parametrize("est", [MultiTaskLasso(0.1), Lasso(0.1),
                                 MultiTaskLogisticRegression(0.1)],
                         ids=lambda e: type(e).__name__)
def test_bad_factors_are_clear_errors(est, bad, match):
    X, Y = _xy(est)
    with pytest.raises(ValueError, match=match):
        est.set_params(penalty_factor=bad).fit(X, Y)


def test_per_task_layout_and_inputs_untouched():
    X, y, codes, sw = _data(seed=8)
    pf = np.r_[0.0, np.ones(9)]
    keep = pf.copy()
    m = MultiTaskLasso(0.05, penalty_factor=pf, tol=1e-8).fit(X, y, tasks=codes)
    np.testing.assert_array_equal(pf, keep)
    assert np.all(m.coef_[:, 0] != 0)
    assert m.dual_gap_ <= m.eps_


def test_positivity_with_unpenalized_features_is_refused():
    X, Y = _xy(MultiTaskLasso())
    with pytest.raises(ValueError, match="positive=True with unpenalized"):
        MultiTaskLasso(0.1, positive=True, penalty_factor=np.r_[0.0, np.ones(11)]).fit(X, Y)
    fit = MultiTaskLasso(0.01, positive=True, penalty_factor=np.r_[0.01, np.ones(11)]).fit(X, Y)
    assert np.all(fit.coef_ >= 0)


# -- the structured models (factors > 0) --------------------------------------------
from mtlfast.penalties import TwoPart, TaskGraph, Transfer, check_similarity   # noqa: E402
from mtlfast.solvers import solve_structured, solve_structured_logistic  # noqa: E402
from mtlfast import (DirtyMultiTaskLasso, MeanRegularizedMultiTask,  # noqa: E402
                     TaskGraphMultiTask, TransferLasso, DirtyMultiTaskLogisticRegression,
                     TransferLogisticRegression)


def _structured_models(pf, S, A):
    G = check_similarity(A, A.shape[0])
    return {
        "dirty": TwoPart(L21(0.1), L1(0.05), factor=pf),
        "dirty-enet": TwoPart(L21L2(0.1, 0.7), EN(0.05, 0.5), factor=pf),
        "mean-l1-l21": TwoPart(L1(0.05), L21(0.1), shared_a=True, factor=pf),
        "mean-ridge-ridge": TwoPart(L2(0.2), L2(0.5), shared_a=True, factor=pf),
        "graph-l1": TaskGraph(L1(0.05), 0.3, G, factor=pf),
        "graph-l21": TaskGraph(L21(0.1), 0.3, G, factor=pf),
        "transfer": Transfer(0.1, 0.3, S, factor=pf),
    }


def _structured_problem(fmt):
    X, y, codes, sw = _data(seed=11)
    rng = np.random.default_rng(12)
    S = rng.standard_normal((P, 3)) * (rng.random((P, 1)) < 0.5)
    A = rng.random((3, 3))
    return QuadraticPerTask(_fmt(X, fmt), y, codes, 3, sw, [1.0, 2.0, 0.5], True), S, A + A.T


def _cvx_structured(model, p, T):
    """(variables, W expression, penalty expression) of a model in cvxpy."""
    def row_pen(pen, V):
        return _pen_expr(pen, V)
    if isinstance(model, TwoPart):
        PA = cp.Variable((p, 1 if model.shared_a else T))
        PB = cp.Variable((p, T))
        W = (PA @ np.ones((1, T)) if model.shared_a else PA) + PB
        return W, row_pen(model.pen_a, PA) + row_pen(model.pen_b, PB)
    Wv = cp.Variable((p, T))
    if isinstance(model, TaskGraph):
        Lap = model.Lap.toarray()
        graph = sum(cp.quad_form(Wv[j], Lap) for j in range(p))
        return Wv, model.lam * graph + row_pen(model.pen, Wv)
    pf = model._pf()
    return Wv, cp.sum(cp.multiply(pf[:, None], model.a * cp.abs(Wv)
                                  + model.b * cp.abs(Wv - model.S)))


STRUCT = sorted(_structured_models(PF_POS, np.zeros((P, 3)), np.ones((3, 3))))


@pytest.mark.parametrize("name", STRUCT)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_structured_kernel_matches_the_twin_with_factors(name, fmt):
    df, S, A = _structured_problem(fmt)
    model = _structured_models(PF_POS, S, A)[name]
    for epochs in (1, 2):
        ref = solve_structured(df, model, max_iter=epochs, tol=-1, backend="reference")
        ker = solve_structured(df, model, max_iter=epochs, tol=-1)
        for a, b in zip(ref.parts, ker.parts):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)
        np.testing.assert_allclose(ker.gaps, model.gaps(df, ker.parts), rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("name", STRUCT)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_structured_models_with_factors_match_cvxpy(name, fmt):
    df, S, A = _structured_problem(fmt)
    model = _structured_models(PF_POS, S, A)[name]
    res = solve_structured(df, model, max_iter=20000, tol=1e-11)
    r = df.residual(model.effective(res.parts))
    obj = 0.5 * r @ r + model.value(res.parts)
    W, pen = _cvx_structured(model, P, 3)
    Xe, sl = df.design_dense(), df.task_slices()
    pred = cp.hstack([Xe[sl[t]] @ W[:, t] for t in range(3)])
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(df.y_eff - pred) + pen))
    prob.solve(solver="CLARABEL")
    assert abs(obj - prob.value) <= 1e-6 * abs(prob.value)
    assert obj - prob.value <= res.gaps.sum() + 1e-8 * abs(prob.value)


@pytest.mark.parametrize("name", ["dirty", "transfer", "graph-l21"])
def test_structured_logistic_with_factors_matches_cvxpy(name):
    X, y, codes, sw = _data(seed=13)
    _, S, A = _structured_problem("dense")
    model = _structured_models(PF_POS, S, A)[name]
    ldf = LogisticPerTask(X, (y > np.median(y)).astype(float), codes, 3, sw, [1.0, 2.0, 0.5],
                          True)
    res = solve_structured_logistic(ldf, model, tol=1e-10, max_iter=200)
    obj = ldf.loss(ldf.z(model.effective(res.parts), res.intercept)) + model.value(res.parts)
    W, pen = _cvx_structured(model, P, 3)
    b = cp.Variable(3)
    Xs, cs = X[ldf.order], codes[ldf.order]
    z = cp.hstack([Xs[cs == t] @ W[:, t] + b[t] for t in range(3)])
    prob = cp.Problem(cp.Minimize(ldf.c @ cp.logistic(z) - (ldf.c * ldf.y) @ z + pen))
    prob.solve(solver="CLARABEL")
    assert abs(obj - prob.value) <= 1e-6 * abs(prob.value)
    assert obj - prob.value <= res.gaps.sum() + 1e-8 * abs(prob.value)


STRUCT_ESTIMATORS = [DirtyMultiTaskLasso(0.1, 0.05), MeanRegularizedMultiTask(0.05, 0.1),
                     TaskGraphMultiTask(0.1), TransferLasso(0.1),
                     DirtyMultiTaskLogisticRegression(0.02, 0.01),
                     TransferLogisticRegression(0.02)]


@pytest.mark.parametrize("est", STRUCT_ESTIMATORS, ids=lambda e: type(e).__name__)
def test_structured_estimators_take_factors(est):
    X, Y = _xy(MultiTaskLogisticRegression() if "Logistic" in type(est).__name__ else est)
    a = est.set_params(penalty_factor=None).fit(X, Y).coef_.copy()
    b = est.set_params(penalty_factor=np.full(12, 2.0)).fit(X, Y).coef_
    np.testing.assert_array_equal(a, b)
    pf = np.r_[10.0, np.ones(11)]           # feature 0 penalized 10x harder
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)      # converged within tol
        c = est.set_params(penalty_factor=pf).fit(X, Y)
    assert np.abs(c.coef_[:, 0]).sum() < np.abs(a[:, 0]).sum()
    with pytest.raises(ValueError, match="structured models need factors > 0"):
        est.set_params(penalty_factor=np.r_[0.0, np.ones(11)]).fit(X, Y)


# -- per-task factors of separable penalties ((n_features, n_tasks)) -----------------
PF_TASKS = np.column_stack([PF_POS, 2.0 * PF_ZERO, np.r_[0.0, 0.0, np.ones(P - 2)]])
SEPARABLE = [lambda a, pf: L1(a, factor=pf), lambda a, pf: EN(a, 0.6, factor=pf),
             lambda a, pf: L2(a, factor=pf)]
SEP_IDS = ["l1", "enet", "ridge"]


@pytest.mark.parametrize("kind", SEPARABLE, ids=SEP_IDS)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_per_task_factors_equal_the_tasks_fitted_apart(kind, fmt):
    """A separable penalty's tasks are independent problems: per-task factors
    give each task its own column, as fitting the tasks one by one does."""
    X, y, codes, sw = _data(seed=14)
    n = 33
    Y = np.column_stack([y[:n], y[n:2 * n], y[2 * n:3 * n]])
    Xs = _fmt(X[:n], fmt)
    df = QuadraticShared(Xs, Y, sw[:n], True)
    res = solve_shared(df, kind(0.05, PF_TASKS), tol=1e-10, max_iter=20000)
    for t in range(3):
        one = solve_shared(QuadraticShared(Xs, Y[:, [t]], sw[:n], True),
                           kind(0.05, PF_TASKS[:, t]), tol=1e-10, max_iter=20000)
        np.testing.assert_allclose(res.coef[t], one.coef[0], rtol=0, atol=1e-9)
        np.testing.assert_allclose(res.gaps[t], one.gaps[0], rtol=1e-6, atol=1e-12)
    # the kernel against its twin after 1 and 2 epochs (plain epochs, factors > 0)
    pen = kind(0.05, PF_TASKS + 0.1)
    for epochs in (1, 2):
        k = solve_shared(df, pen, max_iter=epochs, tol=-1.0, strategy="cd")
        r = solve_shared(df, pen, max_iter=epochs, tol=-1.0, backend="reference")
        np.testing.assert_allclose(k.coef, r.coef, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", SEPARABLE, ids=SEP_IDS)
def test_per_task_factors_per_task_designs_and_logistic_match_cvxpy(kind):
    X, y, codes, sw = _data(seed=15)
    tw = [1.0, 2.0, 0.5]
    pen = kind(0.05, PF_TASKS)
    df = QuadraticPerTask(X, y, codes, 3, sw, tw, True)
    for epochs in (1, 2):
        k = solve_tasks(df, kind(0.05, PF_TASKS + 0.1), max_iter=epochs, tol=-1.0)
        r = solve_tasks(df, kind(0.05, PF_TASKS + 0.1), max_iter=epochs, tol=-1.0,
                        backend="reference")
        np.testing.assert_allclose(k.coef, r.coef, rtol=0, atol=1e-12)
    _check_per_task_oracle(df, pen)

    ldf = LogisticPerTask(X, (y > np.median(y)).astype(float), codes, 3, sw, tw, True)
    pen = kind(0.02, PF_TASKS)
    for k_ in (1, 2):
        Wr, br, _, _ = prox_newton(ldf, kind(0.02, PF_TASKS + 0.1), max_iter=k_, tol=-1)
        rk = solve_logistic(ldf, kind(0.02, PF_TASKS + 0.1), max_iter=k_, tol=-1)
        np.testing.assert_allclose(rk.coef.T, Wr, rtol=0, atol=1e-12)
    res = solve_logistic(ldf, pen, tol=1e-10, max_iter=300)
    W, b = res.coef.T.astype(float), res.intercept
    obj = ldf.value(W, b, pen)
    Wv, bv = cp.Variable((P, 3)), cp.Variable(3)
    Xs, cs = X[ldf.order], codes[ldf.order]
    z = cp.hstack([Xs[cs == t] @ Wv[:, t] + bv[t] for t in range(3)])
    ref = _oracle(ldf.c @ cp.logistic(z) - (ldf.c * ldf.y) @ z + _pen_expr(pen, Wv), Wv,
                  False)
    assert abs(obj - ref) <= 1e-6 * abs(ref)
    assert obj - ref <= res.gaps.sum() + 1e-8 * abs(ref)


def test_per_task_factors_in_the_estimators():
    X, Y = _xy(Lasso())
    pf = np.ones((12, 3))
    pf[:, 2] = 3.0              # the third task penalized 3x harder
    pf[0, :] = 0.0              # feature 0 unpenalized everywhere
    las = Lasso(0.05, penalty_factor=pf, tol=1e-10).fit(X, Y)
    assert np.all(las.coef_[:, 0] != 0)
    assert np.all(las.dual_gap_ <= las.eps_)
    # task 2 alone: its factors, 3 x 36 / 55 after the global rescaling, are
    # 12 / 11 x (3 x 36 / 55 x 11 / 12) after the rescaling of one task's
    alone = Lasso(0.05 * 3 * 36 / 55 * 11 / 12, penalty_factor=np.r_[0.0, np.ones(11)],
                  tol=1e-10).fit(X, Y[:, 2])
    np.testing.assert_allclose(las.coef_[2], alone.coef_, rtol=0, atol=1e-7)
    clf = MultiTaskLogisticRegression(0.02, penalty="l1", penalty_factor=pf).fit(X, Y > 0)
    assert np.all(clf.coef_[:, 0] != 0)
    with pytest.raises(ValueError, match="per-task factors"):
        MultiTaskLasso(0.1, penalty_factor=pf).fit(X, Y)
