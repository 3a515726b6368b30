"""What the kernels need of the data beyond scikit-learn's validation, checked
once here for every datafit (so for every estimator, path and CV):

- sparse matrices in canonical form: int32 indices (int64 accepted while the
  entries fit), duplicate (i, j) entries summed, sorted indices -- on a copy,
  the caller's matrix is never modified;
- magnitudes that double precision can solve with: a column whose largest
  |entry| is below TINY has a squared norm that underflows (the kernels would
  read it as an all-zero column and return a certified wrong answer), and
  sums of squares above the float64 range overflow. Such data get a clear
  error naming the column and the limit, never a silent result.
"""
import numpy as np
from scipy import sparse

# The magnitudes the kernels solve with: entries of X and y (their largest
# |value| per column) in [TINY, HUGE]. Measured with tests/fuzz.py: beyond
# 1e+-60 the gap's products (coefficients up to y/X, squared; sums of squares
# of X^T R) leave double precision's range and fits come out inexact.
TINY = 1e-60
HUGE = 1e60
# float32 data keep float32 coefficients and residuals: coefficients up to
# y/X must stay inside float32's range (3.4e38), hence 1e+-15 there
LIMITS = {np.dtype(np.float64): (TINY, HUGE), np.dtype(np.float32): (1e-15, 1e15)}


def limits(dtype):
    """(smallest, largest) accepted largest |entry| for data of this dtype."""
    return LIMITS.get(np.dtype(dtype), (TINY, HUGE))
# overflow errors start with scikit-learn's words for the same failure (its
# test suite, which the drop-in estimators pass, matches them)
OVERFLOW = ("Coordinate descent iterations resulted in non-finite parameter values "
            "(refused before iterating): ")


def canonical(X):
    """X as the kernels read it (see the module docstring); dense X as given."""
    if not sparse.issparse(X):
        return X
    limit = np.iinfo(np.int32).max
    if X.nnz > limit or max(X.shape) > limit:
        raise ValueError(f"sparse X with {X.nnz} stored entries and shape {X.shape}: the "
                         f"kernels index with int32, at most {limit} entries and rows.")
    if not np.isfinite(X.data).all():      # formats scikit-learn cannot check (dok)
        raise ValueError("Input X contains NaN or infinity.")
    copied = False
    if X.indices.dtype != np.int32 or X.indptr.dtype != np.int32:
        X = X.copy()
        X.indices = X.indices.astype(np.int32)
        X.indptr = X.indptr.astype(np.int32)
        copied = True
    if not X.has_canonical_format:
        if not copied:
            X = X.copy()
        X.sum_duplicates()           # sums duplicates and sorts the indices, in place
    return X


def column_maxabs(X):
    """Largest |entry| of each column (one pass, no copy of dense X)."""
    if sparse.issparse(X):
        return np.asarray(abs(X).max(axis=0).todense(), dtype=np.float64).ravel()
    if X.shape[0] == 0:
        return np.zeros(X.shape[1])
    return np.maximum(X.max(axis=0), -X.min(axis=0)).astype(np.float64)


def check_columns(colmax, dtype=np.float64, what="X"):
    """Clear errors for columns whose squares under- or overflow (limits of
    the data's dtype)."""
    lo, hi = limits(dtype)
    colmax = np.asarray(colmax, dtype=np.float64)
    small = (colmax > 0) & (colmax < lo)
    if small.any():
        j = int(np.flatnonzero(small)[0])
        raise ValueError(
            f"{what}: column {j} has largest |entry| {colmax[j]:.3g}, below {lo:g} (the "
            f"limit for {np.dtype(dtype).name} data): its squared norm underflows or the "
            f"coefficients overflow ({int(small.sum())} such column(s)). Rescale the "
            "columns (for example sklearn.preprocessing.MaxAbsScaler).")
    if (colmax > hi).any():
        j = int(np.argmax(colmax))
        raise ValueError(
            OVERFLOW + f"{what}: column {j} has largest |entry| {colmax[j]:.3g}, above {hi:g} "
            f"(the limit for {np.dtype(dtype).name} data): sums of squares and the duality "
            "gap overflow. Rescale the columns (for example "
            "sklearn.preprocessing.MaxAbsScaler).")


def check_target(y, dtype=np.float64, what="y"):
    """The same limits for the targets (their squares set the stopping
    threshold tol * ||y||^2 and the gap): an all-zero y is fine."""
    lo, hi = limits(dtype)
    ymax = float(np.max(np.abs(y))) if np.size(y) else 0.0
    if 0 < ymax < lo or ymax > hi:
        raise ValueError(
            (OVERFLOW if ymax > 1 else "") + f"{what}: largest |value| {ymax:.3g} is outside "
            f"[{lo:g}, {hi:g}] (the limits for {np.dtype(dtype).name} data: squares under- "
            "or overflow); rescale y.")


def check_shared_norms(norms2, design):
    """check_columns for the shared-design kernel, from the column squared
    norms of its first pass over X: a column whose largest |entry| is below
    TINY has a squared norm below n TINY^2, one above HUGE a squared norm above
    HUGE^2; only columns with a squared norm outside [n TINY^2, HUGE^2] (rare:
    all-zero columns, bad data) are read again."""
    norms2 = np.asarray(norms2)
    dtype = design.X_data.dtype if design.is_sparse else design.X.dtype
    lo, hi = limits(dtype)
    suspect = np.flatnonzero(~((norms2 >= design.n_samples * lo ** 2) & (norms2 <= hi ** 2)))
    if suspect.size == 0:
        return
    colmax = np.zeros(len(norms2))
    for j in suspect:
        col = (design.X_data[design.X_indptr[j]:design.X_indptr[j + 1]] if design.is_sparse
               else design.X[:, j])
        colmax[j] = float(np.max(np.abs(col))) if col.size else 0.0
    check_columns(colmax, dtype)
