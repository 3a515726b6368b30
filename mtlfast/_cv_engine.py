"""The cross-validation engine behind mtlfast.model_selection: folds that keep
every task in every fold, one fold's whole path as a joblib job, scoring,
progress, automatic alpha grids, and the refit on all data.

The estimator protocol it relies on (every mtlfast estimator with a path):
_assemble / _validate (the datafit of the data), _fit_path (a warm-started
path yielding fitted copies), _make_penalty and _alpha_max (automatic grids:
datafit.alpha_max(penalty) at alpha = 1), _cv_loss (classifiers' default
score), predict with tasks= (per-task data).
"""
import numbers
import sys
import time

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from scipy import sparse
from sklearn.base import clone, is_classifier
from sklearn.model_selection import KFold, check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils._metadata_requests import _raise_for_params
from sklearn.utils.metadata_routing import (
    MetadataRouter, MethodMapping, _routing_enabled, process_routing)
from sklearn.utils._available_if import available_if
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._base import _stack_task_list, check_sample_weight, task_column, param_names
from ._config import resolve_n_threads
from ._signals import request_abort
from .datafits import check_tasks, per_row_linear


# -- folds ---------------------------------------------------------------
def task_folds(cv, codes, n_tasks):
    """Folds of per-task data split within each task.

    cv (None, int or a splitter with split / get_n_splits) is applied to the
    rows of each task separately (int or None: KFold, scikit-learn's default
    of 5 folds); fold k joins every task's k-th split, so each task has rows
    in every fold's training and test parts.

    Returns a list of (train, test) index arrays into the stacked rows.
    """
    if cv is None:
        cv = 5
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv must be at least 2 folds, got {cv}.")
        cv = KFold(int(cv))
    if not hasattr(cv, "split"):
        raise ValueError("with per-task data cv must be None, an int or a splitter "
                         f"(an object with split), got {cv!r}.")
    if getattr(cv, "splits_within_tasks", False):
        # a TaskKFold: it splits within the tasks itself, from their labels
        cv = cv.within_task_splitter()
    sizes = np.bincount(codes, minlength=n_tasks)
    n_splits = cv.get_n_splits() if hasattr(cv, "get_n_splits") else None
    if n_splits is not None and n_splits > sizes.min():
        t = int(np.argmin(sizes))
        raise ValueError(f"cv asks for {n_splits} folds but task {t} has only {sizes[t]} "
                         "rows: every task must have at least one row per fold.")
    per_task = []
    for t in range(n_tasks):
        rows = np.flatnonzero(codes == t)
        per_task.append([(rows[tr], rows[te]) for tr, te in cv.split(rows)])
    counts = {len(s) for s in per_task}
    if len(counts) != 1:
        raise ValueError("the splitter gave different numbers of folds for different tasks.")
    return [(np.sort(np.concatenate([s[k][0] for s in per_task])),
             np.sort(np.concatenate([s[k][1] for s in per_task])))
            for k in range(counts.pop())]


def _take(A, idx):
    return None if A is None else A[idx]


# -- scoring ---------------------------------------------------------------
class _TaskBound:
    """A fitted per-task estimator whose predict methods get the test rows'
    tasks bound, so that scikit-learn scorers (which call predict(X)) work."""

    def __init__(self, est, tasks):
        self._est, self._tasks = est, tasks

    def predict(self, X):
        return self._est.predict(X, tasks=self._tasks)

    def predict_proba(self, X):
        return self._est.predict_proba(X, tasks=self._tasks)

    def decision_function(self, X):
        return self._est.decision_function(X, tasks=self._tasks)

    def __getattr__(self, name):
        return getattr(self._est, name)


def _mse(est, X, Y, sw, tasks, codes):
    """scikit-learn's CV MSE: per task the weighted mean squared residual,
    then the mean over tasks (per-task data: over each task's own rows).
    Predictions X @ coef_.T + intercept_ directly (X is validated)."""
    coef = np.asarray(est.coef_, dtype=np.float64).reshape(-1, X.shape[1])
    b = np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64))
    if tasks is None:
        P = np.asarray(X @ coef.T, dtype=np.float64) + b
        R2 = (P.reshape(Y.shape) - Y) ** 2
        R2 = R2[:, None] if R2.ndim == 1 else R2
        return float(np.mean(np.average(R2, axis=0, weights=sw)))
    # per-task fit: coef_ row k belongs to the label tasks_[k]
    R2 = (per_row_linear(X, coef, b, np.searchsorted(est.tasks_, tasks)) - Y) ** 2
    per = [np.average(R2[codes == t], weights=None if sw is None else sw[codes == t])
           for t in np.unique(codes)]
    return float(np.mean(per))


