"""Quadratic datafits (DESIGN.md section 3).

QuadraticShared (one design X shared by all tasks, targets Y of shape (n, T)):

    1/(2n) * sum_i s_i ||y_i - x_i W - b||^2

with sample weights s rescaled to sum to n (scikit-learn's convention) and an
unpenalized intercept b. The intercept is eliminated by (weighted) centering,
and weights by scaling rows by sqrt(s), so the solver sees

    1/(2n) ||Y_eff - X_eff W||_F^2,   X_eff = diag(sqrt s) (X - 1 x_mean^T).

Dense X is centered/scaled into a Fortran-ordered copy only when needed (no
copy when it is already F-ordered, of the working dtype, with no intercept and
no weights). Sparse CSC X is never densified: centering stays implicit
(X_mean, u = sqrt(s)) and only the data array is rescaled (copied) for weights.

QuadraticPerTask (per-task designs in the long layout, mtlfast.datafits._layout):

    sum_t omega_t / (2 n_t) * sum_{i in t} s_i (y_i - x_i w_t - b_t)^2

The datafit eliminates intercepts by centering each task's rows (weighted
means) and folds the weights into a row scaling, so the solvers see

    1/2 ||y_eff - A(W)||^2,   A(W)_i = x_eff_i . w_t(i),
    x_eff_i = sqrt(v_i) (x_i - xbar_t(i)),  v_i = omega_t s_i / n_t

with the sample weights of each task rescaled to sum to n_t. With the same X
for every task, unit task weights and no sample weights this is exactly the
shared-design objective 1/(2n) ||Y - XW||^2 (same optimum, same gap scale).
"""
import numpy as np
from scipy import sparse

from .base import Datafit, SharedDesignArrays, TaskDesignArrays
from ._layout import csc_task_pointers
from ._checks import canonical, check_columns, check_target, column_maxabs


