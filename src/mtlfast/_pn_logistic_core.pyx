"""The logistic kernel's numerics, compiled once as their own module (declared, with the cimports they use, in _pn_logistic_core.pxd):
plain functions, inlined by the C compiler only where it chooses."""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport exp, expm1, log, log1p, fabs, fmax, fmin, INFINITY, isfinite


cdef void _xta_column(const LogDesign* D, const Penalty* pen, const floating* W, int t0,
                      int nt, const double* c, int j, Work* w, double* norms2) noexcept nogil:
    """w.XtA[j * T + t] = A_jt^T rho - lam2 pf_j W_tj for the block's tasks (and
    norms2[j], see _gap): one feature's part of the gap, apart from the others."""
    cdef int t, p = D.p, T = D.T
    cdef double g, cx2, cx, lam2 = pen.lam2 * pen_factor(pen, j)
    if norms2 != NULL:
        norms2[j] = 0.0
    for t in range(t0, t0 + nt):
        if norms2 != NULL:
            _model_terms(D, j, t, W, w.rho, c, &g, &cx2, &cx)
            w.XtA[<Py_ssize_t> j * T + t] = -g - lam2 * W[<Py_ssize_t> t * p + j]
            norms2[j] = fmax(norms2[j], 0.25 * cx2)
        else:
            w.XtA[<Py_ssize_t> j * T + t] = (_wdot(D, j, t, W, w.rho)
                                             - lam2 * W[<Py_ssize_t> t * p + j])


cdef double _gap(const LogDesign* D, const Penalty* pen, const floating* W, int t0, int nt,
                 const double* y, const double* c, const int* feats, int n_feats,
                 Work* w, double* dn_out, double* norms2) noexcept nogil:
    """Duality gap of the block of tasks t0 .. t0+nt-1 at (W, b) given
    w.z = A(W) + b (mtlfast.datafits.LogisticPerTask), with the dual constraints of feats
    only (all features when NULL: rows outside feats must be 0); leaves
    w.rho = c (y - p), w.XtA[j * T + t] = A_jt^T rho - lam2 W_tj for j in feats
    and dn_out = max N^D(XtA_j) / pf_j (0 for lam1 = 0). norms2 not NULL (feats
    NULL): also norms2[j] = max_t sum_{i in t} c_i x_ij^2 / 4, the working
    sets' curvature bounds, in the same read of the columns."""
    cdef int p = D.p, T = D.T
    cdef int lo = D.offsets[t0], hi = D.offsets[t0 + nt]
    cdef int i, j, k, t
    cdef double primal, dual, dn = 0.0, s, pr, v, q = 0.0
    cdef double phis = 0.0, AtR2 = 0.0, xr, f
    if feats == NULL:
        n_feats = p
    for i in range(lo, hi):
        w.rho[i] = c[i] * (y[i] - _expit(w.z[i]))
    if w.n_threads > 1:
        for k in prange(n_feats, schedule='dynamic', chunksize=32,
                        num_threads=w.n_threads, nogil=True):
            _xta_column(D, pen, W, t0, nt, c, k if feats == NULL else feats[k], w, norms2)
    else:
        for k in range(n_feats):
            _xta_column(D, pen, W, t0, nt, c, k if feats == NULL else feats[k], w, norms2)
    primal = _loss(w.z, y, c, lo, hi) + _pen_total(pen, W, p, t0, nt, w.row, &q)
    if pen.lam1 > 0.0:
        for k in range(n_feats):
            j = k if feats == NULL else feats[k]
            dn = fmax(dn, feature_dual_norm(pen, j, &w.XtA[<Py_ssize_t> j * T + t0], nt, w.buf))
        s = 1.0 if dn <= pen.lam1 else pen.lam1 / dn
        for i in range(lo, hi):
            pr = _expit(w.z[i])
            v = y[i] + s * (pr - y[i])
            phis += c[i] * (_xlogx(v) + _xlogx(1.0 - v))
        dual = -phis - 0.5 * s * s * pen.lam2 * q
    else:
        for i in range(lo, hi):
            pr = _expit(w.z[i])
            phis += c[i] * (_xlogx(pr) + _xlogx(1.0 - pr))
        for j in range(p):
            f = pen_factor(pen, j)
            if f <= 0.0:          # unpenalized: refit before the final certificate
                continue
            for t in range(t0, t0 + nt):
                xr = w.XtA[<Py_ssize_t> j * T + t] + pen.lam2 * f * W[<Py_ssize_t> t * p + j]
                AtR2 += xr * xr / f
        dual = -phis - 0.5 * AtR2 / pen.lam2
    dn_out[0] = dn
    return primal - dual


