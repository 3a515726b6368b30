"""Python-callable wrappers of the inline prox / dual-norm kernels (for tests
and for the reference twin to be checked against)."""
import numpy as np
from libc.stdlib cimport malloc, free
from mtlfast._prox cimport Penalty, make_penalty, row_prox, row_prox_diag, row_norm, row_dual_norm


def prox_rows(int kind, double lam1, double lam2, double tau, bint positive,
              const double[:, ::1] A, const double[::1] L, double scale=1.0):
    """Row-wise prox: out[j] = argmin_w L_j/2 ||w - A_j/L_j||^2 + scale*h(w).

    A : (p, T) holds L_j * w_old + X_j^T R per row. Returns a new (p, T) array.
    """
    cdef Penalty pen = make_penalty(kind, lam1, lam2, tau, positive)
    out = np.array(A, dtype=np.float64, order="C", copy=True)
    cdef double[:, ::1] o = out
    cdef Py_ssize_t j
    for j in range(o.shape[0]):
        row_prox(&pen, &o[j, 0], <int> o.shape[1], L[j], scale)
    return out


def prox_diag_rows(int kind, double lam1, double lam2, double tau, bint positive,
                   const double[:, ::1] A, const double[:, ::1] L, double scale=1.0):
    """Row-wise exact minimization with per-task curvatures:
    out[j] = argmin_w sum_t L[j,t]/2 (w_t - A[j,t]/L[j,t])^2 + scale*h(w)."""
    cdef Penalty pen = make_penalty(kind, lam1, lam2, tau, positive)
    if L.shape[0] != A.shape[0] or L.shape[1] != A.shape[1]:
        raise ValueError("A and L must have the same shape")
    out = np.array(A, dtype=np.float64, order="C", copy=True)
    cdef double[:, ::1] o = out
    cdef Py_ssize_t j
    for j in range(o.shape[0]):
        row_prox_diag(&pen, &o[j, 0], <int> o.shape[1], &L[j, 0], scale)
    return out


def norm_rows(int kind, double tau, const double[:, ::1] W):
    """N(W_j) for every row: returns (p,) array."""
    cdef Penalty pen = make_penalty(kind, 0.0, 0.0, tau, False)
    out = np.empty(W.shape[0])
    cdef double[::1] o = out
    cdef Py_ssize_t j
    for j in range(W.shape[0]):
        o[j] = row_norm(&pen, &W[j, 0], <int> W.shape[1])
    return out


def dual_norm_rows(int kind, double tau, bint positive, const double[:, ::1] V):
    """N^D(V_j) for every row: returns (p,) array."""
    cdef Penalty pen = make_penalty(kind, 0.0, 0.0, tau, positive)
    out = np.empty(V.shape[0])
    cdef double[::1] o = out
    cdef double* buf = <double*> malloc(max(V.shape[1], 1) * sizeof(double))
    cdef Py_ssize_t j
    try:
        for j in range(V.shape[0]):
            o[j] = row_dual_norm(&pen, &V[j, 0], <int> V.shape[1], buf)
    finally:
        free(buf)
    return out
