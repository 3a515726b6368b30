"""Per-task designs: task labels, the long and list layouts, and the
per-task quadratic datafit (DESIGN.md section 3):

    sum_t omega_t / (2 n_t) * sum_{i in t} s_i (y_i - x_i w_t - b_t)^2

Long layout: rows of all tasks stacked, `tasks[i]` names the task of row i.
List layout: [X_1, ..., X_T], [y_1, ..., y_T], converted to the long one.
Task order is that of the sorted labels (stored as `tasks_` by estimators);
W has shape (n_features, n_tasks) and column t belongs to the t-th label.

The datafit eliminates intercepts by centering each task's rows (weighted
means) and folds the weights into a row scaling, so the solvers see

    1/2 ||y_eff - A(W)||^2,   A(W)_i = x_eff_i . w_t(i),
    x_eff_i = sqrt(v_i) (x_i - xbar_t(i)),  v_i = omega_t s_i / n_t

with the sample weights of each task rescaled to sum to n_t. With the same X
for every task, unit task weights and no sample weights this is exactly the
shared-design objective 1/(2n) ||Y - XW||^2 (same optimum, same gap scale).
"""
import numbers

import numpy as np
from scipy import sparse


def check_tasks(tasks, n_samples, name="tasks"):
    """Validated task labels of the long layout.

    Returns (labels, codes): the sorted distinct labels and, per row, the
    index of its label. Clear errors for a missing argument, a wrong length,
    NaN or None labels, multi-dimensional or object-mixed arrays.
    """
    if tasks is None:
        raise ValueError(f"{name} is required with per-task data: one label per row of X.")
    arr = np.asarray(tasks)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per row of X), got shape {arr.shape}.")
    if arr.shape[0] != n_samples:
        raise ValueError(f"{name} has {arr.shape[0]} labels but X has {n_samples} rows.")
    if n_samples == 0:
        raise ValueError(f"{name} is empty: per-task data need at least one row.")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite labels.")
    if arr.dtype.kind == "O":
        if any(v is None or (isinstance(v, float) and not np.isfinite(v)) for v in arr):
            raise ValueError(f"{name} contains None or NaN labels.")
        kinds = {type(v) for v in arr}
        if len(kinds) > 1 and not all(issubclass(k, numbers.Integral) for k in kinds):
            raise ValueError(f"{name} mixes label types {sorted(k.__name__ for k in kinds)}.")
    if arr.dtype.kind not in "biufUSO":
        raise ValueError(f"{name} must hold integers or strings, got dtype {arr.dtype}.")
    labels, codes = np.unique(arr, return_inverse=True)
    return labels, codes.astype(np.intp)


def codes_for(tasks, labels, n_samples, name="tasks"):
    """Map the labels of new rows (predict) to column indices of W; unseen
    labels are an error."""
    arr = np.asarray(tasks)
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise ValueError(f"{name} must be 1-D with one label per row of X ({n_samples}), "
                         f"got shape {arr.shape}.")
    idx = np.searchsorted(labels, arr)
    idx = np.clip(idx, 0, len(labels) - 1)
    bad = labels[idx] != arr
    if np.any(bad):
        unseen = np.unique(arr[bad])[:5]
        raise ValueError(f"{name} has labels not seen during fit: {list(unseen)}; "
                         f"known: {list(labels[:10])}{'...' if len(labels) > 10 else ''}.")
    return idx.astype(np.intp)


def stack_task_list(Xs, ys):
    """The list layout ([X_1..X_T], [y_1..y_T]) -> (X, y, tasks) long layout,
    task labels 0..T-1. Dense blocks are stacked with np.vstack, sparse ones
    (all must be sparse then) with scipy.sparse.vstack."""
    if not isinstance(Xs, (list, tuple)) or not isinstance(ys, (list, tuple)):
        raise TypeError("the list layout takes a list of X_t and a list of y_t.")
    if len(Xs) != len(ys):
        raise ValueError(f"got {len(Xs)} designs but {len(ys)} targets.")
    if len(Xs) == 0:
        raise ValueError("the list of tasks is empty.")
    n_t = []
    for t, (Xt, yt) in enumerate(zip(Xs, ys)):
        if Xt.ndim != 2:
            raise ValueError(f"X of task {t} must be 2-D, got shape {Xt.shape}.")
        yt = np.asarray(yt)
        if yt.ndim != 1 or yt.shape[0] != Xt.shape[0]:
            raise ValueError(f"y of task {t} must be 1-D with {Xt.shape[0]} entries "
                             f"(the rows of its X), got shape {yt.shape}.")
        if Xt.shape[0] == 0:
            raise ValueError(f"task {t} has no rows.")
        if Xt.shape[1] != Xs[0].shape[1]:
            raise ValueError(f"task {t} has {Xt.shape[1]} features, task 0 has {Xs[0].shape[1]}.")
        n_t.append(Xt.shape[0])
    is_sp = [sparse.issparse(Xt) for Xt in Xs]
    if any(is_sp) and not all(is_sp):
        raise ValueError("mix of sparse and dense task designs; pass all sparse or all dense.")
    X = sparse.vstack(Xs, format="csc") if all(is_sp) else np.vstack([np.asarray(x) for x in Xs])
    y = np.concatenate([np.asarray(yt) for yt in ys])
    tasks = np.repeat(np.arange(len(Xs)), n_t)
    return X, y, tasks


