"""Prox operators and dual norms: kernel wrappers vs the NumPy reference, and
their defining properties (hypothesis)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from mtlfast import _prox
from mtlfast.penalties import (
    L1, L2, L21, L21L2, ElasticNet, SparseGroupL1L21)
from mtlfast.penalties.row import _sgl_dual_norm_row

PENALTIES = [L1(0.3), L1(0.3, positive=True), ElasticNet(0.5, 0.3), L2(0.7), L21(0.4),
             L21L2(0.6, 0.4), SparseGroupL1L21(0.5, 0.3), SparseGroupL1L21(0.5, 0.0),
             SparseGroupL1L21(0.5, 1.0), L21(0.4, positive=True),
             L21L2(0.6, 0.4, positive=True), SparseGroupL1L21(0.5, 0.3, positive=True)]
floats = st.floats(-10, 10, allow_nan=False, allow_subnormal=False)


@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
def test_kernel_prox_matches_reference(pen):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((50, 6)) * 2
    L = rng.uniform(0.1, 3.0, 50)
    kind, lam1, lam2, tau, positive = pen.kernel_params()
    got = _prox.prox_rows(kind, lam1, lam2, tau, positive, A, L, 1.0)
    # kernel convention: a = L w_old + g, result argmin L/2||w - a/L||^2 + h(w)
    want = pen.prox(A / L[:, None], 1.0 / L)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
def test_kernel_dual_norm_matches_reference(pen):
    rng = np.random.default_rng(1)
    V = rng.standard_normal((40, 7))
    V[0] = 0.0
    V[1, 1:] = 0.0
    kind, _, _, tau, positive = pen.kernel_params()
    np.testing.assert_allclose(_prox.dual_norm_rows(kind, tau, positive, V),
                               pen.dual_norm_rows(V), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(_prox.norm_rows(kind, tau, np.ascontiguousarray(V)),
                               pen.row_norms(V), rtol=1e-13)


@settings(max_examples=60, deadline=None)
@given(v=arrays(np.float64, st.integers(1, 8), elements=floats),
       tau=st.floats(0.01, 0.99))
def test_sgl_dual_norm_is_dual(v, tau):
    """<v, w> <= N^D(v) N(w) for random w, with equality approached at the
    maximizer; and the closed form agrees with bisection."""
    kind = 2
    d = _prox.dual_norm_rows(kind, tau, False, v[None, :])[0]
    assert d == pytest.approx(_sgl_dual_norm_row(v, tau), rel=1e-9, abs=1e-12)
    rng = np.random.default_rng(0)
    pen = SparseGroupL1L21(1.0, tau)
    for w in rng.standard_normal((20, v.size)):
        assert v @ w <= d * pen.row_norms(w[None, :])[0] + 1e-9


@settings(max_examples=60, deadline=None)
@given(a=arrays(np.float64, st.integers(1, 6), elements=floats),
       step=st.floats(0.01, 5.0), which=st.integers(0, len(PENALTIES) - 1))
def test_prox_optimality(a, step, which):
    """p = prox(a) satisfies the KKT condition (a - p)/step in dh(p), and
    is firmly non-expansive against another point."""
    pen = PENALTIES[which]
    p = pen.prox(a[None, :], step)
    # gradient of 1/(2 step)||w - a||^2 at p is (p - a)/step
    assert pen.subdiff_distance(p, (p - a[None, :]) / step)[0] < 1e-9
    b = a[::-1].copy()
    q = pen.prox(b[None, :], step)
    assert np.sum((p - q) ** 2) <= np.dot((p - q)[0], a - b) + 1e-9


@pytest.mark.parametrize("pen", PENALTIES, ids=repr)
def test_kernel_prox_diag_matches_reference(pen):
    """Per-task curvatures (some zero, spread over 4 decades): the kernel's
    row_prox_diag equals the twin's prox_diag, and with equal curvatures both
    reduce to the plain prox."""
    rng = np.random.default_rng(2)
    A = rng.standard_normal((60, 7)) * 2
    L = 10.0 ** rng.uniform(-2, 2, (60, 7))
    L[:5, 0] = 0.0
    A[:5, 0] = 0.0              # a zero column piece has a = 0
    kind, lam1, lam2, tau, positive = pen.kernel_params()
    got = _prox.prox_diag_rows(kind, lam1, lam2, tau, positive, A, L)
    want = np.array([pen.prox_diag(a, l) for a, l in zip(A, L)])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    Liso = np.repeat(L[:, 1:2], 7, axis=1)
    np.testing.assert_allclose(_prox.prox_diag_rows(kind, lam1, lam2, tau, positive, A, Liso),
                               pen.prox(A / Liso[:, :1], 1.0 / Liso[:, 0]), rtol=1e-12,
                               atol=1e-14)


@settings(max_examples=100, deadline=None)
@given(a=arrays(np.float64, st.integers(1, 8), elements=floats),
       logL=arrays(np.float64, 8, elements=st.floats(-3, 3)),
       which=st.integers(0, len(PENALTIES) - 1))
def test_prox_diag_optimality(a, logL, which):
    """w = prox_diag(a, L) satisfies the KKT condition of
    min sum_t L_t/2 (w_t - a_t/L_t)^2 + h(w): a - L w in dh(w)."""
    pen = PENALTIES[which]
    L = 10.0 ** logL[:len(a)]
    w = pen.prox_diag(a, L)
    assert pen.subdiff_distance(w[None, :], (L * w - a)[None, :])[0] < 1e-8 * (1 + np.abs(a).max())


def test_prox_zero_threshold_is_identity_scaling():
    A = np.array([[1.0, -2.0, 3.0]])
    np.testing.assert_allclose(L21(0.0).prox(A, 1.0), A)
    np.testing.assert_allclose(L2(1.0).prox(A, 1.0), A / 2.0)


@settings(max_examples=60, deadline=None)
@given(v=arrays(np.float64, st.integers(1, 8), elements=floats),
       which=st.sampled_from([L21(1.0, positive=True), SparseGroupL1L21(1.0, 0.4, positive=True),
                              L1(1.0, positive=True)]))
def test_positive_dual_norm_is_dual_on_the_orthant(v, which):
    """With W >= 0 the dual norm is that of the positive part: <v, w> <=
    N+(v) N(w) for every w >= 0, with equality at the prox's direction."""
    kind, _, _, tau, _ = which.kernel_params()
    d = _prox.dual_norm_rows(kind, tau, True, v[None, :])[0]
    assert d == pytest.approx(which.dual_norm_rows(v[None, :])[0], rel=1e-9, abs=1e-12)
    rng = np.random.default_rng(0)
    for w in np.abs(rng.standard_normal((20, v.size))):
        assert v @ w <= d * which.row_norms(w[None, :])[0] + 1e-9
    # alpha just above the dual norm: the prox of v is zero; just below, not
    scale = max(d, 1e-12)
    assert not np.any(which.prox(v[None, :], 1.0001 * scale))