class QuadraticShared(Datafit):
    """Least squares with one design shared by all tasks.

    Parameters
    ----------
    X : ndarray or CSC matrix of shape (n_samples, n_features), float32/float64
        (validated by the caller).
    Y : ndarray of shape (n_samples, n_tasks), same dtype as X.
    sample_weight : ndarray of shape (n_samples,) or None (validated, > 0 sum).
    fit_intercept : bool
    """

    def __init__(self, X, Y, sample_weight=None, fit_intercept=True):
        X = canonical(X)
        check_target(Y, X.dtype)      # X's columns: the kernel checks their squared norms
        dtype = X.dtype
        n, p = X.shape
        self.n_samples, self.n_features, self.n_tasks = n, p, Y.shape[1]
        self.dtype = dtype
        self.fit_intercept = fit_intercept
        self.is_sparse = sparse.issparse(X)
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=np.float64)
            sw = sw * (n / sw.sum())
            sqrt_sw = np.sqrt(sw)
        else:
            sw = sqrt_sw = None
        self.sample_weight = sw

        # weighted means (float64) -> intercept recovery
        if fit_intercept:
            if sw is None:
                self.X_offset = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
                self.Y_offset = Y.mean(axis=0, dtype=np.float64)
            else:
                self.X_offset = np.asarray(X.T @ sw, dtype=np.float64).ravel() / n
                self.Y_offset = (Y.T @ sw).astype(np.float64) / n
        else:
            self.X_offset = np.zeros(p)
            self.Y_offset = np.zeros(self.n_tasks)

        Y_eff = Y - self.Y_offset.astype(dtype) if fit_intercept else Y
        if sqrt_sw is not None:
            Y_eff = Y_eff * sqrt_sw.astype(dtype)[:, None]
        self.Y = np.asfortranarray(Y_eff, dtype=dtype)

        empty = np.empty(0, dtype=dtype)
        if self.is_sparse:
            Xc = X.tocsc() if X.format != "csc" else X
            data = Xc.data
            if sqrt_sw is not None:
                data = (data * sqrt_sw[Xc.indices]).astype(dtype)
            self.X_dense = np.empty((0, 0), dtype=dtype, order="F")
            self.X_data = np.ascontiguousarray(data, dtype=dtype)
            self.X_indices = np.ascontiguousarray(Xc.indices, dtype=np.intc)
            self.X_indptr = np.ascontiguousarray(Xc.indptr, dtype=np.intc)
            self.X_mean = self.X_offset.copy() if fit_intercept else np.empty(0)
            self.u = sqrt_sw.astype(dtype) if sqrt_sw is not None else empty
        else:
            if fit_intercept or sqrt_sw is not None:
                Xe = np.array(X, dtype=dtype, order="F", copy=True)
                if fit_intercept:
                    Xe -= self.X_offset.astype(dtype)
                if sqrt_sw is not None:
                    Xe *= sqrt_sw.astype(dtype)[:, None]
            else:
                Xe = np.asfortranarray(X, dtype=dtype)  # no copy when already F + dtype
            self.X_dense = Xe
            self.X_data = empty
            self.X_indices = np.empty(0, dtype=np.intc)
            self.X_indptr = np.empty(0, dtype=np.intc)
            self.X_mean = np.empty(0)
            self.u = empty

    # -- the kernel's design ----------------------------------------------
    def kernel_design(self):
        """The design object of mtlfast._cd_shared.solve."""
        return SharedDesignArrays(self.X_dense, self.X_data, self.X_indices, self.X_indptr,
                                  self.is_sparse, self.n_samples, self.n_features, self.Y,
                                  self.X_mean, self.u)

    # -- math (NumPy, used by references, tests and alpha_max) --------------
    def design_dense(self):
        """X_eff as a dense float64 array (reference solver / tests only)."""
        if not self.is_sparse:
            return np.asarray(self.X_dense, dtype=np.float64)
        X = sparse.csc_matrix((self.X_data, self.X_indices, self.X_indptr),
                              shape=(self.n_samples, self.n_features)).toarray()
        X = X.astype(np.float64)
        if self.X_mean.size:
            u = self.u.astype(np.float64) if self.u.size else np.ones(self.n_samples)
            X = X - np.outer(u, self.X_mean)
        return X

    def matvec_T(self, R):
        """X_eff^T R for R of shape (n, T), float64."""
        if not self.is_sparse:
            return self.X_dense.T.astype(np.float64) @ R
        Xs = sparse.csc_matrix((self.X_data.astype(np.float64), self.X_indices, self.X_indptr),
                               shape=(self.n_samples, self.n_features))
        out = np.asarray(Xs.T @ R)
        if self.X_mean.size:
            u = self.u.astype(np.float64) if self.u.size else np.ones(self.n_samples)
            out = out - np.outer(self.X_mean, u @ R)
        return out

    def residual(self, W):
        """Y_eff - X_eff W in float64; W of shape (n_features, n_tasks)."""
        return self.Y.astype(np.float64) - self.design_dense() @ W

    def value(self, W):
        R = self.residual(W)
        return float(0.5 * np.sum(R * R) / self.n_samples)

    def gradient(self, W):
        """Gradient of the datafit in W: -X_eff^T R / n, shape (p, T)."""
        return -self.matvec_T(self.residual(W)) / self.n_samples

    def XtY_over_n(self):
        return self.matvec_T(self.Y.astype(np.float64)) / self.n_samples

    def intercept(self, W):
        """b = Y_offset - X_offset @ W (zeros without an intercept)."""
        if not self.fit_intercept:
            return np.zeros(self.n_tasks)
        return self.Y_offset - self.X_offset @ W

    def curvatures(self):
        """||X_eff_j||^2 / n for every task, (p, T)."""
        X = self.design_dense()
        return np.repeat((np.sum(X * X, axis=0) / self.n_samples)[:, None], self.n_tasks, 1)

    def gap_scale(self):
        """||Y_eff||_F^2 / n: tol times it bounds the gap (scikit-learn's rule
        in the 1/(2n) scaling; per task for separable penalties)."""
        Y = self.Y.astype(np.float64)
        return float(np.sum(Y * Y)) / self.n_samples



