"""Multi-task logistic regression: the datafit, its duality gap, and the NumPy
reference solver (the twin of the compiled kernel mtlfast._pn_logistic; issue 5).

Objective (DESIGN.md section 3), labels y in {0, 1}, per-task data in the long
layout (a shared design with Y (n, T) is that layout with X the same for every
task: LogisticPerTask.from_shared, which never repeats X):

    sum_t omega_t / n_t * sum_{i in t} s_i * (log(1 + exp(z_i)) - y_i z_i) + h(W)
    z_i = x_i . w_t(i) + b_t(i)

with sample weights s rescaled to sum to n_t within each task, task weights
omega_t, unpenalized intercepts b_t and a row penalty h (mtlfast.penalties:
L1, L2, elastic net, L2,1, L2,1 + L2, sparse-group). Row weights
c_i = omega_t s_i / n_t.

Duality gap. With rho_i = c_i (y_i - p_i), p = sigmoid(z) (the negative
gradient in z) and XtA_j = A_j^T rho - lam2 W_j (A_j: feature j's columns,
one per task, on each task's rows), the dual point is theta = -s rho,
s = min(1, lam1 / max_j N^D(XtA_j)), which keeps y_i + s (p_i - y_i) in
[0, 1]; with the lam2 part written as a quadratic loss on augmented rows
(as scikit-learn's elastic-net gap):

    D = -sum_i c_i phi(y_i + s (p_i - y_i)) - s^2 lam2 / 2 ||W||_F^2,
    phi(v) = v log v + (1 - v) log(1 - v)

and for lam1 = 0 (ridge) the exact Fenchel dual at theta = -rho,
D = -sum_i c_i phi(p_i) - ||A^T rho||^2 / (2 lam2). The intercepts' dual
constraints sum_{i in t} theta_i = 0 hold when b is optimal given W, so the
gap is evaluated after re-optimizing b (optimal_intercept, Newton per task).
Separable penalties (L1, L2, elastic net) decouple the tasks: each task gets
its own scaling s_t, and the gap is the sum of the tasks' gaps.

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
from scipy import sparse
from scipy.special import expit, xlogy

from ._kinds import CONSTANTS

# the line search's constants, shared with the kernel (src/mtlfast/_kinds.pxd)
ARMIJO = CONSTANTS["ARMIJO"]
MAX_HALVINGS = CONSTANTS["MAX_HALVINGS"]
UNDECIDABLE = CONSTANTS["UNDECIDABLE"]


def _phi(v):
    """v log v + (1 - v) log(1 - v) on [0, 1] (0 log 0 = 0)"""
    return xlogy(v, v) + xlogy(1.0 - v, 1.0 - v)


class LogisticPerTask:
    """Per-task logistic loss in the long layout (validated arrays).

    Parameters
    ----------
    X : ndarray (N, p) or CSC/CSR matrix, rows of all tasks; with shared,
        (n, p): every task's design (the long layout's X would repeat it)
    y : ndarray (N,) of 0/1 labels
    codes : ndarray (N,) of task indices 0..T-1
    n_tasks : T; every task must have at least one row
    sample_weight : (N,) or None
    task_weight : (T,) positive or None (ones)
    fit_intercept : bool
    shared : bool, X is the one design of every task (see from_shared)

    Rows are reordered so that each task's rows are contiguous (stable sort
    by task: `order`); task t owns rows offsets[t]:offsets[t+1].
    """

    def __init__(self, X, y, codes, n_tasks, sample_weight=None, task_weight=None,
                 fit_intercept=True, shared=False):
        N, p = len(y), X.shape[1]
        self.n_samples, self.n_features, self.n_tasks = N, p, n_tasks
        self.fit_intercept = fit_intercept
        self.shared = shared
        counts = np.bincount(codes, minlength=n_tasks)
        if np.any(counts == 0):
            raise ValueError(f"tasks {list(np.flatnonzero(counts == 0)[:5])} have no rows.")
        if shared and (np.any(counts != X.shape[0]) or np.any(np.diff(codes) < 0)):
            raise ValueError("a shared X needs every task's rows, task by task.")
        if not shared and X.shape[0] != N:
            raise ValueError("X and y have different numbers of rows.")
        self.task_sizes = counts
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        self.order = np.argsort(codes, kind="stable")
        self.codes = np.asarray(codes)[self.order]
        omega = np.ones(n_tasks) if task_weight is None else np.asarray(task_weight, float)
        s = np.ones(N) if sample_weight is None else np.asarray(sample_weight, float)[self.order]
        c = np.empty(N)
        for t in range(n_tasks):
            sl = self.task_slice(t)
            if s[sl].sum() <= 0:
                raise ValueError(f"task {t}: all sample weights are zero.")
            c[sl] = omega[t] * s[sl] * (counts[t] / s[sl].sum()) / counts[t]
        self.c = c
        if shared:
            self.X = X                      # as given: kernel_args converts, never copies twice
        else:
            Xo = X[self.order]
            self.X = sparse.csr_matrix(Xo, dtype=np.float64) if sparse.issparse(Xo) else \
                np.asarray(Xo, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)[self.order]
        if not np.all((self.y == 0) | (self.y == 1)):
            raise ValueError("logistic labels must be 0 or 1.")

    @classmethod
    def from_shared(cls, X, Y, sample_weight=None, task_weight=None, fit_intercept=True):
        """One design X (n, p) for the T tasks of Y (n, T) (0/1), sample
        weights (n,) shared by the tasks: the long layout without repeating X."""
        n, T = Y.shape
        sw = None if sample_weight is None else np.tile(sample_weight, T)
        return cls(X, np.asarray(Y).T.ravel(), np.repeat(np.arange(T), n), T, sw, task_weight,
                   fit_intercept, shared=True)

    def kernel_args(self, dtype=np.float64):
        """(X, X_data, X_indices, ptr, is_sparse, shared, N, p, y, c, offsets)
        for mtlfast._pn_logistic.solve_logistic: X as dense Fortran-ordered or
        CSC (sorted indices; the input is never modified). Shared: X itself,
        ptr its indptr; else X in the task order, tptr locating each task's
        nonzeros in each column (as QuadraticPerTask.kernel_args)."""
        offsets = self.offsets.astype(np.intc)
        empty_i = np.zeros(0, dtype=np.intc)
        args = (self.shared, self.n_samples, self.n_features, self.y, self.c, offsets)
        if sparse.issparse(self.X):
            Xc = sparse.csc_matrix(self.X, dtype=dtype)
            if not Xc.has_sorted_indices:
                Xc = Xc.sorted_indices()    # a copy: the input stays as it is
            indices = np.asarray(Xc.indices, dtype=np.intc)
            indptr = np.asarray(Xc.indptr, dtype=np.intc)
            if self.shared:
                ptr = indptr
            else:
                tptr = np.empty((self.n_features, self.n_tasks + 1), dtype=np.intc)
                for j in range(self.n_features):
                    lo, hi = indptr[j], indptr[j + 1]
                    tptr[j] = lo + np.searchsorted(indices[lo:hi], offsets)
                ptr = tptr.ravel()
            return (np.zeros((0, 0), dtype=dtype, order="F"), np.asarray(Xc.data), indices, ptr,
                    True) + args
        return (np.asfortranarray(self.X, dtype=dtype), np.zeros(0, dtype=dtype), empty_i,
                empty_i, False) + args

    def task_block(self, t):
        """Task t alone, as a one-task LogisticPerTask (its rows and weights c)."""
        sl = self.task_slice(t)
        blk = object.__new__(LogisticPerTask)
        blk.n_samples, blk.n_features, blk.n_tasks = int(self.task_sizes[t]), self.n_features, 1
        blk.fit_intercept = self.fit_intercept
        blk.task_sizes = self.task_sizes[[t]]
        blk.offsets = np.array([0, self.task_sizes[t]])
        blk.order = np.arange(blk.n_samples)
        blk.codes = np.zeros(blk.n_samples, dtype=self.codes.dtype)
        blk.c, blk.X, blk.y = self.c[sl], self._rows(t), self.y[sl]
        blk.shared = False
        return blk

    def task_slice(self, t):
        return slice(self.offsets[t], self.offsets[t + 1])

    def _rows(self, t):
        """task t's design: its rows of X, or X itself when shared"""
        return self.X if self.shared else self.X[self.task_slice(t)]

    # -- the linear map A(W) and its adjoint ---------------------------------
    def apply(self, W):
        """A(W)_i = x_i . w_t(i), W of shape (p, T)"""
        out = np.empty(self.n_samples)
        for t in range(self.n_tasks):
            out[self.task_slice(t)] = np.asarray(self._rows(t) @ W[:, t]).ravel()
        return out

    def adjoint(self, v):
        """A^T v as (p, T): column t = X_t^T v[rows t]"""
        return np.column_stack([np.asarray(self._rows(t).T @ v[self.task_slice(t)]).ravel()
                                for t in range(self.n_tasks)])

    def column(self, j):
        """x_j in the long layout as a dense (N,) vector (reference code)"""
        Xj = self.X[:, [j]].toarray().ravel() if sparse.issparse(self.X) else self.X[:, j]
        return np.tile(Xj, self.n_tasks) if self.shared else Xj

    def curvatures(self, h):
        """H[j, t] = sum_{i in t} h_i x_ij^2"""
        X2 = self.X.multiply(self.X) if sparse.issparse(self.X) else self.X ** 2
        return np.column_stack([np.asarray((X2 if self.shared else X2[self.task_slice(t)]).T
                                           @ h[self.task_slice(t)]).ravel()
                                for t in range(self.n_tasks)])

    def z(self, W, b):
        return self.apply(W) + b[self.codes]

    def loss(self, z):
        return float(self.c @ (np.logaddexp(0.0, z) - self.y * z))

    def loss_change(self, z, u, alpha):
        """loss(z + alpha u) - loss(z), term by term without cancellation:
        log1p(p (e^d - 1)) - y d for |d| < 1 (p = sigmoid(z), d = alpha u)."""
        d = alpha * u
        small = np.abs(d) < 1.0
        p = expit(z)
        ds = np.where(small, d, 0.0)
        terms = np.where(small, np.log1p(p * np.expm1(ds)),
                         np.logaddexp(0.0, z + d) - np.logaddexp(0.0, z))
        return float(self.c @ (terms - self.y * d))

    def value(self, W, b, pen):
        return self.loss(self.z(W, b)) + pen.value(W)

    # -- intercepts ------------------------------------------------------------
    def optimal_intercept(self, W, b, tol=1e-13, max_iter=100):
        """b minimizing the loss given W: per task, Newton on the concave-free
        1-D problem sum c_i (log(1 + e^(a_i + b)) - y_i (a_i + b)),
        safeguarded by bisection on the monotone derivative. A task whose
        labels are all equal has no finite optimum: its b moves to where the
        derivative is below tol (large |b|)."""
        if not self.fit_intercept:
            return np.zeros(self.n_tasks)
        a = self.apply(W)
        b = np.array(b, dtype=float, copy=True)
        for t in range(self.n_tasks):
            sl = self.task_slice(t)
            at, ct, yt = a[sl], self.c[sl], self.y[sl]
            scale = ct.sum()

            def deriv(bt):
                p = expit(at + bt)
                return ct @ (p - yt), ct @ (p * (1 - p))

            lo, hi = -np.inf, np.inf
            bt = b[t]
            for _ in range(max_iter):
                g, hss = deriv(bt)
                if abs(g) <= tol * scale:
                    break
                if g > 0:
                    hi = bt
                else:
                    lo = bt
                step = bt - g / hss if hss > 0 else np.nan
                if not (lo < step < hi):
                    if np.isfinite(lo) and np.isfinite(hi):
                        step = 0.5 * (lo + hi)
                    else:
                        step = bt - np.sign(g) * max(1.0, abs(bt))
                bt = step
            b[t] = bt
        return b

    # -- certificate -----------------------------------------------------------
    def gap(self, W, b, pen, feats=None, details=False):
        """Duality gap at (W, b) (b should be optimal given W: see the
        module docstring). Separable penalties: the sum of the tasks' own
        gaps (one dual scaling per task), as the kernel solves them apart.
        feats: only these features' dual constraints (the subproblem's gap,
        rows outside feats being 0). details: also return XtA and
        max_j N^D(XtA_j) (0 when lam1 = 0)."""
        z = self.z(W, b)
        p = expit(z)
        rho = self.c * (self.y - p)
        primal = self.loss(z) + pen.value(W)
        XtA = self.adjoint(rho) - pen.lam2 * W
        dn = 0.0
        if pen.lam1 > 0:
            rows = XtA if feats is None else XtA[feats]
            if pen.separable:
                # the tasks' problems are apart: one dual scaling per task
                dn_t = np.array([pen.dual_norm_rows(rows[:, [t]]).max(initial=0.0)
                                 for t in range(self.n_tasks)])
            else:
                dn_t = np.full(self.n_tasks, pen.dual_norm_rows(rows).max(initial=0.0))
            s = np.where(dn_t <= pen.lam1, 1.0, pen.lam1 / np.maximum(dn_t, pen.lam1))
            v = self.y + s[self.codes] * (p - self.y)
            dual = -float(self.c @ _phi(v)) - 0.5 * pen.lam2 * float(s ** 2 @ np.sum(W * W, 0))
            dn = float(dn_t.max(initial=0.0))
        else:
            AtR = self.adjoint(rho)
            dual = -float(self.c @ _phi(p)) - 0.5 * float(np.sum(AtR * AtR)) / pen.lam2
        if details:
            return primal - dual, XtA, dn
        return primal - dual

    def gap_scale(self):
        """The loss at z = 0: sum_i c_i log 2 (tol multiplies it)."""
        return float(self.c.sum() * np.log(2.0))


