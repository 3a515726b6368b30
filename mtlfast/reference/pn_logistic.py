"""NumPy twin of mtlfast._pn_logistic: proximal Newton for the per-task
logistic datafit (mtlfast.datafits.LogisticPerTask) + a row penalty.

Reference solver (prox_newton): proximal Newton with working sets; the tasks
of a separable penalty are solved one by one (the kernel runs them in
parallel), each with its own tolerance. A Newton step (_newton_step, on the
features of the working set) re-optimizes the intercepts, forms the
quadratic model of the loss at (W, b) (weights h_i = c_i p_i (1 - p_i),
gradient G = -A^T rho), runs cyclic block coordinate descent on it: each
block is a feature's row together with the intercepts, minimized exactly
(the intercepts eliminated: curvatures H_jt - S_jt^2 / Hb_t and gradients
g_jt - S_jt gb_t / Hb_t, S_jt = sum_{i in t} h_i x_ij, Hb_t = sum_{i in t} h_i,
then Penalty.prox_diag and the intercepts' optimal move; this is weighted
centering done implicitly: without it, alternating intercepts and rows
crawls on uncentered data) for up to max_inner passes, glmnet's active-set
way (a full pass, then passes over the nonzero rows until one moves no entry
by more than tol_in x the largest entry, then a full pass again, done when a
full pass settles; tol_in = min(inner_tol, 0.1 gap / gap_scale): the inner
accuracy follows the outer one, which ill-conditioned designs need), and
takes the step (W, b) + alpha (D, Db) with alpha halved from 1 until the
Armijo condition of Tseng & Yun holds:
F(W + alpha D) - F(W) <= 1e-4 alpha (G . D + h(W + D) - h(W)), with both
changes summed term by term (loss_change, _pen_change): near the optimum
they are far below the rounding of F itself. When 1e-4 |model| is below
16 eps |F(W)| the test is undecidable (the step is far inside the region
where the quadratic model is exact to rounding) and the full step is taken.
Working sets (celer / skglm): after each full gap, the nonzero rows and the
features whose dual constraint is closest to active (working_set) take
Newton steps until the subproblem's gap is <= 0.3 x the full one.
"""
import numpy as np
from scipy.special import expit

from .._kinds import CONSTANTS

# the line search's constants, shared with the kernel (src/mtlfast/_kinds.pxd)
ARMIJO = CONSTANTS["ARMIJO"]
MAX_HALVINGS = CONSTANTS["MAX_HALVINGS"]
UNDECIDABLE = CONSTANTS["UNDECIDABLE"]
# the inner solve stops once the quadratic model's gap is below this share of
# the outer gap (checked when a full pass settles), as the structured
# classifiers' inner solves do (mtlfast.solvers._pn_structured)
INNER_FRACTION = CONSTANTS["INNER_FRACTION"]
H_FLOOR = CONSTANTS["H_FLOOR"]


def _pen_change(pen, W1, W2):
    """h(W2) - h(W1) summed row by row (no cancellation between the rows'
    totals: the line search compares changes far below h's rounding)."""
    d = pen.lam1 * (pen.row_norms(W2) - pen.row_norms(W1))
    d += 0.5 * pen.lam2 * (np.sum(W2 * W2, axis=1) - np.sum(W1 * W1, axis=1))
    return float((pen.row_factors(len(d)) * d).sum())


def working_set(pen, norms2, W, XtA, dn, ws_size):
    """working_set_from_norms with the rows' scaled dual norms of XtA."""
    return working_set_from_norms(pen, norms2, W, pen.scaled_dual_norms(XtA), dn, ws_size)


def working_set_from_norms(pen, norms2, W, dual_norms, dn, ws_size):
    """The working set (mtlfast._workset.build_ws with n = 1): every feature
    with a nonzero row, then the features whose dual constraint is closest to
    active, scored by (1 - N^D(XtA_j) / (pf_j max(lam1, dn)))
    / sqrt(norms2_j + lam2 pf_j) (smaller first, ties by index), up to
    ws_size features, sorted by index. Features with norms2 = 0 never enter;
    unpenalized ones (pf_j = 0) always do."""
    feats = np.flatnonzero(norms2 > 0)
    pf = pen.row_factors(len(norms2))[feats]
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (1.0 - dual_norms[feats] / max(pen.lam1, dn)) \
            / np.sqrt(norms2[feats] + pen.lam2 * pf)
    score[np.any(W[feats] != 0, axis=1) | (pf <= 0)] = -np.inf
    best = np.lexsort((feats, score))[:ws_size]
    return np.sort(feats[best])


