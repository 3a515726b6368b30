"""NumPy twin of mtlfast._cd_shared (shared design).

Slow, obvious, trusted: the same objective as mtlfast._cd_shared,

    1/(2n) ||Y - X W||_F^2 + Omega(W),        W of shape (n_features, n_tasks)

solved by cyclic proximal block coordinate descent over features (a block is
one row W[j, :]), with the same feature order and the same duality gap, so
tests can compare kernel and reference after a fixed number of epochs and at
convergence.
"""
import numpy as np


def duality_gap(X, Y, W, penalty):
    """Duality gap of `penalty` at W, in the 1/(2n) objective scaling.

    With lam1 > 0 the elastic net is a lasso on the augmented design
    Xa = [X; sqrt(n lam2) I], Ya = [Y; 0] (in the objective multiplied by n),
    whose dual is D(theta) = ||Ya||^2/2 - ||Ya - theta||^2/2 subject to
    N^D(Xa^T theta) <= n lam1; theta is the residual rescaled to be feasible.
    With lam1 = 0 (ridge) the Fenchel dual
    D(theta) = <theta, Y> - ||theta||^2/2 - ||X^T theta||^2 / (2 n lam2) is
    evaluated at theta = R.
    With penalty factors pf, row j's strengths are pf_j lam1, pf_j lam2: the
    augmented rows are sqrt(n lam2 pf_j) e_j and feature j's constraint is
    N^D(Xa_j^T theta) <= n lam1 pf_j. Unpenalized features (pf_j = 0) are
    left out of the dual scaling: the gap certifies only where their columns
    are orthogonal to the residual (mtlfast.penalties.factors refits them).
    """
    n = X.shape[0]
    lam1, lam2 = n * penalty.lam1, n * penalty.lam2
    pf = penalty.factor_matrix(X.shape[1])
    R = Y - X @ W
    if lam1 > 0:
        Ra = np.vstack([R, -np.sqrt(lam2 * pf) * W])
        Ya = np.vstack([Y, np.zeros_like(W)])
        XtA = X.T @ R - lam2 * pf * W  # = Xa^T Ra
        dn = penalty.scaled_dual_norms(XtA).max(initial=0.0)
        theta = Ra * (min(1.0, lam1 / dn) if dn > 0 else 1.0)
        primal = 0.5 * np.sum(Ra ** 2) + lam1 * penalty.weighted_norms(W)
        dual = 0.5 * np.sum(Ya ** 2) - 0.5 * np.sum((Ya - theta) ** 2)
    elif lam2 > 0:
        pfm = np.broadcast_to(pf, W.shape)
        keep = pfm > 0
        primal = 0.5 * np.sum(R ** 2) + 0.5 * lam2 * np.sum(pf * W ** 2)
        dual = (np.sum(R * Y) - 0.5 * np.sum(R ** 2)
                - 0.5 * np.sum((X.T @ R)[keep] ** 2 / pfm[keep]) / lam2)
    else:
        # least squares: the lam1 > 0 formula with cst = 0 (scikit-learn's value)
        if penalty.dual_norm_rows(X.T @ R).max(initial=0.0) > 0:
            return 0.5 * float(np.sum(R * R)) / n
        return float(np.sum(R * R) - np.sum(R * Y)) / n
    return float(primal - dual) / n


def objective(X, Y, W, penalty):
    """Primal objective 1/(2n) ||Y - XW||^2 + Omega(W)."""
    R = Y - X @ W
    return 0.5 * float(np.sum(R * R)) / X.shape[0] + penalty.value(W)


