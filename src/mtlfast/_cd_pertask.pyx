"""Block coordinate descent for per-task designs (mtlfast.datafits.QuadraticPerTask).

Rows of all tasks are stacked, task t owning rows offsets[t]:offsets[t+1] of
the effective design X (N x p; dense Fortran-ordered or CSC with sorted row
indices) and of y. Objective (already weighted and scaled by the datafit):

    1/2 ||y - A(W)||^2 + sum_j h(W[j, :]),    A(W)_i = x_i . w_t(i)

with h a row penalty from mtlfast._prox. W is stored as coef (T, p),
C-ordered. A feature's block spans the tasks; the inner products run over
each task's own rows. The tasks own disjoint rows, so the data term over a
row is a diagonal quadratic (curvatures L_jt = ||X[rows t, j]||^2) and every
row is minimized exactly (_prox.row_prox_diag: coordinate-wise for NORM_L1,
a 1-D secular equation for the group kinds). Separable penalties (NORM_L1)
are solved task by task in parallel. Same iterates as
mtlfast.reference.bcd_tasks.

Stopping: the duality gap (the construction of _cd_shared.block_gap with n = 1)
<= tol * ||y_block||^2, computed after an epoch whose largest change is
<= tol * the largest coefficient, every gap_freq epochs and at the last one;
tol < 0 never stops (and runs plain epochs, the twin's iterates).
With tol >= 0 and lam1 > 0 the solver uses working sets (the subproblem on
the nonzero rows and the features whose dual constraint is nearly active,
grown until the full gap certifies) and gap-safe screening, as
mtlfast._cd_shared does for a shared design (tasks_block_solve).
"""
import numpy as np
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport malloc, free
from libc.math cimport fabs, fmax, sqrt

from mtlfast._kinds cimport STRATEGY_WS
from mtlfast._prox cimport Penalty, penalty_from, is_separable, task_penalty, row_prox_diag, row_norm, row_dual_norm
from mtlfast._taskdesign cimport (
    TaskDesign, piece_dot, piece_update, piece_norm2, flush, design_from)
from mtlfast._workset cimport ScoredFeature, build_ws
from mtlfast._anderson cimport (Anderson, anderson_alloc, anderson_reserve, anderson_step,
                                anderson_free)
from mtlfast._gap cimport quadratic_gap, SafeBall, safe_ball, safely_zero
from mtlfast._driver cimport (Watch, watch_start, watch_options, raise_if_stopped, SolveHooks, DriverOptions, drive, count_nonzero_rows,
                              run_blocks)


from mtlfast._cd_pertask_core cimport _xta_pass, _gap_from_xta, tasks_gap, screen_rows, _epoch


# ---- the driver's hooks (mtlfast._driver): the block's state, and one thin
# function per hook that picks the dtype's specialization

ctypedef struct Block:
    const TaskDesign* D
    const Penalty* pen
    const double* L           # curvatures ||X[rows t, j]||^2, j * T + t
    const double* Lmax        # max over the block's tasks
    void* W                   # coef (T, p), floating
    void* r                   # residual (N,), floating
    const void* y
    bint f32
    int t0, nt
    double* XtA               # p * nt: A_j^T r - lam2 W_j of the last gap
    double dn                 # the last gap's largest dual norm
    double* a
    double* w_old
    double* buf
    ScoredFeature* sc
    Anderson* AA


cdef inline double _gap_of(Block* b, floating* W, const int* feats, int m,
                           int n_threads) noexcept nogil:
    return tasks_gap(b.D, b.pen, W, <floating*> b.r, <const floating*> b.y, b.t0, b.nt,
                     feats, m, b.XtA, b.buf, &b.dn, n_threads)


cdef double _gap_hook(void* ctx, const int* feats, int m, int n_threads) noexcept nogil:
    cdef Block* b = <Block*> ctx
    if b.f32:
        return _gap_of(b, <float*> b.W, feats, m, n_threads)
    return _gap_of(b, <double*> b.W, feats, m, n_threads)


cdef void _epoch_hook(void* ctx, const int* feats, int m, int n_threads, double* w_max,
                      double* d_w_max) noexcept nogil:
    """(one thread: the per-task epochs are sequential)"""
    cdef Block* b = <Block*> ctx
    if b.f32:
        _epoch(b.D, b.pen, b.L, b.Lmax, <float*> b.W, <float*> b.r, b.t0, b.nt, feats, m,
               b.a, b.w_old, w_max, d_w_max)
    else:
        _epoch(b.D, b.pen, b.L, b.Lmax, <double*> b.W, <double*> b.r, b.t0, b.nt, feats, m,
               b.a, b.w_old, w_max, d_w_max)


