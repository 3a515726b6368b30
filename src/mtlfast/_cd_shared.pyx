"""Block coordinate descent for a shared design X (n x p) and targets Y (n x T).

Objective (multiplied by n inside the kernels, divided back on return):

    1/(2n) ||Y - X_eff W||_F^2 + sum_j h(W[j, :])

with h a row penalty from mtlfast._prox (L1 / elastic net / ridge, L2,1 /
multi-task elastic net, sparse-group). W is stored as coef (T, p), C-ordered,
so W[j, t] = coef[t, j]. Separable penalties (NORM_L1) are solved task by task
in parallel; coupled ones (L2,1, sparse-group) update a whole row per step.

Stopping rule: the duality gap over all features <= tol * ||Y_block||_F^2 in
the n-scaled objective (scikit-learn's meaning of tol). With plain epochs the
gap is computed exactly when scikit-learn does (after an epoch whose largest
coefficient change is <= tol * the largest coefficient, and at the last
epoch); with working sets after every subproblem, whose own gap is checked
by the same rule and every `gap_freq` epochs. tol < 0 never stops (used to
run an exact number of epochs). See block_solve for the strategies.

Layout: the numerics (gaps, epochs, screening) are in _cd_shared_core.pxd,
the blocked BLAS-3 epochs in _blocked.pxd, Anderson extrapolation in
_anderson.pxd, the outer loops in _driver.pxd; this file holds the driver's
hooks, block_solve (one block of tasks) and solve (the Python entry point).
"""
import numpy as np
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport malloc, free
from libc.stdint cimport uint32_t
from libc.math cimport sqrt

from mtlfast._kinds cimport STRATEGY_WS
from mtlfast._prox cimport Penalty, penalty_from, is_separable, task_penalty
from mtlfast._design cimport Design, col_update, flush_residual, col_norm2
from mtlfast._blocked cimport BlockScratch, blocks_alloc, blocks_invalidate, blocks_free
from mtlfast._anderson cimport (Anderson, anderson_alloc, anderson_reserve,
                                anderson_step, anderson_free)
from mtlfast._workset cimport ScoredFeature, build_ws
from mtlfast._driver cimport (mtlfast_now, Watch, watch_start, watch_options, raise_if_stopped, SolveHooks, DriverOptions, drive, count_nonzero_rows,
                              run_blocks)
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from libc.stdint cimport uint32_t
from libc.math cimport fabs, fmax

from mtlfast._prox cimport (Penalty, row_prox, row_norm, row_dual_norm, pen_factor,
                            feature_dual_norm)
from mtlfast._design cimport (Design, col_dot, col_update, flush_residual, col_dot_rows,
                              col_update_rows)
from mtlfast._blas cimport _gemm, _syrk_lt, _gemv_t, _gemv_n, _chol_solve
from mtlfast._gap cimport quadratic_gap, SafeBall, safe_ball, feature_safely_zero
from mtlfast._blocked cimport epoch_blocked




include "_cd_shared_core.pxi"


# ---- the driver's hooks (mtlfast._driver): the block's state, and one thin
# function per hook that picks the dtype's specialization

ctypedef struct Block:
    const Design* D
    const Penalty* pen
    const double* norms2
    void* W                   # coef, W[t * ldw + j] (floating)
    Py_ssize_t ldw
    void* Rs                  # residual, task t's entry i at Rs[t * rt + i * si]
    Py_ssize_t rt
    int si
    double* c                 # residual shifts of implicit centering
    const void* Y
    int T
    bint f32
    bint random
    uint32_t state
    BlockScratch* S
    Anderson* AA
    double* XtA               # p * T: X_j^T R - n lam2 W_j of the last gap
    double dn                 # the last gap's largest dual norm
    double* a
    double* w_old
    double* buf
    ScoredFeature* sc
    Cov* cov                  # covariance epochs of the current set (cov.m > 0)
    double* ph                # this block's phase counters (PH_*, see solve's info)
    bint cov_ok               # sets may run covariance epochs (see _new_set_hook)
    bint full_gram            # every set is all features, on the Gram of X (computed once)
    bint gram_asked           # ... from the start (strategy "gram"), not by _select_hook
    double inner_frac         # the driver's inner fraction for the current set
    bint newton_ok            # Newton steps on the support (support_newton) may run
    double nt_work            # column epochs: entries of X read since the last Newton
                              # step; covariance epochs: their m^2 work in the set
    double nt_mult            # ... needed, in units of the step's own cost
    double nt_sig             # the support's signature after the last epoch
    double* XtY               # p * T: X^T Y (the first gap's XtA when W starts at 0;
                              # covariance sets read X_S^T Y from it), or NULL
    bint cov_pending          # the current set may still turn to covariance epochs
    double cov_work           # its column epochs' work so far (entries x tasks)
    bint xta_fresh            # XtA holds every feature's value at the current R (a
                              # full gap read X, no epoch since)


cdef enum:
    # the phase counters of a block (Block.ph): entries of X read by the full
    # and working-set gaps, the epochs on columns, the covariance sets (gather,
    # Gram, X_S^T [R, Y], and the residual's catch-up); counts; seconds
    PH_GAP_READS, PH_EPOCH_READS, PH_GRAM_READS, PH_GAPS, PH_EPOCHS, PH_SETS, PH_GRAM_MAX,
    PH_GAP_S, PH_EPOCH_S, PH_GRAM_S, PH_NEWTON, PH_NEWTON_S, PH_N


