"""Block coordinate descent for a shared design X (n x p) and targets Y (n x T).

Objective (multiplied by n inside the kernels, divided back on return):

    1/(2n) ||Y - X_eff W||_F^2 + sum_j h(W[j, :])

with h a row penalty from mtlfast._prox (L1 / elastic net / ridge, L2,1 /
multi-task elastic net, sparse-group). W is stored as coef (T, p), C-ordered,
so W[j, t] = coef[t, j]. Separable penalties (PEN_L1) are solved task by task
in parallel; coupled ones (L2,1, sparse-group) update a whole row per step.

Stopping rule (scikit-learn's): after an epoch whose largest coefficient change
relative to the largest coefficient is <= tol, every `gap_freq` epochs, and at
the last epoch, compute the duality gap; stop when gap <= tol * ||Y_block||_F^2
(in the n-scaled objective). tol < 0 never stops (used to run exact epochs).
"""
import numpy as np
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport malloc, free
from libc.stdint cimport uint32_t
from libc.math cimport fabs, fmax

from mtlfast._prox cimport Penalty, PEN_L1, row_prox, row_norm, row_dual_norm
from mtlfast._design cimport Design, col_dot, col_update, flush_residual, col_norm2


cdef inline uint32_t _xorshift(uint32_t* state) noexcept nogil:
    cdef uint32_t x = state[0]
    x ^= x << 13
    x ^= x >> 17
    x ^= x << 5
    state[0] = x
    return x


cdef inline int _rand_int(int end, uint32_t* state) noexcept nogil:
    """Uniform-ish integer in [0, end)."""
    return <int> (_xorshift(state) % <uint32_t> end)


cdef void _xta_row(const Design* D, const Penalty* pen, int j,
                   const floating* W, Py_ssize_t ldw, const floating* Rs,
                   int T, double* XtA) noexcept nogil:
    """XtA[j, :] = X_eff[:, j]^T R - n lam2 W[j, :]   (R already flushed)."""
    cdef int t, n = D.n_samples
    for t in range(T):
        XtA[<Py_ssize_t> j * T + t] = (col_dot(D, j, Rs + <Py_ssize_t> t * n, 0.0)
                                      - n * pen.lam2 * W[t * ldw + j])


cdef double block_gap(const Design* D, const Penalty* pen,
                      const floating* W, Py_ssize_t ldw,     # in
                      floating* Rs, double* c,               # in/out: flushed
                      const floating* Y, int T,              # in
                      double* XtA, double* buf,              # scratch (p*T), (T)
                      int n_threads) noexcept nogil:
    """Duality gap of the block in the n-scaled objective.

    lam1 > 0: scikit-learn's construction, dual point theta = cst * R with
    cst = min(1, n lam1 / N^D(X^T R - n lam2 W)) (the elastic net written as a
    lasso on the augmented design [X; sqrt(n lam2) I]):
        gap = (1+cst^2)/2 ||R||^2 + n lam1 N(W) - cst <R, Y> + n lam2 (1+cst^2)/2 ||W||^2
    lam1 = 0 (ridge): the exact Fenchel dual at theta = R:
        gap = ||R||^2 + n lam2/2 ||W||^2 - <R, Y> + ||X^T R||^2 / (2 n lam2)
    """
    cdef int n = D.n_samples, p = D.n_features
    cdef int j, t, i
    cdef double lam1n = n * pen.lam1, lam2n = n * pen.lam2
    cdef double R_norm2 = 0.0, RY = 0.0, W_norm2 = 0.0, NW = 0.0
    cdef double dn = 0.0, cst, gap, xtr, XtR_norm2 = 0.0
    cdef const floating* r
    cdef const floating* y

    for t in range(T):
        flush_residual(D, Rs + <Py_ssize_t> t * n, &c[t])

    if n_threads > 1:
        for j in prange(p, schedule='static', num_threads=n_threads, nogil=True):
            _xta_row(D, pen, j, W, ldw, Rs, T, XtA)
    else:
        for j in range(p):
            _xta_row(D, pen, j, W, ldw, Rs, T, XtA)

    for t in range(T):
        r = Rs + <Py_ssize_t> t * n
        y = Y + <Py_ssize_t> t * n
        for i in range(n):
            R_norm2 += <double> r[i] * r[i]
            RY += <double> r[i] * y[i]
    for j in range(p):
        for t in range(T):
            buf[t] = W[t * ldw + j]
            W_norm2 += buf[t] * buf[t]
        NW += row_norm(pen, buf, T)

    if lam1n > 0.0:
        for j in range(p):
            dn = fmax(dn, row_dual_norm(pen, &XtA[<Py_ssize_t> j * T], T, buf))
        cst = 1.0 if dn <= lam1n else lam1n / dn
        gap = (0.5 * (1.0 + cst * cst) * R_norm2 + lam1n * NW - cst * RY
               + 0.5 * lam2n * (1.0 + cst * cst) * W_norm2)
    elif lam2n > 0.0:
        for j in range(p):
            for t in range(T):
                xtr = XtA[<Py_ssize_t> j * T + t] + lam2n * W[t * ldw + j]
                XtR_norm2 += xtr * xtr
        gap = R_norm2 + 0.5 * lam2n * W_norm2 - RY + 0.5 * XtR_norm2 / lam2n
    else:
        # no penalty (least squares): no closed-form dual point; report the
        # residual-based bound scikit-learn uses, which vanishes only at R = 0.
        gap = R_norm2 - RY
    return gap