def _pen_change(pen, W1, W2):
    """h(W2) - h(W1) summed row by row (no cancellation between the rows'
    totals: the line search compares changes far below h's rounding)."""
    d = pen.lam1 * (pen.row_norms(W2) - pen.row_norms(W1))
    d += 0.5 * pen.lam2 * (np.sum(W2 * W2, axis=1) - np.sum(W1 * W1, axis=1))
    return float(d.sum())


def shared_to_long(X, Y):
    """A shared design with Y (n, T) as the long layout: (X repeated per
    task, y stacked task by task, codes)."""
    n, T = Y.shape
    Xl = sparse.vstack([X] * T, format="csr") if sparse.issparse(X) else np.vstack([X] * T)
    return Xl, Y.T.ravel(), np.repeat(np.arange(T), n)


def working_set(pen, norms2, W, XtA, dn, ws_size):
    """The working set (mtlfast._workset.build_ws with n = 1): every feature
    with a nonzero row, then the features whose dual constraint is closest to
    active, scored by (1 - N^D(XtA_j) / max(lam1, dn)) / sqrt(norms2_j + lam2)
    (smaller first, ties by index), up to ws_size features, sorted by index.
    Features with norms2 = 0 never enter."""
    feats = np.flatnonzero(norms2 > 0)
    score = (1.0 - pen.dual_norm_rows(XtA[feats]) / max(pen.lam1, dn)) \
        / np.sqrt(norms2[feats] + pen.lam2)
    score[np.any(W[feats] != 0, axis=1)] = -np.inf
    best = np.lexsort((feats, score))[:ws_size]
    return np.sort(feats[best])


