"""Proximal Newton for multi-task logistic regression on per-task designs.

Rows of all tasks stacked, task t owning rows offsets[t]:offsets[t+1] of X
(dense Fortran-ordered or CSC with sorted row indices, mtlfast._taskdesign
without centering: the intercepts are explicit). Objective, labels y in
{0, 1}, row weights c (mtlfast.datafits.LogisticPerTask):

    sum_i c_i (log(1 + exp(z_i)) - y_i z_i) + sum_j h(W[j, :]),
    z_i = x_i . w_t(i) + b_t(i)

W is stored as coef (T, p), C-ordered. Same steps as the NumPy twin
mtlfast.reference.prox_newton (see there for the math): a block of tasks
(each task alone for the separable NORM_L1 kinds, solved in parallel; all
tasks for the group kinds) is solved by proximal Newton with working sets:
the intercepts by safeguarded Newton, the duality gap, the quadratic model
(h_i = c_i p_i (1 - p_i), G = A^T (c (p - y)), H_jt = sum_{i in t} h_i x_ij^2),
cyclic passes on it, each block a feature's row with the intercepts
eliminated (implicit weighted centering; _prox.row_prox_diag), with
u = A(D), hu = h * u and m_t = sum_{i in t} hu_i kept up to date, and an Armijo backtracking step
whose changes of F are summed term by term (precise near the optimum).
"""
import numpy as np
from cython cimport floating
from libc.stdlib cimport malloc, free
from libc.math cimport fmin

from mtlfast._kinds cimport STRATEGY_WS, INNER_FRACTION
from mtlfast._prox cimport Penalty, penalty_from, is_separable, task_penalty
from mtlfast._workset cimport ScoredFeature, build_ws
from mtlfast._logdesign cimport LogDesign
from mtlfast._driver cimport (Watch, watch_start, watch_options, raise_if_stopped, SolveHooks, DriverOptions, drive, count_nonzero_rows,
                              run_blocks)
from mtlfast._pn_logistic_core cimport Work, _refit_intercepts, _newton_step


# ---- the driver's hooks (mtlfast._driver): the block's state, and one thin
# function per hook that picks the dtype's specialization. An "epoch" here is
# one proximal Newton step; a gap follows every step (gap_freq = 1).

ctypedef struct Block:
    const LogDesign* D
    const Penalty* pen
    void* coef                # (T, p), floating
    double* intercept
    bint fit_intercept
    bint f32
    int t0, nt
    const double* y
    const double* c
    double tol                # < 0: no gaps (the twin-comparison mode)
    double scale              # the block's loss at z = 0
    double inner_tol
    int max_inner
    Work* w
    double dn                 # the last gap's largest dual norm
    double last_gap           # the inner solves' accuracy follows it


cdef inline double _gap_of(Block* b, floating* coef, const int* feats, int m) noexcept nogil:
    b.last_gap = _refit_intercepts(b.D, b.pen, coef, b.intercept, b.fit_intercept, b.t0, b.nt,
                                   b.y, b.c, feats, m, b.w, b.tol >= 0.0, &b.dn, NULL)
    return b.last_gap


cdef double _gap_hook(void* ctx, const int* feats, int m, int n_threads) noexcept nogil:
    cdef Block* b = <Block*> ctx
    b.w.n_threads = n_threads       # the threads of this call's passes
    if b.f32:
        return _gap_of(b, <float*> b.coef, feats, m)
    return _gap_of(b, <double*> b.coef, feats, m)


cdef void _step_hook(void* ctx, const int* feats, int m, int n_threads, double* w_max,
                     double* d_w_max) noexcept nogil:
    cdef Block* b = <Block*> ctx
    b.w.n_threads = n_threads       # the threads of this step's passes
    # inner accuracy follows the outer one (ill-conditioned designs need it)
    cdef double tol_in = b.inner_tol if b.tol < 0.0 else fmin(b.inner_tol,
                                                              0.1 * b.last_gap / b.scale)
    # ... and the model's gap confirms it (no gaps in the twin-comparison mode)
    cdef double gap_target = -1.0 if b.tol < 0.0 else INNER_FRACTION * b.last_gap
    if b.f32:
        _newton_step(b.D, b.pen, <float*> b.coef, b.intercept, b.fit_intercept, b.t0, b.nt,
                     b.y, b.c, feats, m, tol_in, b.max_inner, gap_target, b.w)
    else:
        _newton_step(b.D, b.pen, <double*> b.coef, b.intercept, b.fit_intercept, b.t0, b.nt,
                     b.y, b.c, feats, m, tol_in, b.max_inner, gap_target, b.w)
    # (a gap follows every step: scikit-learn's rule is not used)
    w_max[0] = 0.0
    d_w_max[0] = 0.0


