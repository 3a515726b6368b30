# The logistic kernel's numerics (mtlfast._pn_logistic; the driver's hooks and
# the entry live there): the scratch of a solve (Work), the duality gap with
# the intercepts refitted, the quadratic model's passes and the proximal
# Newton step with its Armijo line search. Twin: mtlfast.reference.pn_logistic.
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport exp, expm1, log, log1p, fabs, fmax, fmin, INFINITY, isfinite

from mtlfast._kinds cimport ARMIJO, MAX_HALVINGS, UNDECIDABLE, INNER_FRACTION, H_FLOOR
from mtlfast._prox cimport (Penalty, row_prox_diag, row_norm, row_dual_norm, pen_factor,
                            feature_dual_norm)
from mtlfast._workset cimport ScoredFeature
from mtlfast._logdesign cimport LogDesign, _piece, _wdot, _model_terms, _wupdate, _apply
from mtlfast._logloss cimport (_loss, _loss_change, _pen_change, _pen_total,
                               _optimal_intercept, _expit, _xlogx, _logaddexp0)


ctypedef struct Work:
    # per row (N)
    double* z          # A(W) + b
    double* a          # A(W)
    double* h          # the model's weights c p (1 - p)
    double* rho        # c (y - p)
    double* u          # A(D) (+ Db for the line search)
    double* hu         # h * u
    # per (feature, task), j * T + t
    double* XtA        # the gap's A^T rho - lam2 W, then the model's gradient G
    double* H
    double* S
    double* Hc         # H with the intercepts eliminated
    # the step D, t * p + j like coef
    double* Dm
    # per task t
    double* Gb
    double* Hb
    double* Db
    double* m
    double* gbv
    # a block's scratch: one entry per task of the block
    double* row
    double* buf
    double* ar
    double* Hr
    # a block's scratch: one entry per feature
    int* act           # the nonzero rows of the features of a step
    double* norms2
    ScoredFeature* sc
    int n_threads      # threads for the per-feature passes (gaps, model) of a block


cdef double _refit_intercepts(const LogDesign* D, const Penalty* pen, const floating* coef,
                              double* intercept, bint fit_intercept, int t0, int nt,
                              const double* y, const double* c, const int* feats,
                              int n_feats, Work* w, bint with_gap, double* dn,
                              double* norms2) noexcept nogil


cdef void _newton_step(const LogDesign* D, const Penalty* pen, floating* coef,
                       double* intercept, bint fit_intercept, int t0, int nt,
                       const double* y, const double* c, const int* feats, int n_feats,
                       double tol_in, int max_inner, double gap_target,
                       Work* w) noexcept nogil