def _mse_of(coefs, intercepts, X, Y, sw, chunk=2 ** 22):
    """_mse of each point of a path given as arrays, coefs (k, T, p) and
    intercepts (k, T): the predictions of up to `chunk` coefficients in one
    product."""
    k, T, p = coefs.shape
    Y2 = Y[:, None] if Y.ndim == 1 else Y
    step = max(1, chunk // max(1, T * p))
    losses = []
    for k0 in range(0, k, step):
        C = np.asarray(coefs[k0:k0 + step], dtype=np.float64)
        B = np.asarray(intercepts[k0:k0 + step], dtype=np.float64)
        # P[k] = X @ C[k].T + B[k], as (n, k, T)
        P = np.asarray(X @ C.reshape(-1, p).T, dtype=np.float64).reshape(X.shape[0], len(C), T)
        R2 = (P.transpose(1, 0, 2) + B[:, None, :] - Y2[None]) ** 2
        per_task = R2.mean(axis=1) if sw is None else np.einsum("kit,i->kt", R2, sw) / sw.sum()
        losses.append(per_task.mean(axis=1))
    return np.concatenate(losses) if losses else np.zeros(0)


def _fold_path(template, X, Y, sw, tasks, codes, task_weight, train, test, param, values,
               scorer, n_threads):
    """Fit the path on the training rows and score every point on the test
    rows. Returns (losses (n_values,), epochs (n_values,)); losses are
    minimized (the MSE, or minus a scorer's score)."""
    est = clone(template)
    if "n_threads" in param_names(type(est)):
        est.set_params(n_threads=n_threads)
    Xtr, Ytr = _safe_indexing(X, train), Y[train]
    Xte, Yte = _safe_indexing(X, test), Y[test]
    ttr, tte = _take(tasks, train), _take(tasks, test)
    losses, epochs = [], []
    if scorer is None and tte is None and not hasattr(est, "_cv_loss"):
        # the squared loss: on a shared design, every point's from arrays
        batch = est._path_batch(Xtr, Ytr, _take(sw, train), ttr, task_weight, param=param,
                                values=values)
        if batch is not None:
            return (_mse_of(batch.coefs, batch.intercepts, Xte, Yte, _take(sw, test)),
                    batch.n_iter.max(axis=1))
    fits = est._fit_path(Xtr, Ytr, _take(sw, train), ttr, task_weight, param=param,
                         values=values)
    for fitted in fits:
        if scorer is None:      # the model's own CV loss (classifiers), else the MSE
            loss = getattr(fitted, "_cv_loss", None) or (lambda *a: _mse(fitted, *a))
            losses.append(loss(Xte, Yte, _take(sw, test), tte, _take(codes, test)))
        else:
            bound = fitted if tte is None else _TaskBound(fitted, tte)
            kw = {} if sw is None else {"sample_weight": sw[test]}
            losses.append(-float(scorer(bound, Xte, Yte, **kw)))
        epochs.append(fitted.n_iter_)
    return np.asarray(losses), np.asarray(epochs)


class _Progress:
    """Progress of the CV jobs: nothing (verbose=0), one line per finished
    job on stderr (verbose >= 1), or a tqdm bar when tqdm is installed and
    verbose >= 1. Updated as jobs finish, never inside a kernel."""

    def __init__(self, total, verbose, desc):
        self.total, self.verbose, self.done, self.bar = total, verbose, 0, None
        self.t0 = time.perf_counter()
        if verbose:
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=total, desc=desc, file=sys.stderr)
            except ImportError:
                pass

    def update(self, info):
        self.done += 1
        if not self.verbose:
            return
        if self.bar is not None:
            self.bar.update(1)
            if self.verbose > 1:
                self.bar.write(info, file=sys.stderr)
        else:
            print(f"[mtlfast CV] {self.done}/{self.total} {info} "
                  f"({time.perf_counter() - self.t0:.1f} s)", file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()


# -- the generic engine ----------------------------------------------------
def _prepare(est, X, y, sample_weight, tasks):
    """(X, Y, sw, tasks, codes): validated (NaN, inf, complex, object data
    and shapes rejected; n_features_in_ set on est), the list layout
    stacked, sparse X as CSR for the folds' row subsets; tasks as given
    (labels) and their codes for per-task data."""
    if y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y "
                         "is None.")
    X, tasks = task_column(est, X, tasks, fitting=True)
    X, y, tasks = _stack_task_list(X, y, tasks)
    X = validate_data(est, X, accept_sparse=["csr", "csc"], dtype=[np.float64, np.float32],
                      accept_large_sparse=True)
    if sparse.issparse(X):
        X = X.tocsr()
    if is_classifier(getattr(est, "estimator", est)):
        # class labels of any kind (the classifier checks them per task)
        Y = check_array(y, ensure_2d=False, dtype=None, input_name="y",
                        ensure_all_finite=False)
        if Y.dtype.kind == "f" and not np.isfinite(Y).all():
            raise ValueError("Input y contains NaN or infinity.")
    else:
        Y = check_array(y, ensure_2d=False, dtype=[np.float64, np.float32], input_name="y")
    if Y.ndim > 2:
        raise ValueError(f"y must be 1-D or 2-D, got an array of shape {Y.shape}.")
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y have inconsistent numbers of samples: X has {X.shape[0]} "
                         f"rows, y has {Y.shape[0]}.")
    sw = check_sample_weight(sample_weight, X)
    codes = None
    if tasks is not None:
        tasks = np.asarray(tasks)
        _, codes = check_tasks(tasks, X.shape[0])
    return X, Y, sw, tasks, codes


