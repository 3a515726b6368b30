"""The per-task logistic datafit and its duality gap (the compiled kernel:
mtlfast._pn_logistic; its NumPy twin: mtlfast.reference.pn_logistic).

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
"""
import numpy as np
from scipy import sparse
from scipy.special import expit, xlogy

from .base import Datafit, TaskDesignArrays
from ._layout import csc_task_pointers
from ._checks import canonical, check_columns, column_maxabs


def _phi(v):
    """v log v + (1 - v) log(1 - v) on [0, 1] (0 log 0 = 0)"""
    return xlogy(v, v) + xlogy(1.0 - v, 1.0 - v)


class LogisticPerTask(Datafit):
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
        X = canonical(X)
        check_columns(column_maxabs(X), X.dtype)
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
            self.X = X                      # as given: kernel_design converts, never copies twice
        else:
            # C-ordered rows already grouped by task: no copy (X[order] would be
            # this very layout; the datafit never writes to X)
            grouped = (not sparse.issparse(X) and X.flags.c_contiguous
                       and np.array_equal(self.order, np.arange(N)))
            Xo = X if grouped else X[self.order]
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

    def kernel_design(self, dtype=np.float64):
        """The design object of mtlfast._pn_logistic.solve (TaskDesignArrays):
        X as dense Fortran-ordered or CSC (sorted indices; the input is never
        modified). Shared: X itself, ptr its indptr; else X in the task
        order, ptr the task pointers of each column."""
        offsets = self.offsets.astype(np.intc)
        empty_i = np.zeros(0, dtype=np.intc)
        tail = (self.y, np.zeros((0, 0)), np.zeros(0, dtype=dtype), np.zeros(0), self.c,
                self.fit_intercept)
        if sparse.issparse(self.X):
            Xc = sparse.csc_matrix(self.X, dtype=dtype)
            if not Xc.has_sorted_indices:
                Xc = Xc.sorted_indices()    # a copy: the input stays as it is
            indices = np.asarray(Xc.indices, dtype=np.intc)
            indptr = np.asarray(Xc.indptr, dtype=np.intc)
            ptr = indptr if self.shared else csc_task_pointers(indices, indptr, offsets)
            return TaskDesignArrays(np.zeros((0, 0), dtype=dtype, order="F"),
                                    np.asarray(Xc.data), indices, ptr, True, self.shared,
                                    self.n_samples, self.n_features, offsets, *tail)
        return TaskDesignArrays(np.asfortranarray(self.X, dtype=dtype), np.zeros(0, dtype=dtype),
                                empty_i, empty_i, False, self.shared, self.n_samples,
                                self.n_features, offsets, *tail)

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
        """task t's rows (without building every task's slice: O(T) calls
        of it would be O(T^2))"""
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

    def curvatures_weighted(self, h):
        """H[j, t] = sum_{i in t} h_i x_ij^2 (a per-task design squared one
        task at a time: no squared copy of the whole X)."""
        def square(X):
            return X.multiply(X) if sparse.issparse(X) else X ** 2
        X2 = square(self.X) if self.shared else None
        return np.column_stack([np.asarray((X2 if self.shared else square(self._rows(t))).T
                                           @ h[self.task_slice(t)]).ravel()
                                for t in range(self.n_tasks)])

    def column_norms(self):
        """feature j's norm over every task's rows, (p,) (a shared design
        counted once per task)."""
        X = self.X
        sq = (np.asarray(X.multiply(X).sum(axis=0), dtype=np.float64).ravel()
              if sparse.issparse(X) else np.einsum("ij,ij->j", X, X, dtype=np.float64))
        return np.sqrt(sq * (self.n_tasks if self.shared else 1))

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
        pf = np.broadcast_to(pen.factor_matrix(self.n_features), W.shape)
        XtA = self.adjoint(rho) - pen.lam2 * pf * W
        dn = 0.0
        if pen.lam1 > 0:
            rows = XtA if feats is None else XtA[feats]
            sub = pen if feats is None or pen.factor is None else pen.with_factor(
                pen.factor[feats])
            if pen.separable:
                # the tasks' problems are apart: one dual scaling per task
                dn_t = np.array([sub.for_task(t).scaled_dual_norms(rows[:, [t]]).max(initial=0.0)
                                 for t in range(self.n_tasks)])
            else:
                dn_t = np.full(self.n_tasks, sub.scaled_dual_norms(rows).max(initial=0.0))
            s = np.where(dn_t <= pen.lam1, 1.0, pen.lam1 / np.maximum(dn_t, pen.lam1))
            v = self.y + s[self.codes] * (p - self.y)
            dual = -float(self.c @ _phi(v)) - 0.5 * pen.lam2 * float(
                s ** 2 @ np.sum(pf * W * W, axis=0))
            dn = float(dn_t.max(initial=0.0))
        else:
            AtR = self.adjoint(rho)
            keep = pf > 0
            dual = -float(self.c @ _phi(p)) - 0.5 * float(
                np.sum(AtR[keep] ** 2 / pf[keep])) / pen.lam2
        if details:
            return primal - dual, XtA, dn
        return primal - dual

    def gap_scale(self):
        """The loss at z = 0: sum_i c_i log 2 (tol multiplies it)."""
        return float(self.c.sum() * np.log(2.0))

    def gradient(self, W):
        """-A^T (c (y - p)) at W with the intercepts optimal given W, (p, T)."""
        b = self.optimal_intercept(W, np.zeros(self.n_tasks))
        return -self.adjoint(self.c * (self.y - expit(self.z(W, b))))

    def curvatures(self):
        """0.25 sum_{i in t} c_i x_ij^2 (the loss's curvature bound), (p, T)."""
        return 0.25 * self.curvatures_weighted(self.c)

    def intercept(self, W):
        return self.optimal_intercept(W, np.zeros(self.n_tasks))
