"""The per-task quadratic kernel's numerics, compiled once as their own module (declared, with the cimports they use, in _cd_pertask_core.pxd):
plain functions, inlined by the C compiler only where it chooses."""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport fabs, fmax


cdef void _xta_pass(const TaskDesign* D, const Penalty* pen, const floating* W,
                    floating* r, int t0, int nt, const int* ws, int m, double* XtA,
                    double* L, int n_threads) noexcept nogil:
    """Flush the residual of the block's tasks (implicit centering), then
    XtA[k * nt + tt] = A_j^T r - lam2 W_j for the k-th feature j of ws (all p
    when ws is NULL). L not NULL (ws NULL): also L[j * T + t0 + tt] =
    ||X[rows t0+tt, j]||^2, in the same pass over the columns."""
    cdef int k
    flush(D, r, t0, nt)
    if ws == NULL:
        m = D.p
    if n_threads > 1:
        for k in prange(m, schedule='dynamic', chunksize=32,
                        num_threads=n_threads, nogil=True):
            _xta_row(D, pen, W, r, t0, nt, k if ws == NULL else ws[k], &XtA[<Py_ssize_t> k * nt],
                     L)
    else:
        for k in range(m):
            _xta_row(D, pen, W, r, t0, nt, k if ws == NULL else ws[k], &XtA[<Py_ssize_t> k * nt],
                     L)


cdef double _gap_from_xta(const TaskDesign* D, const Penalty* pen, const floating* W,
                          const floating* r, const floating* y, int t0, int nt,
                          const int* ws, int m, const double* XtA, double* buf,
                          double* dn_out) noexcept nogil:
    """The duality gap of tasks_gap once _xta_pass has filled XtA."""
    cdef int p = D.p
    cdef int j, k, tt, i
    cdef double R_norm2 = 0.0, RY = 0.0, W_norm2 = 0.0, NW = 0.0, w, f
    cdef double dn = 0.0, xtr, XtR_norm2 = 0.0
    if ws == NULL:
        m = p
    for i in range(D.offsets[t0], D.offsets[t0 + nt]):
        R_norm2 += <double> r[i] * r[i]
        RY += <double> r[i] * y[i]
    for k in range(m):
        j = k if ws == NULL else ws[k]
        f = pen_factor(pen, j)
        for tt in range(nt):
            w = W[<Py_ssize_t> (t0 + tt) * p + j]
            buf[tt] = w
            W_norm2 += f * (w * w)
        NW += f * row_norm(pen, buf, nt)
    for k in range(m):
        j = k if ws == NULL else ws[k]
        dn = fmax(dn, feature_dual_norm(pen, j, &XtA[<Py_ssize_t> k * nt], nt, buf))
    dn_out[0] = dn
    if pen.lam1 <= 0.0 and pen.lam2 > 0.0:
        for k in range(m):
            j = k if ws == NULL else ws[k]
            f = pen_factor(pen, j)
            if f <= 0.0:          # unpenalized: refit before the final certificate
                continue
            for tt in range(nt):
                xtr = (XtA[<Py_ssize_t> k * nt + tt]
                       + pen.lam2 * f * W[<Py_ssize_t> (t0 + tt) * p + j])
                XtR_norm2 += xtr * xtr / f
    return quadratic_gap(pen.lam1, pen.lam2, R_norm2, RY, W_norm2, NW, dn, XtR_norm2)


cdef double tasks_gap(const TaskDesign* D, const Penalty* pen, const floating* W,
                      floating* r, const floating* y, int t0, int nt,
                      const int* ws, int m, double* XtA, double* buf, double* dn_out,
                      int n_threads) noexcept nogil:
    """Duality gap of the block of tasks t0 .. t0+nt-1 (see _cd_shared.block_gap;
    here n = 1), over the m features of ws (all p when ws is NULL; W must
    vanish outside ws, and then it is the gap of the subproblem on ws).
    lam1 > 0: dual point cst * residual, cst = min(1, lam1 / max_j
    N^D(XtA_j)); lam1 = 0: the ridge Fenchel dual at the residual. Leaves
    XtA[k * nt + tt] = A_j^T r - lam2 W_j for the k-th feature j of the list,
    and the largest dual norm in dn_out. Flushes the residual (implicit
    centering) of the block's tasks first."""
    _xta_pass(D, pen, W, r, t0, nt, ws, m, XtA, NULL, n_threads)
    return _gap_from_xta(D, pen, W, r, y, t0, nt, ws, m, XtA, buf, dn_out)


