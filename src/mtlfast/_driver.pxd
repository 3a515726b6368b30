# The solver driver: the one copy of the outer loops (plain epochs with
# scikit-learn's stopping rule, and working sets) that every kernel runs.
#
# A kernel fills a SolveHooks table with its own functions and a pointer to
# its state (design, coefficients, residual, scratch); the driver calls the
# hooks once per epoch, gap or working set, never per coordinate, so the hot
# loops stay monomorphic inside each kernel (adelie's solve_core(..., screen_f,
# fit_f) is the model). Where the kernels' loops used to differ, the
# difference is a named field of DriverOptions.
#
# Hooks (ctx: the kernel's state; feats: features as a sorted list, NULL =
# all p):
#   gap(ctx, feats, m, n_threads)    the duality gap of the problem restricted to
#                                    feats (W vanishes outside them), in the
#                                    kernel's own scaling; leaves in ctx what
#                                    score/select/screen need (dual constraints,
#                                    largest dual norm)
#   epoch(ctx, feats, m, n_threads, &w_max, &d_w_max)
#                                    one pass over feats; w_max / d_w_max: the
#                                    largest coefficient and change (for
#                                    scikit-learn's rule)
#   score(ctx, n_act, &nnz)          after a full gap: count the nonzero rows
#                                    (nnz) and return the cap of the next set
#   select(ctx, act, n_act, size, ws) the next working set among act (NULL =
#                                    all p), up to size features, sorted;
#                                    returns its size
#   screen(ctx, act, n_act, gap)     (optional) gap-safe screening of the
#                                    sorted list act after a full gap;
#                                    compacts act, returns the new count
#   on_new_set(ctx, feats, m)        (optional) the epochs' feature set changed
#                                    (new working set, or screening in plain
#                                    epochs): reset caches and extrapolation
#   after_epoch(ctx, feats, m)       (optional) after each epoch (Anderson step)
#   end_set(ctx)                     (optional) the epochs' set is done: before
#                                    each full gap and at the end (a kernel
#                                    that kept the residual implicit during
#                                    the set's epochs brings it up to date)
#
# Stopping early (Watch): the driver checks after every epoch and every gap
#   - a NaN gap (overflow in the data or the iterates): stop, the gap is
#     returned as it is and the caller reports it (+inf is left to the
#     caller: the logistic kernel's "no gap computed" is +inf);
#   - a pending signal (Ctrl-C): with the GIL, at most every 50 ms, on the
#     thread that started the fit (the only one whose checks
#     can run Python's handlers); the handler's exception stays pending and
#     the kernel entry raises it (raise_if_stopped) once the GIL is back;
#   - an abort request (mtlfast._signals.request_abort, for fits running in
#     worker threads).
# One block that stops stops the others (the blocks of a solve share a Watch).
#
# Threads (Governor): n_threads is the most a hook may use. Each kind of call
# (epoch, working-set gap, full gap) has a governor that times its calls and
# runs them with 1 thread or with n_threads, whichever took less time per
# feature at its last measurement, trying the other count again after a
# number of calls that doubles (4 .. 64) while the choice holds. Kernels'
# results never depend on the thread count (fixed partitions), so the choice
# changes speed only. Why: a parallel region waits for its slowest thread; on
# a machine where another process holds a core, that thread may wait a whole
# scheduler time slice (ms) for a region of microseconds, and many small
# regions then run several times slower than one thread; on a quiet machine
# regions too small to pay for their fork and join are slower too. Measuring
# is the one rule that sees both.
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport malloc, free
from libc.math cimport fmax

from mtlfast._signals cimport abort_generation


cdef extern from "Python.h":
    int PyErr_CheckSignals()
    unsigned long PyThread_get_thread_ident() nogil

cdef extern from *:
    """
    /* seconds on a monotonic clock, read without a system call (vDSO: ~25 ns;
       C's clock() costs ~550 ns here, too much for a check after every epoch) */
    #ifdef _WIN32
    #include <windows.h>
    static double mtlfast_now(void) { return (double) GetTickCount64() * 1e-3; }
    #else
    #include <time.h>
    static double mtlfast_now(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double) t.tv_sec + 1e-9 * (double) t.tv_nsec;
    }
    #endif
    """
    double mtlfast_now() nogil


cdef enum StopReason:
    RUNNING = 0
    STOP_SIGNAL = 1           # a signal handler raised: its exception is pending
    STOP_NONFINITE = 2        # the gap is NaN
    STOP_ABORT = 3            # mtlfast._signals.request_abort()
    STOP_TIME = 4             # the time budget (max_time) is spent
    STOP_CALLBACK = 5         # the progress callback asked to stop


