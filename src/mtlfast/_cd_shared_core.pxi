# The shared-design kernel's numerics (included by _cd_shared.pyx, compiled in
# that module: gaps, epochs, screening). Separate file, one compilation unit:
# the C compiler then inlines the hot column helpers as in one hand-written kernel.

cdef enum:
    GAP_BLOCK = 256   # features per gemm (gemv for T = 1) block in the dense gaps: R is
                      # packed once per block (T / GAP_BLOCK of the work); blocks run
                      # in parallel, and their partition does not depend on n_threads
    COV_PER_TASK = 32 # covariance epochs for sets of at most COV_PER_TASK (T + 1) features
                      # (a Gram of m columns, n m^2 / 2 flops at level-3 speed, then
                      # costs about two epochs on the columns, 2 n m T each)
    COV_MAX_BYTES = 256 * 1024 * 1024    # ... whose gathered columns fit in this

# a set in covariance epochs is solved until its own gap is below this fraction
# of the full gap (0.3 for epochs on the columns, celer's rule): its epochs
# cost m^2 T against a full gap's n p T, so a tighter inner solve is nearly free
# and the next full gap more often certifies (fewer passes over X)
cdef double COV_INNER_FRACTION = 1e-3


cdef inline uint32_t _xorshift(uint32_t* state) noexcept nogil:
    cdef uint32_t x = state[0]
    x ^= x << 13
    x ^= x >> 17
    x ^= x << 5
    state[0] = x
    return x


cdef inline int _rand_int(int end, uint32_t* state) noexcept nogil:
    """Uniform-ish integer in [0, end)."""
    return <int> (_xorshift(state) % <uint32_t> end)


cdef inline void _xta_row(const Design* D, const Penalty* pen, int j,
                   const floating* W, Py_ssize_t ldw, const floating* Rs,
                   Py_ssize_t rt, int si, int T, double* XtA) noexcept nogil:
    """XtA[j, :] = X_eff[:, j]^T R - n lam2 pf_j W[j, :]   (R already flushed)."""
    cdef int t, n = D.n_samples
    cdef double lam2n = n * pen.lam2 * pen_factor(pen, j)
    if D.is_sparse and si > 1 and rt == 1:
        col_dot_rows(D, j, Rs, T, NULL, &XtA[<Py_ssize_t> j * T])   # flushed: c = 0
        for t in range(T):
            XtA[<Py_ssize_t> j * T + t] -= lam2n * W[t * ldw + j]
        return
    for t in range(T):
        XtA[<Py_ssize_t> j * T + t] = (col_dot(D, j, Rs + t * rt, si, 0.0)
                                      - lam2n * W[t * ldw + j])


cdef void _xta_dense_gemm(const Design* D, const Penalty* pen,
                          const floating* W, Py_ssize_t ldw, const floating* R,
                          int T, const int* ws, int m, double* XtA,
                          int n_threads) noexcept nogil:
    """XtA[j] = X_j^T R - n lam2 W_j for the m features of ws (all when NULL)
    on dense X, in blocks of GAP_BLOCK features, one gemm each (blocks in
    parallel; the block partition does not depend on the thread count, so
    neither do results)."""
    cdef int n_blocks = (m + GAP_BLOCK - 1) // GAP_BLOCK
    cdef int blk
    if n_threads > 1:
        for blk in prange(n_blocks, schedule='dynamic', num_threads=n_threads, nogil=True):
            _xta_dense_block(D, pen, W, ldw, R, T, ws, m, XtA, blk)
    else:
        for blk in range(n_blocks):
            _xta_dense_block(D, pen, W, ldw, R, T, ws, m, XtA, blk)


