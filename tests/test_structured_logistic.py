"""The structured classifiers (mtlfast.multi_task_logistic): optimum against
cvxpy, the certificate, the compiled inner solver against its NumPy twin,
equivalences with MultiTaskLogisticRegression, the scikit-learn API."""
import numpy as np
import pytest
from scipy import sparse
from sklearn.model_selection import GridSearchCV

import mtlfast
from mtlfast import penalties as P
from mtlfast.datafits import LogisticPerTask
from mtlfast.penalties.structured import (TwoPart, TaskGraph, Transfer, check_similarity,
                                          logistic_gaps)
from mtlfast.solvers import solve_structured_logistic, solve

cp = pytest.importorskip("cvxpy")


def _data(kind, seed=0, p=8):
    """(X, y, tasks or None, sample_weight, task_weight) of a small problem:
    "shared" one X with Y (n, 3); "per-task" three designs of 30, 45, 60 rows."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((p, 3)) * (rng.random((p, 1)) < 0.6)
    if kind.startswith("shared"):
        X = rng.standard_normal((70, p))
        Y = (X @ W + 0.8 * rng.standard_normal((70, 3)) > 0.3).astype(int)
        return X, Y, None, rng.uniform(0.5, 2.0, 70), np.array([1.0, 2.0, 0.5])
    sizes = [30, 45, 60]
    tasks = np.repeat(["a", "b", "c"], sizes)
    X = rng.standard_normal((sum(sizes), p))
    codes = np.repeat(np.arange(3), sizes)
    y = (np.einsum("ij,ij->i", X, W[:, codes].T) + 0.8 * rng.standard_normal(len(codes))
         > 0).astype(int)
    return X, y, tasks, rng.uniform(0.5, 2.0, len(y)), np.array([0.5, 1.0, 3.0])


def _datafit(kind, fit_intercept=True, weighted=True, sparse_X=False, dtype=np.float64):
    X, y, tasks, sw, tw = _data(kind)
    X = X.astype(dtype)
    if sparse_X:
        X[np.abs(X) < 0.7] = 0.0
        X = sparse.csc_matrix(X)
    sw, tw = (sw, tw) if weighted else (None, None)
    if tasks is None:
        return LogisticPerTask.from_shared(X, y, sw, tw, fit_intercept)
    codes = np.unique(tasks, return_inverse=True)[1]
    return LogisticPerTask(X, y, codes, 3, sw, tw, fit_intercept)


def _models(p, T=3, seed=1):
    S = np.random.default_rng(seed).standard_normal((p, T)) * 0.4
    A = np.array([[0, 1, 0.2], [1, 0, 2], [0.2, 2, 0]])
    return {
        "dirty": TwoPart(P.L21(0.02), P.L1(0.03)),
        "meanreg-l1-l21": TwoPart(P.L1(0.02), P.L21(0.02), shared_a=True),
        "meanreg-ridge-l1": TwoPart(P.L2(0.05), P.L1(0.02), shared_a=True),
        "meanreg-ridge-ridge": TwoPart(P.L2(0.05), P.L2(0.1), shared_a=True),
        "graph-l21": TaskGraph(P.L21(0.02), 0.1, check_similarity(A, T)),
        "graph-l1": TaskGraph(P.L1(0.02), 0.3, check_similarity(A, T)),
        "transfer": Transfer(0.03, 0.3, S),
    }


def _cvx_penalty(pen, V):
    if isinstance(pen, P.L1):
        return pen.alpha * cp.sum(cp.abs(V))
    if isinstance(pen, P.L21):
        return pen.alpha * cp.sum(cp.norm(V, 2, axis=1))
    assert isinstance(pen, P.L2)
    return 0.5 * pen.alpha * cp.sum_squares(V)


def cvxpy_optimum(df, model):
    """The objective's optimum by cvxpy (Clarabel, tight tolerances), from
    the datafit's own arrays: weights c, labels, each task's design."""
    p, T = df.n_features, df.n_tasks
    parts = [cp.Variable(s) for s in [Pk.shape for Pk in model.init_parts(p, T)]]
    b = cp.Variable(T) if df.fit_intercept else np.zeros(T)
    if isinstance(model, TwoPart):
        W = (parts[0] @ np.ones((1, T)) if model.shared_a else parts[0]) + parts[1]
        reg = _cvx_penalty(model.pen_a, parts[0]) + _cvx_penalty(model.pen_b, parts[1])
    elif isinstance(model, TaskGraph):
        W = parts[0]
        Lap = model.Lap.toarray()
        reg = _cvx_penalty(model.pen, W) + model.lam * cp.sum(
            [cp.quad_form(W[j, :], Lap) for j in range(p)])
    else:
        W = parts[0]
        reg = model.a * cp.sum(cp.abs(W)) + model.b * cp.sum(cp.abs(W - model.S))
    loss = 0
    for t, sl in enumerate(df.task_slices()):
        Xt = df._rows(t)
        Xt = Xt.toarray() if sparse.issparse(Xt) else np.asarray(Xt, dtype=float)
        z = Xt @ W[:, t] + b[t]
        loss += cp.sum(cp.multiply(df.c[sl], cp.logistic(z) - cp.multiply(df.y[sl], z)))
    prob = cp.Problem(cp.Minimize(loss + reg))
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return prob.value


def _objective(df, model, res):
    return df.loss(df.z(res.coef.T, res.intercept)) + model.value(res.parts)


CASES = [("shared", dict()), ("shared", dict(fit_intercept=False, weighted=False)),
         ("shared", dict(sparse_X=True)), ("per-task", dict()),
         ("per-task", dict(sparse_X=True, dtype=np.float32))]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{'-'.join(c[1])}")
@pytest.mark.parametrize("name", list(_models(8)))
def test_optimum_matches_cvxpy_and_gap_bounds_it(name, case):
    kind, opts = case
    df = _datafit(kind, **opts)
    model = _models(df.n_features)[name]
    res = solve_structured_logistic(df, model, tol=1e-9)
    F = _objective(df, model, res)
    F_star = cvxpy_optimum(df, model)
    assert abs(F - F_star) <= 1e-6 * abs(F_star)
    gap = float(res.gaps.sum())
    assert gap <= 1e-9 * df.gap_scale() * 1.0001
    # the certificate bounds the suboptimality (up to cvxpy's own accuracy)
    assert F - F_star <= gap + 1e-9 * abs(F_star)
    # the gap is a true duality gap: never below the suboptimality at any
    # point, e.g. a rough one
    rough = solve_structured_logistic(df, model, max_iter=1, tol=1e-9)
    g_rough = float(logistic_gaps(model, df, rough.parts,
                                  df.optimal_intercept(rough.coef.T, rough.intercept)).sum())
    b_rough = df.optimal_intercept(rough.coef.T, rough.intercept)
    F_rough = df.loss(df.z(rough.coef.T, b_rough)) + model.value(rough.parts)
    assert F_rough - F_star <= g_rough + 1e-9 * abs(F_star)


@pytest.mark.parametrize("steps", [1, 2])
@pytest.mark.parametrize("kind,opts", [("shared", {}), ("per-task", dict(sparse_X=True))])
@pytest.mark.parametrize("name", list(_models(8)))
def test_compiled_inner_solver_matches_its_twin(name, kind, opts, steps):
    """The same Newton steps with the compiled inner solver and the NumPy
    twin (fixed epochs, no gaps): iterates equal to rounding."""
    df = _datafit(kind, **opts)
    model = _models(df.n_features)[name]
    a = solve_structured_logistic(df, model, max_iter=steps, tol=-1, max_inner=3,
                                  n_threads=1)
    b = solve_structured_logistic(df, model, max_iter=steps, tol=-1, max_inner=3,
                                  backend="reference")
    for Pa, Pb in zip(a.parts, b.parts):
        np.testing.assert_allclose(Pa, Pb, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(a.intercept, b.intercept, rtol=1e-11, atol=1e-12)


def test_solver_table_routes_logistic_structured():
    df = _datafit("shared")
    model = _models(df.n_features)["dirty"]
    res = solve(df, model, None, tol=1e-8)
    assert res.gaps.sum() <= 1e-8 * df.gap_scale()


# -- estimators -------------------------------------------------------------------------
def _shared_labels(seed=0):
    X, Y, _, sw, tw = _data("shared", seed)
    return X, np.where(Y == 1, "yes", "no"), sw, tw


@pytest.mark.parametrize("est", [
    mtlfast.DirtyMultiTaskLogisticRegression(0.02, 0.03),
    mtlfast.MeanRegularizedMultiTaskLogisticRegression(0.02, 0.02),
    mtlfast.TaskGraphMultiTaskLogisticRegression(0.02, graph_alpha=0.1),
    mtlfast.TransferLogisticRegression(0.03, coef_source=np.full(8, 0.2))],
    ids=lambda e: type(e).__name__)
def test_estimator_matches_cvxpy_with_weights_and_labels(est):
    X, Y, sw, tw = _shared_labels()
    est.fit(X, Y, sample_weight=sw, task_weight=tw)
    np.testing.assert_array_equal(est.classes_, ["no", "yes"])
    df = LogisticPerTask.from_shared(X, (Y == "yes").astype(float), sw, tw, True)
    model = est._make_model(df)
    F_star = cvxpy_optimum(df, model)
    parts = est._get_parts()
    F = df.loss(df.z(est.coef_.T, est.intercept_)) + model.value(parts)
    assert abs(F - F_star) <= 1e-6 * abs(F_star)
    assert F - F_star <= est.dual_gap_ + 1e-9 * abs(F_star)
    proba = est.predict_proba(X)
    assert proba.shape == Y.shape and np.all((proba > 0) & (proba < 1))
    z = est.decision_function(X)
    np.testing.assert_array_equal(est.predict(X), np.where(z > 0, "yes", "no"))


def test_per_task_data_and_list_layout():
    X, y, tasks, sw, tw = _data("per-task")
    est = mtlfast.DirtyMultiTaskLogisticRegression(0.02, 0.03)
    est.fit(X, y, sw, tasks=tasks, task_weight=tw)
    np.testing.assert_array_equal(est.tasks_, ["a", "b", "c"])
    assert est.predict_proba(X, tasks=tasks).shape == (len(y), 2)
    lists = [X[tasks == t] for t in "abc"], [y[tasks == t] for t in "abc"]
    est2 = mtlfast.DirtyMultiTaskLogisticRegression(0.02, 0.03).fit(*lists)
    np.testing.assert_allclose(est2.coef_, mtlfast.DirtyMultiTaskLogisticRegression(
        0.02, 0.03).fit(X, y, tasks=tasks).coef_, rtol=1e-10, atol=1e-12)


def test_transfer_with_beta_one_is_l1_logistic_regression():
    X, Y, sw, _ = _shared_labels(2)
    a = mtlfast.TransferLogisticRegression(0.02, beta=1.0, coef_source=np.ones(8),
                                           tol=1e-10).fit(X, Y, sw)
    b = mtlfast.MultiTaskLogisticRegression(0.02, penalty="l1", tol=1e-10).fit(X, Y, sw)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-5)
    np.testing.assert_allclose(a.intercept_, b.intercept_, atol=1e-5)


def test_graph_without_graph_term_is_l21_logistic_regression():
    X, Y, _, _ = _shared_labels(3)
    a = mtlfast.TaskGraphMultiTaskLogisticRegression(0.02, graph_alpha=0.0,
                                                     tol=1e-10).fit(X, Y)
    b = mtlfast.MultiTaskLogisticRegression(0.02, penalty="l21", tol=1e-10).fit(X, Y)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-5)


def test_transfer_source_can_be_a_fitted_classifier():
    X, Y, _, _ = _shared_labels(4)
    src = mtlfast.MultiTaskLogisticRegression(0.01, penalty="l1").fit(X[:, :], Y[:, 0])
    est = mtlfast.TransferLogisticRegression(0.05, beta=0.0, coef_source=src).fit(X, Y[:, 1])
    assert est.coef_.shape == (1, 8)
    with pytest.raises(ValueError, match="fitted on 8 features"):
        mtlfast.TransferLogisticRegression(coef_source=src).fit(X[:, :5], Y[:, 1])


def test_warm_start_path_cv_and_search():
    X, Y, _, _ = _shared_labels(5)
    est = mtlfast.DirtyMultiTaskLogisticRegression(0.05, 0.05, warm_start=True).fit(X, Y)
    cold = est.n_iter_
    est.set_params(alpha_specific=0.045).fit(X, Y)
    assert est.n_iter_ <= cold
    cv = mtlfast.PathCV(mtlfast.TransferLogisticRegression(beta=0.5), param="alpha",
                        values=[0.1, 0.03, 0.01], cv=3).fit(X, Y)
    assert cv.best_value_ in (0.1, 0.03, 0.01) and cv.loss_path_.shape == (3, 3)
    gs = GridSearchCV(mtlfast.TaskGraphMultiTaskLogisticRegression(),
                      {"alpha": [0.01, 0.05]}, cv=3).fit(X, Y)
    assert gs.best_params_["alpha"] in (0.01, 0.05)


@pytest.mark.parametrize("Est", [mtlfast.DirtyMultiTaskLogisticRegression,
                                 mtlfast.TransferLogisticRegression])
def test_labels_must_be_binary_per_task(Est):
    X, Y, _, _ = _shared_labels(6)
    Y3 = Y.copy()
    Y3[:5, 1] = "maybe"
    with pytest.raises(ValueError, match="binary"):
        Est().fit(X, Y3)
    Y1 = Y.copy()
    Y1[:, 2] = "yes"
    with pytest.raises(ValueError, match="only one class"):
        Est().fit(X, Y1)


def test_callback_sees_newton_steps_and_can_stop():
    X, Y, _, _ = _shared_labels(7)
    seen = []
    est = mtlfast.DirtyMultiTaskLogisticRegression(
        0.01, 0.01, tol=1e-12, callback=lambda info: seen.append(info) or len(seen) >= 2)
    with pytest.warns(Warning):
        est.fit(X, Y)
    assert [s["n_iter"] for s in seen] == [0, 1] and est.n_iter_ == 1


def test_docstring_corpus_is_local_labelled_and_without_repeats():
    from mtlfast.datasets import load_docstring_corpus
    d = load_docstring_corpus()
    texts = d["text_source"] + d["text_target"]
    assert len(set(texts)) == len(texts)
    for dom in ("source", "target"):
        y = d["y_" + dom]
        assert len(y) == len(d["text_" + dom]) and 5 <= y.sum() <= len(y) - 5
    assert load_docstring_corpus()["text_target"] == d["text_target"]


@pytest.mark.parametrize("sparse_X", [False, True])
def test_thread_count_does_not_change_the_fit(sparse_X):
    X, Y, _, _ = _shared_labels(8)
    X = np.repeat(X, 80, axis=0)        # rows enough for the kernels' parallel paths
    Y = np.repeat(Y, 80, axis=0)
    if sparse_X:
        X[np.abs(X) < 0.5] = 0.0
        X = sparse.csc_matrix(X)
    fits = [mtlfast.DirtyMultiTaskLogisticRegression(0.01, 0.02, n_threads=k).fit(X, Y)
            for k in (1, 2)]
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    np.testing.assert_array_equal(fits[0].intercept_, fits[1].intercept_)