ctypedef struct Watch:
    int status                # a StopReason
    unsigned long thread      # the thread that started the fit
    unsigned long generation  # abort generation at the start
    double next_check         # time (mtlfast_now) of the next signal check
    double t0                 # time of the start
    double deadline           # time at which to stop (0: no budget)
    void* progress            # progress(gap, target, n_iter, seconds) -> stop?, a
                              # Python callable that never raises, or NULL


cdef inline void watch_start(Watch* w) noexcept nogil:
    w.status = RUNNING
    w.thread = PyThread_get_thread_ident()
    w.generation = abort_generation()
    w.t0 = mtlfast_now()
    w.next_check = w.t0
    w.deadline = 0.0
    w.progress = NULL


cdef inline void watch_options(Watch* w, options):
    """The time budget and the progress callback of a kernel's options
    (fields deadline, on the clock of Python's time.monotonic, or None; and
    progress; with the GIL). The caller keeps the callable alive during
    the solve."""
    cdef object deadline = getattr(options, "deadline", None)
    cdef object progress = getattr(options, "progress", None)
    if deadline is not None:
        w.deadline = max(<double> deadline, 1e-9)
    if progress is not None:
        w.progress = <void*> progress


cdef inline bint watch_soft_stop(const Watch* w) noexcept nogil:
    """Stopped by the budget or the callback: the fit ends normally, with
    the gap of its last point."""
    return w != NULL and (w.status == STOP_TIME or w.status == STOP_CALLBACK)


cdef inline void watch_report(Watch* w, double gap, double target, int n_iter) noexcept nogil:
    """After each full gap: the progress callback, on the thread that
    started the fit (the blocks run elsewhere report nothing)."""
    cdef bint stop = False
    if w == NULL or w.progress == NULL or w.status != RUNNING:
        return
    if PyThread_get_thread_ident() != w.thread:
        return
    with gil:
        stop = bool((<object> w.progress)(gap, target, n_iter, mtlfast_now() - w.t0))
    if stop:
        w.status = STOP_CALLBACK


cdef inline bint watch_stop(Watch* w, double gap) noexcept nogil:
    """Whether the fit must stop now (see the top of this file); gap: the
    gap just computed, or 0 after an epoch."""
    cdef double now
    if w == NULL:
        return gap != gap
    if w.status != RUNNING:
        return True
    if gap != gap:
        w.status = STOP_NONFINITE
        return True
    if abort_generation() != w.generation:
        w.status = STOP_ABORT
        return True
    if w.deadline > 0.0 and mtlfast_now() >= w.deadline:
        w.status = STOP_TIME
        return True
    if PyThread_get_thread_ident() == w.thread:
        now = mtlfast_now()
        if now >= w.next_check:
            w.next_check = now + 0.05
            with gil:
                if PyErr_CheckSignals() != 0:
                    w.status = STOP_SIGNAL
    return w.status != RUNNING


cdef inline int raise_if_stopped(const Watch* w) except -1:
    """In the kernel entry, with the GIL, after the solve: re-raise what a
    signal handler raised during the fit, or KeyboardInterrupt on abort."""
    if w.status == STOP_SIGNAL:
        return -1             # the handler's exception is the current one
    if w.status == STOP_ABORT:
        raise KeyboardInterrupt("mtlfast: fit aborted (mtlfast._signals.request_abort)")
    return 0


ctypedef double (*gap_fn)(void* ctx, const int* feats, int m, int n_threads) noexcept nogil
ctypedef void (*epoch_fn)(void* ctx, const int* feats, int m, int n_threads,
                          double* w_max, double* d_w_max) noexcept nogil
ctypedef int (*score_fn)(void* ctx, int n_act, int* nnz) noexcept nogil
ctypedef int (*select_fn)(void* ctx, const int* act, int n_act, int size,
                          int* ws) noexcept nogil
ctypedef int (*screen_fn)(void* ctx, int* act, int n_act, double gap) noexcept nogil
ctypedef void (*set_fn)(void* ctx, const int* feats, int m) noexcept nogil
ctypedef void (*done_fn)(void* ctx) noexcept nogil
ctypedef int (*block_fn)(void* ctx, int t0, int nt, int n_threads,
                         double* gap_out) noexcept nogil


ctypedef struct Governor:
    int n_max                 # the most threads (<= 1: always one, nothing timed)
    int best                  # the count in use: 1 or n_max
    int pick                  # the count of the call being timed
    double cost[2]            # seconds per unit of the last call with 1 / n_max
                              # threads (< 0: not measured yet)
    int wait                  # calls with `best` before the other count is tried
    int every                 # wait after a trial that confirmed `best`
    double t0


