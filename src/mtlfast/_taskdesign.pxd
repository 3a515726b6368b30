# Per-task designs (mtlfast.datafits.QuadraticPerTask): rows of all tasks stacked,
# task t owning rows offsets[t]:offsets[t+1] of the effective design X (N x p;
# dense Fortran-ordered, or CSC with sorted row indices) and of y / r.
# Shared by the per-task kernels (mtlfast._cd_pertask, mtlfast._cd_structured): a
# feature's block spans the tasks, its inner products run over each task's
# own rows.
#
# Implicit centering of sparse X (an intercept per task), as mtlfast._design
# does for a shared design, one shift per task: the effective piece is
#     X_eff[rows t, j] = X[rows t, j] - mean[t * p + j] * u[rows t]
# (X: the stored, row-scaled CSC; u: the row scaling; u_t^T X_eff[rows t, j]
# = 0 and u_t^T r_t = 0 for the true residual). The kernels store
# rs_t = r_t + c_t u_t instead of r_t, so that
#     X_eff[rows t, j]^T r_t = X[rows t, j]^T rs_t - mean_tj c_t uu_t
# and r_t -= delta X_eff[rows t, j] becomes
#     rs_t -= delta X[rows t, j],   c_t -= delta mean_tj        (O(nnz))
# with uu_t = u_t^T u_t. flush() folds c back into the residual before
# anything reads it row by row (gaps, the returned residual).
from cython cimport floating
from mtlfast._blas cimport _dot, _axpy


ctypedef struct TaskDesign:
    bint is_sparse
    int N               # rows of all tasks
    int p
    int T               # tasks
    const void* data    # dense: column-major (leading dim N); CSC: values
    const int* indices  # CSC row indices, sorted within each column
    const int* tptr     # CSC: column j, task t nonzeros = tptr[j*(T+1)+t] : [..+t+1]
    const int* offsets  # T + 1 row offsets
    const double* mean  # sparse implicit centering (T x p), or NULL
    const void* u       # row scaling for the centering (floating, N)
    const double* uu    # (T,) u_t^T u_t
    double* c           # (T,) residual shifts (kernel state; zero when flushed)


cdef inline double piece_dot(const TaskDesign* D, int j, int t,
                             const floating* r) noexcept nogil:
    """X_eff[rows t, j] . r[rows t] (r: the stored residual)"""
    cdef const floating* x
    cdef double s = 0.0
    cdef int k, o = D.offsets[t]
    if not D.is_sparse:
        x = (<const floating*> D.data) + <Py_ssize_t> j * D.N + o
        return _dot(D.offsets[t + 1] - o, x, 1, r + o, 1)
    x = <const floating*> D.data
    for k in range(D.tptr[<Py_ssize_t> j * (D.T + 1) + t],
                   D.tptr[<Py_ssize_t> j * (D.T + 1) + t + 1]):
        s += x[k] * r[D.indices[k]]
    if D.mean != NULL:
        s -= D.mean[<Py_ssize_t> t * D.p + j] * D.c[t] * D.uu[t]
    return s


cdef inline void piece_update(const TaskDesign* D, int j, int t, double delta,
                              floating* r) noexcept nogil:
    """r[rows t] -= delta * X_eff[rows t, j] (on the stored pair (r, c))"""
    cdef const floating* x
    cdef floating fd = <floating> delta
    cdef int k, o = D.offsets[t]
    if not D.is_sparse:
        x = (<const floating*> D.data) + <Py_ssize_t> j * D.N + o
        _axpy(D.offsets[t + 1] - o, -fd, x, 1, r + o, 1)
        return
    x = <const floating*> D.data
    for k in range(D.tptr[<Py_ssize_t> j * (D.T + 1) + t],
                   D.tptr[<Py_ssize_t> j * (D.T + 1) + t + 1]):
        r[D.indices[k]] -= fd * x[k]
    if D.mean != NULL:
        D.c[t] -= delta * D.mean[<Py_ssize_t> t * D.p + j]


cdef inline double piece_norm2(const TaskDesign* D, int j, int t,
                               const floating* dummy) noexcept nogil:
    """||X_eff[rows t, j]||^2 (`dummy` only selects the dtype). Centered:
    sum over the nonzeros of (x_i - m u_i)^2 plus m^2 u_i^2 over the other
    rows of the task (no cancellation)."""
    cdef const floating* x
    cdef const floating* u = <const floating*> D.u
    cdef double s = 0.0, m, z, unz = 0.0
    cdef int k
    if not D.is_sparse:
        x = (<const floating*> D.data) + <Py_ssize_t> j * D.N
        if floating is double:
            # BLAS: vectorized (a scalar loop is bound by the add latency)
            s = _dot(D.offsets[t + 1] - D.offsets[t], x + D.offsets[t], 1,
                     x + D.offsets[t], 1)
        else:
            for k in range(D.offsets[t], D.offsets[t + 1]):
                s += <double> x[k] * x[k]    # float32: accumulate in double
        return s
    x = <const floating*> D.data
    m = D.mean[<Py_ssize_t> t * D.p + j] if D.mean != NULL else 0.0
    for k in range(D.tptr[<Py_ssize_t> j * (D.T + 1) + t],
                   D.tptr[<Py_ssize_t> j * (D.T + 1) + t + 1]):
        if D.mean != NULL:
            z = x[k] - m * u[D.indices[k]]
            unz += <double> u[D.indices[k]] * u[D.indices[k]]
        else:
            z = x[k]
        s += z * z
    if D.mean != NULL:
        s += m * m * (D.uu[t] - unz)
    return s


