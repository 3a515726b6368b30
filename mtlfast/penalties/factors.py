"""Penalty factors (glmnet's penalty.factor): validation, and the exact
treatment of unpenalized features.

With factors pf >= 0 the row penalty is sum_j pf_j h(W_j): both strengths of
feature j scale with pf_j, and pf_j = 0 leaves the feature unpenalized.
As in glmnet, a user's factors are rescaled to sum to n_features (so alpha
keeps its meaning against the unweighted penalty when all factors are equal).

Unpenalized features and the certificate. A dual point theta certifies the
gap only when it satisfies every dual constraint; an unpenalized feature's is
A_j^T theta = 0 (no norm ball around it), and the kernels' dual point (the
rescaled residual or the logistic dual variable) meets it only where that
feature's coefficients are exactly optimal given the others. So, as the
intercepts are handled (they are unpenalized columns of ones, eliminated
exactly), the solvers finish with `refit_unpenalized`: the unpenalized block
(and the intercepts) minimized exactly given the penalized rows (least
squares for the squared loss, Newton for the logistic loss), which leaves
A_U^T theta = 0 up to rounding, then the certificate is recomputed at that
point (`quadratic_gaps`, or LogisticPerTask.gap) with the dual scaling over
the penalized features. The kernels meanwhile scale over the penalized
features only (their stopping test is the gap the refit then confirms; the
solvers tighten the kernel's tolerance when it does not).
"""
import numbers

import numpy as np
from scipy import sparse
from scipy.special import expit


def check_penalty_factor(penalty_factor, n_features, n_tasks=None):
    """The validated factors, rescaled to sum to n_features (glmnet's rule),
    as a float64 array; None stays None. With n_tasks (a separable penalty),
    an (n_features, n_tasks) array of per-task factors is accepted too,
    rescaled to sum to n_features * n_tasks (so the tasks keep their relative
    weights: a column twice another penalizes its task twice as hard)."""
    if penalty_factor is None:
        return None
    if isinstance(penalty_factor, (str, bytes)) or isinstance(penalty_factor, numbers.Number):
        raise ValueError("penalty_factor must be an array-like of one non-negative number "
                         f"per feature (length {n_features}), got {penalty_factor!r}.")
    pf = np.asarray(penalty_factor)
    if pf.dtype.kind not in "biuf":
        raise ValueError(f"penalty_factor must be numeric, got dtype {pf.dtype}.")
    pf = pf.astype(np.float64)
    per_task = n_tasks is not None and pf.ndim == 2 and pf.shape == (n_features, n_tasks)
    if not per_task and (pf.ndim != 1 or pf.shape[0] != n_features):
        extra = (f" or ({n_features}, {n_tasks}) (per-task factors)" if n_tasks is not None
                 else "; per-task factors (n_features, n_tasks) need a separable penalty "
                      "(L1, elastic net, ridge)")
        raise ValueError(f"penalty_factor must have one entry per feature: expected shape "
                         f"({n_features},){extra}, got {pf.shape}.")
    if not np.isfinite(pf).all():
        raise ValueError("penalty_factor must be finite (no NaN or infinity).")
    if (pf < 0).any():
        raise ValueError("penalty_factor must be non-negative (0 leaves a feature "
                         f"unpenalized); got a minimum of {pf.min()!r}.")
    total = pf.sum()
    if total <= 0:
        raise ValueError("penalty_factor must have at least one positive entry (all zeros "
                         "would leave no feature penalized).")
    return pf * (pf.size / total)


def unpenalized(penalty):
    """Indices of the features with factor 0 (empty without factors); with
    per-task factors, one array per task."""
    factor = getattr(penalty, "factor", None)
    if factor is None:
        return np.zeros(0, dtype=np.intp)
    if factor.ndim == 2:
        return [np.flatnonzero(factor[:, t] == 0) for t in range(factor.shape[1])]
    return np.flatnonzero(factor == 0)


def has_unpenalized(U):
    return any(len(u) for u in U) if isinstance(U, list) else len(U) > 0


# -- the exact refit of the unpenalized block ------------------------------------
def _dense_columns(M, U):
    cols = M[:, U]
    return np.asarray(cols.toarray() if sparse.issparse(cols) else cols, dtype=np.float64)


def _shared_columns(df, U):
    """X_eff[:, U] of a QuadraticShared datafit, dense float64."""
    if not df.is_sparse:
        return np.asarray(df.X_dense[:, U], dtype=np.float64)
    Xs = sparse.csc_matrix((df.X_data, df.X_indices, df.X_indptr),
                           shape=(df.n_samples, df.n_features))
    XU = _dense_columns(Xs, U)
    if df.X_mean.size:
        u = df.u.astype(np.float64) if df.u.size else np.ones(df.n_samples)
        XU -= np.outer(u, df.X_mean[U])
    return XU


