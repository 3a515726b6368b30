"""Estimators on per-task data (long and list layouts), task weights, and
their bad input; independent oracles: scikit-learn on each task alone
(separable penalties) and the shared-design fit (identical X)."""
import warnings

import numpy as np
import pytest
import sklearn.linear_model as sk
from scipy import sparse

import mtlfast

from conftest import make_problem


def _tasks_data(n_t=(15, 40, 25), p=12, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(p) * (rng.random(p) < 0.5)
    Xs = [rng.standard_normal((k, p)) for k in n_t]
    ys = [X @ (w + 0.2 * rng.standard_normal(p)) + 0.5 * t + 0.1 * rng.standard_normal(len(X))
          for t, X in enumerate(Xs)]
    return Xs, ys


def _long(Xs, ys, labels=("c", "a", "b"), seed=1):
    X = np.vstack(Xs)
    y = np.concatenate(ys)
    tasks = np.repeat(np.array(labels), [len(v) for v in ys])
    perm = np.random.default_rng(seed).permutation(len(y))
    return X[perm], y[perm], tasks[perm]


@pytest.mark.parametrize("est,ref", [
    (mtlfast.Lasso(alpha=0.05, tol=1e-10, max_iter=10000),
     sk.Lasso(alpha=0.05, tol=1e-10, max_iter=10000)),
    (mtlfast.ElasticNet(alpha=0.05, l1_ratio=0.3, tol=1e-10, max_iter=10000),
     sk.ElasticNet(alpha=0.05, l1_ratio=0.3, tol=1e-10, max_iter=10000)),
])
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_separable_per_task_equals_sklearn_on_each_task(est, ref, fmt):
    Xs, ys = _tasks_data()
    X, y, tasks = _long(Xs, ys)
    if fmt == "sparse":
        X = sparse.csc_matrix(X)
        est.set_params(fit_intercept=False)
        ref.set_params(fit_intercept=False)
    est.fit(X, y, tasks=tasks)
    assert list(est.tasks_) == ["a", "b", "c"]
    for t, lab in enumerate(est.tasks_):
        m = tasks == lab
        r = ref.fit(X[m], y[m])
        np.testing.assert_allclose(est.coef_[t], r.coef_, atol=1e-6)
        np.testing.assert_allclose(est.intercept_[t], r.intercept_, atol=1e-6)


@pytest.mark.parametrize("cls,kw", [(mtlfast.MultiTaskLasso, dict(alpha=0.05)),
                                    (mtlfast.MultiTaskElasticNet, dict(alpha=0.05, l1_ratio=0.6)),
                                    (mtlfast.MultiTaskSparseGroupLasso, dict(alpha=0.05, tau=0.3))])
def test_identical_designs_equal_shared_fit(cls, kw):
    X, Y = make_problem(n=50, p=15, T=3)
    sw = np.random.default_rng(2).uniform(0.5, 2.0, len(X))
    shared = cls(tol=1e-12, max_iter=20000, **kw).fit(X, Y, sample_weight=sw)
    T = Y.shape[1]
    per = cls(tol=1e-12, max_iter=20000, **kw).fit(
        np.vstack([X] * T), Y.T.ravel(), sample_weight=np.tile(sw, T),
        tasks=np.repeat(np.arange(T), len(X)))
    np.testing.assert_allclose(per.coef_, shared.coef_, atol=1e-6)
    np.testing.assert_allclose(per.intercept_, shared.intercept_, atol=1e-6)
    # list layout: same model
    lst = cls(tol=1e-12, max_iter=20000, **kw).fit([X] * T, list(Y.T),
                                                   sample_weight=np.tile(sw, T))
    np.testing.assert_allclose(lst.coef_, per.coef_, atol=1e-10)
    # predictions: per row of its task, and per design in the list layout
    pred = per.predict(X, tasks=np.full(len(X), 1))
    np.testing.assert_allclose(pred, shared.predict(X)[:, 1], atol=1e-6)
    preds = lst.predict([X] * T)
    np.testing.assert_allclose(np.column_stack(preds), shared.predict(X), atol=1e-6)


def test_task_weight_on_shared_design():
    X, Y = make_problem(n=40, p=10, T=3)
    omega = np.array([1.0, 0.2, 3.0])
    a = mtlfast.MultiTaskLasso(alpha=0.03, tol=1e-12, max_iter=20000).fit(X, Y, task_weight=omega)
    b = mtlfast.MultiTaskLasso(alpha=0.03, tol=1e-12, max_iter=20000).fit(
        np.vstack([X] * 3), Y.T.ravel(), tasks=np.repeat(np.arange(3), len(X)), task_weight=omega)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-10)
    assert a.predict(X).shape == Y.shape          # shared-design semantics kept
    ones = mtlfast.MultiTaskLasso(alpha=0.03, tol=1e-12, max_iter=20000).fit(X, Y, task_weight=np.ones(3))
    plain = mtlfast.MultiTaskLasso(alpha=0.03, tol=1e-12, max_iter=20000).fit(X, Y)
    np.testing.assert_allclose(ones.coef_, plain.coef_, atol=1e-6)
    # a larger weight pulls its task's fit closer to the data
    r = lambda m, t: np.mean((m.predict(X)[:, t] - Y[:, t]) ** 2)
    heavy = mtlfast.MultiTaskLasso(alpha=0.03).fit(X, Y, task_weight=[10.0, 1.0, 1.0])
    assert r(heavy, 0) < r(plain, 0)