def model_gap(df, pen, W, D, Db, rho, h, v, feats):
    """Duality gap of the Newton step's quadratic model on the rows feats
    (the others fixed), at the step (D, Db): the inner solve's stopping test.

    The model is the weighted least-squares problem 1/2 sum_i h_i (zeta_i -
    a_i . x - b_t(i))^2 + h(x) in x = W + D (zeta the working response). Its
    dual point is theta = rho - h (A(D) + Db) (the model's negative gradient
    in z; its task sums vanish with the intercepts eliminated), V = A^T theta
    on feats, scaled by s = min(1, lam1 / max_j N^D(V_j - lam2 pf_j x_j) /
    pf_j); with Q = sum_i theta_i^2 / h_i the gap is
        1/2 (1 - s)^2 Q + sum_j pf_j (lam1 N(x_j) + lam2 (1 + s^2)/2 ||x_j||^2) - s V . x,
    and for lam1 = 0 sum_j ||V_j - lam2 pf_j x_j||^2 / (2 lam2 pf_j). h is
    floored at H_FLOOR c in Q (a row whose curvature underflowed)."""
    theta = rho - h * (v + Db[df.codes])
    x = (W + D)[feats]
    V = df.adjoint(theta)[feats]
    pf = pen.row_factors(df.n_features)[feats]
    G = V - pen.lam2 * pf[:, None] * x
    if pen.lam1 <= 0:
        keep = pf > 0
        return float(np.sum(G[keep] ** 2 / pf[keep, None])) / (2.0 * pen.lam2)
    Q = float(np.sum(theta ** 2 / np.maximum(h, H_FLOOR * df.c)))
    sub = pen if pen.factor is None else pen.with_factor(pf)
    dn = sub.scaled_dual_norms(G).max(initial=0.0)
    s = 1.0 if dn <= pen.lam1 else pen.lam1 / dn
    value = float(pf @ (pen.lam1 * pen.row_norms(x)
                        + 0.5 * pen.lam2 * (1.0 + s * s) * np.sum(x * x, axis=1)))
    return 0.5 * (1.0 - s) ** 2 * Q + value - s * float(np.sum(V * x))


def _newton_step(df, pen, W, b, feats, tol_in, max_inner, gap_target=-1.0):
    """One proximal Newton step on the features feats (the others' rows stay
    as they are): the quadratic model at (W, b), active-set passes on it,
    Armijo backtracking (module docstring). gap_target >= 0: a settled full
    pass also needs the model's gap (model_gap) <= gap_target, else the
    passes go on with a 10x tighter settling test. Returns (W, b)."""
    p, T = df.n_features, df.n_tasks
    z = df.z(W, b)
    prob = expit(z)
    h = df.c * prob * (1 - prob)
    G = -df.adjoint(df.c * (df.y - prob))
    H = df.curvatures_weighted(h)
    D = np.zeros((p, T))
    Db = np.zeros(T)                    # the intercepts' step
    resid = df.c * (prob - df.y)
    Gb = np.array([resid[df.task_slice(t)].sum() for t in range(T)])
    Hb = np.array([h[df.task_slice(t)].sum() for t in range(T)])
    S = df.adjoint(h)                   # S[j, t] = sum_{i in t} h_i x_ij
    center = df.fit_intercept & (Hb > 0)
    Hc = H - np.where(center, S ** 2 / np.where(center, Hb, 1.0), 0.0)
    Hc = np.maximum(Hc, 0.0)            # the curvature of w_jt with b_t re-optimized
    v = np.zeros(df.n_samples)          # A(D)
    pf = pen.row_factors(p)
    m = np.zeros(T)                     # m_t = sum_{i in t} h_i v_i

    def inner_pass(js):
        """One cyclic pass over js; returns (largest change, largest entry)."""
        d_max = w_max = 0.0
        for j in js:
            xj = df.column(j)
            hv = h * v
            # the model's gradients in row j and in the intercepts
            g = G[j] + np.array([xj[df.task_slice(t)] @ hv[df.task_slice(t)]
                                 for t in range(T)]) + Db * S[j]
            gb = Gb + m + Db * Hb
            # exact minimization over (row j, intercepts): b eliminated
            gc = np.where(center, g - S[j] * gb / np.where(center, Hb, 1.0), g)
            old = W[j] + D[j]
            new = pen.prox_diag(Hc[j] * old - gc, Hc[j], pf[j])
            delta = new - old
            if np.any(delta != 0):
                D[j] += delta
                v[:] += xj * delta[df.codes]
                m[:] += delta * S[j]
            Db[:] -= np.where(center, (gb + S[j] * delta) / np.where(center, Hb, 1.0), 0.0)
            d_max = max(d_max, float(np.abs(delta).max()))
            w_max = max(w_max, float(np.abs(new).max()))
        return d_max, w_max

    # active-set passes (glmnet's): a full pass over feats, then passes over
    # their nonzero rows until they settle, then a full pass again; a settled
    # full pass ends the solve when the model's gap confirms it
    passes = 0
    while passes < max_inner:
        d_max, w_max = inner_pass(feats)
        passes += 1
        if d_max <= tol_in * w_max:
            if gap_target < 0 or model_gap(df, pen, W, D, Db, -resid, h, v,
                                           feats) <= gap_target:
                break
            tol_in *= 0.1
        active = feats[np.any(W[feats] + D[feats] != 0, axis=1)]
        while passes < max_inner:
            d_max, w_max = inner_pass(active)
            passes += 1
            if d_max <= tol_in * w_max:
                break
    u = v + Db[df.codes]                # A(D) + Db
    model = float(np.sum(G * D)) + float(Gb @ Db) + _pen_change(pen, W, W + D)
    alpha = 1.0
    # the test is undecidable below F's rounding: the full (Newton) step then
    F0 = df.loss(z) + pen.value(W)
    halvings = 0 if ARMIJO * abs(model) <= UNDECIDABLE * abs(F0) else MAX_HALVINGS
    for _ in range(halvings):
        dF = df.loss_change(z, u, alpha) + _pen_change(pen, W, W + alpha * D)
        if dF <= ARMIJO * alpha * model:
            break
        alpha *= 0.5
    return W + alpha * D, b + alpha * Db


