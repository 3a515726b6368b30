"""Block coordinate descent for the structured models of mtlfast.penalties.structured.

Per-task design (mtlfast._taskdesign), objective

    1/2 ||y - A(W)||^2 + Omega

with W built from the model's parts (stored (T_k, p), C-ordered):
    MOD_TWO_PART  W = PA + PB, Omega = hA(PA) + hB(PB); PA is (1, p) when
                  shared_a (one vector added to every task), else (T, p)
    MOD_GRAPH     W = PA, Omega = lam sum_j W[:, j]^T Lap W[:, j] + hA(W),
                  Lap = diag(deg) - A (A: CSR of the off-diagonal similarities)
    MOD_TRANSFER  W = PA, Omega = sum_{t,j} a |W_tj| + b |W_tj - src_tj|

Per feature j the data term restricted to the row W[:, j] is exactly
sum_t H_t/2 d_t^2 - g_t d_t (d: change of W[:, j], g_t = x_jt . r_t,
H_t = ||x_jt||^2), so the epoch is: the dots g (over each task's rows),
the model's row update (tiny, T entries), the residual updates. The row
updates, their order and the gaps are those of the NumPy twin
(mtlfast.penalties.structured); see there for the math. MOD_TRANSFER is separable:
each task is its own block, solved in parallel. The others form one block;
their dots and residual updates run in parallel over tasks when the block
has enough rows.

Stopping as in mtlfast._cd_pertask: gap <= tol * ||y_block||^2, computed after an
epoch whose largest change is <= tol * the largest coefficient, every
gap_freq epochs and at the last one; tol < 0 never stops.
"""
import numpy as np
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport malloc, free
from libc.math cimport fabs, fmax, fmin, sqrt, ceil, log, log1p, INFINITY

from mtlfast._kinds cimport STRATEGY_WS
from mtlfast._prox cimport (Penalty, NORM_L1, penalty_from, make_penalty, row_prox, row_norm,
                            row_dual_norm)
from mtlfast._taskdesign cimport (
    TaskDesign, piece_dot, piece_update, piece_norm2, flush, design_from)
from mtlfast._workset cimport ScoredFeature, select_ws
from mtlfast._models cimport (Model, MOD_TWO_PART, MOD_GRAPH, MOD_TRANSFER, row_update,
                              _w, _lap_row, _lap_vec)
from mtlfast._driver cimport Watch, watch_start, watch_options, raise_if_stopped, SolveHooks, DriverOptions, drive, run_blocks


# rows in a block from which the per-feature dots and updates are split
# across threads (below, one fork/join per feature costs more than it saves)
cdef enum:
    PAR_ROWS = 4096

from mtlfast._cd_structured_core cimport model_gap, _epoch, _score_features


# ---- the driver's hooks (mtlfast._driver): the block's state, and one thin
# function per hook that picks the dtype's specialization

ctypedef struct Block:
    const TaskDesign* D
    const Model* M
    const double* L           # curvatures ||x_jt||^2, j * T + t
    void* PA                  # the parts (floating)
    void* PB
    void* r
    const void* y
    bint f32
    int t0, nt
    bint par                  # dots and residual updates over the tasks in parallel
                              # (when the epoch has threads)
    double* V                 # p * nt: x_jt . r_t of the last gap
    int n_sc                  # features scored for the next working set
    double* g
    double* delta
    double* buf
    double* buf2
    ScoredFeature* sc


cdef inline double _gap_of(Block* b, floating* PA, const int* feats, int m,
                           int n_threads) noexcept nogil:
    return model_gap(b.D, b.M, PA, <floating*> b.PB, <floating*> b.r, <const floating*> b.y,
                     b.t0, b.nt, feats, m, b.V, b.buf, b.buf2, n_threads, NULL)


cdef double _gap_hook(void* ctx, const int* feats, int m, int n_threads) noexcept nogil:
    cdef Block* b = <Block*> ctx
    if b.f32:
        return _gap_of(b, <float*> b.PA, feats, m, n_threads)
    return _gap_of(b, <double*> b.PA, feats, m, n_threads)