cdef void _xta_row(const TaskDesign* D, const Penalty* pen, const floating* W,
                   const floating* r, int t0, int nt, int j, double* out,
                   double* L) noexcept nogil:
    """out[tt] = A_j^T r - lam2 pf_j W_j for the tasks of the block; L not NULL:
    also the curvatures L[j * T + t0 + tt] (the piece is in cache)."""
    cdef int tt
    cdef double lam2 = pen.lam2 * pen_factor(pen, j)
    for tt in range(nt):
        out[tt] = (piece_dot(D, j, t0 + tt, r)
                   - lam2 * W[<Py_ssize_t> (t0 + tt) * D.p + j])
        if L != NULL:
            L[<Py_ssize_t> j * D.T + t0 + tt] = piece_norm2(D, j, t0 + tt, r)


cdef int screen_rows(const TaskDesign* D, const Penalty* pen, floating* W, floating* r,
                     const double* Lmax, int t0, int nt, const double* XtA, double dn,
                     double* buf, double gap, int* act, int n_act) noexcept nogil:
    """Gap-safe screening of the n_act features of act (sorted) right after a
    full duality gap (tasks_gap over all features left XtA_j = A_j^T r - lam2
    W_j and the largest dual norm dn). The dual optimum lies within sqrt(2 gap)
    of the rescaled residual c r, and for any theta in that ball
    N^D(A_j^T theta) <= c N^D(XtA_j) + sqrt(2 gap) max_t sqrt(L_jt + lam2)
    (A_j is block-diagonal over the tasks; N^D <= ||.||_2 for every penalty
    here). A row whose bound is below lam1 (with the relative margin of
    mtlfast._cd_shared against rounding) is zero at the optimum: it is set to 0 and
    leaves act. Returns the new count; act stays sorted."""
    cdef int p = D.p
    cdef int j, k, tt, m = 0
    cdef double w
    cdef SafeBall ball = safe_ball(pen.lam1, dn, gap, 1e-4 if floating is float else 1e-9)
    for k in range(n_act):
        j = act[k]
        if feature_safely_zero(&ball, row_dual_norm(pen, &XtA[<Py_ssize_t> j * nt], nt, buf),
                               Lmax[j], pen.lam2, pen_factor(pen, j)):
            for tt in range(nt):
                w = W[<Py_ssize_t> (t0 + tt) * p + j]
                if w != 0.0:
                    piece_update(D, j, t0 + tt, -w, r)
                    W[<Py_ssize_t> (t0 + tt) * p + j] = 0.0
        else:
            act[m] = j
            m += 1
    return m


cdef void _epoch(const TaskDesign* D, const Penalty* pen, const double* L,
                 const double* Lmax, floating* W, floating* r, int t0, int nt,
                 const int* feats, int m, double* a, double* w_old, double* w_max,
                 double* d_w_max) noexcept nogil:
    """One cyclic pass over the m features of feats (all p when NULL): each
    row minimized exactly (row_prox_diag with the tasks' own curvatures
    L[j * T + t])."""
    cdef int p = D.p, T = D.T
    cdef int j, k, tt
    cdef double delta
    cdef const double* Lj
    cdef floating w_new
    cdef double wm = 0.0, dwm = 0.0     # the largest |w| and change (kept in registers)
    for k in range(m):
        j = k if feats == NULL else feats[k]
        if Lmax[j] == 0.0:
            continue        # a zero column: its row was set to 0 at the start
        Lj = &L[<Py_ssize_t> j * T + t0]
        for tt in range(nt):
            w_old[tt] = W[<Py_ssize_t> (t0 + tt) * p + j]
            a[tt] = Lj[tt] * w_old[tt] + piece_dot(D, j, t0 + tt, r)
        row_prox_diag(pen, a, nt, Lj, pen_factor(pen, j))
        for tt in range(nt):
            w_new = <floating> a[tt]
            delta = w_new - <floating> w_old[tt]
            if delta != 0.0:
                piece_update(D, j, t0 + tt, delta, r)
                W[<Py_ssize_t> (t0 + tt) * p + j] = w_new
                dwm = fmax(dwm, fabs(delta))
            wm = fmax(wm, fabs(w_new))
    w_max[0] = wm
    d_w_max[0] = dwm