def prox_newton(df, pen, W0=None, b0=None, max_iter=100, tol=1e-8, max_inner=1000,
                inner_tol=1e-3, use_ws=True, p0=10):
    """Reference proximal Newton solve (module docstring).

    Working sets (use_ws, lam1 > 0, tol >= 0; mtlfast._cd_pertask' strategy):
    after each full gap, the nonzero rows plus the features whose dual
    constraint is closest to active (working_set: at least p0, at least
    twice the nonzero rows, never shrinking) take Newton steps until the
    subproblem's gap (the gap with the dual constraints of the working set
    only) is <= 0.3 x the full one (0.3 x the tolerance when the set is the
    previous one: it holds the support); then the full gap again. Rows of
    all-zero columns are set to 0 first (their optimum for lam1 > 0).
    Without working sets every Newton step is followed by the full gap.

    Separable penalties (L1, L2, elastic net) solve each task alone, with its
    own tolerance tol x its loss at z = 0; the gap is their sum and n_iter
    the largest task's count.

    tol < 0 runs exactly max_iter Newton steps on all features (no gap
    checks: the kernel-comparison mode). Returns (W (p, T), b (T,), gap,
    n_iter), n_iter counting Newton steps.
    """
    p, T = df.n_features, df.n_tasks
    W = np.zeros((p, T)) if W0 is None else np.array(W0, dtype=float, copy=True)
    b = np.zeros(T) if b0 is None else np.array(b0, dtype=float, copy=True)
    if pen.separable and T > 1:
        # the tasks' problems are apart: each solved alone (the kernel runs
        # them in parallel); the gaps add up, each task stops at its own tol
        gap, n_iter = 0.0, 0
        for t in range(T):
            Wt, bt, gt, nt = prox_newton(df.task_block(t), pen.for_task(t), W[:, [t]], b[[t]],
                                         max_iter,
                                         tol, max_inner, inner_tol, use_ws, p0)
            W[:, t], b[t] = Wt[:, 0], bt[0]
            gap, n_iter = gap + gt, max(n_iter, nt)
        return W, b, (gap if tol >= 0 else np.inf), n_iter
    tol_abs = tol * df.gap_scale()
    use_ws = use_ws and pen.lam1 > 0 and tol >= 0
    all_feats = np.arange(p)
    if use_ws:
        # the loss's curvature bound per feature: max_t sum_{i in t} c_i x_ij^2 / 4
        norms2 = 0.25 * df.curvatures_weighted(df.c).max(axis=1, initial=0.0)
        W[norms2 == 0] = 0.0
    ws_size = 0
    prev = None
    gap = np.inf
    n_iter = 0
    while n_iter < max_iter:
        b = df.optimal_intercept(W, b)
        feats, target = all_feats, 0.0
        if tol >= 0:
            gap, XtA, dn = df.gap(W, b, pen, details=True)
            if gap <= tol_abs:
                break
            if use_ws:
                nnz = int(np.sum(np.any(W != 0, axis=1)))
                ws_size = min(p, max(ws_size, p0, 2 * nnz))
                feats = working_set(pen, norms2, W, XtA, dn, ws_size)
                # the same set as last time: it holds the support, so its
                # subproblem is solved to the final tolerance at once
                target = 0.3 * (tol_abs if np.array_equal(feats, prev) else gap)
                prev = feats
        gap_in = gap
        while n_iter < max_iter:
            # inner accuracy follows the outer one (ill-conditioned designs need it)
            tol_in = inner_tol if tol < 0 else min(inner_tol, 0.1 * gap_in / df.gap_scale())
            W, b = _newton_step(df, pen, W, b, feats, tol_in, max_inner,
                                -1.0 if tol < 0 else INNER_FRACTION * gap_in)
            n_iter += 1
            if not use_ws:
                break
            b = df.optimal_intercept(W, b)
            gap_in = df.gap(W, b, pen, feats=feats)
            if gap_in <= target:
                break
    else:
        b = df.optimal_intercept(W, b)
        if tol >= 0:
            gap = df.gap(W, b, pen)
    return W, b, gap, n_iter