cdef inline void flush(const TaskDesign* D, floating* r, int t0, int nt) noexcept nogil:
    """Fold the shifts of tasks t0 .. t0+nt-1 into r: the stored residual
    becomes the true one (no-op without centering)."""
    cdef const floating* u = <const floating*> D.u
    cdef int t, i
    if D.mean == NULL:
        return
    for t in range(t0, t0 + nt):
        if D.c[t] != 0.0:
            for i in range(D.offsets[t], D.offsets[t + 1]):
                r[i] = r[i] - <floating> (D.c[t] * u[i])
            D.c[t] = 0.0


cdef inline void set_design(TaskDesign* D, bint is_sparse, int N, int p, int T,
                            const int* offsets, const void* data, const int* indices,
                            const int* tptr, const double* mean, const void* u,
                            const double* uu, double* c) noexcept nogil:
    """Fill D; `data` is the dense column-major X or the CSC values (indices,
    tptr and the centering arrays are ignored for dense X; mean = NULL: no
    centering). c must hold T zeros."""
    D.is_sparse = is_sparse
    D.N = N
    D.p = p
    D.T = T
    D.offsets = offsets
    D.data = data
    D.indices = indices if is_sparse else NULL
    D.tptr = tptr if is_sparse else NULL
    D.mean = mean if is_sparse else NULL
    D.u = u if is_sparse else NULL
    D.uu = uu if is_sparse else NULL
    D.c = c


cdef inline int design_from(TaskDesign* D, object design, const floating[:, ::1] coef,
                            double[::1] c) except -1:
    """set_design from a mtlfast.datafits.TaskDesignArrays (the kernel
    entries' design object; coef only selects the dtype): X (N, p) dense
    F-ordered, or empty when is_sparse (CSC X_data, X_indices sorted per
    column, ptr = tptr (p * (T+1)): the nonzeros of column j in task t are
    tptr[j*(T+1)+t] : tptr[j*(T+1)+t+1]); offsets (T+1,) the tasks' rows;
    X_mean (T, p), u (N,), uu (T,) the implicit centering (X_mean empty:
    none); c: T zeros, the residual shifts. The arrays must outlive D."""
    cdef const floating[::1, :] X = design.X
    cdef const floating[::1] X_data = design.X_data
    cdef const int[::1] X_indices = design.X_indices
    cdef const int[::1] tptr = design.ptr
    cdef const int[::1] offsets = design.offsets
    cdef const double[:, ::1] X_mean = design.X_mean
    cdef const floating[::1] u = design.u
    cdef const double[::1] uu = design.uu
    cdef bint is_sparse = design.is_sparse
    cdef int N = design.n_rows, p = design.n_features
    cdef int T = <int> offsets.shape[0] - 1
    cdef bint centered = is_sparse and X_mean.shape[0] > 0
    if design.shared:
        raise ValueError("the quadratic per-task kernels need the long layout")
    if centered and (X_mean.shape[0] != T or X_mean.shape[1] != p or u.shape[0] != N
                     or uu.shape[0] != T):
        raise ValueError("centering arrays do not match the design")
    if c.shape[0] != T:
        raise ValueError("c must have n_tasks entries")
    if is_sparse:
        if tptr.shape[0] != p * (T + 1):
            raise ValueError("the CSC task pointers do not match the design")
        set_design(D, True, N, p, T, &offsets[0],
                   <const void*> &X_data[0] if X_data.shape[0] > 0 else NULL,
                   &X_indices[0] if X_indices.shape[0] > 0 else NULL, &tptr[0],
                   &X_mean[0, 0] if centered else NULL,
                   <const void*> &u[0] if centered else NULL,
                   &uu[0] if centered else NULL, &c[0])
    else:
        if X.shape[0] != N or X.shape[1] != p:
            raise ValueError("X does not match the design")
        set_design(D, False, N, p, T, &offsets[0], <const void*> &X[0, 0], NULL, NULL,
                   NULL, NULL, NULL, &c[0])
    return 0
