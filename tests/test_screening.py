"""Gap-safe screening: the rule is safe (screened rows are zero at the
optimum), it screens something near the optimum, and the kernels reach the
same optimum with and without it, with a gap that still certifies it."""
import numpy as np
import pytest

from mtlfast import reference
from mtlfast.penalties import L1, L21, L21L2, ElasticNet, SparseGroupL1L21
from mtlfast.solvers import solve_shared as solve

from test_reference_vs_kernel import _datafit

SCREENED_PENALTIES = [L1(0.05), L1(0.05, positive=True), ElasticNet(0.05, 0.5), L21(0.1),
                      L21L2(0.1, 0.7), SparseGroupL1L21(0.08, 0.4), L21(0.1, positive=True)]


def _optimum(df, pen):
    """High-precision optimum (kernel without screening, plain epochs: itself
    checked against the reference in test_reference_vs_kernel)."""
    res = solve(df, pen, max_iter=100000, tol=1e-15, strategy="cd", screening=False)
    return res.coef.T.astype(float)


@pytest.mark.parametrize("pen", SCREENED_PENALTIES, ids=repr)
def test_rule_is_safe_and_not_vacuous(pen):
    df = _datafit("dense", False, True, n=50, p=80, T=3)
    X, Y = df.design_dense(), df.Y
    W_star = _optimum(df, pen)
    zero_rows = ~np.any(W_star != 0, axis=1)
    cols = range(Y.shape[1]) if pen.separable else [slice(None)]
    n_screened = 0
    for epochs in (1, 3, 10, 50):
        W = reference.bcd(X, Y, pen, max_epochs=epochs)[0]
        for c in cols:
            Yc, Wc = Y[:, c].reshape(len(Y), -1), W[:, c].reshape(len(W), -1)
            mask = reference.gap_safe_screen(X, Yc, Wc, pen)
            zc = ~np.any(W_star[:, c].reshape(len(W), -1) != 0, axis=1)
            assert not np.any(mask & ~zc), "a feature nonzero at the optimum was screened"
            n_screened += mask.sum()
    # near the optimum the sphere is small: most zero rows go
    assert n_screened > 0.5 * zero_rows.sum()


@pytest.mark.parametrize("pen", SCREENED_PENALTIES, ids=repr)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
@pytest.mark.parametrize("strategy,screen_freq", [("cd", 0), ("cd", 3), ("ws", 0)])
def test_screening_reaches_the_same_optimum(pen, fmt, strategy, screen_freq):
    df = _datafit(fmt, True, True, n=60, p=150, T=4)
    X, Y = df.design_dense(), df.Y
    on = solve(df, pen, max_iter=20000, tol=1e-12, strategy=strategy, screening=True,
               screen_freq=screen_freq)
    off = solve(df, pen, max_iter=20000, tol=1e-12, strategy=strategy, screening=False)
    np.testing.assert_allclose(on.coef, off.coef, atol=1e-6)
    f_star = reference.objective(X, Y, _optimum(df, pen), pen)
    for res in (on, off):
        f = reference.objective(X, Y, res.coef.T.astype(float), pen)
        # the reported gap bounds the suboptimality (restricted gap included)
        assert f - f_star <= res.gaps.sum() + 1e-12


def test_loose_tolerance_certificate_with_screening():
    """At a loose tolerance the working-set solver stops on the gap of the
    screened problem: it must still bound the true suboptimality."""
    df = _datafit("dense", False, False, n=80, p=400, T=5)
    X, Y = df.design_dense(), df.Y
    pen = L21(0.02)
    f_star = reference.objective(X, Y, _optimum(df, pen), pen)
    for tol in (1e-2, 1e-3, 1e-4, 1e-6):
        res = solve(df, pen, tol=tol, strategy="ws", screening=True)
        f = reference.objective(X, Y, res.coef.T.astype(float), pen)
        assert 0 <= f - f_star + 1e-13 and f - f_star <= res.gaps.sum() + 1e-12
        assert res.gaps.sum() <= tol * np.sum(Y ** 2) / X.shape[0]
