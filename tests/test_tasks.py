"""Per-task designs: labels and layouts, the datafit, and its NumPy
reference solver (equivalence with the shared design, certificates)."""
import numpy as np
import pytest
from scipy import sparse

from mtlfast import reference
from mtlfast.datafits import QuadraticShared
from mtlfast.penalties import L1, L21, ElasticNet, SparseGroupL1L21, L2
from mtlfast.datafits import QuadraticPerTask, check_tasks, codes_for, stack_task_list

from conftest import make_problem


def _per_task(n_t=(12, 30, 7), p=15, seed=0, intercept=True, weights=False, omega=None):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(p) * (rng.random(p) < 0.4)
    Xs = [rng.standard_normal((k, p)) for k in n_t]
    ys = [X @ (w + 0.3 * rng.standard_normal(p)) + rng.standard_normal() + 0.1 *
          rng.standard_normal(len(X)) for X in Xs]
    X, y, tasks = stack_task_list(Xs, ys)
    perm = rng.permutation(len(y))            # rows of tasks interleaved
    sw = rng.uniform(0.3, 2.0, len(y)) if weights else None
    labels, codes = check_tasks(tasks[perm], len(y))
    return QuadraticPerTask(X[perm], y[perm], codes, len(labels), sw, omega, intercept)


def test_labels_sorted_and_codes():
    labels, codes = check_tasks(np.array(["b", "a", "b", "c"]), 4)
    assert list(labels) == ["a", "b", "c"] and list(codes) == [1, 0, 1, 2]
    assert list(codes_for(["c", "a"], labels, 2)) == [2, 0]


@pytest.mark.parametrize("tasks,match", [
    (None, "required"), (np.zeros(3), "3 labels but X has 4"),
    (np.array([0, 1, np.nan, 1]), "NaN"), (np.zeros((4, 1)), "1-D"),
    (np.array([0, None, 1, 1], dtype=object), "None"),
])
def test_bad_labels(tasks, match):
    with pytest.raises(ValueError, match=match):
        check_tasks(tasks, 4)


def test_unseen_label_at_predict():
    with pytest.raises(ValueError, match="not seen during fit"):
        codes_for([0, 5], np.array([0, 1, 2]), 2)


def test_list_layout_errors():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="2 designs but 1 targets"):
        stack_task_list([X, X], [np.ones(3)])
    with pytest.raises(ValueError, match="no rows"):
        stack_task_list([X, np.ones((0, 2))], [np.ones(3), np.ones(0)])
    with pytest.raises(ValueError, match="features"):
        stack_task_list([X, np.ones((3, 4))], [np.ones(3), np.ones(3)])
    with pytest.raises(ValueError, match="1-D with 3"):
        stack_task_list([X], [np.ones(4)])
    with pytest.raises(ValueError, match="mix of sparse and dense"):
        stack_task_list([X, sparse.csc_matrix(X)], [np.ones(3), np.ones(3)])


def test_empty_task_is_an_error():
    X, y = np.ones((3, 2)), np.ones(3)
    with pytest.raises(ValueError, match="no rows"):
        QuadraticPerTask(X, y, np.array([0, 0, 2]), 3)


@pytest.mark.parametrize("pen", [L21(0.05), L1(0.03), ElasticNet(0.05, 0.5),
                                 SparseGroupL1L21(0.05, 0.3), L2(0.2)], ids=repr)
@pytest.mark.parametrize("weights", [False, True])
def test_identical_designs_equal_shared_design(pen, weights):
    """Same X for every task: objective, gap and optimum of the shared form."""
    X, Y = make_problem(n=40, p=12, T=3)
    n, T = Y.shape
    sw = np.random.default_rng(1).uniform(0.5, 2, n) if weights else None
    shared = QuadraticShared(X, Y, sw, True)
    Xl = np.vstack([X] * T)
    yl = Y.T.ravel()
    codes = np.repeat(np.arange(T), n)
    df = QuadraticPerTask(Xl, yl, codes, T, None if sw is None else np.tile(sw, T), None, True)
    W_sh, gap_sh, _ = (reference.bcd(shared.design_dense(), shared.Y, pen, max_epochs=3000,
                                     tol=1e-14) if not pen.separable else (None, None, None))
    W, gap, _ = reference.bcd_tasks(df, pen, max_epochs=3000, tol=1e-14)
    Xd, Yd = shared.design_dense(), shared.Y
    if W_sh is None:
        W_sh = np.column_stack([reference.bcd(Xd, Yd[:, [t]], pen, max_epochs=3000, tol=1e-14)[0][:, 0]
                                for t in range(T)])
    np.testing.assert_allclose(W, W_sh, atol=1e-6)
    # at the same point both forms give the same objective and gap
    Wr = np.random.default_rng(2).standard_normal(W.shape) * 0.1
    assert reference.objective_tasks(df, Wr, pen) == pytest.approx(
        reference.objective(Xd, Yd, Wr, pen), rel=1e-12)
    if not pen.separable:
        assert reference.duality_gap_tasks(df, Wr, pen) == pytest.approx(
            reference.duality_gap(Xd, Yd, Wr, pen), rel=1e-10)
    np.testing.assert_allclose(df.intercept(W), shared.intercept(W), atol=1e-6)


@pytest.mark.parametrize("pen", [L21(0.02), L1(0.02), ElasticNet(0.03, 0.7)], ids=repr)
@pytest.mark.parametrize("weights,omega", [(False, None), (True, [1.0, 0.2, 3.0])])
def test_reference_converges_with_certificate(pen, weights, omega):
    df = _per_task(weights=weights, omega=omega)
    W, gap, ep = reference.bcd_tasks(df, pen, max_epochs=3000, tol=1e-7)
    assert gap <= 1e-7 * float(df.y_eff @ df.y_eff) + 1e-15
    # KKT on the effective problem: gradient of the data term + subgradient
    grad = -df.xtr(df.residual(W))
    assert pen.subdiff_distance(W, grad).max() < 1e-3
    # a perturbed point has a larger objective, and its gap bounds the difference
    W2 = W + 1e-3 * np.random.default_rng(0).standard_normal(W.shape)
    f, f2 = reference.objective_tasks(df, W, pen), reference.objective_tasks(df, W2, pen)
    assert f2 >= f - 1e-12
    assert f2 - f <= reference.duality_gap_tasks(df, W2, pen) + 1e-12