cdef inline void gov_init(Governor* g, int n_max) noexcept nogil:
    g.n_max = n_max
    g.best = n_max
    g.cost[0] = -1.0
    g.cost[1] = -1.0
    g.wait = 0
    g.every = 2


cdef inline int gov_begin(Governor* g) noexcept nogil:
    """The thread count of the next call (and its clock starts)."""
    if g.n_max <= 1:
        return 1
    if g.cost[1] < 0.0:
        g.pick = g.n_max
    elif g.cost[0] < 0.0 or g.wait <= 0:
        g.pick = 1 if g.best != 1 else g.n_max       # a trial of the other count
    else:
        g.pick = g.best
    g.t0 = mtlfast_now()
    return g.pick


cdef inline void gov_end(Governor* g, double units) noexcept nogil:
    """After the call: its time per unit of work (units > 0) updates the choice."""
    cdef int best
    if g.n_max <= 1:
        return
    g.cost[0 if g.pick == 1 else 1] = (mtlfast_now() - g.t0) / fmax(units, 1.0)
    if g.cost[0] < 0.0 or g.cost[1] < 0.0:
        return
    best = 1 if g.cost[0] < g.cost[1] else g.n_max
    if g.pick != g.best:                 # a trial
        g.every = min(2 * g.every, 64) if best == g.best else 4
        g.wait = g.every
    else:
        g.wait -= 1
    g.best = best


ctypedef struct SolveHooks:
    void* ctx
    gap_fn gap
    epoch_fn epoch
    score_fn score            # NULL when working sets are never used
    select_fn select
    screen_fn screen          # NULL: no screening
    set_fn on_new_set         # NULL: nothing to reset
    set_fn after_epoch        # NULL: nothing after an epoch
    done_fn end_set           # NULL: nothing when a set is done


ctypedef struct DriverOptions:
    int p                     # features
    int max_iter              # epochs (passes over the epoch's feature set)
    double tol                # scikit-learn's rule: a gap after an epoch whose
                              # largest change is <= tol * the largest coefficient
    double tol_abs            # stop when the gap is <= tol_abs
    bint use_ws               # working sets, else plain epochs over the active features
    int p0                    # smallest working set
    int gap_freq              # working sets: also an inner gap every gap_freq
                              # epochs (0: only by scikit-learn's rule)
    int cd_gap_every          # plain epochs: also a gap every cd_gap_every epochs
                              # (0: only by scikit-learn's rule)
    int n_threads             # the most threads of the epochs and full gaps
    int inner_gap_threads     # the most threads of the working sets' own gaps
    bint outer_gap_on_active  # working sets: the full gap over the unscreened
                              # features only (the restricted problem has the same
                              # optimum); else over all p
    bint final_tol_if_same_ws # working sets: a set equal to the previous one holds
                              # the support: solve it to 0.3 x tol_abs at once
    Watch* watch              # shared by the blocks of a solve (NULL: only the
                              # non-finite gap stops)
    const double* inner_fraction  # working sets: a set is solved until its own gap is
                              # below this fraction of the full one, read at each
                              # of the set's gaps (the kernel may change it as
                              # the set goes); NULL: 0.3


cdef inline int count_nonzero_rows(const floating* W, Py_ssize_t ldw, int p,
                                   int T) noexcept nogil:
    """Rows j of W (W[t * ldw + j], T tasks) with a nonzero entry."""
    cdef int j, t, nnz = 0
    for j in range(p):
        for t in range(T):
            if W[t * ldw + j] != 0.0:
                nnz += 1
                break
    return nnz


cdef inline bint _rule(const DriverOptions* o, int n_iter, int every, double w_max,
                       double d_w_max) noexcept nogil:
    """Compute a gap now: scikit-learn's rule, the last epoch, or every `every`."""
    return (w_max == 0.0 or d_w_max <= o.tol * w_max or n_iter == o.max_iter
            or (every > 0 and n_iter % every == 0))


ctypedef struct Governors:
    Governor epoch            # the epochs
    Governor inner            # the working sets' own gaps
    Governor full             # the full gaps


cdef inline void _run_epoch_governed(const SolveHooks* h, Governor* g, const int* feats, int m,
                                     double* w_max, double* d_w_max) noexcept nogil:
    cdef int nt = gov_begin(g)
    h.epoch(h.ctx, feats, m, nt, w_max, d_w_max)
    gov_end(g, m)