cdef int block_solve(const Design* D, const Penalty* pen, const double* norms2,
                     floating* W, Py_ssize_t ldw,             # in/out
                     floating* Rs, double* c,                 # in/out
                     const floating* Y, int T,                # in
                     int max_iter, double tol, int gap_freq,
                     bint random, uint32_t seed, int n_threads,
                     double* gap_out) noexcept nogil:
    """Solve one block of tasks; returns the number of epochs run.

    Scratch is allocated here so blocks can run concurrently. On allocation
    failure returns -1.
    """
    cdef int n = D.n_samples, p = D.n_features
    cdef int it, jj, j, t, n_iter = 0
    cdef double L, delta, w_max, d_w_max, gap, tol_abs = 0.0
    cdef floating w_new
    cdef uint32_t state = seed if seed != 0 else 0x9E3779B9u
    cdef const floating* y
    cdef double* XtA = <double*> malloc(<size_t> p * T * sizeof(double))
    cdef double* a = <double*> malloc(<size_t> T * sizeof(double))
    cdef double* w_old = <double*> malloc(<size_t> T * sizeof(double))
    cdef double* buf = <double*> malloc(<size_t> T * sizeof(double))
    if XtA == NULL or a == NULL or w_old == NULL or buf == NULL:
        free(XtA); free(a); free(w_old); free(buf)
        return -1

    for t in range(T):
        y = Y + <Py_ssize_t> t * n
        tol_abs += _sq_norm(y, n)
    tol_abs *= tol

    gap = block_gap(D, pen, W, ldw, Rs, c, Y, T, XtA, buf, n_threads)
    if gap > tol_abs:
        for it in range(max_iter):
            w_max = 0.0
            d_w_max = 0.0
            for jj in range(p):
                j = _rand_int(p, &state) if random else jj
                L = norms2[j]
                if L == 0.0:
                    # zero column: the row's optimum is the penalty's minimizer, 0
                    for t in range(T):
                        W[t * ldw + j] = 0.0
                    continue
                for t in range(T):
                    w_old[t] = W[t * ldw + j]
                    a[t] = L * w_old[t] + col_dot(D, j, Rs + <Py_ssize_t> t * n, c[t])
                row_prox(pen, a, T, L, n)
                for t in range(T):
                    w_new = <floating> a[t]
                    delta = w_new - w_old[t]
                    if delta != 0.0:
                        col_update(D, j, delta, Rs + <Py_ssize_t> t * n, &c[t])
                        W[t * ldw + j] = w_new
                        d_w_max = fmax(d_w_max, fabs(delta))
                    w_max = fmax(w_max, fabs(w_new))
            n_iter = it + 1
            if (w_max == 0.0 or d_w_max <= tol * w_max or n_iter == max_iter
                    or n_iter % gap_freq == 0):
                gap = block_gap(D, pen, W, ldw, Rs, c, Y, T, XtA, buf, n_threads)
                if gap <= tol_abs:
                    break
    for t in range(T):
        flush_residual(D, Rs + <Py_ssize_t> t * n, &c[t])
    gap_out[0] = gap / n
    free(XtA); free(a); free(w_old); free(buf)
    return n_iter


cdef inline double _sq_norm(const floating* y, int n) noexcept nogil:
    cdef double s = 0.0
    cdef int i
    for i in range(n):
        s += <double> y[i] * y[i]
    return s


