# The quadratic datafit's duality gap from sufficient statistics, and the
# gap-safe screening test, shared by the shared-design and per-task kernels
# (scikit-learn's dual_gap_formulation_A makes the same move).
#
# Primal: 1/2 ||R||^2 + lam1 sum_j N(W_j) + lam2/2 ||W||^2, R = Y - A(W)
# (the shared-design kernel passes its n-scaled strengths, n lam1 and n lam2;
# the per-task kernel its plain ones). XtA_j = A_j^T R - lam2 W_j.
from libc.math cimport fmax, sqrt


cdef inline double dual_scale(double lam1, double dn) noexcept nogil:
    """min(1, lam1 / dn): the residual rescaled into the dual feasible set
    (dn = max_j N^D(XtA_j))."""
    return 1.0 if dn <= lam1 else lam1 / dn


cdef inline double quadratic_gap(double lam1, double lam2,           # in: strengths
                                 double R_norm2, double RY,          # in: ||R||^2, <R, Y>
                                 double W_norm2, double NW,          # in: ||W||^2, sum_j N(W_j)
                                 double dn,                          # in: max_j N^D(XtA_j)
                                 double XtR_norm2) noexcept nogil:   # in: ||A^T R||^2 (ridge only)
    """Duality gap at W.

    lam1 > 0: scikit-learn's construction, dual point cst R with
    cst = dual_scale(lam1, dn) (the elastic net as a lasso on the augmented
    design [A; sqrt(lam2) I]):
        gap = (1+cst^2)/2 ||R||^2 + lam1 N(W) - cst <R, Y> + lam2 (1+cst^2)/2 ||W||^2
    lam1 = 0 < lam2 (ridge): the exact Fenchel dual at R:
        gap = ||R||^2 + lam2/2 ||W||^2 - <R, Y> + ||A^T R||^2 / (2 lam2)
    no penalty (least squares): the first formula with lam1 = 0, as
    scikit-learn does: cst = 0 unless A^T R = 0, i.e. gap = ||R||^2 / 2; it
    vanishes only for an exact fit (R = 0)."""
    cdef double cst
    if lam1 > 0.0:
        cst = dual_scale(lam1, dn)
        return (0.5 * (1.0 + cst * cst) * R_norm2 + lam1 * NW - cst * RY
                + 0.5 * lam2 * (1.0 + cst * cst) * W_norm2)
    if lam2 > 0.0:
        return R_norm2 + 0.5 * lam2 * W_norm2 - RY + 0.5 * XtR_norm2 / lam2
    return 0.5 * R_norm2 if dn > 0.0 else R_norm2 - RY


ctypedef struct SafeBall:
    # the gap-safe sphere (Fercoq, Gramfort, Salmon 2015; Ndiaye et al. 2017)
    double cst        # dual scaling of the residual (the ball's center)
    double radius     # sqrt(2 gap): the dual objective is strongly concave
    double bound      # lam1 less a relative rounding margin


cdef inline SafeBall safe_ball(double lam1, double dn, double gap,
                               double margin) noexcept nogil:
    """The ball right after a gap: the dual optimum lies within
    sqrt(2 gap) / lam1 of the dual point cst R / lam1. margin: near
    convergence the ball shrinks to nothing while an active feature's
    N^D(XtA_j) equals lam1 only up to the residual's rounding, so the test
    keeps a relative margin (1e-9 in float64, 1e-4 in float32)."""
    cdef SafeBall s
    s.cst = dual_scale(lam1, dn)
    s.radius = sqrt(fmax(2.0 * gap, 0.0))
    s.bound = lam1 * (1.0 - margin)
    return s


cdef inline bint safely_zero(const SafeBall* s, double dual_norm_j,
                             double curvature_j) noexcept nogil:
    """Feature j's dual constraint holds strictly on the whole ball, so its
    row is zero at every optimum:
        cst N^D(XtA_j) + radius sqrt(curvature_j) < bound
    with curvature_j = ||A_aug_j||^2 (= ||A_j||^2 + lam2; every row penalty
    here has N^D(v) <= ||v||_2, so the ball's image stays inside the dual
    unit ball)."""
    return s.cst * dual_norm_j + s.radius * sqrt(curvature_j) < s.bound


cdef inline bint feature_safely_zero(const SafeBall* s, double dual_norm_j, double norm2_j,
                                     double lam2, double pf_j) noexcept nogil:
    """safely_zero for feature j with penalty factor pf_j: its constraint
    N^D(XtA_j) <= lam1 pf_j on the ball, i.e. the test on the column and the
    dual norm divided by pf_j (curvature (||A_j||^2 + lam2 pf_j) / pf_j^2).
    An unpenalized feature (pf_j = 0) is never screened."""
    if pf_j <= 0.0:
        return False
    if pf_j == 1.0:
        return safely_zero(s, dual_norm_j, norm2_j + lam2)
    return s.cst * (dual_norm_j / pf_j) + s.radius * (sqrt(norm2_j + lam2 * pf_j) / pf_j) < s.bound