cdef inline double _entries(const Design* D, const int* feats, int m) noexcept nogil:
    """Entries of X in the columns feats (all p when NULL)."""
    cdef int k, j
    cdef double s = 0.0
    if not D.is_sparse:
        return <double> (D.n_features if feats == NULL else m) * D.n_samples
    if feats == NULL:
        return <double> D.indptr[D.n_features]
    for k in range(m):
        j = feats[k]
        s += D.indptr[j + 1] - D.indptr[j]
    return s


cdef inline double _gap_of(Block* b, floating* W, const int* feats, int m,
                           int n_threads) noexcept nogil:
    if b.T == 1:    # as in _run_epoch: the constant drops the loops over tasks
        return block_gap(b.D, b.pen, W, b.ldw, <floating*> b.Rs, b.rt, b.si, b.c,
                         <const floating*> b.Y, 1, feats, m, b.XtA, b.buf, &b.dn, n_threads)
    return block_gap(b.D, b.pen, W, b.ldw, <floating*> b.Rs, b.rt, b.si, b.c,
                     <const floating*> b.Y, b.T, feats, m, b.XtA, b.buf, &b.dn, n_threads)


cdef double _gap_hook(void* ctx, const int* feats, int m, int n_threads) noexcept nogil:
    cdef Block* b = <Block*> ctx
    cdef double gap, t0
    if b.cov.m > 0:           # a working set's own gap, in covariance epochs (no X read)
        if b.f32:
            return cov_gap(b.cov, b.pen, <float*> b.W, b.ldw, b.T, b.D.n_samples, b.XtA,
                           b.buf, &b.dn)
        return cov_gap(b.cov, b.pen, <double*> b.W, b.ldw, b.T, b.D.n_samples, b.XtA,
                       b.buf, &b.dn)
    t0 = mtlfast_now()
    b.ph[PH_GAP_READS] += _entries(b.D, feats, m)
    if b.f32:
        gap = _gap_of(b, <float*> b.W, feats, m, n_threads)
    else:
        gap = _gap_of(b, <double*> b.W, feats, m, n_threads)
    b.xta_fresh = feats == NULL or m == b.D.n_features
    b.ph[PH_GAPS] += 1.0
    b.ph[PH_GAP_S] += mtlfast_now() - t0
    return gap


cdef inline void _epoch_of(Block* b, floating* W, const int* feats, int m, int n_threads,
                           double* w_max, double* d_w_max) noexcept nogil:
    if b.cov.m > 0:           # (no X read)
        if b.T == 1:
            cov_epoch(b.cov, b.pen, b.norms2, W, b.ldw, 1, b.D.n_samples, b.a, b.w_old,
                      w_max, d_w_max)
        else:
            cov_epoch(b.cov, b.pen, b.norms2, W, b.ldw, b.T, b.D.n_samples, b.a, b.w_old,
                      w_max, d_w_max)
        return
    # a column's dot and update read it once (it stays in cache between them);
    # the blocked epochs read each block twice (G = R^T X_B, R -= X_B D^T)
    b.ph[PH_EPOCH_READS] += _entries(b.D, feats, m) * (2 if b.S.bs > 1 else 1)
    _run_epoch(b.D, b.pen, b.norms2, W, b.ldw, <floating*> b.Rs, b.rt, b.si, b.c, b.T,
               feats, m, b.random, &b.state, b.S, b.a, b.w_old, w_max, d_w_max, n_threads)


cdef void _epoch_hook(void* ctx, const int* feats, int m, int n_threads, double* w_max,
                      double* d_w_max) noexcept nogil:
    cdef Block* b = <Block*> ctx
    cdef double t0 = mtlfast_now()
    b.xta_fresh = False
    if b.f32:
        _epoch_of(b, <float*> b.W, feats, m, n_threads, w_max, d_w_max)
    else:
        _epoch_of(b, <double*> b.W, feats, m, n_threads, w_max, d_w_max)
    b.ph[PH_EPOCHS] += 1.0
    b.ph[PH_EPOCH_S] += mtlfast_now() - t0


cdef int _score_hook(void* ctx, int n_act, int* nnz) noexcept nogil:
    cdef Block* b = <Block*> ctx
    if b.f32:
        nnz[0] = count_nonzero_rows(<float*> b.W, b.ldw, b.D.n_features, b.T)
    else:
        nnz[0] = count_nonzero_rows(<double*> b.W, b.ldw, b.D.n_features, b.T)
    return n_act