cdef void _xta_dense_block(const Design* D, const Penalty* pen,
                           const floating* W, Py_ssize_t ldw, const floating* R,
                           int T, const int* ws, int m, double* XtA, int blk) noexcept nogil:
    cdef int n = D.n_samples
    cdef int k0 = blk * GAP_BLOCK
    cdef int b = min(GAP_BLOCK, m - k0)
    cdef int k, t, j
    cdef double lam2n = n * pen.lam2
    cdef const floating* X = <const floating*> D.data
    cdef const floating* XB
    cdef floating* buf = NULL
    cdef floating* G = <floating*> malloc(<size_t> b * T * sizeof(floating))
    cdef bint contiguous = ws == NULL or ws[k0 + b - 1] - ws[k0] == b - 1
    if not contiguous:
        buf = <floating*> malloc(<size_t> n * b * sizeof(floating))
    if G == NULL or (not contiguous and buf == NULL):
        free(G); free(buf)
        for k in range(b):     # fall back to dot products
            _xta_row(D, pen, k0 + k if ws == NULL else ws[k0 + k], W, ldw, R, n, 1, T, XtA)
        return
    if contiguous:
        XB = X + <Py_ssize_t> (k0 if ws == NULL else ws[k0]) * n
    else:
        for k in range(b):
            memcpy(buf + <Py_ssize_t> k * n, X + <Py_ssize_t> ws[k0 + k] * n,
                   n * sizeof(floating))
        XB = buf
    if T == 1:
        # G (b) = X_B^T r
        _gemv_t(n, b, XB, n, R, G)
    else:
        # G (T x b, column-major) = R^T X_B
        _gemm(c'T', c'N', T, b, n, 1.0, R, n, XB, n, 0.0, G, T)
    for k in range(b):
        j = k0 + k if ws == NULL else ws[k0 + k]
        for t in range(T):
            XtA[<Py_ssize_t> j * T + t] = (G[<Py_ssize_t> k * T + t]
                                          - lam2n * pen_factor(pen, j) * W[t * ldw + j])
    free(G)
    free(buf)


cdef double block_gap(const Design* D, const Penalty* pen,
                      const floating* W, Py_ssize_t ldw,     # in
                      floating* Rs, Py_ssize_t rt, int si,   # in/out: flushed
                      double* c,
                      const floating* Y, int T,              # in
                      const int* ws, int n_ws,               # in: features (NULL = all)
                      double* XtA, double* buf,              # scratch (p*T), (T)
                      double* dn_out,                        # out: N^D(XtA) max
                      int n_threads) noexcept nogil:
    """Duality gap of the block in the n-scaled objective, over the features
    in `ws` (all features when ws is NULL; W must vanish outside ws).

    The formula (mtlfast._gap.quadratic_gap) with strengths n lam1, n lam2
    (with factors: ||W||^2 and N(W) summed with weights pf_j, dn the largest
    N^D(XtA_j) / pf_j); the dual point is the residual rescaled by
    dual_scale(n lam1, dn).
    Restricted to ws, this is the gap of the subproblem on those features.
    """
    cdef int n = D.n_samples
    cdef int m = D.n_features if ws == NULL else n_ws
    cdef int k, j, t, i
    cdef double lam1n = n * pen.lam1, lam2n = n * pen.lam2
    cdef double R_norm2 = 0.0, RY = 0.0, W_norm2 = 0.0, NW = 0.0
    cdef double dn = 0.0, xtr, XtR_norm2 = 0.0, f
    cdef const floating* r
    cdef const floating* y

    for t in range(T):
        flush_residual(D, Rs + t * rt, si, &c[t])

    if not D.is_sparse and si == 1 and (T > 1 or ws == NULL):
        # level-3 (level-2 for T = 1) BLAS; a working set's gap for T = 1 by
        # columns (gathering them would read each twice)
        _xta_dense_gemm(D, pen, W, ldw, Rs, T, ws, m, XtA, n_threads)
    elif n_threads > 1:
        for k in prange(m, schedule='dynamic', chunksize=32,
                        num_threads=n_threads, nogil=True):
            _xta_row(D, pen, k if ws == NULL else ws[k], W, ldw, Rs, rt, si, T, XtA)
    else:
        for k in range(m):
            _xta_row(D, pen, k if ws == NULL else ws[k], W, ldw, Rs, rt, si, T, XtA)

    for t in range(T):
        r = Rs + t * rt
        y = Y + <Py_ssize_t> t * n
        for i in range(n):
            R_norm2 += <double> r[<Py_ssize_t> i * si] * r[<Py_ssize_t> i * si]
            RY += <double> r[<Py_ssize_t> i * si] * y[i]
    for k in range(m):
        j = k if ws == NULL else ws[k]
        f = pen_factor(pen, j)
        for t in range(T):
            buf[t] = W[t * ldw + j]
            W_norm2 += f * (buf[t] * buf[t])
        NW += f * row_norm(pen, buf, T)

    for k in range(m):
        j = k if ws == NULL else ws[k]
        dn = fmax(dn, feature_dual_norm(pen, j, &XtA[<Py_ssize_t> j * T], T, buf))
    if lam1n <= 0.0 and lam2n > 0.0:
        for k in range(m):
            j = k if ws == NULL else ws[k]
            f = pen_factor(pen, j)
            if f <= 0.0:          # unpenalized: refit before the final certificate
                continue
            for t in range(T):
                xtr = XtA[<Py_ssize_t> j * T + t] + lam2n * f * W[t * ldw + j]
                XtR_norm2 += xtr * xtr / f
    dn_out[0] = dn
    return quadratic_gap(lam1n, lam2n, R_norm2, RY, W_norm2, NW, dn, XtR_norm2)


