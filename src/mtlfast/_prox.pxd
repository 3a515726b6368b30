# Penalties as an enum + parameter struct, with one inline row-prox and one
# inline dual norm per kind (DESIGN.md section 4). A "row" is W[j, :], the
# coefficients of one feature across the tasks of a block.
#
# Every penalty here has the form, per row w (length T):
#     h(w) = lam1 * N(w) + 0.5 * lam2 * ||w||^2
# with N one of
#     NORM_L1  : ||w||_1                       (lasso, elastic net, ridge when lam1 = 0;
#                                              separable, so tasks can be solved apart)
#     NORM_L21 : ||w||_2                       (multi-task lasso / elastic net)
#     NORM_SGL : tau ||w||_1 + (1-tau) ||w||_2 (sparse-group lasso)
# and, with penalty factors pf (glmnet's penalty.factor), feature j's row
# carries h_j = pf_j h: both strengths scaled by pf_j >= 0 (pf NULL: all 1;
# every site multiplies by pen_factor(pen, j), so the default keeps its bits).
# NormKind is defined once in _kinds.pxd (Python: mtlfast._kinds).
from cython cimport floating
from libc.math cimport fabs, sqrt, fmax
from libc.stdlib cimport qsort


from mtlfast._kinds cimport NormKind, NORM_L1, NORM_L21, NORM_SGL, UNPENALIZED_DUAL


ctypedef struct Penalty:
    int kind
    double lam1       # weight of the norm N
    double lam2       # weight of 0.5 * ||w||^2
    double tau        # L1 share inside NORM_SGL
    bint positive     # constrain W >= 0
    const double* pf  # per-feature factors of both strengths (NULL: all 1)
    Py_ssize_t pf_stride   # separable penalties: task t's factors at pf + t * pf_stride
                           # (0: the same factors for every task)


cdef inline Penalty make_penalty(int kind, double lam1, double lam2, double tau,
                                 bint positive) noexcept nogil:
    """The one place that fills a Penalty (no factors: penalty_from sets them)."""
    cdef Penalty pen
    pen.kind = kind
    pen.lam1 = lam1
    pen.lam2 = lam2
    pen.tau = tau
    pen.positive = positive
    pen.pf = NULL
    pen.pf_stride = 0
    return pen


cdef inline Penalty penalty_from(object penalty):
    """The Penalty of a Python row penalty (mtlfast.penalties: kernel_params()
    gives (kind, lam1, lam2, tau, positive); its kernel_factor(), None or a
    C-contiguous float64 array of n_features (or n_tasks x n_features per-task
    factors of a separable penalty), outlives the solve)."""
    kind, lam1, lam2, tau, positive = penalty.kernel_params()
    cdef Penalty pen = make_penalty(kind, lam1, lam2, tau, positive)
    cdef const double[:, ::1] pf
    factor = penalty.kernel_factor() if hasattr(penalty, "kernel_factor") else None
    if factor is not None and factor.size > 0:
        pf = factor
        pen.pf = &pf[0, 0]
        pen.pf_stride = pf.shape[1] if pf.shape[0] > 1 else 0
    return pen


cdef inline Penalty task_penalty(const Penalty* pen, int t) noexcept nogil:
    """The penalty of task t's block (separable penalties with per-task factors:
    its row of the factors; otherwise the penalty itself)."""
    cdef Penalty out = pen[0]
    if out.pf != NULL:
        out.pf = out.pf + <Py_ssize_t> t * out.pf_stride
    return out


cdef inline double pen_factor(const Penalty* pen, Py_ssize_t j) noexcept nogil:
    """pf_j, feature j's factor of both strengths (1 without factors)."""
    return 1.0 if pen.pf == NULL else pen.pf[j]


cdef inline bint is_separable(const Penalty* pen) noexcept nogil:
    """The penalty decouples over tasks: each task is its own block (solved
    apart, in parallel)."""
    return pen.kind == NORM_L1


cdef inline double soft_threshold(double x, double thr) noexcept nogil:
    """sign(x) * max(|x| - thr, 0)"""
    if x > thr:
        return x - thr
    if x < -thr:
        return x + thr
    return 0.0


