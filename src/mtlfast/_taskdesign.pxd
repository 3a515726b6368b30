# Per-task designs (mtlfast.tasks.QuadraticPerTask): rows of all tasks stacked,
# task t owning rows offsets[t]:offsets[t+1] of the effective design X (N x p;
# dense Fortran-ordered, or CSC with sorted row indices) and of y / r.
# Shared by the per-task kernels (mtlfast._tasks, mtlfast._struct): a
# feature's block spans the tasks, its inner products run over each task's
# own rows.
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


cdef inline double piece_dot(const TaskDesign* D, int j, int t,
                             const floating* r) noexcept nogil:
    """X[rows t, j] . r[rows t]"""
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
    return s


cdef inline void piece_update(const TaskDesign* D, int j, int t, double delta,
                              floating* r) noexcept nogil:
    """r[rows t] -= delta * X[rows t, j]"""
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


cdef inline double piece_norm2(const TaskDesign* D, int j, int t,
                               const floating* dummy) noexcept nogil:
    """||X[rows t, j]||^2 (`dummy` only selects the dtype)"""
    cdef const floating* x
    cdef double s = 0.0
    cdef int k
    if not D.is_sparse:
        x = (<const floating*> D.data) + <Py_ssize_t> j * D.N
        for k in range(D.offsets[t], D.offsets[t + 1]):
            s += <double> x[k] * x[k]
        return s
    x = <const floating*> D.data
    for k in range(D.tptr[<Py_ssize_t> j * (D.T + 1) + t],
                   D.tptr[<Py_ssize_t> j * (D.T + 1) + t + 1]):
        s += <double> x[k] * x[k]
    return s


cdef inline void set_design(TaskDesign* D, bint is_sparse, int N, int p, int T,
                            const int* offsets, const void* data, const int* indices,
                            const int* tptr) noexcept nogil:
    """Fill D; `data` is the dense column-major X or the CSC values (indices
    and tptr are ignored for dense X)."""
    D.is_sparse = is_sparse
    D.N = N
    D.p = p
    D.T = T
    D.offsets = offsets
    D.data = data
    D.indices = indices if is_sparse else NULL
    D.tptr = tptr if is_sparse else NULL