cdef inline void _epoch(const Design* D, const Penalty* pen, const double* norms2,
                 floating* W, Py_ssize_t ldw, floating* Rs, Py_ssize_t rt, int si,
                 double* c, int T,
                 const int* ws, int n_ws, bint random, uint32_t* state,
                 double* a, double* w_old,
                 double* w_max, double* d_w_max) noexcept nogil:
    """One pass of proximal block coordinate descent over the features in ws
    (all features when ws is NULL), in order or drawn at random."""
    cdef int n = D.n_samples
    cdef int m = D.n_features if ws == NULL else n_ws
    cdef int kk, k, j, t
    cdef double L, delta
    cdef floating w_new
    cdef bint changed
    cdef bint rows = D.is_sparse and si > 1 and rt == 1
    cdef double wm = 0.0, dwm = 0.0     # the largest |w| and change (kept in registers)
    for kk in range(m):
        k = _rand_int(m, state) if random else kk
        j = k if ws == NULL else ws[k]
        L = norms2[j]
        if L == 0.0:
            # zero column: the row's optimum is the penalty's minimizer, 0
            for t in range(T):
                W[t * ldw + j] = 0.0
            continue
        if rows:
            # sparse X, row-major residual: all tasks in one pass over the nonzeros
            col_dot_rows(D, j, Rs, T, c, a)
            changed = False
            for t in range(T):
                w_old[t] = W[t * ldw + j]
                a[t] += L * w_old[t]
            row_prox(pen, a, T, L, n * pen_factor(pen, j))
            for t in range(T):
                w_new = <floating> a[t]
                a[t] = w_new - w_old[t]          # a now holds the changes
                if a[t] != 0.0:
                    changed = True
                    W[t * ldw + j] = w_new
                    dwm = fmax(dwm, fabs(a[t]))
                wm = fmax(wm, fabs(w_new))
            if changed:
                col_update_rows(D, j, a, Rs, T, c)
            continue
        for t in range(T):
            w_old[t] = W[t * ldw + j]
            a[t] = L * w_old[t] + col_dot(D, j, Rs + t * rt, si, c[t])
        row_prox(pen, a, T, L, n * pen_factor(pen, j))
        for t in range(T):
            w_new = <floating> a[t]
            delta = w_new - w_old[t]
            if delta != 0.0:
                col_update(D, j, delta, Rs + t * rt, si, &c[t])
                W[t * ldw + j] = w_new
                dwm = fmax(dwm, fabs(delta))
            wm = fmax(wm, fabs(w_new))
    w_max[0] = wm
    d_w_max[0] = dwm