cdef int _score_hook(void* ctx, int n_act, int* nnz) noexcept nogil:
    cdef Block* b = <Block*> ctx
    cdef Py_ssize_t off = <Py_ssize_t> b.t0 * b.D.p
    if b.f32:
        nnz[0] = count_nonzero_rows(<float*> b.W + off, b.D.p, b.D.p, b.nt)
    else:
        nnz[0] = count_nonzero_rows(<double*> b.W + off, b.D.p, b.D.p, b.nt)
    return n_act


cdef inline int _select_of(Block* b, floating* W, const int* act, int n_act, int size,
                           int* ws) noexcept nogil:
    return build_ws(b.pen, b.Lmax, W + <Py_ssize_t> b.t0 * b.D.p, b.D.p, act, n_act, b.nt,
                    b.XtA, b.nt, b.dn, 1, size, b.sc, b.buf, ws)


cdef int _select_hook(void* ctx, const int* act, int n_act, int size, int* ws) noexcept nogil:
    cdef Block* b = <Block*> ctx
    if b.f32:
        return _select_of(b, <float*> b.W, act, n_act, size, ws)
    return _select_of(b, <double*> b.W, act, n_act, size, ws)


cdef int _screen_hook(void* ctx, int* act, int n_act, double gap) noexcept nogil:
    cdef Block* b = <Block*> ctx
    if b.f32:
        return screen_rows(b.D, b.pen, <float*> b.W, <float*> b.r, b.Lmax, b.t0, b.nt, b.XtA,
                           b.dn, b.buf, gap, act, n_act)
    return screen_rows(b.D, b.pen, <double*> b.W, <double*> b.r, b.Lmax, b.t0, b.nt, b.XtA,
                       b.dn, b.buf, gap, act, n_act)


cdef void _new_set_hook(void* ctx, const int* feats, int m) noexcept nogil:
    """The epochs' features changed: the stored Anderson iterates index the
    old list."""
    cdef Block* b = <Block*> ctx
    b.AA.count = 0
    anderson_reserve(b.AA, m, b.nt)


cdef inline void _anderson_of(Block* b, floating* W, const int* feats, int m) noexcept nogil:
    """An Anderson step; when it replaces W, the residual follows W's change
    piece by piece, as in an epoch (no drift between them)."""
    cdef int lo = b.D.offsets[b.t0], hi = b.D.offsets[b.t0 + b.nt]
    cdef int k, tt, nt = b.nt
    cdef floating* r = <floating*> b.r
    cdef const double* before = b.AA.Wk + <Py_ssize_t> b.AA.K * m * nt
    cdef double delta
    flush(b.D, r, b.t0, nt)
    if not anderson_step(b.AA, b.pen, W + <Py_ssize_t> b.t0 * b.D.p, b.D.p, nt, feats, m,
                         r + lo, hi - lo, 1.0, False):
        return
    for k in range(m):
        for tt in range(nt):
            delta = (W[<Py_ssize_t> (b.t0 + tt) * b.D.p + feats[k]]
                     - <floating> before[<Py_ssize_t> k * nt + tt])
            if delta != 0.0:
                piece_update(b.D, feats[k], b.t0 + tt, delta, r)


cdef void _after_epoch_hook(void* ctx, const int* feats, int m) noexcept nogil:
    cdef Block* b = <Block*> ctx
    if b.f32:
        _anderson_of(b, <float*> b.W, feats, m)
    else:
        _anderson_of(b, <double*> b.W, feats, m)


