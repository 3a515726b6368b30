# The logistic loss and the proximal Newton line search's terms
# (mtlfast._pn_logistic; twin mtlfast.reference.pn_logistic): numerically
# stable log(1 + e^z), the loss of a block's rows, the change of the loss and
# of the penalty along a step (summed term by term: precise near the optimum),
# and the intercepts' safeguarded Newton.
from cython cimport floating
from libc.math cimport exp, expm1, log, log1p, fabs, fmax, fmin, INFINITY, isfinite

from mtlfast._prox cimport Penalty, row_norm, pen_factor


cdef inline double _expit(double z) noexcept nogil:
    cdef double e
    if z >= 0:
        return 1.0 / (1.0 + exp(-z))
    e = exp(z)
    return e / (1.0 + e)


cdef inline double _logaddexp0(double z) noexcept nogil:
    """log(1 + e^z)"""
    return fmax(z, 0.0) + log1p(exp(-fabs(z)))


cdef inline double _xlogx(double v) noexcept nogil:
    return v * log(v) if v > 0.0 else 0.0


cdef inline double _loss(const double* z, const double* y, const double* c, int lo,
                  int hi) noexcept nogil:
    """the loss over rows lo .. hi-1"""
    cdef double s = 0.0
    cdef int i
    for i in range(lo, hi):
        s += c[i] * (_logaddexp0(z[i]) - y[i] * z[i])
    return s


cdef inline double _pen_change(const Penalty* pen, const floating* W, const double* Dm,
                        double alpha, const int* feats, int n_feats, int p, int t0, int nt,
                        double* r1, double* r2) noexcept nogil:
    """h(W + alpha D) - h(W) summed row by row over feats (all when NULL; D
    is 0 on the other rows), rows restricted to tasks t0 .. t0+nt-1, as
    mtlfast.reference.pn_logistic._pen_change"""
    cdef double s = 0.0, q1, q2, w
    cdef int j, k, tt
    if feats == NULL:
        n_feats = p
    for k in range(n_feats):
        j = k if feats == NULL else feats[k]
        q1 = 0.0
        q2 = 0.0
        for tt in range(nt):
            w = W[<Py_ssize_t> (t0 + tt) * p + j]
            r1[tt] = w
            r2[tt] = w + alpha * Dm[<Py_ssize_t> (t0 + tt) * p + j]
            q1 += w * w
            q2 += r2[tt] * r2[tt]
        s += pen_factor(pen, j) * (pen.lam1 * (row_norm(pen, r2, nt) - row_norm(pen, r1, nt))
                                   + 0.5 * pen.lam2 * (q2 - q1))
    return s


cdef inline double _pen_total(const Penalty* pen, const floating* W, int p, int t0, int nt,
                       double* r, double* q_out) noexcept nogil:
    """sum_j pf_j h(W_j) on tasks t0 .. t0+nt-1; q_out: sum_j pf_j ||W_j||^2"""
    cdef double s = 0.0, q = 0.0, f
    cdef int j, tt
    for j in range(p):
        f = pen_factor(pen, j)
        for tt in range(nt):
            r[tt] = W[<Py_ssize_t> (t0 + tt) * p + j]
            q += f * (r[tt] * r[tt])
        s += f * row_norm(pen, r, nt)
    q_out[0] = q
    return pen.lam1 * s + 0.5 * pen.lam2 * q


cdef inline double _loss_change(const double* z, const double* u, double alpha, const double* y,
                         const double* c, int lo, int hi) noexcept nogil:
    """loss(z + alpha u) - loss(z) term by term over rows lo .. hi-1
    (LogisticPerTask.loss_change)"""
    cdef double s = 0.0, d, term
    cdef int i
    for i in range(lo, hi):
        d = alpha * u[i]
        if fabs(d) < 1.0:
            term = log1p(_expit(z[i]) * expm1(d))
        else:
            term = _logaddexp0(z[i] + d) - _logaddexp0(z[i])
        s += c[i] * (term - y[i] * d)
    return s


cdef inline void _optimal_intercept(const double* a, const double* y, const double* c,
                             const int* offsets, int t0, int nt, double* b, double tol,
                             int max_iter) noexcept nogil:
    """Per task, b_t minimizing sum c_i (log(1 + e^(a_i + b)) - y_i (a_i + b)):
    Newton safeguarded by bisection (LogisticPerTask.optimal_intercept)."""
    cdef int t, i, it
    cdef double scale, g, hss, p, lo, hi, bt, step
    for t in range(t0, t0 + nt):
        scale = 0.0
        for i in range(offsets[t], offsets[t + 1]):
            scale += c[i]
        lo = -INFINITY
        hi = INFINITY
        bt = b[t]
        for it in range(max_iter):
            g = 0.0
            hss = 0.0
            for i in range(offsets[t], offsets[t + 1]):
                p = _expit(a[i] + bt)
                g += c[i] * (p - y[i])
                hss += c[i] * (p * (1.0 - p))
            if fabs(g) <= tol * scale:
                break
            if g > 0:
                hi = bt
            else:
                lo = bt
            step = bt - g / hss if hss > 0 else INFINITY
            if not (lo < step < hi) or not isfinite(step):
                if isfinite(lo) and isfinite(hi):
                    step = 0.5 * (lo + hi)
                else:
                    step = bt - (1.0 if g > 0 else -1.0) * fmax(1.0, fabs(bt))
            bt = step
        b[t] = bt