cdef int _screen(const Design* D, const Penalty* pen, const double* norms2,
                 floating* W, Py_ssize_t ldw, floating* Rs, Py_ssize_t rt, int si,
                 double* c, int T, const double* XtA, double dn, double gap,
                 int* act, int n_act, double* buf) noexcept nogil:
    """Gap-safe screening (Fercoq, Gramfort, Salmon 2015; Ndiaye et al. 2017)
    of the features in act (n_act of them, sorted), right after block_gap over
    the same features filled XtA, dn and gap (n-scaled).

    With lam' = n lam1, the dual point of block_gap is theta = cst R_aug / lam'
    (cst = min(1, lam' / dn)); the dual objective is lam'^2-strongly concave,
    so the dual optimum lies in the ball of radius sqrt(2 gap) / lam' around
    theta. A feature whose dual constraint holds strictly on the whole ball,
        cst N^D(XtA_j) + sqrt(2 gap) ||X_aug_j|| < lam'
    (every row penalty here has N^D(v) <= ||v||_2, so the ball's image under
    X_aug_j^T stays inside the dual unit ball), has a zero row at every
    optimum: its coefficients are set to zero (residual updated) and it
    leaves act. Returns the new count; act stays sorted.

    Rounding: near convergence the ball shrinks to nothing while an active
    feature's N^D(XtA_j) equals n lam1 only up to rounding (of the residual,
    stored in the data's precision), so the test keeps a relative margin of
    1e-9 (float64) / 1e-4 (float32) of n lam1."""
    cdef int n = D.n_samples
    cdef double lam1n = n * pen.lam1, lam2n = n * pen.lam2
    cdef floating w
    cdef int k, j, t, m = 0
    if lam1n <= 0.0 or gap != gap:
        return n_act
    cdef SafeBall ball = safe_ball(lam1n, dn, gap, 1e-4 if floating is float else 1e-9)
    for k in range(n_act):
        j = act[k]
        if feature_safely_zero(&ball, row_dual_norm(pen, &XtA[<Py_ssize_t> j * T], T, buf),
                               norms2[j], lam2n, pen_factor(pen, j)):
            for t in range(T):
                w = W[t * ldw + j]
                if w != 0.0:
                    col_update(D, j, -w, Rs + t * rt, si, &c[t])
                    W[t * ldw + j] = 0.0
        else:
            act[m] = j
            m += 1
    for t in range(T):
        flush_residual(D, Rs + t * rt, si, &c[t])
    return m


cdef void _run_epoch(const Design* D, const Penalty* pen, const double* norms2,
                            floating* W, Py_ssize_t ldw, floating* Rs, Py_ssize_t rt,
                            int si, double* c, int T,
                            const int* ws, int n_ws, bint random, uint32_t* state,
                            BlockScratch* S, double* a, double* w_old,
                            double* w_max, double* d_w_max, int n_threads) noexcept nogil:
    if S.bs > 1:
        epoch_blocked(D, pen, norms2, W, ldw, Rs, T, ws, n_ws, S, a, w_old, w_max, d_w_max,
                       n_threads)
    elif T == 1:
        # one task (every block of a separable penalty): the constant lets the
        # compiler drop the loops over tasks from the per-coordinate code
        _epoch(D, pen, norms2, W, ldw, Rs, rt, si, c, 1, ws, n_ws, random, state, a, w_old,
               w_max, d_w_max)
    else:
        _epoch(D, pen, norms2, W, ldw, Rs, rt, si, c, T, ws, n_ws, random, state, a, w_old,
               w_max, d_w_max)


cdef double _sq_norm(const floating* y, int n) noexcept nogil:
    cdef double s = 0.0
    cdef int i
    for i in range(n):
        s += <double> y[i] * y[i]
    return s


# ---- covariance epochs (glmnet's type.gaussian = "covariance", for a
# working set): with dense X and a set of m features small against n, the
# set's columns X_S are gathered once, with their Gram K = X_S^T X_S and
# G = X_S^T R; an epoch then updates G (G -= K[:, k] Delta_k per changed row)
# instead of the residual: O(m^2 T) per epoch instead of O(n m T). The
# residual is brought up to date once, when the set is done (R -= X_S D,
# D the set's change). Same iterates as the plain cyclic epoch up to rounding.

