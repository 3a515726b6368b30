"""Task labels and the layouts of per-task data.

Long layout: rows of all tasks stacked, `tasks[i]` names the task of row i.
List layout: [X_1, ..., X_T], [y_1, ..., y_T], converted to the long one.
Task order is that of the sorted labels (stored as `tasks_` by estimators);
W has shape (n_features, n_tasks) and column t belongs to the t-th label.
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
                         f"known: {list(labels[:10])}{'...' if len(labels) > 10 else ''} "
                         "(a model predicts the tasks it was fitted on; in a search, "
                         "cv=mtlfast.model_selection.TaskKFold() keeps every task in "
                         "every fold).")
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


def repeat_design(X, T, sparse_format="csc"):
    """X stacked T times (a shared design's rows for every task, the long
    layout); sparse X in sparse_format."""
    return sparse.vstack([X] * T, format=sparse_format) if sparse.issparse(X) else \
        np.vstack([X] * T)


def shared_to_long(X, Y):
    """A shared design with Y (n, T) as the long layout: (X repeated per
    task, y stacked task by task, codes)."""
    n, T = Y.shape
    return repeat_design(X, T, "csr"), Y.T.ravel(), np.repeat(np.arange(T), n)


def csc_task_pointers(indices, indptr, offsets):
    """tptr (p * (T+1), int32) locating each task's nonzeros in each column
    of a CSC matrix whose row indices are sorted within each column and whose
    tasks own consecutive rows (offsets): column j, task t owns
    tptr[j*(T+1)+t] : tptr[j*(T+1)+t+1]. One searchsorted per column."""
    p, T1 = len(indptr) - 1, len(offsets)
    tptr = np.empty((p, T1), dtype=np.intc)
    for j in range(p):
        lo, hi = indptr[j], indptr[j + 1]
        tptr[j] = lo + np.searchsorted(indices[lo:hi], offsets)
    return tptr.ravel()


def _label_list(labels):
    return [v.item() if isinstance(v, np.generic) else v for v in np.asarray(labels).tolist()]


def _align(keys, labels, name):
    """Positions of `labels` among `keys` (an object's labels); a clear error
    when the two sets differ."""
    keys = _label_list(keys)
    want = _label_list(labels)
    if len(set(keys)) != len(keys):
        raise ValueError(f"{name}: repeated task labels {sorted(map(str, keys))}.")
    missing = [k for k in want if k not in keys]
    extra = [k for k in keys if k not in want]
    if missing or extra:
        raise ValueError(f"{name} is labelled by task, but its labels do not match the "
                         f"tasks of the fit {want[:10]}: missing {missing[:10]}, unknown "
                         f"{extra[:10]}.")
    pos = {k: i for i, k in enumerate(keys)}
    return np.array([pos[k] for k in want], dtype=np.intp)


def by_label(obj, labels, name):
    """An object keyed by task label, in the order of `labels` (the sorted
    task labels of the fit: coef_'s rows): a dict or a pandas Series gives a
    1-D array, a pandas DataFrame a 2-D one (rows and columns both aligned).
    Positional objects (arrays, lists) are returned as they are."""
    if obj is None or labels is None:
        return obj
    if isinstance(obj, dict):
        idx = _align(list(obj.keys()), labels, name)
        values = list(obj.values())
        return np.asarray([values[i] for i in idx])
    if hasattr(obj, "columns") and hasattr(obj, "index"):            # a DataFrame
        rows = _align(list(obj.index), labels, f"{name} (rows)")
        cols = _align(list(obj.columns), labels, f"{name} (columns)")
        return np.asarray(obj.to_numpy())[np.ix_(rows, cols)]
    if hasattr(obj, "index") and hasattr(obj, "to_numpy") and getattr(obj, "ndim", 0) == 1:
        idx = _align(list(obj.index), labels, name)                   # a Series
        return np.asarray(obj.to_numpy())[idx]
    return obj


def check_task_weight(task_weight, n_tasks, labels=None):
    """Validated task weights omega_t: (n_tasks,) positive and finite, or None.
    A dict or a pandas Series keyed by task label is aligned to `labels`
    (by_label); an array is positional (the order of the sorted labels)."""
    if task_weight is None:
        return None
    if isinstance(task_weight, dict) and labels is None:
        raise ValueError("task_weight as a dict needs the task labels (per-task data).")
    task_weight = by_label(task_weight, labels, "task_weight")
    tw = np.asarray(task_weight)
    if tw.dtype.kind not in "biuf":
        raise ValueError(f"task_weight must hold real numbers, got dtype {tw.dtype}.")
    tw = tw.astype(np.float64)
    if tw.shape != (n_tasks,):
        raise ValueError(f"task_weight must have one entry per task ({n_tasks}), got "
                         f"shape {tw.shape}.")
    if not np.isfinite(tw).all() or np.any(tw <= 0):
        raise ValueError("task_weight must be positive and finite.")
    return tw


def per_row_linear(X, coef, intercept, codes):
    """x_i . coef[codes[i]] + intercept[codes[i]] for every row i (each row
    with its own task's model); X dense or sparse, coef (T, p)."""
    Xr = X.tocsr() if sparse.issparse(X) else X
    k = np.asarray(codes)
    z = (np.asarray(Xr.multiply(coef[k]).sum(axis=1)).ravel() if sparse.issparse(Xr)
         else np.einsum("ij,ij->i", Xr, coef[k]))
    return z + intercept[k]
