# The structured models' math (mtlfast._cd_structured; NumPy twins in
# mtlfast.penalties.structured): W built from parts, and each model's exact
# update of one feature's row from the data term's gradient g and curvature H
# over that row (the data term restricted to the row is
# sum_t H_t/2 d_t^2 - g_t d_t).
#     MOD_TWO_PART  W = PA + PB, Omega = hA(PA) + hB(PB); PA is (1, p) when
#                   shared_a (one vector added to every task), else (T, p)
#     MOD_GRAPH     W = PA, Omega = lam sum_j W[:, j]^T Lap W[:, j] + hA(W),
#                   Lap = diag(deg) - A (A: CSR of the off-diagonal similarities)
#     MOD_TRANSFER  W = PA, Omega = sum_{t,j} a |W_tj| + b |W_tj - src_tj|
# With penalty factors pf (> 0; the Penalty structs' pf, for the transfer
# model pa's), feature j's row penalties are multiplied by pf_j (the graph
# term is not).
from cython cimport floating
from libc.math cimport fabs, fmax, fmin, sqrt, ceil, log, log1p, INFINITY

from mtlfast._kinds cimport (ModelKind, MOD_TWO_PART, MOD_GRAPH, MOD_TRANSFER,
                             GRAPH_MAX_INNER, GRAPH_INNER_RTOL, TWO_PART_SWEEPS,
                             TWO_PART_RTOL)
from mtlfast._prox cimport Penalty, NORM_L1, row_prox, row_norm, row_dual_norm, pen_factor


ctypedef struct Model:
    int kind
    Penalty pa          # two-part: penalty of PA; graph: the sparsity penalty;
                        # transfer: only its factors pf
    Penalty pb          # two-part: penalty of PB
    bint shared_a       # two-part: PA is one (1, p) vector shared by all tasks
    double agg_slack    # two-part, shared_a: the rounding allowance of PA's summed
                        # dual constraint per unit ||r|| (penalties.structured.TwoPart)
    double ta, tb       # transfer: alpha * beta, alpha * (1 - beta)
    const double* src   # transfer: source coefficients (T, p)
    double lam_g        # graph strength
    double lmax         # graph: largest eigenvalue of Lap (rounded up)
    const int* g_ptr    # graph: CSR of the off-diagonal similarities
    const int* g_idx
    const double* g_val
    const double* deg   # graph: deg[t] = sum_s A_ts


cdef inline double _prox1(const Penalty* pen, double x, double c, double s) noexcept nogil:
    """argmin_w c/2 (w - x/c)^2 + s h(w) for one entry (L1-family h; s the
    feature's penalty factor)"""
    row_prox(pen, &x, 1, c, s)
    return x


cdef inline double _transfer_prox(double z, double c, double ka, double kb) noexcept nogil:
    """argmin_w 1/2 (w - z)^2 + ka |w| + kb |w - c| (mtlfast.penalties.structured.transfer_prox)"""
    cdef double k1 = fmin(0.0, c), k2 = fmax(0.0, c), m, sgn
    if z + ka + kb < k1:
        return z + ka + kb
    if z - ka - kb > k2:
        return z - ka - kb
    sgn = 1.0 if c > 0.0 else (-1.0 if c < 0.0 else 0.0)
    m = z - (ka - kb) * sgn
    return fmin(fmax(m, k1), k2)