ctypedef struct Cov:
    int m                     # features of the current set (0: not in use)
    int cap                   # capacity of the buffers, in features
    const int* ws             # the set (the driver's buffer; sorted)
    const void* XS            # n x m: the set's columns (the gathered copy, or X itself
                              # when the set is all p features)
    void* XSbuf               # the gathered copy (floating), owned
    int K_all                 # > 0: K holds the Gram of all K_all = p features (full
                              # Gram mode: computed once, kept across sets)
    void* K                   # m x m Gram, both triangles (floating)
    int XtY_all               # > 0: XtY holds X^T Y of all XtY_all = p features (kept
                              # across sets of all features, like K_all)
    void* G                   # m x T: X_S^T R of the current iterate (floating)
    double* W0                # m x T: the set's rows at its start
    double* XtY               # m x T: X_S^T Y
    double* G0                # m x T: G at the start
    double R0_norm2           # ||R||^2 at the start
    double R0Y                # <R, Y> at the start


cdef inline void cov_init(Cov* C) noexcept nogil:
    C.m = 0
    C.cap = 0
    C.K_all = 0
    C.XtY_all = 0
    C.XS = C.XSbuf = C.K = C.G = NULL
    C.W0 = C.XtY = C.G0 = NULL


cdef inline void cov_free(Cov* C) noexcept nogil:
    free(C.XSbuf); free(C.K); free(C.G); free(C.W0); free(C.XtY); free(C.G0)
    cov_init(C)


cdef int cov_start(Cov* C, const Design* D, const Penalty* pen, const floating* W,
                   Py_ssize_t ldw, const floating* R, const floating* Y, int T,
                   const int* ws, int m, const double* XtA, const double* XtY,
                   double* reads) noexcept nogil:
    """Gather X_S, compute K, G, X_S^T Y and the start's ||R||^2, <R, Y>
    (R flushed, F-ordered). A set of all p features (ws = 0..p-1) reads X in
    place and computes its Gram and X^T Y once (full Gram mode: later sets of
    all features reuse them). XtA: the last full gap's X_j^T R - n lam2 pf_j W_j
    of every feature when R has not changed since (G is then read from it),
    else NULL. XtY: X^T Y of every feature (p x T, row-major; the first gap's
    at W = 0), or NULL. reads: the entries of X read. Returns -1 when memory is short
    (the caller then runs plain epochs)."""
    cdef int n = D.n_samples, k, t, j
    cdef double f
    cdef size_t item = sizeof(floating)
    cdef const floating* X = <const floating*> D.data
    cdef bint all_p = m == D.n_features
    cdef const floating* XS
    cdef floating* K
    cdef floating* G
    cdef floating* tmp
    if m > C.cap or (not all_p and C.XSbuf == NULL):
        cov_free(C)
        if not all_p:
            C.XSbuf = malloc(<size_t> n * m * item)
        C.K = malloc(<size_t> m * m * item)
        C.G = malloc(<size_t> m * T * item)
        C.W0 = <double*> malloc(<size_t> m * T * sizeof(double))
        C.XtY = <double*> malloc(<size_t> m * T * sizeof(double))
        C.G0 = <double*> malloc(<size_t> m * T * sizeof(double))
        if ((not all_p and C.XSbuf == NULL) or C.K == NULL or C.G == NULL or C.W0 == NULL
                or C.XtY == NULL or C.G0 == NULL):
            cov_free(C)
            return -1
        C.cap = m
    K = <floating*> C.K
    G = <floating*> C.G
    if all_p:
        XS = X
    else:
        C.K_all = 0
        C.XtY_all = 0
        for k in range(m):
            memcpy((<floating*> C.XSbuf) + <Py_ssize_t> k * n, X + <Py_ssize_t> ws[k] * n,
                   n * item)
        XS = <const floating*> C.XSbuf
        reads[0] += <double> n * m
    C.XS = XS
    if not (all_p and C.K_all == m):
        reads[0] += <double> n * m
        # K (m x m) = X_S^T X_S: the lower triangle, then mirrored
        _syrk_lt(m, n, XS, n, K, m)
        for k in range(m):
            for t in range(k + 1, m):
                K[<Py_ssize_t> t * m + k] = K[<Py_ssize_t> k * m + t]
        C.K_all = m if all_p else 0
    if XtA != NULL:
        # G = X_S^T R from the full gap that just read X
        for k in range(m):
            j = ws[k]
            f = n * pen.lam2 * pen_factor(pen, j)
            for t in range(T):
                G[<Py_ssize_t> k * T + t] = <floating> (XtA[<Py_ssize_t> j * T + t]
                                                        + f * W[t * ldw + j])
    else:
        # G^T (T x m, i.e. G row-major m x T) = R^T X_S
        _gemm(c'T', c'N', T, m, n, 1.0, R, n, XS, n, 0.0, G, T)
        reads[0] += <double> n * m
    if XtY != NULL:
        for k in range(m):
            for t in range(T):
                C.XtY[<Py_ssize_t> k * T + t] = XtY[<Py_ssize_t> ws[k] * T + t]
    elif not (all_p and C.XtY_all == m):
        # X_S^T Y (m x T, row-major), in the data's precision, then kept in double
        tmp = <floating*> malloc(<size_t> m * T * item)
        if tmp == NULL:
            return -1
        _gemm(c'T', c'N', T, m, n, 1.0, Y, n, XS, n, 0.0, tmp, T)
        reads[0] += <double> n * m
        for k in range(m):
            for t in range(T):
                C.XtY[<Py_ssize_t> k * T + t] = tmp[<Py_ssize_t> k * T + t]
        free(tmp)
        C.XtY_all = m if all_p else 0
    for k in range(m):
        for t in range(T):
            C.G0[<Py_ssize_t> k * T + t] = G[<Py_ssize_t> k * T + t]
            C.W0[<Py_ssize_t> k * T + t] = W[t * ldw + ws[k]]
    C.R0_norm2 = 0.0
    C.R0Y = 0.0
    for t in range(T):
        C.R0_norm2 += _sq_norm(R + <Py_ssize_t> t * n, n)
        C.R0Y += _dot_d(R + <Py_ssize_t> t * n, Y + <Py_ssize_t> t * n, n)
    C.ws = ws
    C.m = m
    return 0


