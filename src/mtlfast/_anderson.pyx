"""Anderson extrapolation, compiled once as their own module (declared, with the cimports they use, in _anderson.pxd):
plain functions, inlined by the C compiler only where it chooses."""
from cython cimport floating
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy
from libc.math cimport fabs, fmax


cdef void anderson_reserve(Anderson* A, int n_ws, int T) noexcept nogil:
    """Grow the iterate store to (K+1) x n_ws*T; disable extrapolation when the
    memory cannot be had."""
    cdef Py_ssize_t need = <Py_ssize_t> (A.K + 1) * n_ws * T
    cdef double* w
    if A.K <= 0 or need <= A.cap:
        return
    w = <double*> realloc(A.Wk, need * sizeof(double))
    if w == NULL:
        A.K = 0
        return
    A.Wk = w
    A.cap = need


cdef void anderson_alloc(Anderson* A, int K, Py_ssize_t n_r, size_t item) noexcept nogil:
    """K: depth (0: off); n_r: the residual's length; item: its entries' size.
    Extrapolation is off (A.K = 0) when the snapshots would be too large or
    the memory cannot be had."""
    A.K = K
    A.count = 0
    A.cap = 0
    A.Wk = NULL
    A.Rk = NULL
    A.M = NULL
    A.z = NULL
    if K <= 0:
        return
    if (<double> (K + 1)) * n_r * item > 128.0 * 1024 * 1024:
        A.K = 0            # residual snapshots would be too large: no extrapolation
        return
    A.Rk = malloc(<size_t> (K + 1) * n_r * item)
    A.M = <double*> malloc(<size_t> K * K * sizeof(double))
    A.z = <double*> malloc(<size_t> K * sizeof(double))
    if A.Rk == NULL or A.M == NULL or A.z == NULL:
        free(A.Rk); free(A.M); free(A.z)
        A.Rk = NULL; A.M = NULL; A.z = NULL
        A.K = 0


cdef void anderson_free(Anderson* A) noexcept nogil:
    free(A.Wk); free(A.Rk); free(A.M); free(A.z)


cdef bint _solve_ones(double* M, double* z, int K) noexcept nogil:
    """Solve M z = 1 (K x K, symmetric PSD, row-major) by Gaussian elimination
    with partial pivoting; False when (numerically) singular."""
    cdef int i, j, k, piv
    cdef double f, mx, tmp, scale = 0.0
    for i in range(K):
        z[i] = 1.0
        scale = fmax(scale, fabs(M[i * K + i]))
    if scale == 0.0:
        return False
    for k in range(K):
        piv = k
        mx = fabs(M[k * K + k])
        for i in range(k + 1, K):
            if fabs(M[i * K + k]) > mx:
                mx = fabs(M[i * K + k])
                piv = i
        if mx <= 1e-14 * scale:
            return False
        if piv != k:
            for j in range(K):
                tmp = M[k * K + j]; M[k * K + j] = M[piv * K + j]; M[piv * K + j] = tmp
            tmp = z[k]; z[k] = z[piv]; z[piv] = tmp
        for i in range(k + 1, K):
            f = M[i * K + k] / M[k * K + k]
            for j in range(k, K):
                M[i * K + j] -= f * M[k * K + j]
            z[i] -= f * z[k]
    for i in range(K - 1, -1, -1):
        for j in range(i + 1, K):
            z[i] -= M[i * K + j] * z[j]
        z[i] /= M[i * K + i]
    return True


cdef double _primal_n(const Penalty* pen, const double* w, const int* ws, int m, int T,
                      double R_norm2, double n) noexcept nogil:
    """0.5 ||R||^2 + n * sum_rows pf_j h(w_row): the n-scaled objective (row k
    is feature ws[k])."""
    cdef int k, t
    cdef double val = 0.0, sq = 0.0, f
    for k in range(m):
        f = pen_factor(pen, ws[k])
        val += f * row_norm(pen, w + <Py_ssize_t> k * T, T)
        for t in range(T):
            sq += f * (w[<Py_ssize_t> k * T + t] * w[<Py_ssize_t> k * T + t])
    return 0.5 * R_norm2 + n * (pen.lam1 * val + 0.5 * pen.lam2 * sq)


