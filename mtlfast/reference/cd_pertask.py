"""NumPy twin of mtlfast._cd_pertask (per-task designs,
mtlfast.datafits.QuadraticPerTask).

Objective 1/2 ||y_eff - A(W)||^2 + Omega(W), A(W)_i = x_eff_i . w_t(i): the
shared-design formulas of mtlfast.reference.cd_shared with n = 1 and X^T R
replaced by A^T r (column t = X_eff[rows t]^T r[rows t]).
"""
import numpy as np

def objective_tasks(df, W, penalty):
    r = df.residual(W)
    return 0.5 * float(r @ r) + penalty.value(W)


def duality_gap_tasks(df, W, penalty):
    """Duality gap of the per-task problem at W (same construction as
    duality_gap, n = 1)."""
    lam1, lam2 = penalty.lam1, penalty.lam2
    pf = penalty.factor_matrix(df.n_features)
    r = df.residual(W)
    y = df.y_eff.astype(np.float64)
    AtR = df.xtr(r)
    if lam1 > 0:
        XtA = AtR - lam2 * pf * W
        dn = penalty.scaled_dual_norms(XtA).max(initial=0.0)
        cst = min(1.0, lam1 / dn) if dn > 0 else 1.0
        Wq = float(np.sum(pf * W ** 2))
        Ra2 = float(r @ r) + lam2 * Wq
        primal = 0.5 * Ra2 + lam1 * penalty.weighted_norms(W)
        # ||Ya - theta||^2 with Ya = [y; 0], theta = cst * [r; -sqrt(lam2 pf) W]
        dual = 0.5 * float(y @ y) - 0.5 * (float(np.sum((y - cst * r) ** 2))
                                           + cst ** 2 * lam2 * Wq)
        return float(primal - dual)
    if lam2 > 0:
        pfm = np.broadcast_to(pf, W.shape)
        keep = pfm > 0
        primal = 0.5 * float(r @ r) + 0.5 * lam2 * float(np.sum(pf * W ** 2))
        dual = (float(r @ y) - 0.5 * float(r @ r)
                - 0.5 * float(np.sum(AtR[keep] ** 2 / pfm[keep])) / lam2)
        return float(primal - dual)
    return 0.5 * float(r @ r) if penalty.dual_norm_rows(AtR).max(initial=0.0) > 0 else \
        float(r @ r - r @ y)


def bcd_tasks(df, penalty, W0=None, max_epochs=100, tol=None):
    """Cyclic proximal block coordinate descent for per-task designs.

    A feature's block spans the tasks; its inner products run over each
    task's own rows. The tasks own disjoint rows, so the data term over a
    feature's row is sum_t L_jt/2 (w_t - w_old_t)^2 - g_t (w_t - w_old_t),
    L_jt = ||x_eff[rows t, j]||^2: every penalty's row is minimized exactly
    (penalty.prox_diag; coordinate-wise for L1 and elastic net).
    tol: stop when the gap <= tol * ||y_eff||^2 (checked after each epoch).
    Returns W (p, T), gap, epochs.
    """
    p, T = df.n_features, df.n_tasks
    sl = df.task_slices()
    X = df.design_dense()
    W = np.zeros((p, T)) if W0 is None else np.array(W0, dtype=np.float64)
    L = np.array([[X[s, j] @ X[s, j] for s in sl] for j in range(p)])     # (p, T)
    pf = np.broadcast_to(penalty.factor_matrix(p), (p, T))
    r = df.residual(W)
    yy = float(np.sum(df.y_eff.astype(np.float64) ** 2))
    epoch = 0
    for epoch in range(1, max_epochs + 1):
        for j in range(p):
            g = np.array([X[s, j] @ r[s] for s in sl])
            w_old = W[j].copy()
            W[j] = penalty.prox_diag(L[j] * w_old + g, L[j],
                                     pf[j] if penalty.separable else pf[j, 0])
            for t, s in enumerate(sl):
                if W[j, t] != w_old[t]:
                    r[s] -= X[s, j] * (W[j, t] - w_old[t])
        if tol is not None and duality_gap_tasks(df, W, penalty) <= tol * yy:
            break
    return W, duality_gap_tasks(df, W, penalty), epoch


def gap_safe_screen_tasks(df, W, penalty):
    """Rows of W (p, T) that gap-safe screening proves zero at the optimum of
    the per-task problem (the rule of mtlfast._cd_pertask.screen_rows, all tasks as
    one block): with XtA = A^T r - lam2 W, c = min(1, lam1 / max_j N^D(XtA_j))
    and the dual optimum within sqrt(2 gap) of c r, row j is zero when
        c N^D(XtA_j) + sqrt(2 gap) max_t sqrt(||x_jt||^2 + lam2) < lam1
    (A_j is block-diagonal over the tasks), with the kernels' 1e-9 margin."""
    lam1, lam2 = penalty.lam1, penalty.lam2
    if lam1 <= 0:
        return np.zeros(df.n_features, dtype=bool)
    pf = penalty.row_factors(df.n_features)
    r = df.residual(W)
    dn = penalty.scaled_dual_norms(df.xtr(r) - lam2 * pf[:, None] * W)
    c = min(1.0, lam1 / dn.max()) if dn.max(initial=0) > 0 else 1.0
    X = df.design_dense()
    L = np.array([[X[s, j] @ X[s, j] for s in df.task_slices()] for j in range(df.n_features)])
    radius = np.sqrt(max(2.0 * duality_gap_tasks(df, W, penalty), 0.0))
    with np.errstate(divide="ignore"):
        col = np.sqrt(L.max(axis=1) + lam2 * pf) / pf
    return (pf > 0) & (c * dn + radius * col < lam1 * (1 - 1e-9))
