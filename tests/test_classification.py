"""MultiTaskLogisticRegression: against scikit-learn's LogisticRegression,
equivalences (separable L1 == independent fits, shared X == per-task layout
with the same X, sparse == dense, weights == repetition), the prediction API
and bad input."""
import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import label_binarize

from mtlfast import MultiTaskLogisticRegression as MTLR


def _shared(n=120, p=10, T=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    W = rng.standard_normal((p, T)) * (rng.random((p, 1)) < 0.5)
    Y = (rng.random((n, T)) < 1 / (1 + np.exp(-(X @ W + 0.3)))).astype(int)
    return X, Y


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_one_task_l2_matches_sklearn(fit_intercept):
    X, Y = _shared(seed=1)
    y = np.where(Y[:, 0] == 1, "spam", "ham")
    alpha = 0.02
    est = MTLR(alpha, penalty="l2", tol=1e-12, fit_intercept=fit_intercept).fit(X, y)
    ref = LogisticRegression(C=1 / (len(y) * alpha), tol=1e-12, max_iter=10000,
                             fit_intercept=fit_intercept).fit(X, y)
    # both stop within ~1e-13 of the optimal objective; with strong convexity
    # alpha that bounds the coefficients' distance by ~2e-6
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=2e-6)
    np.testing.assert_allclose(est.intercept_, np.atleast_1d(ref.intercept_), atol=2e-6)
    np.testing.assert_array_equal(est.classes_, ref.classes_)
    np.testing.assert_array_equal(est.predict(X), ref.predict(X))
    np.testing.assert_allclose(est.predict_proba(X), ref.predict_proba(X), atol=2e-6)
    np.testing.assert_allclose(est.decision_function(X), ref.decision_function(X), atol=1e-5)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_per_task_l1_matches_sklearn_saga(fit_intercept):
    """Per-task data with different sizes, penalty l1: each task's fit is
    scikit-learn's L1 logistic regression with C = 1 / (n_t alpha)."""
    rng = np.random.default_rng(21)
    sizes = (90, 150, 60)
    X = rng.standard_normal((sum(sizes), 8))
    tasks = np.repeat(["u", "v", "w"], sizes)
    w = rng.standard_normal(8) * (rng.random(8) < 0.6)
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-(X @ w - 0.4)))).astype(int)
    alpha = 0.02
    est = MTLR(alpha, penalty="l1", tol=1e-12, fit_intercept=fit_intercept).fit(
        X, y, tasks=tasks)
    for t, name in enumerate(["u", "v", "w"]):
        m = tasks == name
        ref = LogisticRegression(l1_ratio=1.0, solver="saga", C=1 / (m.sum() * alpha),
                                 tol=1e-12, max_iter=100000,
                                 fit_intercept=fit_intercept).fit(X[m], y[m])
        np.testing.assert_allclose(est.coef_[t], ref.coef_[0], atol=2e-5)
        np.testing.assert_allclose(est.intercept_[t], ref.intercept_[0], atol=2e-5)


def test_separable_l1_equals_independent_fits():
    X, Y = _shared(seed=2)
    joint = MTLR(0.03, penalty="l1", tol=1e-12).fit(X, Y)
    for t in range(Y.shape[1]):
        alone = MTLR(0.03, penalty="l1", tol=1e-12).fit(X, Y[:, t])
        np.testing.assert_allclose(joint.coef_[t], alone.coef_[0], atol=1e-7)
        np.testing.assert_allclose(joint.intercept_[t], alone.intercept_[0], atol=1e-7)