def bcd(X, Y, penalty, W0=None, max_epochs=100, tol=None):
    """Cyclic proximal block coordinate descent.

    Parameters
    ----------
    X : ndarray (n, p), the effective (centered, scaled) design.
    Y : ndarray (n, T).
    penalty : a mtlfast.penalties object.
    W0 : ndarray (p, T) or None (zeros).
    max_epochs : number of passes over the features.
    tol : stop when the gap <= tol * ||Y||^2 / n (checked after each epoch);
        None runs exactly `max_epochs` epochs.

    Returns
    -------
    W : ndarray (p, T); gap : float; n_epochs : int
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    n, p = X.shape
    W = np.zeros((p, Y.shape[1])) if W0 is None else np.array(W0, dtype=np.float64)
    L = np.sum(X ** 2, axis=0) / n          # block Lipschitz constants
    R = Y - X @ W
    epoch = 0
    for epoch in range(1, max_epochs + 1):
        for j in range(p):
            if L[j] == 0:
                W[j] = 0.0
                continue
            w_old = W[j].copy()
            # gradient step on the block, then the prox of the penalty
            z = w_old + X[:, j] @ R / (n * L[j])
            W[j] = penalty.prox(z[None, :], 1.0 / L[j], rows=[j])[0]
            R -= np.outer(X[:, j], W[j] - w_old)
        if tol is not None and duality_gap(X, Y, W, penalty) <= tol * np.sum(Y ** 2) / n:
            break
    return W, duality_gap(X, Y, W, penalty), epoch


def gap_safe_screen(X, Y, W, penalty):
    """Features whose row is zero at every optimum, by the gap-safe sphere
    test the kernels apply (lam1 > 0; all False otherwise).

    The dual objective of duality_gap is strongly concave with modulus
    (n lam1)^2 in theta / (n lam1), so the dual optimum lies in the ball of
    radius sqrt(2 n gap) / (n lam1) around the dual point; feature j is
    screened when its dual constraint holds strictly on the whole ball:
        N^D(Xa_j^T theta) + sqrt(2 n gap) ||Xa_j|| < n lam1
    (N^D(v) <= ||v||_2 for every penalty here), with the kernels' relative
    margin of 1e-9 against rounding (an active feature's dual constraint
    holds with equality only up to rounding, and the ball vanishes at the
    optimum). With penalty factors: constraint and column divided by pf_j;
    unpenalized features are never screened.
    """
    n = X.shape[0]
    lam1, lam2 = n * penalty.lam1, n * penalty.lam2
    if lam1 <= 0:
        return np.zeros(X.shape[1], dtype=bool)
    pf = penalty.row_factors(X.shape[1])
    R = Y - X @ W
    dual_norms = penalty.scaled_dual_norms(X.T @ R - lam2 * pf[:, None] * W)
    dn = dual_norms.max(initial=0.0)
    cst = min(1.0, lam1 / dn) if dn > 0 else 1.0
    radius = np.sqrt(max(2.0 * n * duality_gap(X, Y, W, penalty), 0.0))
    with np.errstate(divide="ignore"):
        col = np.sqrt(np.sum(X ** 2, axis=0) + lam2 * pf) / pf
    return (pf > 0) & (cst * dual_norms + radius * col < lam1 * (1 - 1e-9))


def support_newton(X, r, w, penalty, feats=None):
    """Twin of the kernel's Newton step on the support (single task; dense X;
    mtlfast._cd_shared.newton_step): returns (w_new, r_new, code), code 2 for
    a full step, 1 for a step cut at the first sign change, 0 when none is
    taken (w, r returned unchanged).

    On the orthant of w's signs s over its support S (within feats), the
    n-scaled objective 0.5 ||y - X w||^2 + n sum_j pf_j (lam1 |w_j| + lam2/2 w_j^2)
    is a quadratic; its minimizer is w_S + d with
        (X_S^T X_S + n lam2 diag(pf_S)) d = X_S^T r - n pf_S (lam1 s + lam2 w_S).
    The step w_S + t d stops at t = the first zero crossing (that coordinate
    becomes 0; t = 1 when none), and is refused unless the objective does not
    increase."""
    n = X.shape[0]
    feats = np.arange(X.shape[1]) if feats is None else np.asarray(feats)
    S = feats[w[feats] != 0]
    if S.size == 0:
        return w, r, 0
    pf = penalty.factor_matrix(X.shape[1])[:, 0][S]
    lam1, lam2 = penalty.lam1, penalty.lam2
    XS = X[:, S]
    H = XS.T @ XS + n * lam2 * np.diag(pf)
    g = XS.T @ r - n * pf * (lam1 * np.sign(w[S]) + lam2 * w[S])
    try:
        L = np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        return w, r, 0
    d = np.linalg.solve(L.T, np.linalg.solve(L, g))
    wS = w[S]
    cross = wS * (wS + d) < 0
    t = min(1.0, np.min(-wS[cross] / d[cross])) if cross.any() else 1.0
    new = wS + t * d
    new[(wS * new <= 0) | ((t < 1.0) & (np.abs(new) <= 1e-14 * np.abs(wS)))] = 0.0
    w_new = w.copy()
    w_new[S] = new
    r_new = r - XS @ (new - wS)

    def value(ws, rr):
        return 0.5 * rr @ rr + n * np.sum(pf * (lam1 * np.abs(ws) + 0.5 * lam2 * ws ** 2))

    if value(new, r_new) > value(wS, r):
        return w, r, 0
    return w_new, r_new, 2 if t >= 1.0 else 1