cdef void cov_end(Cov* C, const Design* D, const floating* W, Py_ssize_t ldw,
                  floating* R, int T) noexcept nogil:
    """R -= X_S D with D = W_S - W0 (the set's change); the set is done."""
    cdef int n = D.n_samples, m = C.m, k, t
    cdef floating* Dl = <floating*> C.G       # G is not needed any more
    cdef bint changed = False
    if m == 0:
        return
    for k in range(m):
        for t in range(T):
            Dl[<Py_ssize_t> k * T + t] = <floating> (W[t * ldw + C.ws[k]]
                                                     - C.W0[<Py_ssize_t> k * T + t])
            changed = changed or Dl[<Py_ssize_t> k * T + t] != 0.0
    if changed:
        # R (n x T) -= X_S (n x m) @ D^T, D^T = Dl as a column-major (T x m) matrix
        _gemm(c'N', c'T', n, T, m, -1.0, <const floating*> C.XS, n, Dl, T, 1.0, R, n)
    C.m = 0


cdef void cov_epoch(const Cov* C, const Penalty* pen, const double* norms2,
                    floating* W, Py_ssize_t ldw, int T, int n,
                    double* a, double* w_old, double* w_max, double* d_w_max) noexcept nogil:
    """One cyclic epoch over the set, on G (see above)."""
    cdef int m = C.m, k, l, t, j
    cdef double L
    cdef floating w_new
    cdef floating* G = <floating*> C.G
    cdef const floating* Kk
    cdef floating* Gl
    cdef bint changed
    cdef double wm = 0.0, dwm = 0.0
    for k in range(m):
        j = C.ws[k]
        L = norms2[j]
        for t in range(T):
            w_old[t] = W[t * ldw + j]
            a[t] = L * w_old[t] + G[<Py_ssize_t> k * T + t]
        row_prox(pen, a, T, L, n * pen_factor(pen, j))
        changed = False
        for t in range(T):
            w_new = <floating> a[t]
            a[t] = w_new - <floating> w_old[t]        # a now holds the changes
            if a[t] != 0.0:
                changed = True
                W[t * ldw + j] = w_new
                dwm = fmax(dwm, fabs(a[t]))
            wm = fmax(wm, fabs(w_new))
        if changed:
            # G[l, :] -= K[l, k] * Delta_k for every l of the set
            Kk = (<const floating*> C.K) + <Py_ssize_t> k * m
            for l in range(m):
                Gl = G + <Py_ssize_t> l * T
                for t in range(T):
                    Gl[t] -= <floating> (Kk[l] * a[t])
    w_max[0] = wm
    d_w_max[0] = dwm