cdef inline void _epoch_of(Block* b, floating* PA, const int* feats, int m, int n_threads,
                           double* w_max, double* d_w_max) noexcept nogil:
    _epoch(b.D, b.M, b.L, PA, <floating*> b.PB, <floating*> b.r, b.t0, b.nt, feats, m, b.g,
           b.delta, b.buf, b.par and n_threads > 1, n_threads, w_max, d_w_max)


cdef void _epoch_hook(void* ctx, const int* feats, int m, int n_threads, double* w_max,
                      double* d_w_max) noexcept nogil:
    cdef Block* b = <Block*> ctx
    if b.f32:
        _epoch_of(b, <float*> b.PA, feats, m, n_threads, w_max, d_w_max)
    else:
        _epoch_of(b, <double*> b.PA, feats, m, n_threads, w_max, d_w_max)


cdef inline int _score_of(Block* b, floating* PA, int* nnz) noexcept nogil:
    return _score_features(b.M, PA, <floating*> b.PB, b.D.p, b.D.T, b.t0, b.nt, b.V, b.L,
                           b.sc, b.buf, b.buf2, nnz)


cdef int _score_hook(void* ctx, int n_act, int* nnz) noexcept nogil:
    """The features that can enter a set: the cap of the next one."""
    cdef Block* b = <Block*> ctx
    if b.f32:
        b.n_sc = _score_of(b, <float*> b.PA, nnz)
    else:
        b.n_sc = _score_of(b, <double*> b.PA, nnz)
    return b.n_sc


cdef int _select_hook(void* ctx, const int* act, int n_act, int size, int* ws) noexcept nogil:
    cdef Block* b = <Block*> ctx
    return select_ws(b.sc, b.n_sc, size, ws)


cdef int block_solve(const TaskDesign* D, const Model* M, double* L, floating* PA,
                     floating* PB, floating* r, const floating* y, int t0, int nt,
                     int max_iter, double tol, int gap_freq, int n_threads, bint use_ws,
                     int p0, Watch* watch, double* gap_out) noexcept nogil:
    """Epochs for the tasks t0 .. t0+nt-1; returns the number of epochs
    (passes over all features or over the working set), or -1 when scratch
    memory cannot be allocated. Fills L[j * T + t] = ||X[rows t, j]||^2 for
    the block's tasks in the first gap's pass, then runs
    mtlfast._driver.drive.

    use_ws (tol >= 0, not MOD_GRAPH with a coupled row penalty, every part
    with an L1-type norm: then a feature is out of the model when all its
    parts' rows are zero; MOD_TRANSFER with alpha > 0: out when its row and
    its source row are zero):
    working sets as in mtlfast._cd_pertask, scored by _score_features, each
    subproblem solved until its gap is <= 0.3 x the full one."""
    cdef int p = D.p
    cdef int i, n_iter
    cdef double gap, tol_abs = 0.0
    cdef Block b
    cdef SolveHooks h
    cdef DriverOptions o
    b.g = <double*> malloc(<size_t> nt * sizeof(double))
    b.delta = <double*> malloc(<size_t> nt * sizeof(double))
    b.buf = <double*> malloc(<size_t> 7 * nt * sizeof(double))  # _graph_row
    b.buf2 = <double*> malloc(<size_t> nt * sizeof(double))
    b.V = <double*> malloc(<size_t> p * nt * sizeof(double))
    b.sc = <ScoredFeature*> malloc(<size_t> p * sizeof(ScoredFeature))
    if (b.g == NULL or b.delta == NULL or b.buf == NULL or b.buf2 == NULL or b.V == NULL
            or b.sc == NULL):
        free(b.g); free(b.delta); free(b.buf); free(b.buf2); free(b.V); free(b.sc)
        return -1
    # not for the task graph with a coupled row penalty: its nonzero rows'
    # inner solves (_graph_row) dominate an epoch and working sets only
    # repeat them, while a zero row costs its dots and one dual-norm test
    if M.kind == MOD_TRANSFER:
        use_ws = use_ws and tol >= 0.0 and M.ta + M.tb > 0.0
    else:
        use_ws = use_ws and tol >= 0.0 and M.pa.lam1 > 0.0 and (
            M.kind != MOD_TWO_PART or M.pb.lam1 > 0.0) and not (
            M.kind == MOD_GRAPH and M.pa.kind != NORM_L1)
    for i in range(D.offsets[t0], D.offsets[t0 + nt]):
        tol_abs += <double> y[i] * y[i]
    tol_abs *= tol
    # the first gap's pass over the columns also computes the curvatures
    gap = model_gap(D, M, PA, PB, r, y, t0, nt, NULL, p, b.V, b.buf, b.buf2, n_threads, L)

    b.D, b.M, b.L, b.PA, b.PB, b.r, b.y = D, M, L, PA, PB, r, y
    b.f32, b.t0, b.nt = floating is float, t0, nt
    b.par = n_threads > 1 and D.offsets[t0 + nt] - D.offsets[t0] >= PAR_ROWS
    h.ctx = &b
    h.gap, h.epoch, h.score, h.select = _gap_hook, _epoch_hook, _score_hook, _select_hook
    h.screen, h.on_new_set, h.after_epoch, h.end_set = NULL, NULL, NULL, NULL
    o.p, o.max_iter, o.tol, o.tol_abs = p, max_iter, tol, tol_abs
    o.use_ws, o.p0, o.gap_freq, o.cd_gap_every = use_ws, p0, gap_freq, gap_freq
    o.n_threads, o.inner_gap_threads = n_threads, 1
    o.outer_gap_on_active = False
    o.final_tol_if_same_ws = False
    o.watch = watch
    o.inner_fraction = NULL
    n_iter = drive(&h, &o, gap, gap_out)
    free(b.g); free(b.delta); free(b.buf); free(b.buf2); free(b.V); free(b.sc)
    return n_iter


