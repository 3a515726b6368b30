"""The engine's contracts: the support table, the datafit protocol, the one
enum, and the former module paths (re-export shims for one release)."""
import numpy as np
import pytest
from scipy import sparse

from mtlfast import _kinds
from mtlfast import penalties as P
from mtlfast.datafits import QuadraticShared, QuadraticPerTask, LogisticPerTask
from mtlfast.solvers import (SUPPORT, solve, solver_for, solve_structured, solve_logistic,
                             solve_structured_logistic)


def _data(seed=0, n=60, p=12, T=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    Y = X[:, :3] @ rng.standard_normal((3, T)) + rng.standard_normal((n, T))
    codes = np.repeat(np.arange(T), n // T)
    return X, Y, codes


def _datafits():
    X, Y, codes = _data()
    y = Y[np.arange(len(codes)), codes]
    return {"shared": QuadraticShared(X, Y, None, True),
            "pertask": QuadraticPerTask(X, y, codes, 3, None, None, True),
            "logistic": LogisticPerTask(X, (y > np.median(y)).astype(float), codes, 3)}


@pytest.mark.parametrize("name", ["shared", "pertask", "logistic"])
def test_datafit_protocol_alpha_max_gives_zero_and_below_does_not(name):
    """alpha_max from the protocol (datafit.alpha_max(penalty)) is the
    smallest alpha with W = 0: the solve at alpha_max stays at 0, just below
    it does not."""
    df = _datafits()[name]
    a_max = df.alpha_max(P.L21(1.0))
    assert a_max > 0
    grad = df.gradient(np.zeros((df.n_features, df.n_tasks)))
    assert grad.shape == (df.n_features, df.n_tasks)
    assert df.curvatures().shape == (df.n_features, df.n_tasks)
    opts = {"max_iter": 2000, "tol": 1e-10}
    at = solve(df, P.L21(a_max * (1 + 1e-9)), None, **opts)
    below = solve(df, P.L21(a_max * 0.95), None, **opts)
    assert not np.any(at.coef)
    assert np.any(below.coef)


def test_support_table_rejects_unsupported_pairs_clearly():
    dfs = _datafits()
    model = P.Transfer(0.1, 0.5, np.zeros((12, 3)))
    assert solver_for(dfs["logistic"], model) is solve_structured_logistic
    with pytest.raises(NotImplementedError, match="datafit QuadraticShared with penalty Transfer"):
        solve(dfs["shared"], model)
    assert solver_for(dfs["pertask"], model) is solve_structured
    assert solver_for(dfs["logistic"], P.L1(0.1)) is solve_logistic
    # every (datafit, penalty family) of the table runs and certifies
    for df_type, rows in SUPPORT.items():
        df = next(d for d in dfs.values() if type(d) is df_type)
        for allowed, fn in rows:
            pen = (P.L21(0.05) if P.L21 in allowed else
                   P.TwoPart(P.L21(0.05), P.L1(0.1)))
            res = solve(df, pen, None, max_iter=5000, tol=1e-8)
            assert np.all(np.isfinite(res.gaps)) and res.gaps.sum() >= -1e-12


def test_one_enum_for_python_and_kernels():
    assert int(P.NORM_L1) == int(_kinds.NormKind.NORM_L1) == 0
    assert P.L1(1.0).kind == _kinds.NormKind.NORM_L1
    assert P.L21(1.0).kind == _kinds.NormKind.NORM_L21
    assert P.SparseGroupL1L21(1.0, 0.5).kind == _kinds.NormKind.NORM_SGL
    assert P.L2(1.0).kind == _kinds.NormKind.NORM_L1      # ridge: the L1 norm with lam1 = 0
    assert P.TwoPart(P.L1(1.0), P.L1(1.0)).kind == _kinds.ModelKind.MOD_TWO_PART
    assert _kinds.CONSTANTS["GRAPH_MAX_INNER"] == 200


def test_former_module_paths_still_work_and_agree():
    """mtlfast.solver / tasks / structured / logistic are shims over the new
    layout, with their former return conventions."""
    from mtlfast.solver import solve as old_solve, solve_structured as old_structured
    from mtlfast.tasks import QuadraticPerTask as OldQPT, check_tasks  # noqa: F401
    from mtlfast.structured import TwoPart, bcd_structured  # noqa: F401
    from mtlfast.logistic import solve_logistic as old_logistic, prox_newton  # noqa: F401
    dfs = _datafits()
    assert OldQPT is QuadraticPerTask
    new = solve(dfs["shared"], P.L21(0.05), None, tol=1e-8)
    old = old_solve(dfs["shared"], P.L21(0.05), tol=1e-8)
    np.testing.assert_array_equal(new.coef, old.coef)
    model = TwoPart(P.L21(0.05), P.L1(0.1))
    parts, n_iter, gaps = old_structured(dfs["pertask"], model, tol=1e-8)
    res = solve_structured(dfs["pertask"], model, tol=1e-8)
    np.testing.assert_array_equal(parts[0], res.parts[0])
    np.testing.assert_array_equal(gaps, res.gaps)
    W, b, gap, it = old_logistic(dfs["logistic"], P.L1(0.02), tol=1e-8)
    res = solve_logistic(dfs["logistic"], P.L1(0.02), tol=1e-8)
    np.testing.assert_array_equal(W, res.coef.T)
    assert gap == res.gaps.sum() and it == res.n_iter.max()


def test_kernel_design_objects_are_named_and_typed():
    X, Y, codes = _data()
    Xs = sparse.csc_matrix(X * (np.abs(X) > 0.5))
    y = Y[np.arange(len(codes)), codes].astype(np.float32)
    d = QuadraticPerTask(Xs.astype(np.float32), y, codes, 3, None, None, True).kernel_design()
    assert d.is_sparse and not d.shared and d.X_data.dtype == np.float32
    assert d.ptr.shape == (12 * 4,) and d.ptr.dtype == np.intc
    assert d.X_mean.shape == (3, 12)
    ls = LogisticPerTask.from_shared(Xs, (Y > 0).astype(float)).kernel_design()
    assert ls.shared and ls.ptr.shape == (13,) and ls.c.shape == (3 * 60,)