cdef inline double _full_gap(const SolveHooks* h, Governor* g, const int* feats,
                            int m) noexcept nogil:
    if h.end_set != NULL:
        h.end_set(h.ctx)
    return _gap_governed(h, g, feats, m)


cdef inline double _gap_governed(const SolveHooks* h, Governor* g, const int* feats,
                                 int m) noexcept nogil:
    cdef int nt = gov_begin(g)
    cdef double gap = h.gap(h.ctx, feats, m, nt)
    gov_end(g, m)
    return gap


cdef inline int _plain_epochs(const SolveHooks* h, const DriverOptions* o, Governors* G,
                              int* act_buf, double* gap) noexcept nogil:
    """Epochs over the active features, a full gap when the rule says so,
    screening after each gap."""
    cdef int it, n_iter = 0, n_act = o.p, n_new
    cdef int* act = NULL           # NULL while no feature is screened out
    cdef double w_max = 0.0, d_w_max = 0.0
    if h.screen != NULL and gap[0] > o.tol_abs:
        n_act = h.screen(h.ctx, act_buf, n_act, gap[0])
        if n_act < o.p:
            act = act_buf
    if gap[0] <= o.tol_abs or watch_stop(o.watch, gap[0]):
        return 0
    if h.on_new_set != NULL:
        h.on_new_set(h.ctx, act_buf, n_act)
    for it in range(o.max_iter):
        _run_epoch_governed(h, &G.epoch, act, n_act, &w_max, &d_w_max)
        if h.after_epoch != NULL:
            h.after_epoch(h.ctx, act_buf, n_act)
        n_iter = it + 1
        if _rule(o, n_iter, o.cd_gap_every, w_max, d_w_max):
            gap[0] = _full_gap(h, &G.full, NULL, o.p)
            watch_report(o.watch, gap[0], o.tol_abs, n_iter)
            if gap[0] <= o.tol_abs or watch_stop(o.watch, gap[0]):
                break
            if h.screen != NULL:
                n_new = h.screen(h.ctx, act_buf, n_act, gap[0])
                if n_new < n_act:
                    n_act = n_new
                    act = act_buf
                    if h.on_new_set != NULL:
                        h.on_new_set(h.ctx, act_buf, n_act)
        elif watch_stop(o.watch, 0.0):
            if watch_soft_stop(o.watch):      # the returned gap is the last point's
                gap[0] = _full_gap(h, &G.full, NULL, o.p)
            break
    return n_iter


cdef inline bint _same_set(const int* ws, int n_ws, int* prev, int* n_prev) noexcept nogil:
    """ws equals the previous set; ws becomes the previous set."""
    cdef int k
    cdef bint same = n_ws == n_prev[0]
    for k in range(n_ws if same else 0):
        if ws[k] != prev[k]:
            same = False
            break
    n_prev[0] = n_ws
    for k in range(n_ws):
        prev[k] = ws[k]
    return same