cdef double _refit_intercepts(const LogDesign* D, const Penalty* pen, const floating* coef,
                              double* intercept, bint fit_intercept, int t0, int nt,
                              const double* y, const double* c, const int* feats,
                              int n_feats, Work* w, bint with_gap, double* dn,
                              double* norms2) noexcept nogil:
    """The block's intercepts fitted given W (w.a = A(W); w.z = w.a + b),
    then its duality gap with the dual constraints of feats (all when NULL)
    when with_gap (else INFINITY); norms2: as _gap."""
    cdef int t, i
    _apply(D, coef, intercept, w.a, False, t0, nt)
    if fit_intercept:
        _optimal_intercept(w.a, y, c, D.offsets, t0, nt, intercept, 1e-13, 100)
    for t in range(t0, t0 + nt):
        for i in range(D.offsets[t], D.offsets[t + 1]):
            w.z[i] = w.a[i] + (intercept[t] if fit_intercept else 0.0)
    if not with_gap:
        return INFINITY
    return _gap(D, pen, coef, t0, nt, y, c, feats, n_feats, w, dn, norms2)


cdef void _inner_pass(const LogDesign* D, const Penalty* pen, const floating* coef,
                      int t0, int nt, const int* feats, int n_feats, bint fit_intercept,
                      Work* w, double* d_max_out, double* w_max_out) noexcept nogil:
    """One cyclic pass of the inner solver over feats (all features when
    NULL): each block a feature's row (tasks t0 .. t0+nt-1) with the
    intercepts eliminated (module docstring). w.XtA: the model's gradient G
    at D = 0 (j * T + t); w.Dm (t * p + j) the step so far; w.u = A(D),
    w.hu = h * u, w.m_t = sum_{i in t} hu_i."""
    cdef int p = D.p, T = D.T
    cdef int k, j, t, tt
    cdef double g, old, delta, d_max = 0.0, w_max = 0.0
    cdef double* G = w.XtA
    cdef double* S = w.S
    cdef double* Hb = w.Hb
    cdef double* Db = w.Db
    for k in range(n_feats):
        j = k if feats == NULL else feats[k]
        for tt in range(nt):
            t = t0 + tt
            # the model's gradients in w_jt and b_t, then b_t eliminated
            g = ((G[<Py_ssize_t> j * T + t] + _wdot(D, j, t, coef, w.hu))
                 + Db[t] * S[<Py_ssize_t> j * T + t])
            w.gbv[t] = (w.Gb[t] + w.m[t]) + Db[t] * Hb[t]
            if fit_intercept and Hb[t] > 0.0:
                g = g - S[<Py_ssize_t> j * T + t] * w.gbv[t] / Hb[t]
            old = coef[<Py_ssize_t> t * p + j] + w.Dm[<Py_ssize_t> t * p + j]
            w.row[tt] = old
            w.Hr[tt] = w.Hc[<Py_ssize_t> j * T + t]
            w.ar[tt] = w.Hr[tt] * old - g
        row_prox_diag(pen, w.ar, nt, w.Hr, pen_factor(pen, j))
        for tt in range(nt):
            t = t0 + tt
            delta = w.ar[tt] - w.row[tt]
            if delta != 0.0:
                w.Dm[<Py_ssize_t> t * p + j] += delta
                _wupdate(D, j, t, coef, delta, w.h, w.u, w.hu)
                w.m[t] += delta * S[<Py_ssize_t> j * T + t]
            if fit_intercept and Hb[t] > 0.0:
                Db[t] -= (w.gbv[t] + S[<Py_ssize_t> j * T + t] * delta) / Hb[t]
            d_max = fmax(d_max, fabs(delta))
            w_max = fmax(w_max, fabs(w.ar[tt]))
    d_max_out[0] = d_max
    w_max_out[0] = w_max