def _run_cv(template, X, Y, sw, tasks, codes, task_weight, param, grids, folds, scorer,
            n_jobs, verbose):
    """Every (grid, fold) path as one joblib job. template: the estimator, or
    one per grid (their other parameters differ). Returns losses of shape
    (n_grids, n_folds, n_values) and epochs of the same shape."""
    templates = template if isinstance(template, list) else [template] * len(grids)
    template = templates[0]
    n_jobs_eff = max(1, effective_n_jobs(n_jobs))
    # the kernels' OpenMP threads split between the concurrent jobs
    n_threads = max(1, resolve_n_threads(getattr(template, "n_threads", None)) // n_jobs_eff)
    jobs = [(g, k) for g in range(len(grids)) for k in range(len(folds))]
    progress = _Progress(len(jobs), verbose, f"{type(template).__name__} CV")
    out = {}
    try:
        results = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(
            delayed(_fold_path)(templates[g], X, Y, sw, tasks, codes, task_weight,
                                folds[k][0], folds[k][1], param, grids[g], scorer, n_threads)
            for g, k in jobs)
        for (g, k), res in zip(jobs, results):
            out[g, k] = res
            if not np.all(np.isfinite(res[0])):
                raise ValueError(f"the score of fold {k} is not finite (NaN or inf) for "
                                 "some path points; check the scorer and the data.")
            progress.update(f"grid {g + 1}, fold {k + 1}: best loss {res[0].min():.4g}")
    except KeyboardInterrupt:
        # Ctrl-C reaches the main thread only: fits still running in joblib's
        # worker threads stop at their next check instead of running on
        request_abort()
        raise
    finally:
        progress.close()
    losses = np.array([[out[g, k][0] for k in range(len(folds))] for g in range(len(grids))])
    epochs = np.array([[out[g, k][1] for k in range(len(folds))] for g in range(len(grids))])
    return losses, epochs


def _split_params(est, sample_weight, params):
    """The splitter's fit metadata (groups, ...): scikit-learn's metadata
    routing when enabled, else none (and an error for any given)."""
    _raise_for_params(params, est, "fit")
    if _routing_enabled():
        return process_routing(est, "fit", sample_weight=sample_weight, **params).splitter.split
    return {}


def _router(est):
    return (MetadataRouter(owner=est).add_self_request(est)
            .add(splitter=check_cv(est.cv),
                 method_mapping=MethodMapping().add(caller="fit", callee="split")))


def _make_folds(cv, X, Y, codes, n_tasks, split_params=None):
    if codes is not None:
        if split_params:
            raise ValueError("splitter parameters (groups, ...) are not supported with "
                             "per-task data: the folds are split within each task.")
        folds = task_folds(cv, codes, n_tasks)
    else:
        cv = check_cv(cv)
        n_splits = cv.get_n_splits(X, Y, **(split_params or {}))
        if n_splits > X.shape[0]:
            raise ValueError(f"cv asks for {n_splits} folds but there are only "
                             f"{X.shape[0]} samples.")
        folds = list(cv.split(X, Y, **(split_params or {})))
    if len(folds) < 2:
        raise ValueError("cross-validation needs at least 2 folds.")
    return folds


def _check_grid(values, name="alphas"):
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError(f"{name} must not be empty.")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"{name} must be finite and non-negative.")
    return values