def test_shared_design_equals_per_task_layout_with_the_same_x():
    X, Y = _shared(seed=3)
    shared = MTLR(0.02, penalty="l21", tol=1e-12).fit(X, Y)
    Xl = np.vstack([X] * 3)
    yl = Y.T.ravel()
    tasks = np.repeat(["a", "b", "c"], len(X))
    per = MTLR(0.02, penalty="l21", tol=1e-12).fit(Xl, yl, tasks=tasks)
    np.testing.assert_allclose(per.coef_, shared.coef_, atol=1e-8)
    np.testing.assert_array_equal(per.tasks_, ["a", "b", "c"])
    np.testing.assert_array_equal(per.predict(X, tasks=np.full(len(X), "b")),
                                  shared.predict(X)[:, 1])
    P = per.predict_proba(X, tasks=np.full(len(X), "c"))
    np.testing.assert_allclose(P[:, 1], shared.predict_proba(X)[:, 2], atol=1e-8)
    assert shared.predict_proba(X).shape == (len(X), 3)


@pytest.mark.parametrize("penalty", ["l21", "sparse-group", "elasticnet", "l21+l2"])
def test_sparse_equals_dense_and_float32_close(penalty):
    X, Y = _shared(seed=4)
    X[np.abs(X) < 0.5] = 0.0
    kw = dict(penalty=penalty, l1_ratio=0.7, tau=0.3, tol=1e-12)
    dense = MTLR(0.02, **kw).fit(X, Y)
    sp = MTLR(0.02, **kw).fit(sparse.csc_matrix(X), Y)
    np.testing.assert_allclose(sp.coef_, dense.coef_, atol=1e-8)
    f32 = MTLR(0.02, **{**kw, "tol": 1e-6}).fit(X.astype(np.float32), Y)
    assert f32.coef_.dtype == np.float32
    np.testing.assert_allclose(f32.coef_, dense.coef_, atol=2e-3)


def test_sample_weight_equals_repetition_and_task_weight():
    X, Y = _shared(seed=5)
    sw = np.random.default_rng(6).integers(1, 4, len(X))
    w = MTLR(0.02, tol=1e-12).fit(X, Y, sample_weight=sw)
    rep = np.repeat(np.arange(len(X)), sw)
    r = MTLR(0.02, tol=1e-12).fit(X[rep], Y[rep])
    np.testing.assert_allclose(w.coef_, r.coef_, atol=1e-8)
    # task weights: a task weighted by 2 == its loss doubled, ie its alpha halved
    # (l1 is separable, so the other tasks are unchanged)
    tw = MTLR(0.02, penalty="l1", tol=1e-12).fit(X, Y, task_weight=[2.0, 1.0, 1.0])
    half = MTLR(0.01, penalty="l1", tol=1e-12).fit(X, Y[:, 0])
    np.testing.assert_allclose(tw.coef_[0], half.coef_[0], atol=1e-7)


def test_one_vs_rest_on_iris():
    X, y = load_iris(return_X_y=True)
    Y = label_binarize(y, classes=[0, 1, 2])
    est = MTLR(1e-3, penalty="l21", tol=1e-8).fit(X, Y)
    pred = np.argmax(est.predict_proba(X), axis=1)
    assert np.mean(pred == y) > 0.9
    assert est.predict(X).shape == (150, 3)
    np.testing.assert_array_equal(est.classes_, [0, 1])     # shared by the tasks


def test_bad_input():
    X, Y = _shared()
    with pytest.raises(ValueError, match="one-vs-rest"):
        MTLR().fit(X, np.arange(len(X)) % 3)
    with pytest.raises(ValueError, match="only one class"):
        MTLR().fit(X, np.column_stack([Y[:, 0], np.ones(len(X))]))
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MTLR().fit(Xn, Y)
    with pytest.raises(ValueError, match="inconsistent"):
        MTLR().fit(X, Y[:-1])
    with pytest.raises(ValueError, match="alpha"):
        MTLR(alpha=-1.0).fit(X, Y)
    with pytest.raises(ValueError, match="task_weight"):
        MTLR().fit(X, Y, task_weight=[1.0, -1.0, 1.0])
    per = MTLR().fit(np.vstack([X, X]), np.concatenate([Y[:, 0], Y[:, 1]]),
                     tasks=np.repeat([0, 1], len(X)))
    with pytest.raises(ValueError, match="tasks"):
        per.predict(X)
    X0 = X.copy()
    MTLR().fit(X, Y)
    np.testing.assert_array_equal(X, X0)