def _task_columns(df, U):
    """X_eff[:, U] of a QuadraticPerTask datafit (all rows), dense float64."""
    XU = _dense_columns(df.X_eff, U)
    if getattr(df, "centered", False) and df.is_sparse:
        XU -= df.row_scale[:, None] * np.repeat(df.X_offset[:, U], df.task_sizes, axis=0)
    return XU


def _lstsq_step(XU, R):
    """argmin_D ||R - XU D||, on unit-norm columns (so that the rank cut-off
    does not depend on the columns' scales)."""
    s = np.linalg.norm(XU, axis=0)
    s = np.where(s > 0, s, 1.0)
    return np.linalg.lstsq(XU / s, R, rcond=None)[0] / (s[:, None] if np.ndim(R) > 1 else s)


def refit_unpenalized(datafit, W, U, b=None):
    """W (p, T) with the rows U (and, for the logistic loss, the intercepts b)
    minimizing the datafit given the other rows (U: indices, or one array per
    task). Returns W (and b for the logistic loss); the inputs are not
    modified."""
    from ..datafits import QuadraticShared, QuadraticPerTask, LogisticPerTask
    W = np.array(W, dtype=np.float64, copy=True)
    T = W.shape[1]
    Us = U if isinstance(U, list) else [U] * T
    if isinstance(datafit, QuadraticShared):
        Y = datafit.Y.astype(np.float64)
        groups = {}
        for t, u in enumerate(Us):        # tasks with the same unpenalized set: one solve
            groups.setdefault(tuple(u), []).append(t)
        for u, ts in groups.items():
            if not u:
                continue
            u = np.array(u)
            XU = _shared_columns(datafit, u)
            for _ in range(2):     # a second pass removes the first one's rounding
                R = Y[:, ts] - _shared_product(datafit, W[:, ts])
                W[np.ix_(u, ts)] += _lstsq_step(XU, R)
        return W
    if isinstance(datafit, QuadraticPerTask):
        allU = np.unique(np.concatenate([np.asarray(u, dtype=np.intp) for u in Us]))
        XU = _task_columns(datafit, allU)
        pos = {j: k for k, j in enumerate(allU)}
        for _ in range(2):
            r = datafit.residual(W)
            for t, sl in enumerate(datafit.task_slices()):
                u = np.asarray(Us[t], dtype=np.intp)
                if u.size:
                    W[u, t] += _lstsq_step(XU[sl][:, [pos[j] for j in u]], r[sl])
        return W
    if isinstance(datafit, LogisticPerTask):
        return _refit_logistic(datafit, W, Us, b)
    raise TypeError(f"no unpenalized refit for {type(datafit).__name__}.")


def _refit_logistic(df, W, Us, b, tol=1e-13, max_iter=100):
    """Per task, Newton with backtracking on the smooth convex loss in
    (b_t, W[U, t]) given the other rows (optimal_intercept's problem with the
    unpenalized columns added), on unit-norm columns; stops when that
    gradient is below tol ||c_t|| (the largest it can be is ||c_t||: free of
    the columns' scales)."""
    b = np.zeros(df.n_tasks) if b is None else np.array(b, dtype=float, copy=True)
    for t in range(df.n_tasks):
        U = np.asarray(Us[t], dtype=np.intp)
        sl = df.task_slice(t)
        Xt = df._rows(t)
        XU = _dense_columns(Xt, U)
        c, y = df.c[sl], df.y[sl]
        A = np.column_stack([np.ones(XU.shape[0]), XU]) if df.fit_intercept else XU
        if A.shape[1] == 0:
            continue
        theta = np.concatenate([[b[t]], W[U, t]]) if df.fit_intercept else W[U, t].copy()
        s = np.linalg.norm(A, axis=0)
        s = np.where(s > 0, s, 1.0)
        As = A / s
        a = np.asarray(Xt @ W[:, t], dtype=np.float64).ravel() - XU @ W[U, t]   # X_P W_P
        scale = np.linalg.norm(c)

        def loss(th):
            z = a + A @ th
            return float(c @ (np.logaddexp(0.0, z) - y * z))

        f = loss(theta)
        for _ in range(max_iter):
            p = expit(a + A @ theta)
            g = As.T @ (c * (p - y))
            if np.abs(g).max() <= tol * scale:
                break
            # Newton step on unit-norm columns (the cut-off of a rank-deficient H
            # must not depend on the columns' scales)
            H = As.T @ (As * (c * p * (1 - p))[:, None])
            step = np.linalg.lstsq(H, g, rcond=None)[0] / s
            lr = 1.0
            while lr > 1e-10:
                new = theta - lr * step
                f_new = loss(new)
                if f_new <= f:
                    break
                lr *= 0.5
            else:
                break
            theta, f = new, f_new
        if df.fit_intercept:
            b[t], W[U, t] = theta[0], theta[1:]
        else:
            W[U, t] = theta
    return W, b