def _auto_grid(template, X, Y, sw, tasks, task_weight, eps, n_alphas, caller=None):
    """Geometric grid alpha_max -> eps * alpha_max of the template's penalty
    on the full data (the template's own assembly: centering, weights).
    caller: "PathCV" for its own message where no grid exists (the drop-in
    CV estimators keep scikit-learn's)."""
    est = clone(template)
    if not hasattr(est, "_make_penalty"):
        raise ValueError(f"{type(template).__name__}: give the grid of values explicitly "
                         "(no automatic alpha grid for this model).")
    alpha_max = est._alpha_max(X, Y, sw, tasks, task_weight)
    if not np.isfinite(alpha_max) and caller == "PathCV":
        raise ValueError(
            f"PathCV: no automatic alpha grid for {template!r}: its penalty never sets every "
            "coefficient to zero (a pure ridge penalty), so there is no alpha_max to start "
            "from. Pass the grid: PathCV(..., values=[...]).")
    if not np.isfinite(alpha_max):
        raise ValueError("Automatic alpha grid generation is not supported for l1_ratio=0. "
                         "Please supply a grid by providing your estimator with the "
                         "appropriate `alphas=` argument.")
    if alpha_max <= np.finfo(float).resolution:
        return np.full(n_alphas, np.finfo(float).resolution)
    return np.geomspace(alpha_max, alpha_max * eps, num=n_alphas)


def _fit_best(est, X, Y, sw, tasks, task_weight, cv_est):
    """The refit of the best value on all rows. X was validated to an array
    by the CV estimator cv_est: its feature names and DataFrame task column
    go to the refit model, which then predicts from a DataFrame as cv_est
    does."""
    kw = {} if tasks is None and task_weight is None else {"tasks": tasks,
                                                            "task_weight": task_weight}
    est.fit(X, Y, sw, **kw)
    for attr in ("feature_names_in_", "task_column_"):
        if hasattr(cv_est, attr):
            setattr(est, attr, getattr(cv_est, attr))
    return est


# -- estimators --------------------------------------------------------------
class _RefitBest:
    """What the CV estimators share: the splitter's metadata routing and the
    predictions of the model refit on all data (best_estimator_)."""

    def get_metadata_routing(self):
        """Metadata routing (scikit-learn): fit's extra parameters go to the
        splitter's split."""
        return _router(self)

    @property
    def _per_task(self):
        """Whether the refit model needs each row's task to predict (as a
        fitted estimator says: the command line and persistence ask)."""
        return getattr(getattr(self, "best_estimator_", None), "_per_task", False)

    def predict(self, X, tasks=None):
        """Predict with the final model (per-task fits: pass tasks)."""
        check_is_fitted(self)
        return self.best_estimator_.predict(X, tasks=tasks)

    def _final_has(name):
        """available_if's check: the refit model (or, before fit, the
        estimator PathCV wraps) has the method."""
        def check(self):
            final = getattr(self, "best_estimator_", None)
            return hasattr(getattr(self, "estimator", None) if final is None else final, name)
        return check

    @available_if(_final_has("predict_proba"))
    def predict_proba(self, X, tasks=None):
        """The final model's probabilities (classifiers; per-task fits: pass tasks)."""
        check_is_fitted(self)
        return self.best_estimator_.predict_proba(X, tasks=tasks)

    @available_if(_final_has("decision_function"))
    def decision_function(self, X, tasks=None):
        """The final model's decision function (classifiers; per-task fits: pass tasks)."""
        check_is_fitted(self)
        return self.best_estimator_.decision_function(X, tasks=tasks)

    def score(self, X, y, sample_weight=None, tasks=None):
        check_is_fitted(self)
        return self.best_estimator_.score(X, y, sample_weight=sample_weight, tasks=tasks)