def test_score_and_warm_start():
    Xs, ys = _tasks_data()
    X, y, tasks = _long(Xs, ys)
    m = mtlfast.MultiTaskLasso(alpha=0.01, warm_start=True).fit(X, y, tasks=tasks)
    assert m.score(X, y, tasks=tasks) > 0.9
    m.set_params(alpha=0.005).fit(X, y, tasks=tasks)
    assert m.coef_.shape == (3, X.shape[1])


def test_per_task_bad_input():
    Xs, ys = _tasks_data()
    X, y, tasks = _long(Xs, ys)
    m = mtlfast.MultiTaskLasso(alpha=0.05)
    with pytest.raises(ValueError, match="labels but X has"):
        m.fit(X, y, tasks=tasks[:-1])
    bad = tasks.astype(object)
    bad[3] = None
    with pytest.raises(ValueError, match="None"):
        m.fit(X, y, tasks=bad)
    with pytest.raises(ValueError, match="1-D"):
        m.fit(X, np.column_stack([y, y]), tasks=tasks)
    with pytest.raises(ValueError, match="task_weight must have one entry per task"):
        m.fit(X, y, tasks=tasks, task_weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="positive"):
        m.fit(X, y, tasks=tasks, task_weight=[1.0, -2.0, 1.0])
    with pytest.raises(ValueError, match="no rows"):
        m.fit([Xs[0], Xs[1][:0]], [ys[0], ys[1][:0]])
    with pytest.raises(ValueError, match="tasks must not be given"):
        m.fit(Xs, ys, tasks=tasks)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        m.fit(Xn, y, tasks=tasks)
    m.fit(X, y, tasks=tasks)
    with pytest.raises(ValueError, match="pass tasks"):
        m.predict(X)
    with pytest.raises(ValueError, match="not seen during fit"):
        m.predict(X[:2], tasks=["a", "zz"])
    shared = mtlfast.MultiTaskLasso(alpha=0.05).fit(*make_problem(n=20, p=5, T=2))
    with pytest.raises(ValueError, match="shared"):
        shared.predict(np.ones((2, 5)), tasks=[0, 1])


def test_inputs_not_modified():
    Xs, ys = _tasks_data()
    X, y, tasks = _long(Xs, ys)
    X0, y0, t0 = X.copy(), y.copy(), tasks.copy()
    X.setflags(write=False)
    mtlfast.MultiTaskElasticNet(alpha=0.05).fit(X, y, tasks=tasks)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(tasks, t0)


@pytest.mark.parametrize("make", [
    lambda: mtlfast.Lasso(alpha=0.05, tol=1e-3),
    lambda: mtlfast.ElasticNet(alpha=0.05, l1_ratio=0.5, tol=1e-3),
    lambda: mtlfast.TransferLasso(alpha=0.05, beta=0.5, coef_source=np.full(12, 0.1), tol=1e-3),
], ids=["Lasso", "ElasticNet", "TransferLasso"])
def test_separable_per_task_gap_is_the_sum_and_bounds_suboptimality(make):
    """The stated objective is a sum over the tasks: dual_gap_ is the sum of
    the tasks' gaps (task_dual_gaps_) and bounds objective(coef_) - optimum,
    which the largest task gap alone need not."""
    rng = np.random.default_rng(4)
    n_t, p = (40, 25, 60), 12
    Xs = [rng.standard_normal((k, p)) for k in n_t]
    ys = [X @ rng.standard_normal(p) + rng.standard_normal(k) for X, k in zip(Xs, n_t)]
    loose = make().fit(Xs, ys)
    tight = make().set_params(tol=1e-13, max_iter=100000).fit(Xs, ys)
    assert loose.task_dual_gaps_.shape == (3,)
    assert loose.dual_gap_ == pytest.approx(loose.task_dual_gaps_.sum(), rel=1e-12)
    assert loose.dual_gap_ <= loose.eps_

    def objective(est):
        total = 0.0
        for t, (X, y) in enumerate(zip(Xs, ys)):
            r = y - X @ est.coef_[t] - est.intercept_[t]
            total += 0.5 * r @ r / len(y)
        pen = est._make_penalty() if hasattr(est, "_make_penalty") else None
        W = est.coef_.T
        if isinstance(est, mtlfast.TransferLasso):
            S = np.full_like(W, 0.1)
            return total + 0.05 * (0.5 * np.abs(W).sum() + 0.5 * np.abs(W - S).sum())
        return total + pen.value(W)

    sub = objective(loose) - objective(tight)
    assert sub >= -1e-12
    assert sub <= loose.dual_gap_ * (1 + 1e-9) + 1e-12