class QuadraticPerTask:
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

    Rows are reordered so that each task's rows are contiguous (a stable
    sort by task: `order`); `offsets[t]:offsets[t+1]` are task t's rows in
    `X_eff` (dense, F-ordered, centered and scaled; or CSC, scaled, with the
    centering implicit: X_offset, row_scale) and `y_eff`.
    """

    def __init__(self, X, y, codes, n_tasks, sample_weight=None, task_weight=None,
                 fit_intercept=True):
        N, p = X.shape
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
        Xs = X[self.order]
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
            Xd = np.asarray(Xs, dtype=np.float64)
            if fit_intercept:
                Xd = Xd - np.repeat(self.X_offset, counts, axis=0)
            self.X_eff = np.asfortranarray((Xd * sq[:, None]).astype(self.dtype))

    def _centering(self, t):
        """(mean (p,), u (rows of t,)) of task t's implicit centering, or None."""
        if not self.centered:
            return None
        sl = slice(self.offsets[t], self.offsets[t + 1])
        return self.X_offset[t], self.row_scale[sl]

    def design_dense(self):
        """The effective design (centered, scaled) as a float64 ndarray (for
        the reference twin)."""
        if not self.is_sparse:
            return np.asarray(self.X_eff, dtype=np.float64)
        X = self.X_eff.toarray().astype(np.float64)
        if self.centered:
            X -= self.row_scale[:, None] * np.repeat(self.X_offset, self.task_sizes, axis=0)
        return X

    def kernel_args(self):
        """(X, X_data, X_indices, tptr, is_sparse, N, p, y, offsets, X_mean, u,
        uu) for the per-task kernels (mtlfast._cd_pertask, mtlfast._cd_structured). For
        CSC X, tptr (p * (T+1), int32) locates each task's nonzeros inside
        each column: column j, task t owns tptr[j*(T+1)+t] : tptr[j*(T+1)+t+1];
        X_mean (T, p), u (N,) and uu (T,) (u_t^T u_t) describe the implicit
        centering (empty arrays: none)."""
        dt = self.dtype
        offsets = self.offsets.astype(np.intc)
        empty_i = np.zeros(0, dtype=np.intc)
        if self.centered:
            cen = (np.ascontiguousarray(self.X_offset, dtype=np.float64),
                   self.row_scale.astype(dt),
                   np.array([float(np.sum(self.row_scale[sl].astype(dt).astype(float) ** 2))
                             for sl in self.task_slices()]))
        else:
            cen = (np.zeros((0, 0)), np.zeros(0, dtype=dt), np.zeros(0))
        if self.is_sparse:
            Xe = self.X_eff
            # row indices are sorted within each column and tasks own
            # consecutive rows: one searchsorted per column
            tptr = np.empty((self.n_features, self.n_tasks + 1), dtype=np.intc)
            for j in range(self.n_features):
                lo, hi = Xe.indptr[j], Xe.indptr[j + 1]
                tptr[j] = lo + np.searchsorted(Xe.indices[lo:hi], offsets)
            return (np.zeros((0, 0), dtype=dt, order="F"), Xe.data, Xe.indices, tptr.ravel(),
                    True, self.n_samples, self.n_features, self.y_eff, offsets, *cen)
        return (self.X_eff, np.zeros(0, dtype=dt), empty_i, empty_i, False, self.n_samples,
                self.n_features, self.y_eff, offsets, *cen)

    def task_slices(self):
        return [slice(self.offsets[t], self.offsets[t + 1]) for t in range(self.n_tasks)]

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
