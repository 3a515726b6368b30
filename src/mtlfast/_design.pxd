# Column access for a design matrix, dense (Fortran-ordered) or CSC sparse,
# so that one solver serves both formats (DESIGN.md section 4).
#
# The effective design column is  X_eff[:, j] = X[:, j] - mean[j] * u
# where `mean` (may be NULL) implements implicit centering of sparse X and
# `u` (may be NULL, meaning all ones) is sqrt(sample_weight). Dense X arrives
# already centered and scaled, with mean = NULL.
#
# Implicit centering without O(n) work per update: the solver stores
# Rs = R + c u^T (c: one scalar per task) instead of the true residual R.
# Because u^T X_eff[:, j] = 0 and u^T R = 0 (centered targets), one has
#     X_eff[:, j]^T R = X[:, j]^T Rs - mean[j] * c * (u^T u)
# and the update R -= delta * X_eff[:, j] becomes
#     Rs -= delta * X[:, j],   c -= delta * mean[j].
# flush_residual() folds c back into Rs (before gaps and at the end).
#
# The residual of task t is addressed as Rs_t[i * si]: an F-ordered (n, T)
# residual has Rs_t = R + t*n, si = 1; a row-major one (used for sparse X with
# coupled tasks, so the tasks of one nonzero share cache lines) has
# Rs_t = R + t, si = T.
from cython cimport floating
from mtlfast._blas cimport _dot, _axpy


ctypedef struct Design:
    bint is_sparse
    int n_samples
    int n_features
    const void* data        # dense: column-major values, leading dim n_samples; CSC: values
    const int* indices      # CSC row indices (int32)
    const int* indptr       # CSC column pointers (int32)
    const double* mean      # implicit centering, or NULL
    const void* u           # row scaling for centering (floating), or NULL = ones
    double uu               # u^T u


cdef inline double col_dot(const Design* D, int j, const floating* Rs, int si,
                           double c) noexcept nogil:
    """return X_eff[:, j] @ R for the true residual R = Rs - c u; sample i of
    the residual is Rs[i * si] (si = 1 for a column of an F-ordered R, T for
    a row-major R)."""
    cdef const floating* x
    cdef const int* idx = D.indices
    cdef double s = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef int k, end
    if not D.is_sparse:
        x = (<const floating*> D.data) + <Py_ssize_t> j * D.n_samples
        return _dot(D.n_samples, x, 1, Rs, si)
    x = <const floating*> D.data
    # four partial sums: the gathers overlap instead of waiting on one add chain
    k = D.indptr[j]
    end = D.indptr[j + 1]
    while k + 4 <= end:
        s += x[k] * Rs[<Py_ssize_t> idx[k] * si]
        s1 += x[k + 1] * Rs[<Py_ssize_t> idx[k + 1] * si]
        s2 += x[k + 2] * Rs[<Py_ssize_t> idx[k + 2] * si]
        s3 += x[k + 3] * Rs[<Py_ssize_t> idx[k + 3] * si]
        k += 4
    while k < end:
        s += x[k] * Rs[<Py_ssize_t> idx[k] * si]
        k += 1
    s = (s + s1) + (s2 + s3)
    if D.mean != NULL:
        s -= D.mean[j] * c * D.uu
    return s


cdef inline void col_update(const Design* D, int j, double delta,
                            floating* Rs, int si, double* c) noexcept nogil:
    """R -= delta * X_eff[:, j], on the stored pair (Rs, c); stride si as in col_dot."""
    cdef const floating* x
    cdef int k
    cdef floating fd = <floating> delta
    if not D.is_sparse:
        x = (<const floating*> D.data) + <Py_ssize_t> j * D.n_samples
        _axpy(D.n_samples, -fd, x, 1, Rs, si)
        return
    x = <const floating*> D.data
    for k in range(D.indptr[j], D.indptr[j + 1]):
        Rs[<Py_ssize_t> D.indices[k] * si] -= fd * x[k]
    if D.mean != NULL:
        c[0] -= delta * D.mean[j]


cdef inline void flush_residual(const Design* D, floating* Rs, int si,
                                double* c) noexcept nogil:
    """Rs <- Rs - c u (the true residual); c <- 0."""
    cdef const floating* u = <const floating*> D.u
    cdef int i
    cdef floating fc = <floating> c[0]
    if c[0] == 0.0:
        return
    if u == NULL:
        for i in range(D.n_samples):
            Rs[<Py_ssize_t> i * si] -= fc
    else:
        for i in range(D.n_samples):
            Rs[<Py_ssize_t> i * si] -= fc * u[i]
    c[0] = 0.0