cdef inline void _matrix_row_step(const Penalty* pen, floating* P, int p, int j, int t0,
                                  int nt, double* g, const double* H, double* delta,
                                  double* buf) noexcept nogil:
    """Row j of a (T, p) part: exact per entry (L1 family), else one proximal
    gradient step with curvature max_t H_t. Adds the change to delta and
    updates g (in/out) to the gradient at the new point."""
    cdef int tt
    cdef double M = 0.0, old, d, f = pen_factor(pen, j)
    cdef floating new
    if pen.kind == NORM_L1:
        for tt in range(nt):
            old = P[<Py_ssize_t> (t0 + tt) * p + j]
            new = 0.0
            if H[tt] > 0.0:
                new = <floating> _prox1(pen, H[tt] * old + g[tt], H[tt], f)
            d = new - old
            P[<Py_ssize_t> (t0 + tt) * p + j] = new
            delta[tt] += d
            g[tt] -= H[tt] * d
        return
    for tt in range(nt):
        M = fmax(M, H[tt])
    for tt in range(nt):
        buf[tt] = M * P[<Py_ssize_t> (t0 + tt) * p + j] + g[tt]
    if M > 0.0:
        row_prox(pen, buf, nt, M, f)
    else:
        for tt in range(nt):
            buf[tt] = 0.0
    for tt in range(nt):
        old = P[<Py_ssize_t> (t0 + tt) * p + j]
        new = <floating> buf[tt]
        d = new - old
        P[<Py_ssize_t> (t0 + tt) * p + j] = new
        delta[tt] += d
        g[tt] -= H[tt] * d


cdef inline double _lap_row(const Model* M, const floating* W, int p, int j,
                            int t) noexcept nogil:
    """(Lap W[:, j])_t = deg_t W_tj - sum_s A_ts W_sj"""
    cdef double s = M.deg[t] * W[<Py_ssize_t> t * p + j]
    cdef int k
    for k in range(M.g_ptr[t], M.g_ptr[t + 1]):
        s -= M.g_val[k] * W[<Py_ssize_t> M.g_idx[k] * p + j]
    return s


cdef inline double _two_part_row_value(const Model* M, const floating* PA,
                                       const floating* PB, int p, int j, int t0, int nt,
                                       const double* g, const double* H, const double* delta,
                                       double* buf) noexcept nogil:
    """The row's objective up to a constant after a change delta of W's row
    (g the gradient there, so the data term's change is -sum_t (H_t/2 d_t^2
    + g_t d_t)) plus both parts' penalties on the row."""
    cdef double val = 0.0, sq = 0.0
    cdef double fa = pen_factor(&M.pa, j), fb = pen_factor(&M.pb, j)
    cdef int tt
    for tt in range(nt):
        val -= (0.5 * H[tt] * delta[tt] + g[tt]) * delta[tt]
    if M.shared_a:
        buf[0] = PA[j]
        val += fa * (M.pa.lam1 * row_norm(&M.pa, buf, 1) + 0.5 * M.pa.lam2 * buf[0] * buf[0])
    else:
        sq = 0.0
        for tt in range(nt):
            buf[tt] = PA[<Py_ssize_t> (t0 + tt) * p + j]
            sq += buf[tt] * buf[tt]
        val += fa * (M.pa.lam1 * row_norm(&M.pa, buf, nt) + 0.5 * M.pa.lam2 * sq)
    sq = 0.0
    for tt in range(nt):
        buf[tt] = PB[<Py_ssize_t> (t0 + tt) * p + j]
        sq += buf[tt] * buf[tt]
    return val + fb * (M.pb.lam1 * row_norm(&M.pb, buf, nt) + 0.5 * M.pb.lam2 * sq)


