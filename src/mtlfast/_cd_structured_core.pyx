"""The structured kernel's numerics, compiled once as their own module (declared, with the cimports they use, in _cd_structured_core.pxd):
plain functions, inlined by the C compiler only where it chooses."""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport fabs, fmax, fmin, sqrt, INFINITY


cdef void _part_terms(const Penalty* pen, const floating* P, int p, int t0, int nt,
                     const int* ws, int n_f, const double* V, bint summed, double* buf,
                     double* buf2, double* value, double* dn, double* Pn2,
                     double* Cn2) noexcept nogil:
    """For one (nt, p) part (or a shared (1, p) one: summed), over the n_f
    features of ws (all p when NULL; V[k * nt + tt] belongs to the k-th): its
    penalty value, max_j N^D(corr_j - lam2 pf_j P_j) / pf_j, sum_j pf_j ||P_j||^2
    and sum_j ||corr_j||^2 / pf_j, where corr = V (summed over tasks for a
    shared part)."""
    cdef int j, k, tt, m = 1 if summed else nt
    cdef double w, v, f
    value[0] = 0.0
    dn[0] = 0.0
    Pn2[0] = 0.0
    Cn2[0] = 0.0
    for k in range(n_f):
        j = k if ws == NULL else ws[k]
        if summed:
            v = 0.0
            for tt in range(nt):
                v += V[<Py_ssize_t> k * nt + tt]
            buf2[0] = v
        else:
            for tt in range(nt):
                buf2[tt] = V[<Py_ssize_t> k * nt + tt]
        f = pen_factor(pen, j)
        for tt in range(m):
            w = P[<Py_ssize_t> (t0 + tt) * p + j] if not summed else P[j]
            buf[tt] = w
            Pn2[0] += f * (w * w)
            Cn2[0] += buf2[tt] * buf2[tt] / f
            buf2[tt] -= pen.lam2 * f * w
        value[0] += pen.lam1 * (f * row_norm(pen, buf, m))
        dn[0] = fmax(dn[0], feature_dual_norm(pen, j, buf2, m, buf))
    value[0] += 0.5 * pen.lam2 * Pn2[0]


cdef inline void _v_row(const TaskDesign* D, const floating* r, int t0, int nt, int j,
                        double* out, double* L) noexcept nogil:
    """out[tt] = x_jt . r_t; L not NULL: also L[j * T + t0 + tt] = ||x_jt||^2
    (the piece is in cache)."""
    cdef int tt
    for tt in range(nt):
        out[tt] = piece_dot(D, j, t0 + tt, r)
        if L != NULL:
            L[<Py_ssize_t> j * D.T + t0 + tt] = piece_norm2(D, j, t0 + tt, r)