cdef inline double col_norm2(const Design* D, const floating* data, int j) noexcept nogil:
    """||X_eff[:, j]||^2 accumulated in double; `data` is D.data with its type."""
    cdef const floating* x
    cdef double s = 0.0, m, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef int i, k, n4
    if not D.is_sparse:
        x = data + <Py_ssize_t> j * D.n_samples
        if floating is double:
            return _dot(D.n_samples, x, 1, x, 1)      # x @ x (vectorized BLAS)
        # float32: accumulate in double, 4 independent chains
        n4 = D.n_samples - D.n_samples % 4
        for i in range(0, n4, 4):
            s += <double> x[i] * x[i]
            s1 += <double> x[i + 1] * x[i + 1]
            s2 += <double> x[i + 2] * x[i + 2]
            s3 += <double> x[i + 3] * x[i + 3]
        for i in range(n4, D.n_samples):
            s += <double> x[i] * x[i]
        return (s + s1) + (s2 + s3)
    x = data
    for k in range(D.indptr[j], D.indptr[j + 1]):
        s += <double> x[k] * x[k]
    if D.mean != NULL:
        m = D.mean[j]
        s -= m * m * D.uu
        if s < 0.0:
            s = 0.0
    return s


cdef inline void col_dot_rows(const Design* D, int j, const floating* R, int T,
                              const double* c, double* out) noexcept nogil:
    """out[t] = X_eff[:, j] @ R[:, t] for all t, sparse X and a row-major
    residual R (n x T): the column's nonzeros read once per group of up to
    four tasks, whose sums stay in registers (each task's sum in the order
    of the nonzeros: the bits do not depend on the grouping; through out[]
    the sums went to memory at every nonzero, 1.3-2x slower epochs for
    T = 2-8). c = NULL means the residual is flushed (c = 0)."""
    cdef const floating* x = <const floating*> D.data
    cdef const floating* r
    cdef double xk, m, s0, s1, s2, s3
    cdef int k, t, g
    for t in range(0, T, 4):
        g = min(4, T - t)
        s0 = s1 = s2 = s3 = 0.0
        if g == 4:
            for k in range(D.indptr[j], D.indptr[j + 1]):
                xk = x[k]
                r = R + <Py_ssize_t> D.indices[k] * T + t
                s0 += xk * r[0]
                s1 += xk * r[1]
                s2 += xk * r[2]
                s3 += xk * r[3]
        elif g == 3:
            for k in range(D.indptr[j], D.indptr[j + 1]):
                xk = x[k]
                r = R + <Py_ssize_t> D.indices[k] * T + t
                s0 += xk * r[0]
                s1 += xk * r[1]
                s2 += xk * r[2]
        elif g == 2:
            for k in range(D.indptr[j], D.indptr[j + 1]):
                xk = x[k]
                r = R + <Py_ssize_t> D.indices[k] * T + t
                s0 += xk * r[0]
                s1 += xk * r[1]
        else:
            for k in range(D.indptr[j], D.indptr[j + 1]):
                s0 += <double> x[k] * R[<Py_ssize_t> D.indices[k] * T + t]
        out[t] = s0
        if g > 1:
            out[t + 1] = s1
        if g > 2:
            out[t + 2] = s2
        if g > 3:
            out[t + 3] = s3
    if D.mean != NULL and c != NULL:
        m = D.mean[j] * D.uu
        for t in range(T):
            out[t] -= m * c[t]


cdef inline void col_update_rows(const Design* D, int j, const double* delta,
                                 floating* R, int T, double* c) noexcept nogil:
    """R[:, t] -= delta[t] * X_eff[:, j] for all t (row-major R, sparse X),
    by groups of up to four tasks with their changes in registers (the same
    arithmetic per entry as one task at a time)."""
    cdef const floating* x = <const floating*> D.data
    cdef floating* r
    cdef floating xk
    cdef double d0, d1, d2, d3
    cdef int k, t, g
    for t in range(0, T, 4):
        g = min(4, T - t)
        d0 = delta[t]
        d1 = delta[t + 1] if g > 1 else 0.0
        d2 = delta[t + 2] if g > 2 else 0.0
        d3 = delta[t + 3] if g > 3 else 0.0
        if g == 4:
            for k in range(D.indptr[j], D.indptr[j + 1]):
                xk = x[k]
                r = R + <Py_ssize_t> D.indices[k] * T + t
                r[0] -= <floating> (xk * d0)
                r[1] -= <floating> (xk * d1)
                r[2] -= <floating> (xk * d2)
                r[3] -= <floating> (xk * d3)
        elif g == 3:
            for k in range(D.indptr[j], D.indptr[j + 1]):
                xk = x[k]
                r = R + <Py_ssize_t> D.indices[k] * T + t
                r[0] -= <floating> (xk * d0)
                r[1] -= <floating> (xk * d1)
                r[2] -= <floating> (xk * d2)
        elif g == 2:
            for k in range(D.indptr[j], D.indptr[j + 1]):
                xk = x[k]
                r = R + <Py_ssize_t> D.indices[k] * T + t
                r[0] -= <floating> (xk * d0)
                r[1] -= <floating> (xk * d1)
        else:
            for k in range(D.indptr[j], D.indptr[j + 1]):
                R[<Py_ssize_t> D.indices[k] * T + t] -= <floating> (x[k] * d0)
    if D.mean != NULL:
        for t in range(T):
            c[t] -= delta[t] * D.mean[j]