cdef inline void row_update(const Model* M, int p, int j, int t0, int nt, floating* PA,
                     floating* PB, double* g, const double* H, double* delta,
                     double* buf) noexcept nogil:
    """The model's update of feature j's row variables from (g, H); the
    change of W[t0:t0+nt, j] goes to delta."""
    cdef int tt, t, k, sweep
    cdef double Hs = 0.0, gs = 0.0, old, d, c, aw, Mx, f_prev, f_row, f
    cdef floating new
    for tt in range(nt):
        delta[tt] = 0.0
    if M.kind == MOD_TWO_PART:
        # alternate the two parts' exact steps on the row's quadratic (g, H)
        # while a sweep lowers the row's objective by more than TWO_PART_RTOL
        # of it: the exact minimization over the feature's whole block (both
        # parts move the same W entries); no sweep follows a flat direction
        for tt in range(nt):
            Hs += H[tt]
        f_prev = INFINITY
        for sweep in range(TWO_PART_SWEEPS):
            if M.shared_a:
                gs = 0.0
                for tt in range(nt):
                    gs += g[tt]
                old = PA[j]
                new = 0.0
                if Hs > 0.0:
                    new = <floating> _prox1(&M.pa, Hs * old + gs, Hs, pen_factor(&M.pa, j))
                d = new - old
                PA[j] = new
                for tt in range(nt):
                    delta[tt] += d
                    g[tt] -= H[tt] * d
            else:
                _matrix_row_step(&M.pa, PA, p, j, t0, nt, g, H, delta, buf)
            _matrix_row_step(&M.pb, PB, p, j, t0, nt, g, H, delta, buf)
            f_row = _two_part_row_value(M, PA, PB, p, j, t0, nt, g, H, delta, buf)
            if not f_prev - f_row > TWO_PART_RTOL * fabs(f_row):
                break
            f_prev = f_row
    elif M.kind == MOD_TRANSFER:
        f = pen_factor(&M.pa, j)
        for tt in range(nt):
            t = t0 + tt
            old = PA[<Py_ssize_t> t * p + j]
            c = M.src[<Py_ssize_t> t * p + j]
            if H[tt] > 0.0:
                new = <floating> _transfer_prox(old + g[tt] / H[tt], c, f * M.ta / H[tt],
                                                f * M.tb / H[tt])
            else:
                new = 0.0 if M.ta >= M.tb else <floating> c
            PA[<Py_ssize_t> t * p + j] = new
            delta[tt] = new - old
    else:   # MOD_GRAPH (one block: t0 = 0, nt = T)
        if M.pa.kind == NORM_L1:
            for t in range(nt):
                c = H[t] + 2.0 * M.lam_g * M.deg[t]
                old = PA[<Py_ssize_t> t * p + j]
                new = 0.0
                if c > 0.0:
                    aw = 0.0
                    for k in range(M.g_ptr[t], M.g_ptr[t + 1]):
                        aw += M.g_val[k] * PA[<Py_ssize_t> M.g_idx[k] * p + j]
                    new = <floating> _prox1(&M.pa, H[t] * old + g[t] + 2.0 * M.lam_g * aw, c,
                                            pen_factor(&M.pa, j))
                PA[<Py_ssize_t> t * p + j] = new
                delta[t] = new - old
            return
        _graph_row(M, p, j, nt, PA, g, H, delta, buf)


cdef inline double _lap_vec(const Model* M, const double* v, int t) noexcept nogil:
    """(Lap v)_t for a vector v over the tasks"""
    cdef double s = M.deg[t] * v[t]
    cdef int k
    for k in range(M.g_ptr[t], M.g_ptr[t + 1]):
        s -= M.g_val[k] * v[M.g_idx[k]]
    return s


cdef inline double _graph_row_value(const Model* M, const double* v, const double* b,
                             const double* H, int nt, double f) noexcept nogil:
    """F(v) = 1/2 v^T (diag(H) + 2 lam Lap) v - b^T v + f h(v): the row's
    objective up to a constant (h = lam1 N(v) + lam2/2 ||v||^2, f the
    feature's penalty factor)."""
    cdef double val = 0.0
    cdef int t
    for t in range(nt):
        val += (0.5 * H[t] * v[t] + M.lam_g * _lap_vec(M, v, t) - b[t]) * v[t]
        val += 0.5 * f * M.pa.lam2 * v[t] * v[t]
    return val + f * M.pa.lam1 * row_norm(&M.pa, v, nt)