# -- the certificate from the residual's pieces -------------------------------------
def quadratic_gap_value(lam1, lam2, R_norm2, RY, Wq, NW, dn, XtR_norm2=0.0):
    """mtlfast._gap.quadratic_gap in NumPy: the gap from the residual's pieces
    (Wq = sum_j pf_j ||W_j||^2, NW = sum_j pf_j N(W_j), dn = max_j
    N^D(XtA_j) / pf_j, XtR_norm2 = sum_j ||A_j^T R||^2 / pf_j for ridge)."""
    if lam1 > 0:
        cst = 1.0 if dn <= lam1 else lam1 / dn
        return (0.5 * (1 + cst ** 2) * R_norm2 + lam1 * NW - cst * RY
                + 0.5 * lam2 * (1 + cst ** 2) * Wq)
    if lam2 > 0:
        return R_norm2 + 0.5 * lam2 * Wq - RY + 0.5 * XtR_norm2 / lam2
    return 0.5 * R_norm2 if dn > 0 else R_norm2 - RY


def quadratic_block_gap(R_norm2, RY, XtR, W, penalty, n=1.0):
    """The duality gap of one block (mtlfast._gap.quadratic_gap, NumPy), with
    factors: R_norm2 = ||R||^2, RY = <R, Y>, XtR = A^T R (p, T_block) and
    W (p, T_block); strengths n lam1, n lam2 (the shared design's n-scaling;
    the result is in the same scaling). Unpenalized rows must be optimal
    given the others (refit_unpenalized): their constraints are not checked."""
    lam1, lam2 = n * penalty.lam1, n * penalty.lam2
    pf = penalty.row_factors(W.shape[0])
    Wq = float(pf @ np.sum(W * W, axis=1))
    keep = pf > 0
    return quadratic_gap_value(
        lam1, lam2, R_norm2, RY, Wq, penalty.weighted_norms(W),
        penalty.scaled_dual_norms(XtR - lam2 * pf[:, None] * W).max(initial=0.0) if lam1 > 0
        else np.abs(XtR).max(initial=0.0),
        float(np.sum(XtR[keep] ** 2 / pf[keep, None])))


def quadratic_gaps(datafit, W, penalty):
    """The blocks' gaps as the quadratic solvers report them (per task for a
    separable penalty, else one), in the datafit's scaling."""
    from ..datafits import QuadraticShared
    if isinstance(datafit, QuadraticShared):
        Y = datafit.Y.astype(np.float64)
        R = Y - _shared_product(datafit, W)
        XtR = datafit.matvec_T(R)
        n = datafit.n_samples
        blocks = ([[t] for t in range(datafit.n_tasks)] if penalty.separable
                  else [list(range(datafit.n_tasks))])
        return np.array([quadratic_block_gap(float(np.sum(R[:, k] ** 2)),
                                             float(np.sum(R[:, k] * Y[:, k])),
                                             XtR[:, k], W[:, k],
                                             penalty.for_task(k[0]) if len(k) == 1 else penalty,
                                             n) / n
                         for k in blocks])
    r = datafit.residual(W)
    y = datafit.y_eff.astype(np.float64)
    XtR = datafit.xtr(r)
    sl = datafit.task_slices()
    if penalty.separable:
        return np.array([quadratic_block_gap(float(r[s] @ r[s]), float(r[s] @ y[s]),
                                             XtR[:, [t]], W[:, [t]], penalty.for_task(t))
                         for t, s in enumerate(sl)])
    return np.array([quadratic_block_gap(float(r @ r), float(r @ y), XtR, W, penalty)])


def _shared_product(df, W):
    """X_eff W for a QuadraticShared datafit (float64)."""
    if not df.is_sparse:
        return np.asarray(df.X_dense, dtype=np.float64) @ W
    Xs = sparse.csc_matrix((df.X_data.astype(np.float64), df.X_indices, df.X_indptr),
                           shape=(df.n_samples, df.n_features))
    out = np.asarray(Xs @ W)
    if df.X_mean.size:
        u = df.u.astype(np.float64) if df.u.size else np.ones(df.n_samples)
        out -= np.outer(u, df.X_mean @ W)
    return out