def _newton_step(df, pen, W, b, feats, tol_in, max_inner):
    """One proximal Newton step on the features feats (the others' rows stay
    as they are): the quadratic model at (W, b), active-set passes on it,
    Armijo backtracking (module docstring). Returns (W, b)."""
    p, T = df.n_features, df.n_tasks
    z = df.z(W, b)
    prob = expit(z)
    h = df.c * prob * (1 - prob)
    G = -df.adjoint(df.c * (df.y - prob))
    H = df.curvatures(h)
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
            new = pen.prox_diag(Hc[j] * old - gc, Hc[j])
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
    # their nonzero rows until they settle, then a full pass again
    passes = 0
    while passes < max_inner:
        d_max, w_max = inner_pass(feats)
        passes += 1
        if d_max <= tol_in * w_max:
            break
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


def prox_newton(df, pen, W0=None, b0=None, max_iter=100, tol=1e-8, max_inner=100,
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
            Wt, bt, gt, nt = prox_newton(df.task_block(t), pen, W[:, [t]], b[[t]], max_iter,
                                         tol, max_inner, inner_tol, use_ws, p0)
            W[:, t], b[t] = Wt[:, 0], bt[0]
            gap, n_iter = gap + gt, max(n_iter, nt)
        return W, b, (gap if tol >= 0 else np.inf), n_iter
    tol_abs = tol * df.gap_scale()
    use_ws = use_ws and pen.lam1 > 0 and tol >= 0
    all_feats = np.arange(p)
    if use_ws:
        # the loss's curvature bound per feature: max_t sum_{i in t} c_i x_ij^2 / 4
        norms2 = 0.25 * df.curvatures(df.c).max(axis=1, initial=0.0)
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
            W, b = _newton_step(df, pen, W, b, feats, tol_in, max_inner)
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


def solve_logistic(df, pen, W0=None, b0=None, max_iter=100, tol=1e-8, max_inner=100,
                   inner_tol=1e-3, use_ws=True, p0=10, dtype=np.float64, n_threads=1):
    """The compiled twin of prox_newton (mtlfast._pn_logistic): same arguments
    and steps; separable penalties' tasks run n_threads at a time. Returns
    (W (p, T), b (T,), gap, n_iter)."""
    from . import _pn_logistic
    coef = np.zeros((df.n_tasks, df.n_features), dtype=dtype) if W0 is None else \
        np.array(np.asarray(W0).T, dtype=dtype, order="C", copy=True)
    b = np.zeros(df.n_tasks) if b0 is None else np.array(b0, dtype=float, copy=True)
    kind, lam1, lam2, tau, positive = pen.kernel_params()
    X, Xd, Xi, ptr, is_sparse, shared, N, p, y, c, offsets = df.kernel_args(dtype)
    n_iter, gaps = _pn_logistic.solve_logistic(X, Xd, Xi, ptr, is_sparse, shared, N, p, y, c,
                                            offsets, coef, b, df.fit_intercept, kind, lam1,
                                            lam2, tau, positive, int(max_iter), float(tol),
                                            int(max_inner), float(inner_tol), bool(use_ws),
                                            int(p0), int(n_threads))
    gap = float(gaps.sum()) if tol >= 0 else np.inf
    return coef.T.astype(np.float64), b, gap, int(n_iter.max())