cdef void _model_column(const LogDesign* D, const floating* coef, int t0, int nt, int j,
                        Work* w) noexcept nogil:
    """One read of feature j's pieces: the model's G_jt = -A_jt^T rho (kept
    in XtA), H_jt and S_jt for the block's tasks; the step D_tj = 0."""
    cdef int t, p = D.p, T = D.T
    for t in range(t0, t0 + nt):
        _model_terms(D, j, t, coef, w.rho, w.h, &w.XtA[<Py_ssize_t> j * T + t],
                     &w.H[<Py_ssize_t> j * T + t], &w.S[<Py_ssize_t> j * T + t])
        w.Dm[<Py_ssize_t> t * p + j] = 0.0


cdef double _model_gap(const LogDesign* D, const Penalty* pen, const floating* coef,
                       int t0, int nt, const double* c, const int* feats, int n_feats,
                       Work* w) noexcept nogil:
    """Duality gap of the Newton step's quadratic model on feats at the step
    so far (w.Dm, w.Db, w.u = A(D)): mtlfast.reference.pn_logistic.model_gap.
    The dual point theta = rho - h (u + Db) is kept in w.a (free during a
    step: _refit_intercepts recomputes A(W) there before it is read)."""
    cdef int p = D.p
    cdef int i, j, k, t, tt
    cdef double Q = 0.0, dn = 0.0, s, val = 0.0, vx = 0.0, qq = 0.0, G2 = 0.0
    cdef double f, x, v, q
    for t in range(t0, t0 + nt):
        for i in range(D.offsets[t], D.offsets[t + 1]):
            w.a[i] = w.rho[i] - w.h[i] * (w.u[i] + w.Db[t])
            Q += w.a[i] * w.a[i] / fmax(w.h[i], H_FLOOR * c[i])
    for k in range(n_feats):
        j = k if feats == NULL else feats[k]
        f = pen_factor(pen, j)
        q = 0.0
        for tt in range(nt):
            t = t0 + tt
            x = coef[<Py_ssize_t> t * p + j] + w.Dm[<Py_ssize_t> t * p + j]
            v = _wdot(D, j, t, coef, w.a)
            w.row[tt] = x
            w.ar[tt] = v - pen.lam2 * f * x
            vx += v * x
            q += x * x
        if pen.lam1 > 0.0:
            dn = fmax(dn, feature_dual_norm(pen, j, w.ar, nt, w.buf))
            val += f * row_norm(pen, w.row, nt)
            qq += f * q
        elif f > 0.0:
            for tt in range(nt):
                G2 += w.ar[tt] * w.ar[tt] / f
    if pen.lam1 <= 0.0:
        return 0.5 * G2 / pen.lam2
    s = 1.0 if dn <= pen.lam1 else pen.lam1 / dn
    return (0.5 * (1.0 - s) * (1.0 - s) * Q + pen.lam1 * val
            + 0.5 * pen.lam2 * (1.0 + s * s) * qq - s * vx)


