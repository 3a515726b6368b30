# Working sets shared by the solvers (mtlfast._cd_shared, mtlfast._cd_pertask): score the
# features by how close their dual constraint is to active and keep the
# nonzero rows plus the best-scored ones (the celer / skglm construction).
from cython cimport floating
from libc.stdlib cimport qsort
from libc.math cimport fmax, sqrt, INFINITY
from mtlfast._prox cimport Penalty, pen_factor, feature_dual_norm


ctypedef struct ScoredFeature:
    double score
    int j


cdef inline int cmp_int(const void* a, const void* b) noexcept nogil:
    cdef int x = (<const int*> a)[0], y = (<const int*> b)[0]
    return (x > y) - (x < y)


cdef inline int build_ws(const Penalty* pen, const double* norms2, const floating* W,
                          Py_ssize_t ldw, const int* act, int p, int T, const double* XtA,
                          Py_ssize_t ldx, double dn, int n, int ws_size, ScoredFeature* sc,
                          double* buf, int* ws) noexcept nogil:
    """Working set among the p features of act (all when NULL): every feature
    with a nonzero row, then the features whose dual constraint is closest to
    active, scored by
        (1 - N^D(XtA_j) / (pf_j max(n lam1, dn))) / ||X_aug_j||
    (smaller first; with penalty factors pf each constraint read relative to
    its own bound lam1 pf_j: the absolute distance (pf_j - N^D / max(..)) /
    ||X_aug_j|| ranked the features by their factors first and took 3x the
    passes on benchmarks/penalty_factor.py's multi-task problem; an
    unpenalized feature, pf_j = 0, is always in),
    up to ws_size features, returned sorted by index. Returns its size.
    W[t * ldw + j] is task t's coefficient j; XtA[j * ldx + t] the dual
    constraint's vector (n-scaled); norms2[j] the block's curvature
    (||X_j||^2; for per-task designs max_t ||X[rows t, j]||^2, n = 1); features
    with norms2[j] = 0 never enter."""
    cdef int j, t, k, kk, m = 0
    cdef double scale = fmax(n * pen.lam1, dn), lam2n = n * pen.lam2, f
    cdef bint nz
    for kk in range(p):
        j = kk if act == NULL else act[kk]
        nz = False
        for t in range(T):
            if W[t * ldw + j] != 0.0:
                nz = True
                break
        if norms2[j] == 0.0:
            continue
        sc[m].j = j
        f = pen_factor(pen, j)
        if nz or f <= 0.0:
            sc[m].score = -INFINITY
        else:
            sc[m].score = ((1.0 - feature_dual_norm(pen, j, &XtA[j * ldx], T, buf) / scale)
                           / sqrt(norms2[j] + lam2n * f))
        m += 1
    return select_ws(sc, m, ws_size, ws)


cdef inline bint _before(const ScoredFeature* a, const ScoredFeature* b) noexcept nogil:
    """a's score is smaller, or equal with a smaller index (a strict order)"""
    return a.score < b.score or (a.score == b.score and a.j < b.j)


cdef inline void select_smallest(ScoredFeature* sc, int m, int k) noexcept nogil:
    """Reorder sc[0 .. m-1] so that its k smallest (by score, then index)
    come first, in any order (quickselect, Hoare partition: expected O(m),
    where sorting all m was the working sets' main cost on wide problems)."""
    cdef int lo = 0, hi = m - 1, i, r
    cdef ScoredFeature pivot, tmp
    if k <= 0 or k >= m:
        return
    while lo < hi:
        pivot = sc[lo + (hi - lo) // 2]
        i = lo
        r = hi
        while i <= r:
            while _before(&sc[i], &pivot):
                i += 1
            while _before(&pivot, &sc[r]):
                r -= 1
            if i <= r:
                tmp = sc[i]
                sc[i] = sc[r]
                sc[r] = tmp
                i += 1
                r -= 1
        # sc[lo .. r] <= pivot <= sc[i .. hi]; between them, the pivot alone
        if k - 1 <= r:
            hi = r
        elif k - 1 >= i:
            lo = i
        else:
            return


cdef inline int select_ws(ScoredFeature* sc, int m, int ws_size, int* ws) noexcept nogil:
    """The (up to) ws_size best-scored (smallest score, then index) of the m
    scored features, returned in ws sorted by index; returns their count."""
    cdef int k
    if ws_size > m:
        ws_size = m
    select_smallest(sc, m, ws_size)
    for k in range(ws_size):
        ws[k] = sc[k].j
    qsort(ws, ws_size, sizeof(int), cmp_int)
    return ws_size