cdef int _score_hook(void* ctx, int n_act, int* nnz) noexcept nogil:
    cdef Block* b = <Block*> ctx
    cdef Py_ssize_t off = <Py_ssize_t> b.t0 * b.D.p
    if b.f32:
        nnz[0] = count_nonzero_rows(<float*> b.coef + off, b.D.p, b.D.p, b.nt)
    else:
        nnz[0] = count_nonzero_rows(<double*> b.coef + off, b.D.p, b.D.p, b.nt)
    return n_act


cdef int _select_hook(void* ctx, const int* act, int n_act, int size, int* ws) noexcept nogil:
    cdef Block* b = <Block*> ctx
    cdef Py_ssize_t off = <Py_ssize_t> b.t0 * b.D.p
    if b.f32:
        return build_ws(b.pen, b.w.norms2, <float*> b.coef + off, b.D.p, act, n_act, b.nt,
                        b.w.XtA + b.t0, b.D.T, b.dn, 1, size, b.w.sc, b.w.buf, ws)
    return build_ws(b.pen, b.w.norms2, <double*> b.coef + off, b.D.p, act, n_act, b.nt,
                    b.w.XtA + b.t0, b.D.T, b.dn, 1, size, b.w.sc, b.w.buf, ws)


cdef int _block_solve(const LogDesign* D, const Penalty* pen, floating* coef,
                      double* intercept, bint fit_intercept, int t0, int nt,
                      const double* y, const double* c, int max_iter, double tol,
                      int max_inner, double inner_tol, bint use_ws, int p0, Work* shared,
                      int n_threads, Watch* watch, double* gap_out) noexcept nogil:
    """Proximal Newton on the block of tasks t0 .. t0+nt-1 (its rows, its
    columns of coef, its intercepts; mtlfast.reference.prox_newton on
    LogisticPerTask.task_block for one task): the solve of the module
    docstring, through mtlfast._driver.drive with a Newton step as the epoch
    and a gap after every step. Working sets: a set equal to the previous
    one holds the support and is solved to the final tolerance at once.
    tol < 0 runs exactly max_iter Newton steps on all features without
    gaps. Returns the number of Newton steps, or -1 when scratch memory
    cannot be allocated; gap_out: the block's gap."""
    cdef int p = D.p
    cdef int i, j, t, n_iter
    cdef bint zeroed
    cdef double gap
    cdef Work w = shared[0]
    cdef Block b
    w.n_threads = max(n_threads, 1)
    cdef SolveHooks h
    cdef DriverOptions o
    # the block's own scratch (blocks run in parallel)
    w.row = shared.row + t0
    w.buf = shared.buf + t0
    w.ar = shared.ar + t0
    w.Hr = shared.Hr + t0
    w.act = <int*> malloc(<size_t> max(p, 1) * sizeof(int))
    w.norms2 = <double*> malloc(<size_t> max(p, 1) * sizeof(double))
    w.sc = <ScoredFeature*> malloc(<size_t> max(p, 1) * sizeof(ScoredFeature))
    if w.act == NULL or w.norms2 == NULL or w.sc == NULL:
        free(w.act); free(w.norms2); free(w.sc)
        return -1
    b.D, b.pen, b.coef, b.intercept, b.fit_intercept = D, pen, coef, intercept, fit_intercept
    b.f32, b.t0, b.nt, b.y, b.c, b.w = floating is float, t0, nt, y, c, &w
    b.tol, b.inner_tol, b.max_inner = tol, inner_tol, max_inner
    b.scale = 0.0
    for i in range(D.offsets[t0], D.offsets[t0 + nt]):
        b.scale += c[i]
    # the tolerance and the inner tolerance are relative to the loss at z = 0
    b.scale *= 0.6931471805599453
    use_ws = use_ws and pen.lam1 > 0.0 and tol >= 0.0
    if use_ws and max_iter > 0:
        # the first gap's read of the columns also gives the working sets'
        # curvature bounds (norms2)
        gap = _refit_intercepts(D, pen, coef, intercept, fit_intercept, t0, nt, y, c, NULL,
                                p, &w, True, &b.dn, w.norms2)
        # the rows of all-zero columns are 0 at the optimum
        zeroed = False
        for j in range(p):
            if w.norms2[j] == 0.0:
                for t in range(t0, t0 + nt):
                    if coef[<Py_ssize_t> t * p + j] != 0.0:
                        coef[<Py_ssize_t> t * p + j] = 0.0
                        zeroed = True
        if zeroed:
            gap = _gap_hook(&b, NULL, p, w.n_threads)
        b.last_gap = gap
    else:
        gap = _gap_hook(&b, NULL, p, w.n_threads)
    h.ctx = &b
    h.gap, h.epoch, h.score, h.select = _gap_hook, _step_hook, _score_hook, _select_hook
    h.screen, h.on_new_set, h.after_epoch, h.end_set = NULL, NULL, NULL, NULL
    o.p, o.max_iter, o.tol, o.tol_abs = p, max_iter, tol, tol * b.scale
    o.use_ws, o.p0, o.gap_freq, o.cd_gap_every = use_ws, p0, 1, 1
    o.n_threads, o.inner_gap_threads = w.n_threads, w.n_threads
    o.outer_gap_on_active = False
    o.final_tol_if_same_ws = True
    o.watch = watch
    o.inner_fraction = NULL
    n_iter = drive(&h, &o, gap, gap_out)
    free(w.act); free(w.norms2); free(w.sc)
    return n_iter