cdef void _newton_step(const LogDesign* D, const Penalty* pen, floating* coef,
                       double* intercept, bint fit_intercept, int t0, int nt,
                       const double* y, const double* c, const int* feats, int n_feats,
                       double tol_in, int max_inner, double gap_target,
                       Work* w) noexcept nogil:
    """One proximal Newton step of the block of tasks t0 .. t0+nt-1 on the
    features feats (all when NULL; the other rows stay): the quadratic model
    at (W, b) given w.z, active-set passes on it, Armijo backtracking
    (mtlfast.reference.pn_logistic._newton_step). gap_target >= 0: a settled
    full pass also needs the model's gap <= gap_target (_model_gap), else
    the passes go on with a 10x tighter settling test."""
    cdef int p = D.p, T = D.T
    cdef int lo = D.offsets[t0], hi = D.offsets[t0 + nt]
    cdef int k, j, t, i, ps, n_act, halv, n_halv
    cdef double d_max, w_max, model, alpha, Fa, pr, q
    cdef double* Dm = w.Dm
    if feats == NULL:
        n_feats = p
    # the quadratic model at W
    for i in range(lo, hi):
        pr = _expit(w.z[i])
        w.rho[i] = c[i] * (y[i] - pr)
        w.h[i] = c[i] * pr * (1.0 - pr)
        w.u[i] = 0.0
        w.hu[i] = 0.0
    if w.n_threads > 1:
        for k in prange(n_feats, schedule='dynamic', chunksize=32,
                        num_threads=w.n_threads, nogil=True):
            _model_column(D, coef, t0, nt, k if feats == NULL else feats[k], w)
    else:
        for k in range(n_feats):
            _model_column(D, coef, t0, nt, k if feats == NULL else feats[k], w)
    for t in range(t0, t0 + nt):
        w.Gb[t] = 0.0
        w.Hb[t] = 0.0
        w.Db[t] = 0.0
        w.m[t] = 0.0
        for i in range(D.offsets[t], D.offsets[t + 1]):
            w.Gb[t] -= w.rho[i]
            w.Hb[t] += w.h[i]
    for k in range(n_feats):
        j = k if feats == NULL else feats[k]
        for t in range(t0, t0 + nt):
            # Hc: the curvature with b_t eliminated
            w.Hc[<Py_ssize_t> j * T + t] = w.H[<Py_ssize_t> j * T + t]
            if fit_intercept and w.Hb[t] > 0.0:
                w.Hc[<Py_ssize_t> j * T + t] = fmax(
                    w.H[<Py_ssize_t> j * T + t]
                    - w.S[<Py_ssize_t> j * T + t] * w.S[<Py_ssize_t> j * T + t] / w.Hb[t], 0.0)
    # active-set passes (glmnet's): a full pass over feats, then passes over
    # their nonzero rows until they settle, then a full pass again; a settled
    # full pass ends the solve when the model's gap confirms it
    ps = 0
    while ps < max_inner:
        _inner_pass(D, pen, coef, t0, nt, feats, n_feats, fit_intercept, w, &d_max, &w_max)
        ps += 1
        if d_max <= tol_in * w_max:
            if gap_target < 0.0 or _model_gap(D, pen, coef, t0, nt, c, feats, n_feats,
                                               w) <= gap_target:
                break
            tol_in *= 0.1
        n_act = 0
        for k in range(n_feats):
            j = k if feats == NULL else feats[k]
            for t in range(t0, t0 + nt):
                if coef[<Py_ssize_t> t * p + j] + Dm[<Py_ssize_t> t * p + j] != 0.0:
                    w.act[n_act] = j
                    n_act += 1
                    break
        while ps < max_inner:
            _inner_pass(D, pen, coef, t0, nt, w.act, n_act, fit_intercept, w, &d_max, &w_max)
            ps += 1
            if d_max <= tol_in * w_max:
                break
    # u = A(D) + Db for the line search
    for t in range(t0, t0 + nt):
        for i in range(D.offsets[t], D.offsets[t + 1]):
            w.u[i] += w.Db[t]
    # Armijo backtracking; changes of F summed term by term
    model = 0.0
    for t in range(t0, t0 + nt):
        for k in range(n_feats):
            j = k if feats == NULL else feats[k]
            model += w.XtA[<Py_ssize_t> j * T + t] * Dm[<Py_ssize_t> t * p + j]
    for t in range(t0, t0 + nt):
        model += w.Gb[t] * w.Db[t]
    model += _pen_change(pen, coef, Dm, 1.0, feats, n_feats, p, t0, nt, w.row, w.buf)
    alpha = 1.0
    # the test is undecidable below F's rounding: the full (Newton) step then
    n_halv = MAX_HALVINGS
    if ARMIJO * fabs(model) <= UNDECIDABLE * fabs(
            _loss(w.z, y, c, lo, hi) + _pen_total(pen, coef, p, t0, nt, w.row, &q)):
        n_halv = 0
    for halv in range(n_halv):
        Fa = (_loss_change(w.z, w.u, alpha, y, c, lo, hi)
              + _pen_change(pen, coef, Dm, alpha, feats, n_feats, p, t0, nt, w.row, w.buf))
        if Fa <= ARMIJO * alpha * model:
            break
        alpha *= 0.5
    for t in range(t0, t0 + nt):
        intercept[t] += alpha * w.Db[t]
        for k in range(n_feats):
            j = k if feats == NULL else feats[k]
            coef[<Py_ssize_t> t * p + j] = <floating> (coef[<Py_ssize_t> t * p + j]
                                                      + alpha * Dm[<Py_ssize_t> t * p + j])