cdef double cov_gap(const Cov* C, const Penalty* pen, const floating* W, Py_ssize_t ldw,
                    int T, int n, double* XtA, double* buf, double* dn_out) noexcept nogil:
    """The duality gap of the set's subproblem (n-scaled), from G: with
    D = W_S - W0,  ||R||^2 = ||R0||^2 - <D, G0> - <D, G>  (G = G0 - K D) and
    <R, Y> = <R0, Y> - <D, X_S^T Y>; XtA[j] = G_j - n lam2 W_j for the set."""
    cdef int m = C.m, k, t, j
    cdef const floating* G = <const floating*> C.G
    cdef double lam1n = n * pen.lam1, lam2n = n * pen.lam2
    cdef double R_norm2 = C.R0_norm2, RY = C.R0Y, W_norm2 = 0.0, NW = 0.0, dn = 0.0
    cdef double d, w, f
    for k in range(m):
        j = C.ws[k]
        f = pen_factor(pen, j)
        for t in range(T):
            w = W[t * ldw + j]
            d = w - C.W0[<Py_ssize_t> k * T + t]
            R_norm2 -= d * (C.G0[<Py_ssize_t> k * T + t] + G[<Py_ssize_t> k * T + t])
            RY -= d * C.XtY[<Py_ssize_t> k * T + t]
            XtA[<Py_ssize_t> j * T + t] = G[<Py_ssize_t> k * T + t] - lam2n * f * w
            buf[t] = w
            W_norm2 += f * (w * w)
        NW += f * row_norm(pen, buf, T)
        dn = fmax(dn, feature_dual_norm(pen, j, &XtA[<Py_ssize_t> j * T], T, buf))
    dn_out[0] = dn
    return quadratic_gap(lam1n, lam2n, fmax(R_norm2, 0.0), RY, W_norm2, NW, dn, 0.0)


cdef double _dot_d(const floating* x, const floating* y, int n) noexcept nogil:
    cdef double s = 0.0
    cdef int i
    for i in range(n):
        s += <double> x[i] * y[i]
    return s


# ---- Newton steps on the support (single-task blocks, dense X) ----------------
#
# Near an optimum whose support S is known, the lasso / elastic-net objective
# restricted to the orthant of W's signs s is a quadratic,
#     0.5 ||r - X_S d||^2 + n sum_S pf_j (lam1 s_j (w_j + d_j) + 0.5 lam2 (w_j + d_j)^2),
# minimized in one linear solve:
#     (X_S^T X_S + n lam2 diag(pf_S)) d = X_S^T r - n lam1 pf_S s - n lam2 pf_S w_S.
# Coordinate descent needs O(condition number) epochs for what this solve
# does at once (ill-conditioned supports near n: tens of thousands of
# epochs). The step is cut at the first sign change (the orthant's boundary:
# the coordinate becomes 0), so the objective cannot increase; it is checked
# anyway and the step refused if it did (rounding). The epochs then go on,
# and the set's duality gap decides, as always.

cdef inline double _support_value(const Penalty* pen, const floating* W, const int* S, int ms,
                                  const floating* r, int n) noexcept nogil:
    """0.5 ||r||^2 + n sum_S pf_j (lam1 |w_j| + 0.5 lam2 w_j^2)."""
    cdef int a, i
    cdef double w, f, pen_sum = 0.0, rr = 0.0
    for a in range(ms):
        w = W[S[a]]
        f = pen_factor(pen, S[a])
        pen_sum += f * (pen.lam1 * fabs(w) + 0.5 * pen.lam2 * w * w)
    for i in range(n):
        rr += <double> r[i] * r[i]
    return 0.5 * rr + n * pen_sum