cdef inline void _graph_row(const Model* M, int p, int j, int nt, floating* PA, const double* g,
                     const double* H, double* delta, double* buf) noexcept nogil:
    """Task-graph model with a coupled row penalty h (L2,1, sparse-group):
    feature j's row minimizes
        F(w) = 1/2 w^T Q w - b^T w + h(w),  Q = diag(H) + 2 lam Lap,
        b = H * w_old + g
    (the data term is diagonal over the tasks, the graph couples them).
    w = 0 when N^D(b) <= lam1 (exact). Otherwise accelerated proximal
    gradient from w_old with step 1/M, M = max_t H_t + 2 lam lambda_max(Lap),
    momentum (1 - sqrt q) / (1 + sqrt q) for q = min_t H_t / M > 0 (FISTA's
    t_k sequence when q = 0), for K = min(GRAPH_MAX_INNER, ceil(log(1e-4) /
    log(1 - sqrt q))) iterations (the bound (1 - sqrt q)^K of the error
    contraction is 1e-4), stopping early once a step moves the row by at
    most GRAPH_INNER_RTOL x its total move from w_old; the result is kept
    when F is no larger than
    after the first step (one proximal gradient step, a descent step), else
    that first step. Same steps as mtlfast.penalties.structured.TaskGraph.row_update.
    buf: scratch of 7 nt doubles."""
    cdef double* b = buf + nt
    cdef double* x = buf + 2 * nt      # x_k
    cdef double* xp = buf + 3 * nt     # x_{k-1}
    cdef double* yv = buf + 4 * nt     # extrapolated point
    cdef double* x1 = buf + 5 * nt     # the first (descent) step
    cdef double* tmp = buf + 6 * nt
    cdef double Mx = 0.0, mu = INFINITY, q, beta = 0.0, tk = 1.0, tn, mom, dx, dtot
    cdef double f = pen_factor(&M.pa, j)
    cdef int t, k, K
    for t in range(nt):
        Mx = fmax(Mx, H[t])
        mu = fmin(mu, H[t])
        x[t] = PA[<Py_ssize_t> t * p + j]
        b[t] = H[t] * x[t] + g[t]
        delta[t] = x[t]
    Mx += 2.0 * M.lam_g * M.lmax
    if Mx == 0.0 or row_dual_norm(&M.pa, b, nt, buf) <= f * M.pa.lam1:
        for t in range(nt):
            x[t] = 0.0
    else:
        q = mu / Mx
        beta = (1.0 - sqrt(q)) / (1.0 + sqrt(q))
        if q >= 1.0:
            K = 1       # Q = M I: one step is exact
        elif q > 0.0:
            K = <int> fmin(<double> GRAPH_MAX_INNER,
                           fmax(1.0, ceil(log(1e-4) / log1p(-sqrt(q)))))
        else:
            K = GRAPH_MAX_INNER
        for t in range(nt):
            xp[t] = x[t]
            yv[t] = x[t]
        for k in range(K):
            # x_k = prox_{h/M}(y - (Q y - b) / M), row_prox takes M times its argument
            for t in range(nt):
                tmp[t] = Mx * yv[t] - (H[t] * yv[t] + 2.0 * M.lam_g * _lap_vec(M, yv, t) - b[t])
            row_prox(&M.pa, tmp, nt, Mx, f)
            for t in range(nt):
                xp[t] = x[t]
                x[t] = tmp[t]
            if k == 0:
                for t in range(nt):
                    x1[t] = x[t]
            if q > 0.0:
                mom = beta
            else:
                tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * tk * tk))
                mom = (tk - 1.0) / tn
                tk = tn
            dx = 0.0
            dtot = 0.0
            for t in range(nt):
                yv[t] = x[t] + mom * (x[t] - xp[t])
                dx = fmax(dx, fabs(x[t] - xp[t]))
                dtot = fmax(dtot, fabs(x[t] - delta[t]))
            if dx <= GRAPH_INNER_RTOL * dtot:
                break
        if K > 1 and _graph_row_value(M, x, b, H, nt, f) > _graph_row_value(M, x1, b, H, nt, f):
            for t in range(nt):
                x[t] = x1[t]
    for t in range(nt):
        PA[<Py_ssize_t> t * p + j] = <floating> x[t]
        delta[t] = <double> (<floating> x[t]) - delta[t]


cdef inline double _w(const Model* M, const floating* PA, const floating* PB, int p,
                      int t, int j) noexcept nogil:
    """W_tj"""
    if M.kind != MOD_TWO_PART:
        return PA[<Py_ssize_t> t * p + j]
    if M.shared_a:
        return PA[j] + PB[<Py_ssize_t> t * p + j]
    return PA[<Py_ssize_t> t * p + j] + PB[<Py_ssize_t> t * p + j]