cdef inline void row_prox(const Penalty* pen, double* a, int T,
                          double L, double scale) noexcept nogil:
    """In place: a <- argmin_w  L/2 ||w - a/L||^2 + scale * h(w).

    `a` (in/out, length T) holds L * w_old + X_j^T R; L = ||X_j||^2. `scale`
    multiplies lam1 and lam2 (n_samples in the kernels, which work in the
    objective multiplied by n_samples).
    """
    cdef double thr = scale * pen.lam1
    cdef double denom = L + scale * pen.lam2
    cdef double nrm = 0.0, shrink
    cdef int t
    if pen.kind == NORM_L1:
        if pen.positive:
            for t in range(T):
                a[t] = fmax(a[t] - thr, 0.0) / denom
        else:
            for t in range(T):
                a[t] = soft_threshold(a[t], thr) / denom
        return
    if pen.positive:          # the prox of h + the orthant's indicator: clip, then h's prox
        for t in range(T):
            a[t] = fmax(a[t], 0.0)
    if pen.kind == NORM_SGL:
        for t in range(T):
            a[t] = soft_threshold(a[t], pen.tau * thr)
        thr = (1.0 - pen.tau) * thr
    for t in range(T):
        nrm += a[t] * a[t]
    nrm = sqrt(nrm)
    shrink = 0.0
    if nrm > thr and nrm > 0.0:
        shrink = (1.0 - thr / nrm) / denom
    for t in range(T):
        a[t] = a[t] * shrink


cdef inline void row_prox_diag(const Penalty* pen, double* a, int T,
                               const double* L, double s) noexcept nogil:
    """In place: a <- argmin_w  sum_t L_t/2 (w_t - a_t/L_t)^2 + s h(w), L_t >= 0
    (s: the row's penalty factor, multiplying lam1 and lam2).

    The exact minimization over a row when each task's part of the data term
    is its own quadratic (per-task designs: the tasks own disjoint rows, so
    the row's Hessian is diag(L)); `a` holds L_t w_old_t + g_t. With
    d_t = L_t + lam2 and s = a (NORM_L21) or soft_threshold(a, tau lam1)
    (NORM_SGL), b the group weight: w = 0 when ||s|| <= b, else
    w_t = s_t nu / (d_t nu + b) where nu = ||w|| > 0 solves
    sum_t s_t^2 / (d_t nu + b)^2 = 1 (a trust-region secular equation; Newton
    on the concave increasing F(nu)^(-1/2) - 1 from the lower bound
    (||s|| - b) / max_t d_t climbs monotonically to the root, Moré-Sorensen).
    Twin: mtlfast.penalties.Penalty.prox_diag.
    """
    cdef double b = s * pen.lam1, lam2 = s * pen.lam2
    cdef double nrm = 0.0, dmax = 0.0, nu, q, F, F1, step, d
    cdef int t, it
    if pen.kind == NORM_L1:
        for t in range(T):
            d = L[t] + lam2
            a[t] = (fmax(a[t] - b, 0.0) if pen.positive else soft_threshold(a[t], b))
            a[t] = a[t] / d if a[t] != 0.0 else 0.0
        return
    if pen.positive:          # clip, then the group step (the quadratic is diagonal)
        for t in range(T):
            a[t] = fmax(a[t], 0.0)
    if pen.kind == NORM_SGL:
        for t in range(T):
            a[t] = soft_threshold(a[t], pen.tau * b)
        b = (1.0 - pen.tau) * b
    for t in range(T):
        nrm += a[t] * a[t]
        dmax = fmax(dmax, L[t] + lam2)
    nrm = sqrt(nrm)
    if nrm <= b or nrm == 0.0:
        for t in range(T):
            a[t] = 0.0
        return
    nu = (nrm - b) / dmax
    for it in range(100):
        F = 0.0
        F1 = 0.0
        for t in range(T):
            if a[t] != 0.0:
                d = L[t] + lam2
                q = d * nu + b
                F += (a[t] / q) * (a[t] / q)
                F1 += (a[t] / q) * (a[t] / q) * d / q
        # Newton step -h / h' with h = F^(-1/2) - 1, h' = F^(-3/2) F1
        step = (sqrt(F) - 1.0) * F / F1
        if not step > 1e-15 * nu:
            break
        nu += step
    for t in range(T):
        if a[t] != 0.0:
            a[t] = a[t] * nu / ((L[t] + lam2) * nu + b)