ctypedef struct Entry:
    # what every block of a solve shares (the entry's arrays and options)
    Watch watch               # shared stop state of the blocks
    const LogDesign* D
    const Penalty* pen
    void* coef
    double* intercept
    bint fit_intercept
    const double* y
    const double* c
    bint f32
    int max_iter
    double tol
    int max_inner
    double inner_tol
    bint use_ws
    int p0
    Work* work


cdef int _solve_block(void* ctx, int t0, int nt, int n_threads, double* gap) noexcept nogil:
    cdef Entry* e = <Entry*> ctx
    cdef Penalty pen = task_penalty(e.pen, t0)
    if e.f32:
        return _block_solve(e.D, &pen, <float*> e.coef, e.intercept, e.fit_intercept, t0, nt,
                            e.y, e.c, e.max_iter, e.tol, e.max_inner, e.inner_tol, e.use_ws,
                            e.p0, e.work, n_threads, &e.watch, gap)
    return _block_solve(e.D, &pen, <double*> e.coef, e.intercept, e.fit_intercept, t0, nt,
                        e.y, e.c, e.max_iter, e.tol, e.max_inner, e.inner_tol, e.use_ws, e.p0,
                        e.work, n_threads, &e.watch, gap)


def solve(design, floating[:, ::1] coef, double[::1] intercept, penalty, options):
    """Proximal Newton in place on coef (T, p) and intercept (T,).

    design : mtlfast.datafits.TaskDesignArrays (LogisticPerTask.kernel_design()):
        X dense Fortran-ordered, or an empty array when is_sparse (CSC arrays
        X_data, X_indices (sorted per column) and ptr). shared: one X (n, p)
        for every task (every task has n rows; ptr: indptr); else X (N, p)
        stacks the tasks' rows (ptr: tptr, p * (T+1)). n_rows: N, rows of all
        tasks; y (N,) 0/1 labels and c (N,) row weights, both float64 in the
        tasks' order; offsets (T+1,) the tasks' rows; fit_intercept.
    penalty : a row penalty (mtlfast.penalties; kernel_params()).
    options : mtlfast.solvers.KernelOptions: max_iter (Newton steps), tol
        (relative to each block's loss at z = 0, sum c log 2; tol < 0 runs
        exactly max_iter Newton steps on all features without gaps: the
        twin-comparison mode), max_inner, inner_tol, strategy (STRATEGY_WS:
        working sets as mtlfast.reference.pn_logistic.prox_newton, lam1 > 0
        and tol >= 0 only), p0, n_threads (separable penalties: tasks solved
        n_threads at a time).
    Returns (n_iter per block, gap per block), n_iter counting Newton steps.
    """
    cdef const floating[::1, :] X = design.X
    cdef const floating[::1] X_data = design.X_data
    cdef const int[::1] X_indices = design.X_indices
    cdef const int[::1] ptr = design.ptr
    cdef const double[::1] y = design.y
    cdef const double[::1] c = design.c
    cdef const int[::1] offsets = design.offsets
    cdef bint is_sparse = design.is_sparse, shared = design.shared
    cdef bint fit_intercept = design.fit_intercept
    cdef int n_features = design.n_features, n_rows = design.n_rows
    cdef int max_iter = options.max_iter, max_inner = options.max_inner
    cdef int p0 = options.p0, n_threads = options.n_threads
    cdef double tol = options.tol, inner_tol = options.inner_tol
    cdef bint use_ws = options.strategy == STRATEGY_WS
    cdef LogDesign D
    cdef Penalty pen = penalty_from(penalty)
    cdef Work w
    cdef int T = <int> offsets.shape[0] - 1
    cdef int p = n_features, N = n_rows
    cdef int b, t, n_blocks, n_x
    cdef bint separable = is_separable(&pen)
    if coef.shape[0] != T or coef.shape[1] != p or intercept.shape[0] != T:
        raise ValueError("coef must have shape (n_tasks, n_features), intercept (n_tasks,)")
    if y.shape[0] != N or c.shape[0] != N or offsets[0] != 0 or offsets[T] != N:
        raise ValueError("y and c must have one entry per row, offsets span them")
    n_x = offsets[1] - offsets[0] if shared else N
    if shared:
        for t in range(T):
            if offsets[t + 1] - offsets[t] != n_x:
                raise ValueError("with a shared X every task has its rows")
    if is_sparse:
        if ptr.shape[0] != (p + 1 if shared else p * (T + 1)):
            raise ValueError("the CSC pointers do not match the design")
    elif X.shape[0] != n_x or X.shape[1] != p:
        raise ValueError("X does not match the design")
    D.is_sparse = is_sparse
    D.shared = shared
    D.N = N
    D.p = p
    D.T = T
    D.ld = n_x
    D.offsets = &offsets[0]
    D.data = NULL
    D.indices = NULL
    D.ptr = NULL
    if is_sparse:
        D.ptr = &ptr[0]
        if X_data.shape[0] > 0:
            D.data = <const void*> &X_data[0]
            D.indices = &X_indices[0]
    elif X.shape[0] > 0 and X.shape[1] > 0:
        D.data = <const void*> &X[0, 0]
    cdef double[:, ::1] rows = np.zeros((6, max(N, 1)))
    cdef double[:, ::1] pieces = np.zeros((5, max(p * T, 1)))
    cdef double[:, ::1] per_task = np.zeros((9, max(T, 1)))
    w.z, w.a, w.h, w.rho, w.u, w.hu = (&rows[0, 0], &rows[1, 0], &rows[2, 0], &rows[3, 0],
                                       &rows[4, 0], &rows[5, 0])
    w.XtA, w.H, w.S, w.Hc, w.Dm = (&pieces[0, 0], &pieces[1, 0], &pieces[2, 0],
                                   &pieces[3, 0], &pieces[4, 0])
    w.row, w.buf, w.ar, w.Hr, w.Gb = (&per_task[0, 0], &per_task[1, 0], &per_task[2, 0],
                                      &per_task[3, 0], &per_task[4, 0])
    w.Hb, w.Db, w.m, w.gbv = &per_task[5, 0], &per_task[6, 0], &per_task[7, 0], &per_task[8, 0]
    # separable with several tasks: the tasks run in parallel, each on one
    # thread; else the one block's per-feature passes (gaps, model) use them
    # (mtlfast._driver.run_blocks)
    n_blocks = T if separable and T > 1 else 1
    n_iter = np.zeros(n_blocks, dtype=np.intc)
    gaps = np.zeros(n_blocks)
    cdef int[::1] n_iter_v = n_iter
    cdef double[::1] gaps_v = gaps
    cdef Entry e
    e.D, e.pen, e.coef, e.intercept, e.fit_intercept = &D, &pen, &coef[0, 0], &intercept[0], \
        fit_intercept
    e.y, e.c, e.f32, e.max_iter, e.tol = &y[0], &c[0], floating is float, max_iter, tol
    e.max_inner, e.inner_tol, e.use_ws, e.p0, e.work = max_inner, inner_tol, use_ws, p0, &w
    watch_start(&e.watch)
    watch_options(&e.watch, options)
    with nogil:
        run_blocks(_solve_block, &e, separable, T, n_threads, &n_iter_v[0], &gaps_v[0])
    raise_if_stopped(&e.watch)
    if np.any(n_iter < 0):
        raise MemoryError("cannot allocate the solver's scratch memory")
    return n_iter, gaps
