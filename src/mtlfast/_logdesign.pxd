# The logistic kernel's view of the design (mtlfast._pn_logistic): per-task
# pieces of a column (task t's rows of feature j), dense F-ordered or CSC with
# sorted row indices, either one X shared by every task (read in place) or X
# stacking the tasks' rows. No centering: the logistic intercepts are explicit.
from cython cimport floating
from scipy.linalg.cython_blas cimport ddot


ctypedef struct LogDesign:
    bint is_sparse
    bint shared         # one X (n rows) for every task; else X stacks the tasks' rows
    int N               # rows of all tasks (the length of the row vectors)
    int p
    int T
    Py_ssize_t ld       # dense: X's leading dimension (n when shared, else N)
    const void* data    # dense: column-major X; CSC: values
    const int* indices  # CSC row indices (of X), sorted within each column
    const int* ptr      # CSC: indptr (p + 1) when shared, else tptr (p * (T + 1):
                        # column j, task t nonzeros = tptr[j*(T+1)+t] : [..+t+1])
    const int* offsets  # T + 1: task t owns rows offsets[t]:offsets[t+1] of the vectors


cdef inline void _piece(const LogDesign* D, int j, int t, Py_ssize_t* x0, int* lo, int* hi,
                        int* vo) noexcept nogil:
    """Task t's piece of column j. Dense: x[x0 + k] against v[vo + k] for
    k in 0 .. hi-1 (lo = 0); CSC: x[k] against v[vo + indices[k]] for
    k in lo .. hi-1."""
    if not D.is_sparse:
        x0[0] = <Py_ssize_t> j * D.ld + (0 if D.shared else D.offsets[t])
        lo[0] = 0
        hi[0] = D.offsets[t + 1] - D.offsets[t]
        vo[0] = D.offsets[t]
    elif D.shared:
        x0[0] = 0
        lo[0] = D.ptr[j]
        hi[0] = D.ptr[j + 1]
        vo[0] = D.offsets[t]
    else:
        x0[0] = 0
        lo[0] = D.ptr[<Py_ssize_t> j * (D.T + 1) + t]
        hi[0] = D.ptr[<Py_ssize_t> j * (D.T + 1) + t + 1]
        vo[0] = 0


cdef inline double _wdot(const LogDesign* D, int j, int t, const floating* dummy,
                         const double* v) noexcept nogil:
    """X_t[:, j] . v[rows t]"""
    cdef const floating* x = <const floating*> D.data
    cdef double s = 0.0
    cdef Py_ssize_t x0
    cdef int k, lo, hi, o
    cdef double s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef int one = 1
    _piece(D, j, t, &x0, &lo, &hi, &o)
    if not D.is_sparse:
        x = x + x0
        v = v + o
        if floating is double:
            return ddot(&hi, <double*> x, &one, <double*> v, &one)
        # four partial sums: the loop is bound by the adds' latency otherwise
        for k in range(0, hi - 3, 4):
            s += x[k] * v[k]
            s1 += x[k + 1] * v[k + 1]
            s2 += x[k + 2] * v[k + 2]
            s3 += x[k + 3] * v[k + 3]
        for k in range(hi - hi % 4, hi):
            s += x[k] * v[k]
        return (s + s1) + (s2 + s3)
    for k in range(lo, hi):
        s += x[k] * v[o + D.indices[k]]
    return s


cdef inline void _model_terms(const LogDesign* D, int j, int t, const floating* dummy,
                              const double* rho, const double* h, double* G, double* H,
                              double* S) noexcept nogil:
    """G = -X_t[:, j] . rho, H = sum h x^2, S = sum h x over task t's rows,
    in one read of the piece."""
    cdef const floating* x = <const floating*> D.data
    cdef double g = 0.0, hh = 0.0, s = 0.0, xk, hk
    cdef Py_ssize_t x0
    cdef int k, i, lo, hi, o
    cdef double g1 = 0.0, hh1 = 0.0, s1 = 0.0, xk1, hk1
    _piece(D, j, t, &x0, &lo, &hi, &o)
    if not D.is_sparse:
        x = x + x0
        rho = rho + o
        h = h + o
        # two sets of partial sums: the loop is bound by the adds' latency otherwise
        for k in range(0, hi - 1, 2):
            xk = x[k]
            hk = h[k]
            xk1 = x[k + 1]
            hk1 = h[k + 1]
            g += xk * rho[k]
            hh += hk * xk * xk
            s += xk * hk
            g1 += xk1 * rho[k + 1]
            hh1 += hk1 * xk1 * xk1
            s1 += xk1 * hk1
        if hi % 2:
            xk = x[hi - 1]
            hk = h[hi - 1]
            g += xk * rho[hi - 1]
            hh += hk * xk * xk
            s += xk * hk
        g += g1
        hh += hh1
        s += s1
    else:
        for k in range(lo, hi):
            i = o + D.indices[k]
            xk = x[k]
            hk = h[i]
            g += xk * rho[i]
            hh += hk * xk * xk
            s += xk * hk
    G[0] = -g
    H[0] = hh
    S[0] = s


cdef inline void _wupdate(const LogDesign* D, int j, int t, const floating* dummy,
                          double delta, const double* h, double* u, double* hu) noexcept nogil:
    """u[rows t] += delta X_t[:, j]; hu = h * u on those rows"""
    cdef const floating* x = <const floating*> D.data
    cdef Py_ssize_t x0
    cdef int k, i, lo, hi, o
    _piece(D, j, t, &x0, &lo, &hi, &o)
    if not D.is_sparse:
        x = x + x0
        h = h + o
        u = u + o
        hu = hu + o
        for k in range(hi):
            u[k] += delta * x[k]
            hu[k] = h[k] * u[k]
        return
    for k in range(lo, hi):
        i = o + D.indices[k]
        u[i] += delta * x[k]
        hu[i] = h[i] * u[i]


cdef inline void _apply(const LogDesign* D, const floating* W, const double* b, double* z,
                 bint fit_intercept, int t0, int nt) noexcept nogil:
    """z = A(W) + b on the rows of tasks t0 .. t0+nt-1"""
    cdef const floating* x = <const floating*> D.data
    cdef Py_ssize_t x0
    cdef int j, t, k, i, lo, hi, o
    cdef double w
    for t in range(t0, t0 + nt):
        for i in range(D.offsets[t], D.offsets[t + 1]):
            z[i] = b[t] if fit_intercept else 0.0
    for j in range(D.p):
        for t in range(t0, t0 + nt):
            w = W[<Py_ssize_t> t * D.p + j]
            if w == 0.0:
                continue
            _piece(D, j, t, &x0, &lo, &hi, &o)
            if not D.is_sparse:
                for k in range(hi):
                    z[o + k] += w * x[x0 + k]
            else:
                for k in range(lo, hi):
                    z[o + D.indices[k]] += w * x[k]