cdef double model_gap(const TaskDesign* D, const Model* M, const floating* PA,
                      const floating* PB, floating* r, const floating* y, int t0,
                      int nt, const int* ws, int n_f, double* V, double* buf, double* buf2,
                      int n_threads, double* L) noexcept nogil:
    """Duality gap of the block of tasks t0 .. t0+nt-1 (mtlfast.penalties.structured,
    `gaps` of each model): the Fenchel dual at the rescaled residual c * r.
    Over the n_f features of ws (all p when ws is NULL; the parts must vanish
    outside ws, and then it is the gap of the subproblem on ws). Leaves
    V[k * nt + tt] = x_jt . r_t for the k-th feature j of the list. Flushes
    the residual (implicit centering) of the block's tasks first. L not NULL
    (ws NULL): also the curvatures L[j * T + t0 + tt] = ||x_jt||^2, in the
    same pass over the columns."""
    cdef int p = D.p
    cdef int j, k, tt, t, i
    cdef double R2 = 0.0, RY = 0.0, c = 1.0, primal, dual, Q = 0.0, NW = 0.0
    cdef double dn = 0.0, w, v, s, val_a, dn_a, pn_a, cn_a, val_b, dn_b, pn_b, cn_b, cj, f
    flush(D, r, t0, nt)
    if ws == NULL:
        n_f = p
    if n_threads > 1:
        for k in prange(n_f, schedule='dynamic', chunksize=32,
                        num_threads=n_threads, nogil=True):
            _v_row(D, r, t0, nt, k if ws == NULL else ws[k], &V[<Py_ssize_t> k * nt], L)
    else:
        for k in range(n_f):
            _v_row(D, r, t0, nt, k if ws == NULL else ws[k], &V[<Py_ssize_t> k * nt], L)
    for i in range(D.offsets[t0], D.offsets[t0 + nt]):
        R2 += <double> r[i] * r[i]
        RY += <double> r[i] * y[i]
    if M.kind == MOD_TWO_PART:
        _part_terms(&M.pa, PA, p, t0, nt, ws, n_f, V, M.shared_a, buf, buf2, &val_a, &dn_a,
                    &pn_a, &cn_a)
        _part_terms(&M.pb, PB, p, t0, nt, ws, n_f, V, False, buf, buf2, &val_b, &dn_b, &pn_b,
                    &cn_b)
        # a shared part's summed constraint, reduced by its rounding allowance
        dn_a = fmax(dn_a - M.agg_slack * sqrt(R2), 0.0)
        if M.pa.lam1 > 0.0 and dn_a > M.pa.lam1:
            c = fmin(c, M.pa.lam1 / dn_a)
        if M.pb.lam1 > 0.0 and dn_b > M.pb.lam1:
            c = fmin(c, M.pb.lam1 / dn_b)
        primal = 0.5 * R2 + val_a + val_b
        dual = c * RY - 0.5 * c * c * R2
        dual -= 0.5 * c * c * (M.pa.lam2 * pn_a if M.pa.lam1 > 0.0 else cn_a / M.pa.lam2)
        dual -= 0.5 * c * c * (M.pb.lam2 * pn_b if M.pb.lam1 > 0.0 else cn_b / M.pb.lam2)
        return primal - dual
    if M.kind == MOD_GRAPH:
        for k in range(n_f):
            j = k if ws == NULL else ws[k]
            f = pen_factor(&M.pa, j)
            for t in range(nt):
                w = PA[<Py_ssize_t> t * p + j]
                s = _lap_row(M, PA, p, j, t)
                Q += 2.0 * M.lam_g * w * s + f * M.pa.lam2 * w * w
                buf[t] = w
                buf2[t] = V[<Py_ssize_t> k * nt + t] - 2.0 * M.lam_g * s - f * M.pa.lam2 * w
            NW += f * row_norm(&M.pa, buf, nt)
            dn = fmax(dn, feature_dual_norm(&M.pa, j, buf2, nt, buf))
        if dn > M.pa.lam1:
            c = M.pa.lam1 / dn
        primal = 0.5 * R2 + 0.5 * Q + M.pa.lam1 * NW
        return primal - (c * RY - 0.5 * c * c * (R2 + Q))
    # MOD_TRANSFER (over ws: outside it W and the source are 0, adding nothing)
    for k in range(n_f):
        f = pen_factor(&M.pa, k if ws == NULL else ws[k])
        for tt in range(nt):
            dn = fmax(dn, fabs(V[<Py_ssize_t> k * nt + tt]) / f)
    if M.ta + M.tb > 0.0:
        if dn > M.ta + M.tb:
            c = (M.ta + M.tb) / dn
    elif dn > 0.0:
        c = 0.0
    primal = 0.5 * R2
    dual = c * RY - 0.5 * c * c * R2
    for k in range(n_f):
        j = k if ws == NULL else ws[k]
        f = pen_factor(&M.pa, j)
        for tt in range(nt):
            t = t0 + tt
            w = PA[<Py_ssize_t> t * p + j]
            cj = M.src[<Py_ssize_t> t * p + j]
            primal += f * (M.ta * fabs(w) + M.tb * fabs(w - cj))
            dual -= fmax(-f * M.tb * fabs(cj),
                         c * V[<Py_ssize_t> k * nt + tt] * cj - f * M.ta * fabs(cj))
    return primal - dual


cdef void _epoch(const TaskDesign* D, const Model* M, const double* L, floating* PA,
                 floating* PB, floating* r, int t0, int nt, const int* feats, int m,
                 double* g, double* delta, double* buf, bint par, int n_threads,
                 double* w_max, double* d_w_max) noexcept nogil:
    """One cyclic pass over the m features of feats (all p when NULL): the
    dots g, the model's row update, the residual updates."""
    cdef int p = D.p, T = D.T
    cdef int j, k, tt
    cdef double wm = 0.0, dwm = 0.0     # the largest |w| and change (kept in registers)
    if feats == NULL:
        m = p
    for k in range(m):
        j = k if feats == NULL else feats[k]
        if par:
            for tt in prange(nt, schedule='static', num_threads=n_threads):
                g[tt] = piece_dot(D, j, t0 + tt, r)
        else:
            for tt in range(nt):
                g[tt] = piece_dot(D, j, t0 + tt, r)
        row_update(M, p, j, t0, nt, PA, PB, g, &L[<Py_ssize_t> j * T + t0], delta, buf)
        if par:
            for tt in prange(nt, schedule='static', num_threads=n_threads):
                if delta[tt] != 0.0:
                    piece_update(D, j, t0 + tt, delta[tt], r)
        else:
            for tt in range(nt):
                if delta[tt] != 0.0:
                    piece_update(D, j, t0 + tt, delta[tt], r)
        for tt in range(nt):
            dwm = fmax(dwm, fabs(delta[tt]))
            wm = fmax(wm, fabs(_w(M, PA, PB, D.p, t0 + tt, j)))
    w_max[0] = wm
    d_w_max[0] = dwm