cdef int tasks_block_solve(const TaskDesign* D, const Penalty* pen, double* L,
                           floating* W, floating* r, const floating* y, int t0, int nt,
                           int max_iter, double tol, int gap_freq, int n_threads,
                           bint screen, bint use_ws, int p0, int anderson_k,
                           Watch* watch, double* gap_out) noexcept nogil:
    """Epochs for the tasks t0 .. t0+nt-1; returns the number of epochs
    (passes over the features of the epoch, all or the working set), or -1
    when scratch memory cannot be allocated. Fills L[j * T + t] =
    ||X[rows t, j]||^2 for the block's tasks in the first gap's pass, sets
    the rows of all-zero columns to 0, then runs mtlfast._driver.drive:

    use_ws (lam1 > 0, tol >= 0): working sets (after each full gap, the
    nonzero rows plus the features whose dual constraint is closest to
    active, solved until the subproblem's gap is <= 0.3 x the full one).
    Otherwise plain epochs over all features with the stopping rule of the
    module docstring.
    anderson_k > 0: Anderson extrapolation of the epochs' iterates every
    anderson_k + 1 epochs (mtlfast._anderson; 0: off).
    screen (lam1 > 0, tol >= 0): gap-safe screening after every full gap;
    the gap stays the full problem's."""
    cdef int p = D.p, T = D.T
    cdef int j, tt, i, n_iter
    cdef double gap, tol_abs = 0.0
    cdef Block b
    cdef SolveHooks h
    cdef DriverOptions o
    cdef Anderson AA
    anderson_alloc(&AA, anderson_k, D.offsets[t0 + nt] - D.offsets[t0], sizeof(floating))
    b.AA = &AA
    b.a = <double*> malloc(<size_t> nt * sizeof(double))
    b.w_old = <double*> malloc(<size_t> nt * sizeof(double))
    b.buf = <double*> malloc(<size_t> nt * sizeof(double))
    b.XtA = <double*> malloc(<size_t> p * nt * sizeof(double))
    cdef double* Lmax = <double*> malloc(<size_t> p * sizeof(double))
    b.sc = <ScoredFeature*> malloc(<size_t> p * sizeof(ScoredFeature))
    if (b.a == NULL or b.w_old == NULL or b.buf == NULL or b.XtA == NULL or Lmax == NULL
            or b.sc == NULL):
        free(b.a); free(b.w_old); free(b.buf); free(b.XtA); free(Lmax); free(b.sc)
        anderson_free(&AA)
        return -1
    screen = screen and pen.lam1 > 0.0 and tol >= 0.0
    use_ws = use_ws and pen.lam1 > 0.0 and tol >= 0.0
    # the first gap's pass over the columns also computes the curvatures
    _xta_pass(D, pen, W, r, t0, nt, NULL, p, b.XtA, L, n_threads)
    for j in range(p):
        Lmax[j] = 0.0
        for tt in range(nt):
            Lmax[j] = fmax(Lmax[j], L[<Py_ssize_t> j * T + t0 + tt])
        if Lmax[j] == 0.0:
            # the column vanishes in every task: the optimum row is 0 (and
            # setting it leaves the residual unchanged; A_j^T r = 0)
            for tt in range(nt):
                W[<Py_ssize_t> (t0 + tt) * p + j] = 0.0
                b.XtA[<Py_ssize_t> j * nt + tt] = 0.0
    for i in range(D.offsets[t0], D.offsets[t0 + nt]):
        tol_abs += <double> y[i] * y[i]
    tol_abs *= tol
    gap = _gap_from_xta(D, pen, W, r, y, t0, nt, NULL, p, b.XtA, b.buf, &b.dn)

    b.D, b.pen, b.L, b.Lmax = D, pen, L, Lmax
    b.W, b.r, b.y, b.f32 = W, r, y, floating is float
    b.t0, b.nt = t0, nt
    h.ctx = &b
    h.gap, h.epoch, h.score, h.select = _gap_hook, _epoch_hook, _score_hook, _select_hook
    h.screen = NULL
    if screen:
        h.screen = _screen_hook
    h.on_new_set = NULL
    h.after_epoch = NULL
    h.end_set = NULL
    if AA.K > 0:
        h.on_new_set, h.after_epoch = _new_set_hook, _after_epoch_hook
    o.p, o.max_iter, o.tol, o.tol_abs = p, max_iter, tol, tol_abs
    o.use_ws, o.p0, o.gap_freq, o.cd_gap_every = use_ws, p0, gap_freq, gap_freq
    o.n_threads, o.inner_gap_threads = n_threads, 1
    o.outer_gap_on_active = False
    o.final_tol_if_same_ws = False
    o.watch = watch
    o.inner_fraction = NULL
    n_iter = drive(&h, &o, gap, gap_out)
    free(b.a); free(b.w_old); free(b.buf); free(b.XtA); free(Lmax); free(b.sc)
    anderson_free(&AA)
    return n_iter