cdef int support_newton(const Design* D, const Penalty* pen, floating* W, floating* r,
                        const int* feats, int m, int* ms_out) noexcept nogil:
    """One Newton step on the support of W within feats (a single-task block:
    W[j], residual r flushed, stride 1, dense X). Returns 2 (full step), 1
    (cut at a sign change), 0 (not taken: empty support, system not positive
    definite, no decrease) or -1 (no memory); ms_out: the support's size."""
    cdef int n = D.n_samples
    cdef int ms = 0, k, a, b, info, rc = 0
    cdef double t = 1.0, w, dd, ta, f, v0, v1
    cdef const floating* X = <const floating*> D.data
    for k in range(m):
        if W[feats[k]] != 0.0:
            ms += 1
    ms_out[0] = ms
    if ms == 0:
        return 0
    cdef int* S = <int*> malloc(<size_t> ms * sizeof(int))
    cdef floating* Xs = <floating*> malloc(<size_t> n * ms * sizeof(floating))
    cdef floating* Gf = <floating*> malloc(<size_t> ms * ms * sizeof(floating))
    cdef double* G = <double*> malloc(<size_t> ms * ms * sizeof(double))
    cdef double* g = <double*> malloc(<size_t> ms * sizeof(double))
    cdef floating* gf = <floating*> malloc(<size_t> ms * sizeof(floating))
    cdef floating* dw = <floating*> malloc(<size_t> ms * sizeof(floating))
    cdef floating* w_old = <floating*> malloc(<size_t> ms * sizeof(floating))
    cdef floating* rn = <floating*> malloc(<size_t> n * sizeof(floating))
    if (S == NULL or Xs == NULL or Gf == NULL or G == NULL or g == NULL or gf == NULL
            or dw == NULL or w_old == NULL or rn == NULL):
        rc = -1
    else:
        a = 0
        for k in range(m):
            if W[feats[k]] != 0.0:
                S[a] = feats[k]
                a += 1
        for a in range(ms):
            memcpy(Xs + <Py_ssize_t> a * n, X + <Py_ssize_t> S[a] * n, n * sizeof(floating))
        _syrk_lt(ms, n, Xs, n, Gf, ms)          # lower triangle of X_S^T X_S
        _gemv_t(n, ms, Xs, n, r, gf)            # X_S^T r
        for b in range(ms):
            for a in range(b, ms):
                G[a + <Py_ssize_t> b * ms] = Gf[a + <Py_ssize_t> b * ms]
        for a in range(ms):
            w = W[S[a]]
            f = pen_factor(pen, S[a])
            G[a + <Py_ssize_t> a * ms] += n * pen.lam2 * f
            g[a] = gf[a] - n * f * (pen.lam1 * (1.0 if w > 0.0 else -1.0) + pen.lam2 * w)
        info = _chol_solve(ms, G, g)            # g <- the Newton direction d
        if info == 0:
            for a in range(ms):                  # the largest step within the orthant
                w = W[S[a]]
                dd = g[a]
                if w * (w + dd) < 0.0:
                    ta = -w / dd
                    if ta < t:
                        t = ta
            for a in range(ms):
                w = W[S[a]]
                w_old[a] = W[S[a]]
                v1 = w + t * g[a]
                if w * v1 <= 0.0 or (t < 1.0 and fabs(v1) <= 1e-14 * fabs(w)):
                    v1 = 0.0                    # reached the boundary: zero
                dw[a] = <floating> v1 - W[S[a]]
            memcpy(rn, r, n * sizeof(floating))
            _gemv_n(n, ms, <floating> -1.0, Xs, n, dw, rn)     # r - X_S dw
            v0 = _support_value(pen, W, S, ms, r, n)
            for a in range(ms):
                W[S[a]] = W[S[a]] + dw[a]
            v1 = _support_value(pen, W, S, ms, rn, n)
            if v1 <= v0:
                memcpy(r, rn, n * sizeof(floating))
                rc = 2 if t >= 1.0 else 1
            else:
                for a in range(ms):
                    W[S[a]] = w_old[a]
    free(S); free(Xs); free(Gf); free(G); free(g); free(gf); free(dw); free(w_old); free(rn)
    return rc