cdef bint anderson_step(Anderson* A, const Penalty* pen,
                               floating* W, Py_ssize_t ldw, int T,     # in/out: the block's rows
                               const int* ws, int n_ws,                # in: the epochs' features
                               floating* Rs, Py_ssize_t nT,            # in/out: flushed residual
                               double n,                               # in: the penalty's scale
                               bint extrapolate_residual) noexcept nogil:
    """Store the current iterate; every K+1 iterates, replace it by the
    Anderson extrapolation  sum_k c_k x_{k+1}  (c minimizes ||sum c_k U_k||,
    sum c = 1, U_k = x_{k+1} - x_k) when that lowers the objective
    0.5 ||R||^2 + n sum_j h(W_j). The residual is affine in W, so it is
    extrapolated with the same weights (extrapolate_residual), or left to the
    caller, who updates it by the coefficients' change as an epoch does
    (no rounding drift between the residual and W: the gap stays exact to
    1e-12; the change is W's new rows minus A.Wk + K * n_ws * T, the iterate
    before). The caller flushes the residual first (only when A.K > 0: a
    flush changes the rounding of what follows). Returns whether W was
    replaced."""
    cdef int K = A.K
    cdef int k, l, t, i, m = n_ws * T
    cdef double* Wc
    cdef floating* Rk = <floating*> A.Rk
    cdef floating* Rc
    cdef double s, zs, r, R_e2 = 0.0, R_c2 = 0.0
    if K <= 0:
        return False
    Wc = A.Wk + <Py_ssize_t> A.count * m
    for k in range(n_ws):
        for t in range(T):
            Wc[<Py_ssize_t> k * T + t] = W[t * ldw + ws[k]]
    memcpy(Rk + A.count * nT, Rs, nT * sizeof(floating))
    A.count += 1
    if A.count < K + 1:
        return False
    A.count = 0
    # M = U^T U with U_k = W_{k+1} - W_k
    for k in range(K):
        for l in range(k, K):
            s = 0.0
            for i in range(m):
                s += ((A.Wk[<Py_ssize_t> (k + 1) * m + i] - A.Wk[<Py_ssize_t> k * m + i])
                      * (A.Wk[<Py_ssize_t> (l + 1) * m + i] - A.Wk[<Py_ssize_t> l * m + i]))
            A.M[k * K + l] = s
            A.M[l * K + k] = s
    if not _solve_ones(A.M, A.z, K):
        return False
    zs = 0.0
    for k in range(K):
        zs += A.z[k]
    if zs == 0.0:
        return False
    for k in range(K):
        A.z[k] /= zs
    # objective of the extrapolated point (its residual is never stored until accepted)
    for i in range(nT):
        r = 0.0
        for k in range(K):
            r += A.z[k] * Rk[(k + 1) * nT + i]
        R_e2 += r * r
        R_c2 += <double> Rs[i] * Rs[i]
    # extrapolated W into slot 0 (no longer needed)
    for i in range(m):
        s = 0.0
        for k in range(K):
            s += A.z[k] * A.Wk[<Py_ssize_t> (k + 1) * m + i]
        A.Wk[i] = s
    if (_primal_n(pen, A.Wk, ws, n_ws, T, R_e2, n)
            >= _primal_n(pen, A.Wk + <Py_ssize_t> K * m, ws, n_ws, T, R_c2, n)):
        return False
    if pen.positive:
        for i in range(m):
            if A.Wk[i] < 0.0:
                return False      # extrapolation left the feasible set
    for k in range(n_ws):
        for t in range(T):
            W[t * ldw + ws[k]] = <floating> A.Wk[<Py_ssize_t> k * T + t]
    if not extrapolate_residual:
        return True
    for i in range(nT):
        r = 0.0
        for k in range(K):
            r += A.z[k] * Rk[(k + 1) * nT + i]
        Rs[i] = <floating> r
    return True