ctypedef struct Entry:
    # what every block of a solve shares (the entry's arrays and options)
    Watch watch               # shared stop state of the blocks
    const TaskDesign* D
    const Model* M
    double* L
    void* PA
    void* PB
    void* r
    const void* y
    bint f32
    int max_iter
    double tol
    int gap_freq
    bint use_ws
    int p0


cdef inline int _block_of(Entry* e, floating* PA, int t0, int nt, int n_threads,
                          double* gap) noexcept nogil:
    return block_solve(e.D, e.M, e.L, PA, <floating*> e.PB, <floating*> e.r,
                       <const floating*> e.y, t0, nt, e.max_iter, e.tol, e.gap_freq, n_threads,
                       e.use_ws, e.p0, &e.watch, gap)


cdef int _solve_block(void* ctx, int t0, int nt, int n_threads, double* gap) noexcept nogil:
    cdef Entry* e = <Entry*> ctx
    if e.f32:
        return _block_of(e, <float*> e.PA, t0, nt, n_threads, gap)
    return _block_of(e, <double*> e.PA, t0, nt, n_threads, gap)


def solve(design, floating[:, ::1] PA, floating[:, ::1] PB, model, options):
    """Run block coordinate descent in place on the parts PA, PB.

    design : mtlfast.datafits.TaskDesignArrays (QuadraticPerTask.kernel_design(),
        see mtlfast._taskdesign.design_from), arrays of the parts' dtype.
    PA : (T, p), or (1, p) for a shared part; PB : (T, p) (two-part models;
        else an unused (0, p) array). C-ordered, the datafit's dtype.
    model : mtlfast.penalties.StructuredParams (the model's kernel_params()):
        kind (ModelKind) and the fields that kind reads.
    options : mtlfast.solvers.KernelOptions: max_iter, tol, gap_freq,
        n_threads, strategy (STRATEGY_WS: working sets), p0.
    Returns (n_iter per block, gap per block, residual y - A(W)); one block per
    task for MOD_TRANSFER, else a single block.
    """
    cdef TaskDesign D
    cdef Model M
    cdef int p = design.n_features
    cdef int T = <int> len(design.offsets) - 1
    cdef const floating[::1] y = design.y
    cdef int max_iter = options.max_iter, gap_freq = options.gap_freq
    cdef int n_threads = options.n_threads, p0 = options.p0
    cdef double tol = options.tol
    cdef bint use_ws = options.strategy == STRATEGY_WS
    cdef int j, t, b, n_blocks
    cdef double w
    dtype = np.float32 if floating is float else np.float64
    M.kind = model.kind
    if M.kind == MOD_TWO_PART:
        M.pa = penalty_from(model.pen_a)
        M.pb = penalty_from(model.pen_b)
        M.shared_a = model.shared_a
        M.agg_slack = model.agg_slack
        if PB.shape[0] != T or PB.shape[1] != p:
            raise ValueError("PB must have shape (n_tasks, n_features)")
    elif M.kind == MOD_GRAPH:
        M.pa = penalty_from(model.pen_a)
        M.shared_a = False
        M.agg_slack = 0.0
    elif M.kind == MOD_TRANSFER:
        M.shared_a = False
        M.agg_slack = 0.0
        M.pa = make_penalty(NORM_L1, 0.0, 0.0, 0.0, False)    # carries the factors only
    else:
        raise ValueError(f"unknown model kind {M.kind}")
    if PA.shape[0] != (1 if M.shared_a else T) or PA.shape[1] != p:
        raise ValueError("PA must have shape (n_tasks, n_features), or (1, n_features) "
                         "for a shared part")
    cdef const double[:, ::1] src
    cdef const double[::1] pf
    cdef const int[::1] g_ptr, g_idx
    cdef const double[::1] g_val, deg
    if M.kind == MOD_TRANSFER:
        src = model.src
        if src.shape[0] != T or src.shape[1] != p:
            raise ValueError("src must have shape (n_tasks, n_features)")
        M.src = &src[0, 0]
        M.ta = model.ta
        M.tb = model.tb
        if model.factor is not None:
            pf = model.factor
            if pf.shape[0] != p:
                raise ValueError("factor must have length n_features")
            M.pa.pf = &pf[0]
    if M.kind == MOD_GRAPH:
        g_ptr, g_idx, g_val, deg = model.g_ptr, model.g_idx, model.g_val, model.deg
        if g_ptr.shape[0] != T + 1 or deg.shape[0] != T:
            raise ValueError("graph arrays do not match n_tasks")
        M.g_ptr = &g_ptr[0]
        M.g_idx = &g_idx[0] if g_idx.shape[0] > 0 else NULL
        M.g_val = &g_val[0] if g_val.shape[0] > 0 else NULL
        M.deg = &deg[0]
        M.lam_g = model.lam_g
        M.lmax = model.lmax
    cdef double[::1] c = np.zeros(T, dtype=np.float64)
    design_from(&D, design, PA, c)

    r_arr = np.array(y, dtype=dtype, copy=True)
    cdef floating[::1] r = r_arr
    L_arr = np.empty((p, T), dtype=np.float64)
    cdef double[:, ::1] L = L_arr
    n_blocks = T if M.kind == MOD_TRANSFER else 1
    n_iter_arr = np.zeros(n_blocks, dtype=np.intc)
    cdef int[::1] n_iter = n_iter_arr
    gaps_arr = np.zeros(n_blocks, dtype=np.float64)
    cdef double[::1] gaps = gaps_arr
    cdef floating* pb = &PB[0, 0] if PB.shape[0] > 0 else NULL
    cdef Entry e
    e.D, e.M, e.L, e.PA, e.PB, e.r, e.y = &D, &M, &L[0, 0], &PA[0, 0], pb, &r[0], &y[0]
    e.f32, e.max_iter, e.tol, e.gap_freq = floating is float, max_iter, tol, gap_freq
    e.use_ws, e.p0 = use_ws, p0

    watch_start(&e.watch)
    watch_options(&e.watch, options)
    with nogil:
        # r = y - A(W)
        for j in range(p):
            for t in range(T):
                w = _w(&M, &PA[0, 0], pb, p, t, j)
                if w != 0.0:
                    piece_update(&D, j, t, w, &r[0])
        run_blocks(_solve_block, &e, n_blocks > 1, T, n_threads, &n_iter[0], &gaps[0])
        flush(&D, &r[0], 0, T)
    raise_if_stopped(&e.watch)
    if (n_iter_arr < 0).any():
        raise MemoryError("mtlfast: could not allocate solver scratch memory")
    return n_iter_arr, gaps_arr, r_arr
