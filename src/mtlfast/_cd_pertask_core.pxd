# The per-task quadratic kernel's numerics (mtlfast._cd_pertask; the driver's
# hooks and the entry live there): the dual constraints A_j^T r - lam2 W_j
# and the duality gap, gap-safe screening of rows, and the exact row epochs.
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport fabs, fmax

from mtlfast._prox cimport (Penalty, row_prox_diag, row_norm, row_dual_norm, pen_factor,
                            feature_dual_norm)
from mtlfast._taskdesign cimport TaskDesign, piece_dot, piece_update, piece_norm2, flush
from mtlfast._gap cimport quadratic_gap, SafeBall, safe_ball, feature_safely_zero


cdef void _xta_pass(const TaskDesign* D, const Penalty* pen, const floating* W,
                    floating* r, int t0, int nt, const int* ws, int m, double* XtA,
                    double* L, int n_threads) noexcept nogil


cdef double _gap_from_xta(const TaskDesign* D, const Penalty* pen, const floating* W,
                          const floating* r, const floating* y, int t0, int nt,
                          const int* ws, int m, const double* XtA, double* buf,
                          double* dn_out) noexcept nogil


cdef double tasks_gap(const TaskDesign* D, const Penalty* pen, const floating* W,
                      floating* r, const floating* y, int t0, int nt,
                      const int* ws, int m, double* XtA, double* buf, double* dn_out,
                      int n_threads) noexcept nogil


cdef int screen_rows(const TaskDesign* D, const Penalty* pen, floating* W, floating* r,
                     const double* Lmax, int t0, int nt, const double* XtA, double dn,
                     double* buf, double gap, int* act, int n_act) noexcept nogil


cdef void _epoch(const TaskDesign* D, const Penalty* pen, const double* L,
                 const double* Lmax, floating* W, floating* r, int t0, int nt,
                 const int* feats, int m, double* a, double* w_old, double* w_max,
                 double* d_w_max) noexcept nogil