cdef inline int _working_sets(const SolveHooks* h, const DriverOptions* o, Governors* G,
                              int* act_buf,
                              int* ws, int* prev, double* gap) noexcept nogil:
    """After each full gap, the nonzero rows plus the features closest to
    their dual constraint (at least p0, at least twice the nonzero rows,
    never shrinking) are solved by epochs until the set's own gap is below
    0.3 x the full one (celer's rule); then the full gap again."""
    cdef int n_iter = 0, n_act = o.p, n_new, n_ws, ws_size = 0, nnz, cap, n_prev = -1
    cdef int wait, since
    cdef int* act = NULL
    cdef double w_max = 0.0, d_w_max = 0.0, gap_in, tol_in = 0.0, gap_ref
    cdef bint fixed
    if h.screen != NULL and gap[0] > o.tol_abs:
        n_act = h.screen(h.ctx, act_buf, n_act, gap[0])
        if n_act < o.p:
            act = act_buf
    while gap[0] > o.tol_abs and n_iter < o.max_iter and not watch_stop(o.watch, gap[0]):
        cap = h.score(h.ctx, n_act, &nnz)
        ws_size = min(cap, max(ws_size, max(o.p0, 2 * nnz)))
        n_ws = h.select(h.ctx, act, n_act, ws_size, ws)
        if h.on_new_set != NULL:
            h.on_new_set(h.ctx, ws, n_ws)
        gap_ref = gap[0] if gap[0] > o.tol_abs else o.tol_abs
        fixed = False
        if o.final_tol_if_same_ws and _same_set(ws, n_ws, prev, &n_prev):
            tol_in, fixed = 0.3 * o.tol_abs, True
        if n_ws >= n_act:     # the set is the whole (unscreened) problem: finish it
            tol_in, fixed = o.tol_abs, True
        wait, since = 1, 0
        while n_iter < o.max_iter:
            _run_epoch_governed(h, &G.epoch, ws, n_ws, &w_max, &d_w_max)
            if h.after_epoch != NULL:
                h.after_epoch(h.ctx, ws, n_ws)
            n_iter += 1
            since += 1
            if since >= wait and _rule(o, n_iter, o.gap_freq, w_max, d_w_max):
                gap_in = _gap_governed(h, &G.inner, ws, n_ws)
                if not fixed:     # (the kernel may change its fraction as the set goes)
                    tol_in = (0.3 if o.inner_fraction == NULL else o.inner_fraction[0]) * gap_ref
                if gap_in <= tol_in or watch_stop(o.watch, gap_in):
                    break
                # not there yet: the next set gap waits twice as many epochs
                # (up to gap_freq; on ill-conditioned sets the change rule
                # fires every epoch long before the gap is small, and a set
                # gap costs as much as an epoch)
                since = 0
                wait = min(2 * wait, max(o.gap_freq, 1))
            elif watch_stop(o.watch, 0.0):
                break
        if o.watch != NULL and (o.watch.status == STOP_SIGNAL or o.watch.status == STOP_ABORT):
            break             # interrupted: the full gap is not needed
        if o.outer_gap_on_active:
            gap[0] = _full_gap(h, &G.full, act, n_act)
        else:
            gap[0] = _full_gap(h, &G.full, NULL, o.p)
        watch_report(o.watch, gap[0], o.tol_abs, n_iter)
        if h.screen != NULL and gap[0] > o.tol_abs:
            n_new = h.screen(h.ctx, act_buf, n_act, gap[0])
            if n_new < n_act:
                n_act = n_new
                act = act_buf
    return n_iter


cdef inline int drive(const SolveHooks* h, const DriverOptions* o, double gap0,
                      double* gap_out) noexcept nogil:
    """Minimize from the current point, whose full gap is gap0 (the kernel
    computes it: its first pass over the columns often does more, such as
    the curvatures). Returns the number of epochs, or -1 when scratch memory
    cannot be allocated; gap_out: the last full gap (of the unscreened
    problem with outer_gap_on_active)."""
    cdef int j, n_iter
    cdef int p = o.p
    cdef Governors G
    gov_init(&G.epoch, o.n_threads)
    gov_init(&G.inner, o.inner_gap_threads)
    gov_init(&G.full, o.n_threads)
    cdef int* act_buf = <int*> malloc(<size_t> max(p, 1) * sizeof(int))
    cdef int* ws = <int*> malloc(<size_t> max(p, 1) * sizeof(int)) if o.use_ws else NULL
    cdef int* prev = (<int*> malloc(<size_t> max(p, 1) * sizeof(int))
                      if o.use_ws and o.final_tol_if_same_ws else NULL)
    if act_buf == NULL or (o.use_ws and ws == NULL) or (
            o.use_ws and o.final_tol_if_same_ws and prev == NULL):
        free(act_buf); free(ws); free(prev)
        return -1
    for j in range(p):
        act_buf[j] = j
    gap_out[0] = gap0
    if o.use_ws:
        n_iter = _working_sets(h, o, &G, act_buf, ws, prev, gap_out)
    else:
        n_iter = _plain_epochs(h, o, &G, act_buf, gap_out)
    if h.end_set != NULL:
        h.end_set(h.ctx)
    free(act_buf); free(ws); free(prev)
    return n_iter


cdef inline void run_blocks(block_fn solve_block, void* ctx, bint separable, int T,
                            int n_threads, int* n_iter, double* gaps) noexcept nogil:
    """Solve the blocks of tasks: a separable penalty with several tasks gives
    one block per task, solved n_threads at a time, each on one thread
    (dynamic schedule: tasks' costs differ; results do not depend on it);
    otherwise one block of all tasks, whose passes over the features use
    every thread. solve_block(ctx, t0, nt, n_threads, &gap) solves tasks
    t0 .. t0+nt-1 and returns its epochs (-1: no scratch memory)."""
    cdef int b
    if not separable or T == 1:
        n_iter[0] = solve_block(ctx, 0, T, n_threads, &gaps[0])
    elif n_threads <= 1:
        for b in range(T):
            n_iter[b] = solve_block(ctx, b, 1, 1, &gaps[b])
    else:
        for b in prange(T, schedule='dynamic', num_threads=n_threads):
            n_iter[b] = solve_block(ctx, b, 1, 1, &gaps[b])
