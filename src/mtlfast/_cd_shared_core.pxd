# The shared-design kernel's numerics (mtlfast._cd_shared; the driver's
# hooks and the entry live there): the dual constraints X^T R - n lam2 W and
# the duality gap (block_gap), the proximal block coordinate epochs (_epoch;
# the blocked BLAS-3 epochs are in _blocked.pxd) and gap-safe screening.
# Everything is in the n-scaled objective of mtlfast._cd_shared.
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from libc.stdint cimport uint32_t
from libc.math cimport fabs, fmax

from mtlfast._prox cimport Penalty, row_prox, row_norm, row_dual_norm
from mtlfast._design cimport (Design, col_dot, col_update, flush_residual, col_dot_rows,
                              col_update_rows)
from mtlfast._blas cimport _gemm
from mtlfast._gap cimport quadratic_gap, SafeBall, safe_ball, safely_zero
from mtlfast._blocked cimport BlockScratch, epoch_blocked


cdef enum:
    GAP_BLOCK = 64    # features per gemm block in the dense full gap


cdef double block_gap(const Design* D, const Penalty* pen,
                      const floating* W, Py_ssize_t ldw,     # in
                      floating* Rs, Py_ssize_t rt, int si,   # in/out: flushed
                      double* c,
                      const floating* Y, int T,              # in
                      const int* ws, int n_ws,               # in: features (NULL = all)
                      double* XtA, double* buf,              # scratch (p*T), (T)
                      double* dn_out,                        # out: N^D(XtA) max
                      int n_threads) noexcept nogil


cdef int _screen(const Design* D, const Penalty* pen, const double* norms2,
                 floating* W, Py_ssize_t ldw, floating* Rs, Py_ssize_t rt, int si,
                 double* c, int T, const double* XtA, double dn, double gap,
                 int* act, int n_act, double* buf) noexcept nogil


cdef void _run_epoch(const Design* D, const Penalty* pen, const double* norms2,
                            floating* W, Py_ssize_t ldw, floating* Rs, Py_ssize_t rt,
                            int si, double* c, int T,
                            const int* ws, int n_ws, bint random, uint32_t* state,
                            BlockScratch* S, double* a, double* w_old,
                            double* w_max, double* d_w_max, int n_threads) noexcept nogil


cdef double _sq_norm(const floating* y, int n) noexcept nogil
