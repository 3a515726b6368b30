# Anderson extrapolation of the epochs' iterates (celer / skglm style), for any
# quadratic kernel (mtlfast._cd_shared, mtlfast._cd_pertask): every K+1 epochs
# the iterate is replaced by the affine combination of the last K+1 that
# minimizes the norm of their differences, when that lowers the objective.
# The kernel gives the rows W[t * ldw + j] of its block's tasks and its
# residual as one flushed vector (no pending implicit-centering shift).
from cython cimport floating
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy
from libc.math cimport fabs, fmax

from mtlfast._prox cimport Penalty, NORM_L1, row_norm, pen_factor


ctypedef struct Anderson:
    # Anderson extrapolation of the working-set iterates (celer / skglm style)
    int K           # extrapolate from K+1 consecutive iterates
    int count       # iterates stored since the last extrapolation
    double* Wk      # (K+1) x (n_ws*T) stored working-set rows
    void* Rk        # (K+1) x n_r stored residuals (floating)
    double* M       # K x K
    double* z       # K
    Py_ssize_t cap  # capacity of Wk, in doubles


cdef void anderson_reserve(Anderson* A, int n_ws, int T) noexcept nogil


cdef void anderson_alloc(Anderson* A, int K, Py_ssize_t n_r, size_t item) noexcept nogil


cdef void anderson_free(Anderson* A) noexcept nogil


cdef bint anderson_step(Anderson* A, const Penalty* pen,
                               floating* W, Py_ssize_t ldw, int T,     # in/out: the block's rows
                               const int* ws, int n_ws,                # in: the epochs' features
                               floating* Rs, Py_ssize_t nT,            # in/out: flushed residual
                               double n,                               # in: the penalty's scale
                               bint extrapolate_residual) noexcept nogil