def solve(const floating[::1, :] X,
          const floating[::1] X_data,
          const int[::1] X_indices,
          const int[::1] X_indptr,
          bint is_sparse,
          int n_samples, int n_features,
          const floating[::1, :] Y,
          floating[:, ::1] coef,
          int kind, double lam1, double lam2, double tau, bint positive,
          const double[::1] X_mean,
          const floating[::1] u,
          int max_iter, double tol, int gap_freq,
          bint random, unsigned int seed, int n_threads):
    """Run block coordinate descent in place on `coef` (n_tasks, n_features).

    X : (n, p) Fortran-ordered dense design, or an empty array when `is_sparse`
        (then X_data/X_indices/X_indptr hold the CSC arrays, int32 indices).
    Y : (n, T) Fortran-ordered targets, already centered/scaled like X.
    X_mean : (p,) implicit centering of sparse X, or empty for none.
    u : (n,) row scaling (sqrt of sample weights) matching X_mean, or empty (= ones).
    kind, lam1, lam2, tau, positive : the row penalty (see mtlfast._prox).

    Returns
    -------
    n_iter : ndarray of int, one entry per block (per task for separable
        penalties, else a single block).
    gaps : ndarray of float64, the duality gap of each block in the
        1/(2n) objective scaling.
    R : ndarray (n, T), the final residual Y - X_eff W.
    """
    cdef Design D
    cdef Penalty pen
    cdef int T = <int> Y.shape[1]
    cdef int n = n_samples, p = n_features
    cdef int j, t, b, n_blocks
    cdef double w
    cdef bint separable = (kind == PEN_L1)
    dtype = np.float32 if floating is float else np.float64

    D.is_sparse = is_sparse
    D.n_samples = n
    D.n_features = p
    if is_sparse:
        D.data = &X_data[0] if X_data.shape[0] > 0 else NULL
        D.indices = &X_indices[0] if X_indices.shape[0] > 0 else NULL
        D.indptr = &X_indptr[0]
    else:
        D.data = &X[0, 0]
        D.indices = NULL
        D.indptr = NULL
    D.mean = &X_mean[0] if X_mean.shape[0] > 0 else NULL
    D.u = &u[0] if u.shape[0] > 0 else NULL
    D.uu = n
    if D.u != NULL:
        D.uu = _sq_norm(&u[0], n)

    pen.kind = kind
    pen.lam1 = lam1
    pen.lam2 = lam2
    pen.tau = tau
    pen.positive = positive

    R_arr = np.array(Y, dtype=dtype, order="F", copy=True)
    cdef floating[::1, :] R = R_arr
    c_arr = np.zeros(T, dtype=np.float64)
    cdef double[::1] c = c_arr
    norms_arr = np.empty(p, dtype=np.float64)
    cdef double[::1] norms2 = norms_arr
    n_blocks = T if separable else 1
    n_iter_arr = np.zeros(n_blocks, dtype=np.intc)
    cdef int[::1] n_iter = n_iter_arr
    gaps_arr = np.zeros(n_blocks, dtype=np.float64)
    cdef double[::1] gaps = gaps_arr
    cdef floating* data_ptr = <floating*> D.data

    with nogil:
        for j in prange(p, schedule='static', num_threads=n_threads):
            norms2[j] = col_norm2(&D, data_ptr, j)
        # R = Y - X_eff W
        for j in range(p):
            for t in range(T):
                w = coef[t, j]
                if w != 0.0:
                    col_update(&D, j, w, &R[0, t], &c[t])
        if separable:
            for b in prange(T, schedule='static', num_threads=n_threads):
                n_iter[b] = block_solve(
                    &D, &pen, &norms2[0], &coef[b, 0], p, &R[0, b], &c[b],
                    &Y[0, b], 1, max_iter, tol, gap_freq, random,
                    seed + 2654435761u * <uint32_t> b, 1, &gaps[b])
        else:
            n_iter[0] = block_solve(
                &D, &pen, &norms2[0], &coef[0, 0], p, &R[0, 0], &c[0],
                &Y[0, 0], T, max_iter, tol, gap_freq, random, seed,
                n_threads, &gaps[0])
    if (n_iter_arr < 0).any():
        raise MemoryError("mtlfast: could not allocate solver scratch memory")
    return n_iter_arr, gaps_arr, R_arr