cdef inline double _part_score(const Penalty* pen, int j, const double* V, int nt,
                               bint summed, double* buf, double* buf2) noexcept nogil:
    """1 - N^D(corr_j) / (pf_j lam1) of a part at a zero row (corr = V_j, summed
    over the tasks for a shared part): how far its dual constraint is from
    active (< 0: violated)."""
    cdef int tt
    cdef double v = 0.0
    if summed:
        for tt in range(nt):
            v += V[tt]
        buf2[0] = v
        return 1.0 - feature_dual_norm(pen, j, buf2, 1, buf) / pen.lam1
    return 1.0 - feature_dual_norm(pen, j, V, nt, buf) / pen.lam1


cdef inline bint _row_nonzero(const Model* M, const floating* PA, const floating* PB,
                              int p, int t0, int nt, int j) noexcept nogil:
    """Some part has a nonzero entry in feature j's row (tasks of the block)."""
    cdef int tt
    if M.kind == MOD_TWO_PART and M.shared_a and PA[j] != 0.0:
        return True
    for tt in range(nt):
        if M.kind == MOD_TWO_PART:
            if PB[<Py_ssize_t> (t0 + tt) * p + j] != 0.0:
                return True
            if M.shared_a:
                continue
        if PA[<Py_ssize_t> (t0 + tt) * p + j] != 0.0:
            return True
    return False


cdef int _score_features(const Model* M, const floating* PA, const floating* PB, int p,
                         int T, int t0, int nt, const double* V, const double* L,
                         ScoredFeature* sc, double* buf, double* buf2, int* nnz) noexcept nogil:
    """Working-set scores after a full gap (V over all features): -inf for
    features with a nonzero row in some part (transfer: or a nonzero source
    entry), else (transfer: 1 - max_t |V_jt| / (a + b)) the smallest _part_score
    over the model's parts divided by sqrt(max_t H_jt) (features with zero
    columns in every task never enter). Returns the number scored; the
    count of nonzero features goes to nnz."""
    cdef int j, tt, m = 0
    cdef double Lm, score, f
    cdef bint nz
    nnz[0] = 0
    for j in range(p):
        nz = _row_nonzero(M, PA, PB, p, t0, nt, j)
        if M.kind == MOD_TRANSFER and not nz:
            # a nonzero source entry pulls the coefficient away from 0: in the model
            for tt in range(nt):
                if M.src[<Py_ssize_t> (t0 + tt) * p + j] != 0.0:
                    nz = True
                    break
        Lm = 0.0
        for tt in range(nt):
            Lm = fmax(Lm, L[<Py_ssize_t> j * T + t0 + tt])
        if nz:
            nnz[0] += 1
        elif Lm == 0.0:
            continue
        sc[m].j = j
        if nz:
            sc[m].score = -INFINITY
        elif M.kind == MOD_TRANSFER:
            # W_j = 0 with a zero source: the penalty's subdifferential is
            # (a + b) [-1, 1], the dual constraint max_t |V_jt| <= a + b
            score = 0.0
            for tt in range(nt):
                score = fmax(score, fabs(V[<Py_ssize_t> j * nt + tt]))
            f = pen_factor(&M.pa, j)
            sc[m].score = (1.0 - score / (f * (M.ta + M.tb))) / sqrt(Lm)
        else:
            score = _part_score(&M.pa, j, &V[<Py_ssize_t> j * nt], nt,
                                M.kind == MOD_TWO_PART and M.shared_a, buf, buf2)
            if M.kind == MOD_TWO_PART:
                score = fmin(score, _part_score(&M.pb, j, &V[<Py_ssize_t> j * nt], nt, False,
                                                buf, buf2))
            sc[m].score = score / sqrt(Lm)
        m += 1
    return m