cdef int _cov_max(const Block* b) noexcept nogil:
    """The largest set that runs covariance epochs (see _use_cov)."""
    cdef int m = min(b.D.n_samples // 4, COV_PER_TASK * (b.T + 1))
    m = min(m, <int> (COV_MAX_BYTES / (<double> b.D.n_samples * (4 if b.f32 else 8))))
    return m if b.cov_ok else 0


cdef int _violators(const Block* b, const int* act, int n_act) noexcept nogil:
    """Features of act (all when NULL) whose dual constraint the last full
    gap's residual violates: N^D(X_j^T R - n lam2 pf_j W_j) > n lam1 pf_j."""
    cdef int k, j, count = 0
    cdef double lam1n = b.D.n_samples * b.pen.lam1
    for k in range(n_act):
        j = k if act == NULL else act[k]
        if b.norms2[j] > 0.0 and feature_dual_norm(b.pen, j, &b.XtA[<Py_ssize_t> j * b.T],
                                                   b.T, b.buf) > lam1n:
            count += 1
    return count


cdef int _select_hook(void* ctx, const int* act, int n_act, int size, int* ws) noexcept nogil:
    """The driver's size, enlarged to the violated constraints when the set
    can run covariance epochs: there a set's size costs one Gram (n m^2,
    level-3 BLAS), far less than the full gap of each extra round that a
    small set growing by doubling would need (a tall fit then takes ~2
    rounds: ~3 passes over X instead of ~10). On sparse X (wide problems:
    see solve_shared's "auto") the same, up to 4 x the driver's size:
    measured on the shape sweep's sparse draws, it saves rounds (0.5-1x the
    time of doubling alone). When half the features would be in the set
    (the driver's size grows with the support found: dense solutions), the
    whole problem: a set that large only adds rounds, and on a tall design
    its Gram is computed once (full Gram mode). (Deciding this from the
    violated constraints at the start was tried and dropped: at W = 0 they
    overstate the support, and full Gram epochs on all p features ran up to
    4x slower than covariance epochs on the sets.)"""
    cdef Block* b = <Block*> ctx
    cdef int k
    if b.full_gram:           # the whole problem, on its Gram
        for k in range(n_act):
            ws[k] = k if act == NULL else act[k]
        return n_act
    # a Gram of m columns costs n m^2 / 2 flops: at most ~ one full gap
    # (n p T), so m <= sqrt(2 p T); and at most 4 x the driver's size (the
    # violated constraints overstate the support when alpha is small
    # against the noise: the best-scored features often hold it)
    cdef int m_cov = min(_cov_max(b), <int> sqrt(2.0 * b.D.n_features * b.T), 4 * size)
    if m_cov > size:
        size = max(size, min(_violators(b, act, n_act), m_cov))
    elif b.D.is_sparse:     # epochs on the columns: the same rule, the same cap
        size = max(size, min(_violators(b, act, n_act), 4 * size))
    if 2 * size >= n_act:
        # the set would hold half the (unscreened) features: the whole problem,
        # without more rounds; on a tall design on its Gram, computed once (a
        # Gram that large costs about the full one)
        if (b.cov_ok and 4 * <double> b.D.n_features <= b.D.n_samples
                and _use_cov_all(b)):
            b.full_gram = True
        for k in range(n_act):
            ws[k] = k if act == NULL else act[k]
        return n_act
    if b.f32:
        return build_ws(b.pen, b.norms2, <float*> b.W, b.ldw, act, n_act, b.T, b.XtA, b.T,
                        b.dn, b.D.n_samples, size, b.sc, b.buf, ws)
    return build_ws(b.pen, b.norms2, <double*> b.W, b.ldw, act, n_act, b.T, b.XtA, b.T,
                    b.dn, b.D.n_samples, size, b.sc, b.buf, ws)


cdef inline int _screen_of(Block* b, floating* W, int* act, int n_act,
                           double gap) noexcept nogil:
    return _screen(b.D, b.pen, b.norms2, W, b.ldw, <floating*> b.Rs, b.rt, b.si, b.c, b.T,
                   b.XtA, b.dn, gap, act, n_act, b.buf)


cdef int _screen_hook(void* ctx, int* act, int n_act, double gap) noexcept nogil:
    cdef Block* b = <Block*> ctx
    cdef int n_new
    if b.f32:
        n_new = _screen_of(b, <float*> b.W, act, n_act, gap)
    else:
        n_new = _screen_of(b, <double*> b.W, act, n_act, gap)
    if n_new < n_act:         # screened rows were zeroed, R updated: XtA is stale
        b.xta_fresh = False
    return n_new


cdef inline bint _use_cov_all(const Block* b) noexcept nogil:
    """The Gram of all p features fits in COV_MAX_BYTES."""
    cdef double p = b.D.n_features
    return p * p * (4 if b.f32 else 8) <= COV_MAX_BYTES


cdef inline bint _use_cov(const Block* b, int m) noexcept nogil:
    """Covariance epochs for a working set of m features: when an epoch on
    the Gram (m^2 T) costs well below one on the columns (2 n m T) and the
    Gram (n m^2, level-3 BLAS) is paid back within a few epochs."""
    cdef int n = b.D.n_samples
    if b.full_gram:           # all features: X read in place, the Gram kept
        if m == b.D.n_features:
            return b.cov_ok and _use_cov_all(b)
        return (b.cov_ok and m > 0 and 4 * <double> m <= n
                and <double> n * m * (4 if b.f32 else 8) <= COV_MAX_BYTES)
    return (b.cov_ok and m > 0 and 4 * <double> m <= n and m <= COV_PER_TASK * (b.T + 1)
            and <double> n * m * (4 if b.f32 else 8) <= COV_MAX_BYTES)


cdef void _new_set_hook(void* ctx, const int* feats, int m) noexcept nogil:
    """The epochs' features changed: the cached Gram blocks and the stored
    Anderson iterates index the old list; a small set on a tall design runs
    covariance epochs."""
    cdef Block* b = <Block*> ctx
    cdef const double* xta = b.XtA if b.xta_fresh else NULL
    b.ph[PH_SETS] += 1.0
    blocks_invalidate(b.S)
    b.AA.count = 0
    anderson_reserve(b.AA, m, b.T)
    b.cov.m = 0
    b.inner_frac = 0.3
    b.nt_work, b.nt_mult, b.nt_sig = 0.0, 1.0, -1.0
    b.xta_fresh = False
    b.cov_pending, b.cov_work = False, 0.0
    if feats != NULL and _use_cov(b, m):
        if (b.T > 1 or b.gram_asked or (b.full_gram and b.cov.K_all == m)
                or _cov_cost(b, m) <= 2.0 * b.D.n_samples * m * b.T):
            # several tasks (blocked epochs on sets that need many were 2x
            # slower than deferring cost), asked for, the Gram is there, or it
            # costs at most two epochs
            _start_cov(b, feats, m, xta)
        else:
            # a single task: after the first epochs on the columns (_cov_later),
            # where Newton steps on the support also serve ill-conditioned sets
            b.cov_pending = True


cdef void _start_cov(Block* b, const int* feats, int m, const double* xta) noexcept nogil:
    """The set's covariance epochs from here (residual flushed: dense X)."""
    cdef int rc
    cdef double t0 = mtlfast_now(), reads = 0.0
    if b.f32:
        rc = cov_start(b.cov, b.D, b.pen, <float*> b.W, b.ldw, <float*> b.Rs,
                       <const float*> b.Y, b.T, feats, m, xta, b.XtY, &reads)
    else:
        rc = cov_start(b.cov, b.D, b.pen, <double*> b.W, b.ldw, <double*> b.Rs,
                       <const double*> b.Y, b.T, feats, m, xta, b.XtY, &reads)
    if rc != 0:
        b.cov.m = 0
    else:                     # the gather, then the Gram and X_S^T [R, Y] on the copy
        b.inner_frac = COV_INNER_FRACTION
        b.AA.count = 0
        b.nt_work = 0.0
        b.ph[PH_GRAM_READS] += reads
        b.ph[PH_GRAM_MAX] = max(b.ph[PH_GRAM_MAX], <double> m)
    b.ph[PH_GRAM_S] += mtlfast_now() - t0


cdef inline double _cov_cost(const Block* b, int m) noexcept nogil:
    """The turn to covariance epochs of a set of m features, in units of an
    epoch's work on the columns (n m T per epoch): the gather (n m), the Gram
    (n m^2 flops) and X_S^T R (2 n m T flops) at level-3 speed, ~3x per flop
    an epoch's 4 n m T flops at level 1."""
    cdef double n = b.D.n_samples
    return n * m + n * <double> m * m / 12.0 + n * m * b.T / 6.0


cdef inline void _cov_later(Block* b, const int* feats, int m) noexcept nogil:
    """A set small against n turns to covariance epochs once its epochs on the
    columns have cost as much as the turn (_cov_cost). A set that a few epochs
    solve never pays for a Gram (a 16582 x 202 lasso whose sets took 4 epochs
    spent 60% of its time in Grams); one that needs many pays at most twice."""
    cdef double n = b.D.n_samples
    b.cov_work += n * m * b.T
    if b.cov_work < _cov_cost(b, m):
        return
    b.cov_pending = False
    _start_cov(b, feats, m, NULL)


cdef void _end_set_hook(void* ctx) noexcept nogil:
    """The set is done: the residual catches up with its covariance epochs."""
    cdef Block* b = <Block*> ctx
    cdef double t0 = mtlfast_now()
    if b.cov.m == 0:
        return
    b.ph[PH_GRAM_READS] += _entries(b.D, b.cov.ws, b.cov.m)
    if b.f32:
        cov_end(b.cov, b.D, <float*> b.W, b.ldw, <float*> b.Rs, b.T)
    else:
        cov_end(b.cov, b.D, <double*> b.W, b.ldw, <double*> b.Rs, b.T)
    b.ph[PH_GRAM_S] += mtlfast_now() - t0


cdef inline void _anderson_of(Block* b, floating* W, const int* feats, int m) noexcept nogil:
    cdef int t
    cdef floating* Rs = <floating*> b.Rs
    if b.AA.K <= 0:
        return
    for t in range(b.T):
        flush_residual(b.D, Rs + t * b.rt, b.si, &b.c[t])
    anderson_step(b.AA, b.pen, W, b.ldw, b.T, feats, m, Rs,
                  <Py_ssize_t> b.D.n_samples * b.T, b.D.n_samples, True)


cdef inline double _support_sig(const floating* W, const int* feats, int m,
                                 int* ms) noexcept nogil:
    """A signature of the signs of W over feats (equal supports and signs give
    equal values; a collision only costs a Newton step) and the support's size."""
    cdef int k
    cdef double s = 0.0
    ms[0] = 0
    for k in range(m):
        if W[feats[k]] != 0.0:
            ms[0] += 1
            s += (k + 1.0) * (1.0 if W[feats[k]] > 0.0 else 0.5)
    return s


cdef inline void _newton_of(Block* b, floating* W, const int* feats, int m) noexcept nogil:
    """A Newton step on the support (support_newton) once the epochs since the
    last one have read as much as the step costs (times nt_mult, which doubles
    after a step that did not help), the signs having held for an epoch: on a
    set that epochs solve quickly it never runs, on one where they crawl the
    steps cost at most as much as the epochs."""
    cdef int n = b.D.n_samples, ms, rc
    cdef double sig, cost, t0
    b.nt_work += <double> n * m
    sig = _support_sig(W, feats, m, &ms)
    if sig != b.nt_sig or ms == 0 or ms > n:
        b.nt_sig = sig
        return
    # the step's work in entries read by an epoch (an epoch: 4 flops per entry
    # at level-1 speed; the Gram and the factorization at level 3, ~3x faster)
    cost = 2.0 * n * ms + (<double> n * ms * ms + <double> ms * ms * ms / 3.0) / 12.0
    if b.nt_work < b.nt_mult * cost or <double> n * ms * sizeof(floating) > COV_MAX_BYTES:
        return
    t0 = mtlfast_now()
    rc = support_newton(b.D, b.pen, W, <floating*> b.Rs, feats, m, &ms)
    b.nt_work = 0.0
    b.nt_mult = 1.0 if rc == 2 else (b.nt_mult if rc == 1 else 2.0 * b.nt_mult)
    if rc > 0:
        b.AA.count = 0        # the stored iterates are not on the new path
        b.ph[PH_NEWTON] += 1.0
    b.ph[PH_GRAM_READS] += 2.0 * n * ms
    b.ph[PH_NEWTON_S] += mtlfast_now() - t0


cdef void _after_epoch_hook(void* ctx, const int* feats, int m) noexcept nogil:
    cdef Block* b = <Block*> ctx
    if b.cov.m > 0:           # (no extrapolation of covariance epochs)
        # a set in covariance epochs is solved to COV_INNER_FRACTION of the full
        # gap while its epochs (m^2 T each) have cost less than a full gap
        # (n p T); beyond, to 0.3 like any set: on an ill-conditioned set the
        # tight solve took thousands of epochs (dozens of full gaps' work)
        b.nt_work += <double> m * m
        if b.nt_work > <double> b.D.n_samples * b.D.n_features:
            b.inner_frac = 0.3
        return
    if b.f32:
        _anderson_of(b, <float*> b.W, feats, m)
        if b.newton_ok and feats != NULL:
            _newton_of(b, <float*> b.W, feats, m)
    else:
        _anderson_of(b, <double*> b.W, feats, m)
        if b.newton_ok and feats != NULL:
            _newton_of(b, <double*> b.W, feats, m)
    if b.cov_pending and feats != NULL:
        _cov_later(b, feats, m)


cdef int block_solve(const Design* D, const Penalty* pen, const double* norms2,
                     floating* W, Py_ssize_t ldw,             # in/out
                     floating* Rs, Py_ssize_t rt, int si,     # in/out: residual layout
                     double* c,                               # in/out
                     const floating* Y, int T,                # in
                     int max_iter, double tol, int gap_freq,
                     bint random, uint32_t seed, int strategy, int p0,
                     int block_size, int anderson_k, int n_threads, bint screen,
                     int screen_freq, bint covariance, bint full_gram, bint newton,
                     Watch* watch,
                     double* gap_out, double* ph) noexcept nogil:
    """Solve one block of tasks; returns the number of epochs run (passes over
    the working set), or -1 when scratch memory cannot be allocated.

    block_size > 1 (dense X, cyclic selection only): epochs run in blocks of
    features with level-3 BLAS (epoch_blocked); the iterates are those of the
    plain cyclic epoch up to rounding.

    strategy 0 (STRATEGY_CD): cyclic/random epochs over all features,
        scikit-learn's stopping rule (gap after an epoch whose largest change
        is <= tol * largest coefficient, and at the last epoch); with
        anderson_k > 0 and cyclic selection, Anderson extrapolation over all
        (unscreened) features every anderson_k + 1 epochs.
    strategy 1 (STRATEGY_WS): working sets. The exact gap over all features
        drives stopping and the choice of the next working set (features
        whose dual constraint is nearly active); the subproblem on the working
        set is solved by the same epochs until its own gap is below 0.3 x the
        outer gap, with Anderson extrapolation of the working-set iterates
        every anderson_k + 1 epochs (0: none). Ridge (lam1 = 0) always uses
        strategy 0.

    screen (lam1 > 0): gap-safe screening (_screen) after every gap; screened
    features leave the problem for good. Strategy 0 does what scikit-learn
    does (the gap over all features, at its schedule; epochs skip screened
    features), plus a gap and screening every screen_freq epochs when > 0. Strategy 1 computes the outer gap and the working-set scores
    over the remaining features only: that gap is the one of the restricted
    problem, which has the same optimal value and so certifies the full one.
    """
    cdef int n = D.n_samples, p = D.n_features
    cdef int t, n_iter
    cdef double gap, tol_abs = 0.0
    cdef bint use_ws = strategy == STRATEGY_WS and pen.lam1 > 0.0
    cdef Block b
    cdef SolveHooks h
    cdef DriverOptions o
    cdef BlockScratch S
    cdef Anderson AA
    cdef Cov cov
    cov_init(&cov)
    b.XtA = <double*> malloc(<size_t> p * T * sizeof(double))
    b.a = <double*> malloc(<size_t> T * sizeof(double))
    b.w_old = <double*> malloc(<size_t> T * sizeof(double))
    b.buf = <double*> malloc(<size_t> T * sizeof(double))
    b.sc = <ScoredFeature*> malloc(<size_t> p * sizeof(ScoredFeature)) if use_ws else NULL
    screen = screen and pen.lam1 > 0.0
    if D.is_sparse or random or T < 2 or si != 1:
        block_size = 0
    anderson_alloc(&AA, 0 if random else anderson_k, <Py_ssize_t> n * T, sizeof(floating))
    if (blocks_alloc(&S, block_size, n, p, T, sizeof(floating)) != 0 or b.XtA == NULL
            or b.a == NULL or b.w_old == NULL or b.buf == NULL or (use_ws and b.sc == NULL)):
        free(b.XtA); free(b.a); free(b.w_old); free(b.buf); free(b.sc)
        blocks_free(&S)
        anderson_free(&AA)
        return -1

    for t in range(T):
        tol_abs += _sq_norm(Y + <Py_ssize_t> t * n, n)
    tol_abs *= tol

    b.D, b.pen, b.norms2 = D, pen, norms2
    b.W, b.ldw, b.Rs, b.rt, b.si, b.c = W, ldw, Rs, rt, si, c
    b.Y, b.T, b.f32 = Y, T, floating is float
    b.random, b.state = random, seed if seed != 0 else 0x9E3779B9u
    b.S, b.AA, b.cov = &S, &AA, &cov
    b.ph = ph
    b.cov_ok = (covariance and use_ws and not random and not D.is_sparse and si == 1
                and D.mean == NULL)
    # full Gram mode: one set of all features (no screening: the Gram is of all p)
    b.full_gram = full_gram and b.cov_ok
    b.gram_asked = b.full_gram
    # Newton steps on the support: working sets of a single-task block on dense X
    # (columns stored, residual stride 1; the cyclic epochs' sets only)
    b.newton_ok = newton and use_ws and T == 1 and not random and not D.is_sparse and si == 1
    b.nt_work, b.nt_mult, b.nt_sig = 0.0, 1.0, -1.0
    b.xta_fresh = False
    if b.full_gram:
        screen = False
    b.XtY = NULL
    b.cov_pending, b.cov_work = False, 0.0
    gap = _gap_hook(&b, NULL, p, n_threads)
    if b.cov_ok and count_nonzero_rows(W, ldw, p, T) == 0:
        # at W = 0 the first gap's XtA is X^T Y: kept for the covariance sets
        b.XtY = <double*> malloc(<size_t> p * T * sizeof(double))
        if b.XtY != NULL:
            memcpy(b.XtY, b.XtA, <size_t> p * T * sizeof(double))
    h.ctx = &b
    h.gap, h.epoch, h.score, h.select = _gap_hook, _epoch_hook, _score_hook, _select_hook
    h.screen = NULL
    if screen:
        h.screen = _screen_hook
    h.on_new_set, h.after_epoch, h.end_set = _new_set_hook, _after_epoch_hook, _end_set_hook
    o.p, o.max_iter, o.tol, o.tol_abs = p, max_iter, tol, tol_abs
    o.use_ws, o.p0, o.gap_freq = use_ws, p0, gap_freq
    # plain epochs: scikit-learn's gap schedule, plus screen_freq when screening
    o.cd_gap_every = screen_freq if screen else 0
    o.n_threads, o.inner_gap_threads = n_threads, n_threads
    o.outer_gap_on_active = True
    o.final_tol_if_same_ws = False
    o.watch = watch
    b.inner_frac = 0.3
    o.inner_fraction = &b.inner_frac
    n_iter = drive(&h, &o, gap, &gap)
    for t in range(T):
        flush_residual(D, Rs + t * rt, si, &c[t])
    gap_out[0] = gap / n
    free(b.XtA); free(b.a); free(b.w_old); free(b.buf); free(b.sc); free(b.XtY)
    blocks_free(&S)
    anderson_free(&AA)
    cov_free(&cov)
    if n_iter < 0:
        return -1
    return n_iter


ctypedef struct Entry:
    # what every block of a solve shares (the entry's arrays and options)
    Watch watch               # shared stop state of the blocks
    const Design* D
    const Penalty* pen
    const double* norms2
    void* coef                # (T, p), C-ordered
    int p
    void* Rs                  # the residual (layout: rt, si)
    Py_ssize_t rt
    int si
    double* c
    const void* Y             # (n, T), F-ordered
    bint f32
    int max_iter
    double tol
    int gap_freq
    bint random
    uint32_t seed
    int strategy, p0, block_size, anderson_k
    bint screen
    int screen_freq
    bint covariance
    bint full_gram
    bint newton
    bint separable
    int n_threads
    double* ph                # per block: PH_N phase counters (see solve's info)


cdef inline int _block_of(Entry* e, floating* coef, int t0, int nt, int n_threads,
                          double* gap) noexcept nogil:
    """Tasks t0 .. t0+nt-1 (their coef rows, residual columns, targets)."""
    cdef Penalty pen = task_penalty(e.pen, t0)
    return block_solve(e.D, &pen, e.norms2, coef + <Py_ssize_t> t0 * e.p, e.p,
                       (<floating*> e.Rs) + t0 * e.rt, e.rt, e.si, e.c + t0,
                       (<const floating*> e.Y) + <Py_ssize_t> t0 * e.D.n_samples, nt,
                       e.max_iter, e.tol, e.gap_freq, e.random,
                       e.seed + 2654435761u * <uint32_t> t0, e.strategy, e.p0, e.block_size,
                       e.anderson_k, n_threads, e.screen, e.screen_freq, e.covariance,
                       e.full_gram, e.newton, &e.watch,
                       gap, &e.ph[PH_N * (t0 if e.separable else 0)])


cdef int _solve_block(void* ctx, int t0, int nt, int n_threads, double* gap) noexcept nogil:
    cdef Entry* e = <Entry*> ctx
    if e.f32:
        return _block_of(e, <float*> e.coef, t0, nt, n_threads, gap)
    return _block_of(e, <double*> e.coef, t0, nt, n_threads, gap)


def newton_step(floating[::1, :] X, floating[::1] w, floating[::1] r, penalty, int[::1] feats):
    """One Newton step on the support (support_newton), in place on w (p,) and
    the residual r (n,) of a single-task problem on dense X (n, p), for tests
    against mtlfast.reference.cd_shared.support_newton. Returns the step's
    code: 2 full, 1 cut at a sign change, 0 not taken."""
    cdef Design D
    cdef Penalty pen = penalty_from(penalty)
    cdef int ms, rc
    D.is_sparse = False
    D.n_samples, D.n_features = X.shape[0], X.shape[1]
    D.data, D.indices, D.indptr, D.mean, D.u, D.uu = &X[0, 0], NULL, NULL, NULL, NULL, 0.0
    with nogil:
        rc = support_newton(&D, &pen, &w[0], &r[0], &feats[0], feats.shape[0], &ms)
    if rc < 0:
        raise MemoryError("newton_step: no scratch memory")
    return rc


def solve(design, floating[:, ::1] coef, penalty, options, scales=None):
    """Run block coordinate descent in place on `coef` (n_tasks, n_features).

    design : mtlfast.datafits.SharedDesignArrays (QuadraticShared.kernel_design()):
        X (n, p) Fortran-ordered dense design, or an empty array when
        is_sparse (then X_data/X_indices/X_indptr hold the CSC arrays, int32
        indices); Y (n, T) Fortran-ordered targets, centered/scaled like X;
        X_mean (p,) the implicit centering of sparse X (empty: none) and u
        (n,) the row scaling (sqrt of sample weights) matching it (empty:
        ones). Arrays of coef's dtype.
    penalty : a row penalty (mtlfast.penalties; kernel_params()).
    options : mtlfast.solvers.KernelOptions: max_iter, tol, gap_freq, random,
        seed, n_threads; strategy (STRATEGY_CD: epochs over all features,
        STRATEGY_WS: working sets, see block_solve), p0 (smallest working
        set), block_size (features per level-3 block on dense X; 0 or 1:
        plain epochs), anderson_k (Anderson depth; 0: off), screen (gap-safe
        screening, see block_solve), screen_freq (with STRATEGY_CD, also
        screen every screen_freq epochs; 0: only at scikit-learn's gap
        schedule), check_norms (None, or called with the column squared norms
        and the design before the first epoch; it raises for bad data).

    Returns
    -------
    n_iter : ndarray of int, one entry per block (per task for separable
        penalties, else a single block).
    gaps : ndarray of float64, the duality gap of each block in the
        1/(2n) objective scaling.
    R : ndarray (n, T), the final residual Y - X_eff W.
    x_passes : float, the solve's work in passes over X: the entries of X it
        read (epochs, gaps, Gram matrices, the column norms) over nnz(X), the
        entries one X^T Y reads. Machine independent; a column's dot and
        update in one epoch count once (it stays in cache between them).
    info : dict, where the work went (summed over the blocks): gap_passes,
        epoch_passes, gram_passes (x_passes less the column norms' pass and
        the initial residual, split by phase: full and working-set gaps,
        epochs on the columns, covariance sets), gaps, epochs, working_sets
        (counts), gram_max (the largest set solved on its Gram matrix; 0:
        none), seconds {gaps, epochs, gram}.

    scales : None, or a path: float64 array of k > 0 multipliers of the
        penalty's strengths (lam1, lam2), solved in this order, each point
        warm-started from the previous one (coef and residual carried over),
        all in one call without the GIL. Then the returns are per point:
        n_iter (k, n_blocks), gaps (k, n_blocks), coefs (k, n_tasks,
        n_features) (coef holds the last), x_passes (k,); the first point's
        x_passes includes the column norms' pass. A stopped fit (time budget,
        interrupt) raises as a single solve does.
    """
    cdef Design D
    cdef Penalty pen
    cdef const floating[::1, :] X = design.X
    cdef const floating[::1] X_data = design.X_data
    cdef const int[::1] X_indices = design.X_indices
    cdef const int[::1] X_indptr = design.X_indptr
    cdef const floating[::1, :] Y = design.Y
    cdef const double[::1] X_mean = design.X_mean
    cdef const floating[::1] u = design.u
    cdef bint is_sparse = design.is_sparse
    cdef int n = design.n_samples, p = design.n_features
    cdef int T = <int> Y.shape[1]
    cdef int max_iter = options.max_iter, gap_freq = options.gap_freq
    cdef int n_threads = options.n_threads, strategy = options.strategy
    cdef int p0 = options.p0, block_size = options.block_size
    cdef int anderson_k = options.anderson_k, screen_freq = options.screen_freq
    cdef double tol = options.tol
    cdef bint random = options.random, screen = options.screen
    cdef uint32_t seed = <uint32_t> (int(options.seed) & 0xFFFFFFFF)
    cdef int j, t, b, n_blocks
    cdef double w
    pen = penalty_from(penalty)
    cdef bint separable = is_separable(&pen)
    dtype = np.float32 if floating is float else np.float64
    if coef.shape[0] != T or coef.shape[1] != p:
        raise ValueError("coef must have shape (n_tasks, n_features)")

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

    # residual layout: row-major for sparse X with coupled tasks (the tasks of
    # one nonzero then share cache lines), F-ordered otherwise
    cdef bint rows = is_sparse and not separable and T > 1
    cdef Py_ssize_t rt = 1 if rows else n
    cdef int si = T if rows else 1
    R_arr = np.array(Y, dtype=dtype, order="C" if rows else "F", copy=True)
    cdef floating[::1] R = R_arr.ravel(order="K")
    cdef floating* Rp = &R[0]
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
    cdef Entry e
    e.D, e.pen, e.norms2, e.coef, e.p, e.Rs, e.rt, e.si = (&D, &pen, &norms2[0], &coef[0, 0],
                                                            p, Rp, rt, si)
    e.c, e.Y, e.f32, e.max_iter, e.tol, e.gap_freq = &c[0], &Y[0, 0], floating is float, \
        max_iter, tol, gap_freq
    e.random, e.seed, e.strategy, e.p0, e.block_size = random, seed, strategy, p0, block_size
    e.anderson_k, e.screen, e.screen_freq = anderson_k, screen, screen_freq
    e.covariance = options.covariance
    e.full_gram = options.gram
    e.newton = options.newton
    e.separable = separable
    e.n_threads = n_threads
    ph_arr = np.zeros((n_blocks, PH_N), dtype=np.float64)
    cdef double[:, ::1] ph = ph_arr
    e.ph = &ph[0, 0]
    cdef double entries = _entries(&D, NULL, p)    # the column norms' pass

    with nogil:
        for j in prange(p, schedule='dynamic', chunksize=64, num_threads=n_threads):
            norms2[j] = col_norm2(&D, data_ptr, j)
    if options.check_norms is not None:        # under/overflowing columns: a clear error
        options.check_norms(norms_arr, design)
    watch_start(&e.watch)
    watch_options(&e.watch, options)
    with nogil:
        # R = Y - X_eff W
        for j in range(p):
            for t in range(T):
                w = coef[t, j]
                if w != 0.0:
                    col_update(&D, j, w, Rp + t * rt, si, &c[t])
                    entries += _entries(&D, &j, 1)
    total = float(_entries(&D, NULL, p))
    if scales is not None:
        return _path(&e, coef, scales, n_blocks, T, entries, total if total > 0 else 1.0)
    with nogil:
        run_blocks(_solve_block, &e, separable, T, n_threads, &n_iter[0], &gaps[0])
    raise_if_stopped(&e.watch)
    if (n_iter_arr < 0).any():
        raise MemoryError("mtlfast: could not allocate solver scratch memory")
    entries += ph_arr[:, [PH_GAP_READS, PH_EPOCH_READS, PH_GRAM_READS]].sum()
    total = total if total > 0 else 1.0
    return n_iter_arr, gaps_arr, np.asfortranarray(R_arr), entries / total, _info(ph_arr, total)


def _info(ph, total):
    """solve's info: the phases' work (passes over X), counts and seconds,
    summed over the blocks (a separable penalty's tasks); gram_max is the
    largest set solved in covariance epochs."""
    s = ph.sum(axis=0)
    return {"gap_passes": s[PH_GAP_READS] / total, "epoch_passes": s[PH_EPOCH_READS] / total,
            "gram_passes": s[PH_GRAM_READS] / total, "gaps": int(s[PH_GAPS]),
            "epochs": int(s[PH_EPOCHS]), "working_sets": int(s[PH_SETS]),
            "gram_max": int(ph[:, PH_GRAM_MAX].max()),
            "newton_steps": int(s[PH_NEWTON]),
            "seconds": {"gaps": s[PH_GAP_S], "epochs": s[PH_EPOCH_S], "gram": s[PH_GRAM_S],
                        "newton": s[PH_NEWTON_S]}}


cdef _path(Entry* e, floating[:, ::1] coef, scales, int n_blocks, int T, double entries,
           double total):
    """solve's path loop (scales given): each point's strengths, its solve
    from the previous point, and a copy of its coefficients."""
    cdef const double[::1] s = np.ascontiguousarray(scales, dtype=np.float64)
    cdef int k = <int> s.shape[0], i, b
    cdef int p = <int> coef.shape[1]
    cdef int n_threads = e.n_threads
    cdef Penalty* pen = <Penalty*> e.pen
    cdef double lam1 = pen.lam1, lam2 = pen.lam2, done
    dtype = np.float32 if floating is float else np.float64
    n_iter_arr = np.zeros((k, n_blocks), dtype=np.intc)
    gaps_arr = np.zeros((k, n_blocks), dtype=np.float64)
    coefs_arr = np.zeros((k, T, p), dtype=dtype)
    passes_arr = np.zeros(k, dtype=np.float64)
    cdef int[:, ::1] n_iter = n_iter_arr
    cdef double[:, ::1] gaps = gaps_arr
    cdef floating[:, :, ::1] coefs = coefs_arr
    cdef double[::1] passes = passes_arr
    with nogil:
        for i in range(k):
            pen.lam1, pen.lam2 = lam1 * s[i], lam2 * s[i]
            for b in range(n_blocks * PH_N):
                e.ph[b] = 0.0
            run_blocks(_solve_block, e, e.separable, T, n_threads, &n_iter[i, 0], &gaps[i, 0])
            for b in range(n_blocks):
                entries += (e.ph[b * PH_N + PH_GAP_READS] + e.ph[b * PH_N + PH_EPOCH_READS]
                            + e.ph[b * PH_N + PH_GRAM_READS])
            passes[i] = entries / total
            entries = 0.0
            memcpy(&coefs[i, 0, 0], &coef[0, 0], <size_t> T * p * sizeof(floating))
            if e.watch.status != 0:
                break
    pen.lam1, pen.lam2 = lam1, lam2
    raise_if_stopped(&e.watch)
    if (n_iter_arr < 0).any():
        raise MemoryError("mtlfast: could not allocate solver scratch memory")
    return n_iter_arr, gaps_arr, coefs_arr, passes_arr