class QuadraticPerTask(Datafit):
    """Per-task least squares in the long layout (validated arrays).

    Parameters
    ----------
    X : ndarray (N, p) float32/float64 (rows of all tasks), or CSC.
    y : ndarray (N,), same dtype.
    codes : ndarray (N,) of task indices 0..T-1 (check_tasks).
    n_tasks : T; every task must have at least one row.
    sample_weight : (N,) or None.
    task_weight : (T,) positive or None (ones).
    fit_intercept : bool
    copy_X : bool, default True. False: a dense float64 Fortran-ordered X
        whose rows are already grouped by task becomes X_eff in place (it is
        overwritten; the memory of one copy less, for mtlfast.dask's shards).

    Rows are reordered so that each task's rows are contiguous (a stable
    sort by task: `order`); `offsets[t]:offsets[t+1]` are task t's rows in
    `X_eff` (dense, F-ordered, centered and scaled; or CSC, scaled, with the
    centering implicit: X_offset, row_scale) and `y_eff`.
    """

    def __init__(self, X, y, codes, n_tasks, sample_weight=None, task_weight=None,
                 fit_intercept=True, copy_X=True):
        X = canonical(X)
        N, p = X.shape
        check_columns(column_maxabs(X), X.dtype)
        check_target(y, X.dtype)
        self.n_tasks, self.n_features, self.n_samples = n_tasks, p, N
        self.dtype = X.dtype
        self.fit_intercept = fit_intercept
        counts = np.bincount(codes, minlength=n_tasks)
        if np.any(counts == 0):
            empty = np.flatnonzero(counts == 0)[:5]
            raise ValueError(f"tasks {list(empty)} have no rows.")
        self.task_sizes = counts
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        self.order = np.argsort(codes, kind="stable")
        omega = np.ones(n_tasks) if task_weight is None else np.asarray(task_weight, float)
        self.task_weight = omega
        s = np.ones(N) if sample_weight is None else np.asarray(sample_weight, float)[self.order]
        # C-ordered rows already grouped by task are not copied (Xs is only
        # read; X[order] would be this very layout)
        grouped = bool(not sparse.issparse(X) and np.array_equal(self.order, np.arange(N))
                       and (X.flags.c_contiguous or not copy_X))
        Xs = X if grouped else X[self.order]
        ys = np.asarray(y, dtype=np.float64)[self.order]
        v = np.empty(N)
        self.X_offset = np.zeros((n_tasks, p))
        self.y_offset = np.zeros(n_tasks)
        ye = np.empty(N)
        for t in range(n_tasks):
            sl = slice(self.offsets[t], self.offsets[t + 1])
            st = s[sl]
            if st.sum() <= 0:
                raise ValueError(f"task {t}: all sample weights are zero.")
            st = st * (counts[t] / st.sum())
            v[sl] = omega[t] * st / counts[t]
            if fit_intercept:
                self.X_offset[t] = np.asarray(Xs[sl].T @ st).ravel() / counts[t]
                self.y_offset[t] = st @ ys[sl] / counts[t]
            ye[sl] = ys[sl] - self.y_offset[t]
        sq = np.sqrt(v)
        self.row_scale = sq
        self.y_eff = (ye * sq).astype(self.dtype)
        self.is_sparse = sparse.issparse(X)
        # implicit centering of sparse X (mtlfast._taskdesign): the kernels
        # see X_eff[rows t] = Xe[rows t] - u[rows t] X_offset[t] without it
        # ever being formed
        self.centered = self.is_sparse and fit_intercept
        if self.is_sparse:
            # CSC, rows grouped by task and scaled; never densified
            Xe = sparse.csc_matrix(sparse.diags(sq) @ Xs, dtype=self.dtype)
            Xe.sort_indices()
            if Xe.indices.dtype != np.int32:
                Xe.indices = Xe.indices.astype(np.int32)
                Xe.indptr = Xe.indptr.astype(np.int32)
            self.X_eff = Xe
        else:
            # one Fortran-ordered float64 copy, centered and scaled in place
            # task by task ((x - offset) * sqrt(v): the same operations, element
            # for element, as whole-array temporaries; peak memory 3 copies of
            # X, not 6, which matters to a worker near its memory limit)
            if not copy_X and grouped and Xs.dtype == np.float64 \
                    and Xs.flags.f_contiguous:
                Xd = Xs                 # the caller's array, overwritten (copy_X=False)
            else:
                Xd = np.array(Xs, dtype=np.float64, order="F")
            del Xs
            for t in range(n_tasks):
                sl = slice(self.offsets[t], self.offsets[t + 1])
                if fit_intercept:
                    Xd[sl] -= self.X_offset[t]
                Xd[sl] *= sq[sl, None]
            self.X_eff = Xd if self.dtype == np.float64 else np.asfortranarray(
                Xd.astype(self.dtype))

    @classmethod
    def from_row_weights(cls, X, y, offsets, v, fit_intercept, task_ptr=None, out=None):
        """The datafit 1/2 sum_i v_i (y_i - x_i . w_t(i) - b_t(i))^2 without
        validation or reordering (the proximal Newton steps' models:
        mtlfast.solvers._pn_structured): X (N, p) float64, dense (Fortran
        order: the kernels' and the copy's) or CSC with
        sorted int32 indices, rows already grouped by task (task t owns rows
        offsets[t]:offsets[t+1]), v > 0 per task in sum. The same arrays as
        __init__ with sample weights v and task weights sum_{i in t} v_i:
        one pass over X (a scaled copy; sparse X keeps its structure).
        task_ptr: csc_task_pointers of a sparse X's structure, when known;
        out: a Fortran-ordered float64 array of X's shape to hold a dense
        X_eff (its contents are overwritten; a new one when None)."""
        self = object.__new__(cls)
        N, p = X.shape
        T = len(offsets) - 1
        self.n_tasks, self.n_features, self.n_samples = T, p, N
        self.dtype = np.dtype(np.float64)
        self.fit_intercept = fit_intercept
        self.offsets = np.asarray(offsets)
        self.task_sizes = np.diff(self.offsets)
        self.order = np.arange(N)
        self.task_weight = np.array([v[sl].sum() for sl in self.task_slices()])
        self.X_offset = np.zeros((T, p))
        self.y_offset = np.zeros(T)
        if fit_intercept:
            # X_offset[t] = X[rows t]^T v[rows t] / sum_t v
            if sparse.issparse(X):   # all tasks in one sparse product
                codes = np.repeat(np.arange(T), self.task_sizes)
                Vt = sparse.csr_matrix((v, (np.arange(N), codes)), shape=(N, T))
                XtV = np.asarray((X.T @ Vt).toarray())
            else:
                XtV = np.column_stack([X[sl].T @ v[sl] for sl in self.task_slices()])
            self.X_offset = np.ascontiguousarray(XtV.T / self.task_weight[:, None])
            self.y_offset = np.array([v[sl] @ y[sl] for sl in self.task_slices()]) \
                / self.task_weight
        sq = np.sqrt(v)
        self.row_scale = sq
        self.y_eff = (y - np.repeat(self.y_offset, self.task_sizes)) * sq
        self.is_sparse = sparse.issparse(X)
        self.centered = self.is_sparse and fit_intercept
        if self.is_sparse:
            self.X_eff = sparse.csc_matrix((X.data * sq[X.indices], X.indices, X.indptr),
                                           shape=X.shape)
            self._task_ptr = task_ptr
        else:
            # (X - X_offset rows) * sq in two passes, in X's memory order (Fortran)
            Xe = np.multiply(X, sq[:, None], order="F", out=out)
            if fit_intercept:
                for t, sl in enumerate(self.task_slices()):
                    Xe[sl] -= np.outer(sq[sl], self.X_offset[t])
            self.X_eff = Xe
        return self

    def _centering(self, t):
        """(mean (p,), u (rows of t,)) of task t's implicit centering, or None."""
        if not self.centered:
            return None
        sl = slice(self.offsets[t], self.offsets[t + 1])
        return self.X_offset[t], self.row_scale[sl]

    def column_norms(self):
        """||X_eff[:, j]|| over every task's rows, (p,); with implicit
        centering, bounded by the stored columns' norm plus the centering's
        (never densified)."""
        X = self.X_eff
        if not self.is_sparse:
            return np.sqrt(np.einsum("ij,ij->j", X, X, dtype=np.float64))
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0), dtype=np.float64).ravel())
        if self.centered:
            u2 = np.add.reduceat(self.row_scale ** 2, self.offsets[:-1])     # ||u_t||^2
            norms += np.sqrt(u2 @ self.X_offset ** 2)
        return norms

    def design_dense(self):
        """The effective design (centered, scaled) as a float64 ndarray (for
        the reference twin)."""
        if not self.is_sparse:
            return np.asarray(self.X_eff, dtype=np.float64)
        X = self.X_eff.toarray().astype(np.float64)
        if self.centered:
            X -= self.row_scale[:, None] * np.repeat(self.X_offset, self.task_sizes, axis=0)
        return X

    def kernel_design(self):
        """The design object of the per-task kernels (mtlfast._cd_pertask,
        mtlfast._cd_structured): see TaskDesignArrays."""
        dt = self.dtype
        offsets = self.offsets.astype(np.intc)
        empty_i = np.zeros(0, dtype=np.intc)
        if self.centered:
            X_mean = np.ascontiguousarray(self.X_offset, dtype=np.float64)
            u = self.row_scale.astype(dt)
            uu = np.array([float(np.sum(self.row_scale[sl].astype(dt).astype(float) ** 2))
                           for sl in self.task_slices()])
        else:
            X_mean, u, uu = np.zeros((0, 0)), np.zeros(0, dtype=dt), np.zeros(0)
        if self.is_sparse:
            Xe = self.X_eff
            return TaskDesignArrays(
                np.zeros((0, 0), dtype=dt, order="F"), Xe.data, Xe.indices,
                (csc_task_pointers(Xe.indices, Xe.indptr, offsets)
                 if getattr(self, "_task_ptr", None) is None else self._task_ptr), True, False,
                self.n_samples, self.n_features, offsets, self.y_eff, X_mean, u, uu,
                np.zeros(0), self.fit_intercept)
        return TaskDesignArrays(self.X_eff, np.zeros(0, dtype=dt), empty_i, empty_i, False,
                                False, self.n_samples, self.n_features, offsets, self.y_eff,
                                X_mean, u, uu, np.zeros(0), self.fit_intercept)

    def residual(self, W):
        """y_eff - A(W) (float64), W of shape (p, T)."""
        r = self.y_eff.astype(np.float64)
        for t, sl in enumerate(self.task_slices()):
            r[sl] -= np.asarray(self.X_eff[sl] @ W[:, t], dtype=np.float64).ravel()
            cen = self._centering(t)
            if cen is not None:
                r[sl] += cen[1] * (cen[0] @ W[:, t])
        return r

    def xtr(self, r):
        """A^T r as a (p, T) matrix: column t = X_eff[rows t]^T r[rows t]."""
        cols = []
        for t, sl in enumerate(self.task_slices()):
            c = np.asarray(self.X_eff[sl].T @ r[sl], dtype=np.float64).ravel()
            cen = self._centering(t)
            if cen is not None:
                c -= cen[0] * (cen[1] @ r[sl])
            cols.append(c)
        return np.column_stack(cols)

    def intercept(self, W):
        return self.y_offset - np.einsum("tp,pt->t", self.X_offset, W)

    def gradient(self, W):
        """-A^T (y_eff - A(W)), (p, T)."""
        return -self.xtr(self.residual(W))

    def curvatures(self):
        """||X_eff[rows t, j]||^2, (p, T)."""
        X = self.design_dense()
        return np.column_stack([np.sum(X[sl] ** 2, axis=0) for sl in self.task_slices()])

    def gap_scale(self):
        """||y_eff||^2 of each task, (T,): tol times it bounds each block's gap."""
        ye = self.y_eff.astype(np.float64)
        return np.array([ye[sl] @ ye[sl] for sl in self.task_slices()])