ctypedef struct Entry:
    # what every block of a solve shares (the entry's arrays and options)
    Watch watch               # shared stop state of the blocks
    const TaskDesign* D
    const Penalty* pen
    double* L
    void* coef
    void* r
    const void* y
    bint f32
    int max_iter
    double tol
    int gap_freq
    bint screen
    bint use_ws
    int p0
    int anderson_k


cdef inline int _block_of(Entry* e, floating* coef, int t0, int nt, int n_threads,
                          double* gap) noexcept nogil:
    cdef Penalty pen = task_penalty(e.pen, t0)
    return tasks_block_solve(e.D, &pen, e.L, coef, <floating*> e.r, <const floating*> e.y,
                             t0, nt, e.max_iter, e.tol, e.gap_freq, n_threads, e.screen,
                             e.use_ws, e.p0, e.anderson_k, &e.watch, gap)


cdef int _solve_block(void* ctx, int t0, int nt, int n_threads, double* gap) noexcept nogil:
    cdef Entry* e = <Entry*> ctx
    if e.f32:
        return _block_of(e, <float*> e.coef, t0, nt, n_threads, gap)
    return _block_of(e, <double*> e.coef, t0, nt, n_threads, gap)


def solve(design, floating[:, ::1] coef, penalty, options):
    """Run per-task block coordinate descent in place on coef (T, p).

    design : mtlfast.datafits.TaskDesignArrays (QuadraticPerTask.kernel_design():
        the effective design, y the effective targets; see
        mtlfast._taskdesign.design_from), arrays of coef's dtype.
    penalty : a row penalty (mtlfast.penalties; kernel_params()).
    options : mtlfast.solvers.KernelOptions: max_iter, tol, gap_freq,
        n_threads, screen, strategy (STRATEGY_WS: working sets), p0,
        anderson_k (Anderson extrapolation depth; 0: off).
    Returns (n_iter per block, gap per block, residual y - A(W)); one block per
    task for separable penalties (NORM_L1), else a single block.
    """
    cdef TaskDesign D
    cdef Penalty pen = penalty_from(penalty)
    cdef int p = design.n_features
    cdef int T = <int> len(design.offsets) - 1
    cdef const floating[::1] y = design.y
    cdef int max_iter = options.max_iter, gap_freq = options.gap_freq
    cdef int n_threads = options.n_threads, p0 = options.p0
    cdef double tol = options.tol
    cdef bint screen = options.screen, use_ws = options.strategy == STRATEGY_WS
    cdef int j, t, k, b, n_blocks
    cdef double s, w
    cdef bint separable = is_separable(&pen)
    dtype = np.float32 if floating is float else np.float64
    if coef.shape[0] != T or coef.shape[1] != p:
        raise ValueError("coef must have shape (n_tasks, n_features)")
    cdef double[::1] c = np.zeros(T, dtype=np.float64)
    design_from(&D, design, coef, c)

    r_arr = np.array(y, dtype=dtype, copy=True)
    cdef floating[::1] r = r_arr
    L_arr = np.empty((p, T), dtype=np.float64)
    cdef double[:, ::1] L = L_arr
    n_blocks = T if separable else 1
    n_iter_arr = np.zeros(n_blocks, dtype=np.intc)
    cdef int[::1] n_iter = n_iter_arr
    gaps_arr = np.zeros(n_blocks, dtype=np.float64)
    cdef double[::1] gaps = gaps_arr
    cdef Entry e
    e.D, e.pen, e.L, e.coef, e.r, e.y = &D, &pen, &L[0, 0], &coef[0, 0], &r[0], &y[0]
    e.f32, e.max_iter, e.tol, e.gap_freq = floating is float, max_iter, tol, gap_freq
    e.screen, e.use_ws, e.p0, e.anderson_k = screen, use_ws, p0, options.anderson_k

    watch_start(&e.watch)
    watch_options(&e.watch, options)
    with nogil:
        # r = y - A(W)
        for j in range(p):
            for t in range(T):
                w = coef[t, j]
                if w != 0.0:
                    piece_update(&D, j, t, w, &r[0])
        run_blocks(_solve_block, &e, separable, T, n_threads, &n_iter[0], &gaps[0])
        flush(&D, &r[0], 0, T)
    raise_if_stopped(&e.watch)
    if (n_iter_arr < 0).any():
        raise MemoryError("mtlfast: could not allocate solver scratch memory")
    return n_iter_arr, gaps_arr, r_arr