cdef inline double row_norm(const Penalty* pen, const double* w, int T) noexcept nogil:
    """N(w) for one row."""
    cdef double l1 = 0.0, l2 = 0.0
    cdef int t
    for t in range(T):
        l1 += fabs(w[t])
        l2 += w[t] * w[t]
    l2 = sqrt(l2)
    if pen.kind == NORM_L1:
        return l1
    if pen.kind == NORM_L21:
        return l2
    return pen.tau * l1 + (1.0 - pen.tau) * l2


cdef inline int _cmp_desc(const void* a, const void* b) noexcept nogil:
    cdef double x = (<const double*> a)[0], y = (<const double*> b)[0]
    return (x < y) - (x > y)


cdef inline double sgl_dual_norm(const double* v, int T, double tau,
                                 double* buf) noexcept nogil:
    """Dual norm of tau ||.||_1 + (1-tau) ||.||_2: the s >= 0 solving
    ||soft_threshold(v, tau s)||_2 = (1 - tau) s.

    With a = sorted |v| (descending) and k entries above the threshold, the
    equation is the quadratic (k tau^2 - (1-tau)^2) s^2 - 2 tau S1 s + S2 = 0
    (S1, S2: sum and sum of squares of the k largest); k is the first index
    where the left side, evaluated at the next breakpoint a_{k+1}/tau, is >= 0.
    """
    cdef int t, k
    cdef double S1 = 0.0, S2 = 0.0, A, nxt, f_nxt, d
    if tau <= 0.0:
        for t in range(T):
            S2 += v[t] * v[t]
        return sqrt(S2)
    if tau >= 1.0:
        for t in range(T):
            S1 = fmax(S1, fabs(v[t]))
        return S1
    for t in range(T):
        buf[t] = fabs(v[t])
    qsort(buf, T, sizeof(double), _cmp_desc)
    if buf[0] == 0.0:
        return 0.0
    for k in range(1, T + 1):
        S1 += buf[k - 1]
        S2 += buf[k - 1] * buf[k - 1]
        nxt = buf[k] if k < T else 0.0
        # f(nxt/tau) = sum_{i<=k} (a_i - nxt)^2 - ((1-tau) nxt / tau)^2
        d = (1.0 - tau) * nxt / tau
        f_nxt = S2 - 2.0 * nxt * S1 + k * nxt * nxt - d * d
        if f_nxt >= 0.0 or k == T:
            A = k * tau * tau - (1.0 - tau) * (1.0 - tau)
            return S2 / (tau * S1 + sqrt(fmax(tau * tau * S1 * S1 - A * S2, 0.0)))
    return 0.0  # unreachable


cdef inline double row_dual_norm(const Penalty* pen, const double* v, int T,
                                 double* buf) noexcept nogil:
    """Dual norm N^D(v) of one row; `buf` is scratch of length T."""
    cdef double m = 0.0, s = 0.0
    cdef int t
    if pen.kind == NORM_L1:
        if pen.positive:
            for t in range(T):
                m = fmax(m, v[t])
            return m
        for t in range(T):
            m = fmax(m, fabs(v[t]))
        return m
    if pen.kind == NORM_L21:
        for t in range(T):
            s += (fmax(v[t], 0.0) if pen.positive else v[t]) ** 2
        return sqrt(s)
    if pen.positive:          # the dual norm of the positive part
        for t in range(T):
            buf[t] = fmax(v[t], 0.0)
        return sgl_dual_norm(buf, T, pen.tau, buf)
    return sgl_dual_norm(v, T, pen.tau, buf)


cdef inline double feature_dual_norm(const Penalty* pen, Py_ssize_t j, const double* v,
                                     int T, double* buf) noexcept nogil:
    """N^D(v) / pf_j: feature j's dual constraint N^D(A_j^T theta - lam2 pf_j W_j)
    <= lam1 pf_j, read against lam1. An unpenalized feature (pf_j = 0), whose
    constraint is A_j^T theta = 0, enters as pf_j = UNPENALIZED_DUAL (_kinds:
    the stopping tests wait until it nearly holds; mtlfast.solvers refits those
    features exactly before the final certificate, where it holds to rounding)."""
    cdef double f = pen_factor(pen, j)
    if f == 1.0:
        return row_dual_norm(pen, v, T, buf)
    if f <= 0.0:
        f = UNPENALIZED_DUAL
    return row_dual_norm(pen, v, T, buf) / f
