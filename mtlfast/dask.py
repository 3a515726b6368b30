"""One model fitted on a Dask cluster, whole tasks spread over the workers
(issue 18; the design study is shared/review/distributed.md).

    from mtlfast.dask import fit_distributed
    model = fit_distributed(MultiTaskLasso(alpha=0.1), ddf, client, task="store",
                            target="sales")

`ddf` is a dask DataFrame whose partitions each hold whole tasks (a Parquet
dataset partitioned by task reads that way); the feature columns are the
other columns. Every worker keeps its tasks' designs in a long-lived actor
(`_Shard`: mtlfast's per-task datafit, its coefficient columns and residual),
built on the worker from the partitions (the data never pass through the
client). The driver holds W and reduces only small per-feature vectors.

Objective: the single-node one of the per-task layout (fit(X, y, tasks=...)):
    sum_t omega_t / (2 n_t) sum_{i in t} s_i (y_i - x_i w_t - b_t)^2 + Omega(W).

Solvers
- Separable penalties (Lasso, ElasticNet): the tasks are independent
  problems, so each worker solves its own with the compiled per-task kernel;
  nothing but the coefficients comes back.
- Coupled row penalties (MultiTaskLasso, MultiTaskElasticNet,
  MultiTaskSparseGroupLasso): working sets
  with the global duality gap. Each outer iteration, every worker makes one
  pass over its data and returns two scalars (||r||^2, <r, y>) and the
  per-feature sums over its tasks of (A_t^T r_t - lam2 pf W_t)_j^2 (a length-p
  vector): their sums give the exact gap of the whole problem (the formula
  of mtlfast._gap.quadratic_gap: N^D of an L2,1 row is the root of that sum;
  for the sparse-group norm and positivity, whose dual norms are not functions
  of it, the workers send their tasks' columns of A^T r - lam2 W, p T_k floats).
  The driver picks the working set A (nonzero rows and the features whose
  dual constraints are nearest to active), the workers return the Gram
  blocks X_t[:, A]^T X_t[:, A] and X_t[:, A]^T y_t of their tasks (|A|^2 + |A|
  per task), and the driver solves the subproblem with the compiled per-task
  kernel on "virtual designs" with the same quadratics (G_t = V L V^T: rows
  L^(1/2) V^T, targets L^(-1/2) V^T c_t), the same objective up to a
  constant. The working set follows the single node's rule (at least twice
  the nonzero rows, never shrinking; the same set twice: solved to the
  final tolerance).
- MultiTaskLogisticRegression: separable penalties as above (the compiled
  proximal Newton solver per worker); group penalties by proximal Newton on
  working sets: the gap from the workers' loss values, refitted intercepts
  and row statistics, then one scalar per worker for the dual at the scaled
  point (LogisticPerTask.gap); the Newton model's Gram blocks on A (the
  weighted least-squares model of mtlfast.solvers._pn_structured,
  newton_weights) solved on the driver; the single node's Armijo test
  (armijo_step) with the workers' loss changes, 8 step sizes per round trip.
- Structured regressors (Dirty, MeanRegularized, TaskGraph, Transfer): Gram
  form, every task's Gram block on all features once (T p^2 floats, at most
  MAX_GRAM_BYTES), the whole problem solved on the driver by the structured
  kernel, the gap from per-task ||r_t||^2, <r_t, y_t> and V = A^T r
  (penalties.structured.quadratic_gaps_from). Their classifiers: the single
  node's proximal Newton in Gram form (the Newton model's Gram blocks on all
  features each step; penalties.structured.logistic_gaps' terms).
Reductions run in a fixed order (shard by shard), so reruns give the same
bits. Other models raise a clear error.

Memory: a shard computes its partitions itself, one at a time, into the
design's final layout (the peak is the design plus one partition); a shard
that cannot fit below its worker's pause threshold is refused before
anything is built, and a worker paused at its memory limit while the data
are read is an error after PAUSED_LIMIT seconds, not a wait for ever.
"""
import functools
import time

import numpy as np
from scipy.special import expit

from .datafits import LogisticPerTask, QuadraticPerTask, check_tasks
from .datafits.logistic import _phi
from .penalties.factors import check_penalty_factor, quadratic_gap_value
from .reference.pn_logistic import MAX_HALVINGS, _pen_change, working_set_from_norms
from .solvers import solve_logistic, solve_tasks
from .solvers._pn_structured import armijo_step, block_scales, newton_weights

P0 = 10               # smallest working set
INNER_FRACTION = 0.3  # the subproblem is solved to this share of the outer gap
NEWTON_FRACTION = 0.1  # a Newton step's model: to this share (at most NEWTON_INNER_TOL)
NEWTON_INNER_TOL = 1e-3
MAX_INNER = 1000      # epochs of a Newton model's solve
HALVINGS_PER_ROUND = 8  # line-search trial steps evaluated per round trip


def _numeric(frame, columns, dtype, name):
    """frame[columns] as a finite numeric array (scikit-learn's messages)."""
    from sklearn.utils import assert_all_finite
    try:
        a = frame[columns].to_numpy(dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: the columns {columns[:5]}{'...' if len(columns) > 5 else ''} "
                         f"must be numeric ({exc}).") from None
    assert_all_finite(a, input_name=name)
    return a


def _task_grams(X, y, slices, A=None):
    """Per task: (X_t^T X_t, X_t^T y_t) of an effective design's rows (on its
    columns A: one task's columns copied at a time)."""
    out = []
    for s in slices:
        Xt = X[s] if A is None else X[s][:, A]
        out.append((Xt.T @ Xt, Xt.T @ y[s]))
    return out


def _timed(method):
    """A shard method that adds its compute time to busy[its name] (what
    the workers spend in kernels, against the driver's wall time per phase)."""
    @functools.wraps(method)
    def run(self, *args):
        t0 = time.perf_counter()
        try:
            return method(self, *args)
        finally:
            name = method.__name__
            self.busy[name] = self.busy.get(name, 0.0) + time.perf_counter() - t0
    return run


class _Shard:
    """One worker's tasks: their per-task datafit (centered and weighted as
    the single-node fit does; quadratic or logistic), coefficient columns W
    (p, T_k), intercepts b (logistic) and residual (quadratic). Every method
    is a function of (W, b) and the data, so a rebuilt shard given the
    driver's (W, b) answers as the lost one would."""

    def __init__(self, graphs, task_rows, task, target, features, tasks, sample_weight,
                 task_weight, fit_intercept, dtype, logistic=False):
        import cloudpickle
        import dask
        t0 = time.perf_counter()
        self.busy = {}
        self.tasks = tasks = np.asarray(tasks)
        offsets = np.concatenate([[0], np.cumsum(task_rows)]).astype(np.int64)
        N = int(offsets[-1])
        codes = np.repeat(np.arange(len(tasks)), task_rows)
        # the partitions computed here, one at a time (cloudpickled graphs: the
        # data never pass through the client), their rows copied straight into
        # task order: the peak is the design plus one partition. The squared
        # loss's design is the F-ordered array that becomes X_eff in place.
        X = np.empty((N, len(features)), dtype=dtype, order="C" if logistic else "F")
        target_values = np.empty(N, dtype=object if logistic else dtype)
        sw = None if sample_weight is None else np.empty(N)
        for d in cloudpickle.loads(graphs):
            (f,) = dask.compute(d, scheduler="sync")
            c = np.searchsorted(tasks, f[task].to_numpy())
            o = np.argsort(c, kind="stable")
            c = c[o]
            dest = offsets[c] + np.arange(len(c)) - np.searchsorted(c, c, side="left")
            # the single node's input checks (scikit-learn's), partition by partition
            X[dest] = _numeric(f, list(features), dtype, "X")[o]
            target_values[dest] = (f[target].to_numpy() if logistic else
                                   _numeric(f, [target], dtype, "y")[:, 0])[o]
            if sw is not None:
                w = _numeric(f, [sample_weight], np.float64, "sample_weight")[:, 0]
                if np.any(w < 0):
                    raise ValueError("Negative values in data passed to sample_weight.")
                sw[dest] = w[o]
            del f
        tw = None if task_weight is None else np.asarray(task_weight, dtype=np.float64)
        T_k = len(tasks)
        self.logistic = logistic
        self.b = np.zeros(T_k)
        self._model = self._prob = self._z = None
        if logistic:
            # each task's two classes, the second one positive (the estimator's rule)
            from .classification import _BinaryTasksClassifier
            target_values = np.array(target_values.tolist())   # the labels' own dtype
            y01 = np.empty(len(codes))
            self.classes = []
            for t in range(T_k):
                m = codes == t
                cls, z = _BinaryTasksClassifier._encode(target_values[m], f"task {tasks[t]!r}")
                self.classes.append(cls)
                y01[m] = z
            self.df = LogisticPerTask(X, y01, codes, T_k, sw, tw, fit_intercept)
        else:
            self.df = QuadraticPerTask(X, target_values, codes, T_k, sw, tw, fit_intercept,
                                       copy_X=False)
        del X
        self.W = np.zeros((self.df.n_features, T_k))
        self.r = None if logistic else self.df.y_eff.astype(np.float64)
        self.busy["build"] = time.perf_counter() - t0

    def busy_times(self):
        """Seconds spent in each method so far."""
        return dict(self.busy)

    @_timed
    def column_norms(self):
        """max over this shard's tasks of the loss's curvature bound of
        feature j (||x_tj||^2; logistic: sum c_i x_ij^2 / 4), (p,)."""
        return self.df.curvatures().max(axis=1)

    @_timed
    def set_rows(self, A, values):
        """W = 0 outside the rows A, W[A] = values (|A|, T_k): the driver sends
        only the working set's rows."""
        W = np.zeros_like(self.W)
        W[np.asarray(A)] = values
        return self.set_coef(W)

    def set_coef(self, W, b=None):
        """Replace the coefficient columns (p, T_k) (and the intercepts of the
        logistic loss) and recompute what depends on them."""
        self.W = np.array(W, dtype=np.float64)
        if b is not None:
            self.b = np.array(b, dtype=np.float64)
        self._model = self._prob = self._z = None
        if not self.logistic:
            self.r = self.df.residual(self.W)
        return True

    @_timed
    def stats(self, lam2, pf, rows=False):
        """(||r||^2, <r, y_eff>, ||y_eff||^2, sum_t XtA_tj^2 (p,)) with
        XtA = A_t^T r_t - lam2 pf W_t: this shard's part of the global gap;
        rows: XtA itself (p, T_k) instead of its row sums of squares (the
        dual norms that are not a function of them: sparse-group, positive)."""
        y = np.asarray(self.df.y_eff, dtype=np.float64)
        XtA = self.df.xtr(self.r) - lam2 * pf[:, None] * self.W
        return (float(self.r @ self.r), float(self.r @ y), float(y @ y),
                XtA if rows else np.sum(XtA * XtA, axis=1))

    def task_scales(self):
        """Each task's gap scale, tol times which bounds its gap: ||y_eff,t||^2
        (squared loss), omega_t log 2, the loss at z = 0 (logistic)."""
        if self.logistic:
            return block_scales(self.df, self.df.n_tasks)
        return self.df.gap_scale()

    @_timed
    def task_stats(self):
        """Per task ||r_t||^2, <r_t, y_t>, ||y_t||^2 (T_k,) each, and
        V = A^T r (p, T_k): the structured models' gap statistics
        (mtlfast.penalties.structured.quadratic_gaps_from)."""
        y = np.asarray(self.df.y_eff, dtype=np.float64)
        r = self.r
        sl = self.df.task_slices()
        return (np.array([r[s] @ r[s] for s in sl]), np.array([r[s] @ y[s] for s in sl]),
                np.array([y[s] @ y[s] for s in sl]), self.df.xtr(r))

    @_timed
    def logistic_stats(self, lam2, pf, rows=False):
        """The logistic loss's part of the global gap (LogisticPerTask.gap):
        the intercepts re-optimized given W (kept: b, returned), then
        (loss, loss at z = 0, b, sum_t XtA_tj^2 (p,) or XtA (p, T_k)) with
        XtA = A_t^T (c (y - p)) - lam2 pf W_t."""
        df = self.df
        self.b = df.optimal_intercept(self.W, self.b)
        z = self._z = df.z(self.W, self.b)
        self._prob = prob = expit(z)
        XtA = df.adjoint(df.c * (df.y - prob)) - lam2 * pf[:, None] * self.W
        return (df.loss(z), df.gap_scale(), self.b,
                XtA if rows else np.sum(XtA * XtA, axis=1))

    @_timed
    def logistic_task_stats(self):
        """The structured classifiers' gap pieces (penalties.structured.
        logistic_gaps), per task: intercepts re-optimized given W, then
        (loss_t (T_k,), loss at z = 0 (T_k,), b, V = A^T (c (y - p)) (p, T_k))."""
        df = self.df
        self.b = df.optimal_intercept(self.W, self.b)
        z = self._z = df.z(self.W, self.b)
        self._prob = prob = expit(z)
        terms = df.c * (np.logaddexp(0.0, z) - df.y * z)
        sl = df.task_slices()
        return (np.array([terms[s].sum() for s in sl]),
                block_scales(df, df.n_tasks), self.b,
                df.adjoint(df.c * (df.y - prob)))

    @_timed
    def logistic_dual_tasks(self, s):
        """Per task sum_{i in t} c_i phi(y_i + s_t (p_i - y_i)), s (T_k,)."""
        df = self.df
        if self._prob is None:
            self._prob = expit(df.z(self.W, self.b))
        v = _phi(df.y + s[df.codes] * (self._prob - df.y))
        return np.array([float(df.c[sl] @ v[sl]) for sl in df.task_slices()])

    @_timed
    def logistic_dual(self, s):
        """sum_i c_i phi(y_i + s (p_i - y_i)): this shard's part of the dual
        at the scaled point (s is known after the reduction)."""
        df = self.df
        if self._prob is None:
            self._prob = expit(df.z(self.W, self.b))
        return float(df.c @ _phi(df.y + s * (self._prob - df.y)))

    @_timed
    def gram(self, A):
        """Per task: (X_t[:, A]^T X_t[:, A], X_t[:, A]^T y_t) of the effective
        (centered, weighted) design."""
        return _task_grams(self.df.design_dense(), np.asarray(self.df.y_eff, dtype=np.float64),
                           self.df.task_slices(), np.asarray(A))

    def _newton_model(self, A):
        """The loss's quadratic model at (W, b) on the columns A (the single
        node's, mtlfast.solvers._pn_structured): a weighted least-squares
        datafit on X[:, A] with the working response; cached per A."""
        A = np.asarray(A)
        if self._model is None or not np.array_equal(self._model[0], A):
            df = self.df
            z = df.z(self.W, self.b) if self._z is None else self._z
            g, h, zeta = newton_weights(df, z)
            # all features (the structured Gram form): X itself, no column copy
            XA = df.X if len(A) == df.n_features and np.array_equal(
                A, np.arange(df.n_features)) else np.asfortranarray(df.X[:, A])
            qdf = QuadraticPerTask.from_row_weights(XA, zeta, df.offsets, h, df.fit_intercept)
            slices = df.task_slices()
            GA = np.column_stack([XA[sl].T @ g[sl] for sl in slices])
            Gb = np.array([g[sl].sum() for sl in slices])
            self._model = (A, XA, qdf, z, GA, Gb)
        return self._model

    @_timed
    def newton_gram(self, A):
        """The Gram blocks of the Newton model on A (as gram for the quadratic loss)."""
        _, _, qdf, _, _, _ = self._newton_model(A)
        return _task_grams(qdf.design_dense(), np.asarray(qdf.y_eff, dtype=np.float64),
                           qdf.task_slices())

    def _step(self, A, D):
        """The intercepts' step Db (the model's intercepts at W[A] + D) and
        the change of z, u = X[:, A] D + Db."""
        _, XA, qdf, z, GA, Gb = self._newton_model(A)
        df = self.df
        Db = qdf.intercept(self.W[A] + D) - self.b if df.fit_intercept else np.zeros(len(Gb))
        u = np.empty(df.n_samples)
        for t, sl in enumerate(df.task_slices()):
            u[sl] = XA[sl] @ D[:, t] + Db[t]
        return Db, u

    @_timed
    def trial(self, A, D, k0, k1):
        """The line search's pieces for the step D (|A|, T_k): the model's
        linear term G . D + Gb . Db and the loss changes at alpha = 2^-k,
        k0 <= k < k1 (summed term by term: LogisticPerTask.loss_change)."""
        _, _, _, z, GA, Gb = self._newton_model(A)
        Db, u = self._step(A, D)
        lin = float(np.sum(GA * D)) + float(Gb @ Db)
        return lin, [self.df.loss_change(z, u, 0.5 ** k) for k in range(k0, k1)]

    @_timed
    def step(self, A, D, alpha):
        """(W[A], b) += alpha (D, Db); returns b."""
        Db, _ = self._step(A, D)
        A = np.asarray(A)
        W = self.W.copy()
        W[A] = W[A] + alpha * D
        self.set_coef(W, self.b + alpha * Db)
        return self.b

    @_timed
    def solve_separable(self, penalty, max_iter, tol, n_threads):
        """Separable penalties: this shard's tasks are problems of their own."""
        if self.logistic:
            res = solve_logistic(self.df, penalty, None, max_iter=max_iter, tol=tol,
                                 n_threads=n_threads)
            self.b = np.asarray(res.intercept, dtype=np.float64)
        else:
            res = solve_tasks(self.df, penalty, None, max_iter=max_iter, tol=tol,
                              n_threads=n_threads)
        self.set_coef(res.coef.T.astype(np.float64), self.b)
        return self.W, np.atleast_1d(res.gaps), np.asarray(res.n_iter)

    def result(self):
        """(W (p, T_k), intercepts (T_k,), classes per task or None)."""
        if self.logistic:
            return self.W, self.b, self.classes
        return self.W, self.df.intercept(self.W), None


def _value_counts(frame, task):
    vc = frame[task].value_counts(sort=False)
    return vc[vc > 0]          # (a categorical column lists every category)


def _virtual_task(G, c):
    """Rows M (r, m) and targets z (r,) with M^T M = G and M^T z = c: the
    quadratic of a task restricted to the working set (up to a constant)."""
    lam, V = np.linalg.eigh(G)
    keep = lam > lam.max(initial=0.0) * 1e-14
    M = np.sqrt(lam[keep])[:, None] * V[:, keep].T
    z = (V[:, keep].T @ c) / np.sqrt(lam[keep])
    return M, z


def _assign(sizes, n_workers):
    """Longest processing time first: partition indices per worker."""
    order = np.argsort(-np.asarray(sizes), kind="stable")
    loads = np.zeros(n_workers)
    out = [[] for _ in range(n_workers)]
    for i in order:
        k = int(np.argmin(loads))
        out[k].append(int(i))
        loads[k] += sizes[i]
    return [sorted(o) for o in out]


STRUCTURED = ("DirtyMultiTaskLasso", "MeanRegularizedMultiTask", "TaskGraphMultiTask",
              "TransferLasso")
STRUCTURED_LOGISTIC = ("DirtyMultiTaskLogisticRegression",
                       "MeanRegularizedMultiTaskLogisticRegression",
                       "TaskGraphMultiTaskLogisticRegression", "TransferLogisticRegression")
SUPPORTED = ("Lasso", "ElasticNet", "MultiTaskLasso", "MultiTaskElasticNet",
             "MultiTaskSparseGroupLasso", "MultiTaskLogisticRegression") + STRUCTURED \
    + STRUCTURED_LOGISTIC
MAX_GRAM_BYTES = 2 * 2 ** 30   # the structured models' Gram blocks (T p^2 floats) at most
MAX_REBUILDS = 10
POLL = 1.0            # seconds between checks that a shard's worker is still there
PAUSED_LIMIT = 30.0   # seconds a worker may stay paused (memory) while building a shard
REJOIN_WAIT = 30.0    # seconds to wait for a worker to (re)join when none is left


class _Lost(Exception):
    """A shard's worker left the cluster."""


class _Shards:
    """The actors of a fit, with their placement; every call goes through
    `map`/`call`, which rebuild a shard whose worker was lost."""

    def __init__(self, client, frames, groups, counts, order, tw_of, spec, workers):
        self.client, self.frames, self.groups, self.spec = client, frames, groups, spec
        self.tasks = [np.sort(np.concatenate([np.asarray(counts[i].index) for i in g]))
                      for g in groups]
        self.cols = [np.array([order[lab] for lab in tk]) for tk in self.tasks]
        self.tw = [None if tw_of is None else tw_of(tk) for tk in self.tasks]
        rows_of = {lab: int(n) for vc in counts for lab, n in vc.items()}
        self.task_rows = [np.array([rows_of[lab] for lab in tk]) for tk in self.tasks]
        self.rows = [int(r.sum()) for r in self.task_rows]
        self.W = self.b = None        # the driver's checkpoint (p, T), (T,), once known
        self.n_rebuilt = 0
        self.sent = self.received = 0     # bytes of numpy arrays to and from the shards
        self.where = [workers[k % len(workers)] for k in range(len(groups))]
        self._check_memory()
        self.actors = [None] * len(groups)
        # every shard's partitions computed and its actor built at once, each on its worker
        futs = [self._submit(k, self.where[k]) for k in range(len(groups))]
        for k, fut in enumerate(futs):
            try:
                self.actors[k] = self._built(k, fut)
            except _Lost as exc:
                self._rebuild(k, exc)

    def _check_memory(self):
        """Before anything is built: every shard's design (rows x features x
        8 bytes, what it keeps) must fit below its worker's pause threshold
        (distributed.worker.memory.pause x memory_limit) on top of what the
        worker uses now; else a RuntimeError with the numbers (a shard that
        does not fit would pause its worker or get it restarted, over and over)."""
        import dask
        frac = dask.config.get("distributed.worker.memory.pause", 0.8) or 1.0
        info = self.client.scheduler_info()["workers"]
        p = len(self.spec[2])
        for k, w in enumerate(self.where):
            limit = (info.get(w) or {}).get("memory_limit") or 0
            if not limit:
                continue
            used = (info[w].get("metrics") or {}).get("memory", 0)
            need = self.rows[k] * (p + 3) * 8
            if need > frac * limit - used:
                total = sum(self.rows) * (p + 3) * 8
                raise RuntimeError(
                    f"fit_distributed: the shard of worker {w} ({len(self.tasks[k])} tasks, "
                    f"{self.rows[k]} rows, {need / 2 ** 20:.0f} MiB as float64) does not fit "
                    f"below its pause threshold ({frac:.0%} of its {limit / 2 ** 20:.0f} MiB "
                    f"limit, {used / 2 ** 20:.0f} MiB in use); the whole data take "
                    f"{total / 2 ** 20:.0f} MiB over {len(info)} workers: use more workers, "
                    "or workers with more memory.")

    def _submit(self, k, worker):
        """The future of shard k's actor, built on worker from its partitions,
        which are computed there: the data never reach the client
        (allow_other_workers: a placement never waits for a worker that is gone)."""
        import cloudpickle
        task, target, features, sample_weight, fit_intercept, dtype, logistic = self.spec
        self.where[k] = worker
        graphs = cloudpickle.dumps([self.frames[i] for i in self.groups[k]])
        return self.client.submit(_Shard, graphs, self.task_rows[k], task, target, features,
                                  self.tasks[k], sample_weight, self.tw[k], fit_intercept,
                                  dtype, logistic, actor=True, workers=[worker],
                                  allow_other_workers=True)

    def _built(self, k, fut):
        """The actor of fut (building runs Dask tasks: _wait_tasks)."""
        actor = _wait_tasks(self.client, fut, [self.where[k]],
                            f"building the shard of {len(self.tasks[k])} tasks "
                            f"({self.rows[k]} rows)")
        who = self.client.who_has(fut).get(fut.key)
        if who:
            self.where[k] = who[0]
        return actor

    def _rebuild(self, k, exc):
        while True:
            self.n_rebuilt += 1
            if self.n_rebuilt > MAX_REBUILDS:
                raise RuntimeError(
                    f"fit_distributed: {MAX_REBUILDS} shards were rebuilt after lost workers "
                    f"and shard {k} failed again ({exc!r}); the fit cannot continue (a worker "
                    "that exceeds its memory limit is restarted by its nanny, which loses it "
                    "too: check the workers' memory).") from exc
            lost = self.where[k]
            # a worker restarted by its nanny (e.g. over its memory limit) joins
            # again under a new address within seconds: wait for one
            deadline = time.monotonic() + REJOIN_WAIT
            while True:
                live = [w for w in sorted(self.client.scheduler_info()["workers"]) if w != lost]
                if live or time.monotonic() > deadline:
                    break
                time.sleep(POLL)
            if not live:
                raise RuntimeError("fit_distributed: no worker is left to place the tasks of a "
                                   "lost worker; the fit cannot continue.") from exc
            try:
                self.actors[k] = self._built(k, self._submit(k, live[k % len(live)]))
                break
            except _Lost as again:
                exc = again
        if self.W is not None:
            self._result(k, self.actors[k].set_coef(
                self.W[:, self.cols[k]], None if self.b is None else self.b[self.cols[k]]))

    def _result(self, k, fut):
        """fut's result, polling that shard k's worker is still in the cluster
        (a call to a dead worker's actor would wait for ever; actor calls run
        on a paused worker)."""
        while True:
            try:
                return fut.result(timeout=POLL)
            except TimeoutError:
                if self.where[k] not in self.client.scheduler_info()["workers"]:
                    raise _Lost(f"worker {self.where[k]} left the cluster") from None

    def call(self, k, method, *args):
        for _ in range(MAX_REBUILDS + 1):
            try:
                return self._result(k, getattr(self.actors[k], method)(*args))
            except Exception as exc:     # noqa: BLE001 (a lost worker: rebuild, retry)
                if not _lost(exc):
                    raise
                self._rebuild(k, exc)
        raise RuntimeError("fit_distributed: unreachable")

    def map(self, method, *args):
        """method(*args) on every shard (started together), results in shard order."""
        return self.map_each(method, lambda k: args)

    def map_each(self, method, args_of):
        """method(*args_of(k)) on every shard k, results in shard order."""
        futs = []
        for k, a in enumerate(self.actors):
            args = args_of(k)
            self.sent += _nbytes(args)
            try:
                futs.append(getattr(a, method)(*args))
            except Exception:            # noqa: BLE001
                futs.append(None)
        out = []
        for k, f in enumerate(futs):
            try:
                if f is None:
                    raise _Lost("the call could not be sent")
                out.append(self._result(k, f))
            except Exception as exc:     # noqa: BLE001
                if not _lost(exc):
                    raise
                self._rebuild(k, exc)
                out.append(self.call(k, method, *args_of(k)))
            self.received += _nbytes(out[-1])
        return out


def _wait_tasks(client, fut, workers, what):
    """fut's result (a Dask task, or a list of them). A worker paused at its
    memory limit starts no task: when every worker of `workers` (None: the
    cluster's) has been paused for PAUSED_LIMIT seconds, a RuntimeError says
    so instead of waiting for ever; a worker of `workers` that left raises
    _Lost."""
    from distributed import wait
    futs = fut if isinstance(fut, list) else [fut]
    paused = None
    while True:
        try:
            wait(futs, timeout=POLL)
            out = client.gather(futs)
            return out if isinstance(fut, list) else out[0]
        except TimeoutError:
            pass
        info = client.scheduler_info()["workers"]
        for w in workers or []:
            if w not in info:
                raise _Lost(f"worker {w} left the cluster")
        watched = [info[w] for w in (workers or info)]
        if not watched or any(i.get("status") != "paused" for i in watched):
            paused = None
            continue
        paused = paused or time.monotonic()
        if time.monotonic() - paused > PAUSED_LIMIT:
            limit = min(i.get("memory_limit") or 0 for i in watched)
            raise RuntimeError(
                f"fit_distributed: {'worker ' + workers[0] if workers else 'every worker'} has "
                f"been paused at its memory limit ({limit / 2 ** 20:.0f} MiB) for "
                f"{PAUSED_LIMIT:.0f} s while {what}: the data do not fit in its memory with "
                "the partitions and the datafit's copies (about 3 times the data at the "
                "peak); use more workers, or workers with more memory.")


def _nbytes(obj):
    """Bytes of the numpy arrays (and floats) in a message."""
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(o) for o in obj)
    if isinstance(obj, (float, int, np.floating, np.integer)):
        return 8
    return 0


def _lost(exc):
    """The error of a lost worker (connection closed, actor gone), not one the
    computation raised."""
    from distributed.comm.core import CommClosedError
    text = str(exc).lower()
    return (isinstance(exc, (_Lost, CommClosedError, OSError))
            or "lost" in text or "closed" in text or "not found" in text)


def fit_distributed(estimator, ddf, client, *, task, target, features=None,
                    sample_weight=None, task_weight=None, dtype=np.float64, callback=None):
    """Fit `estimator` (one of SUPPORTED, as configured) on a dask DataFrame
    whose partitions hold whole tasks, on `client`'s workers. Returns the
    estimator fitted as fit(X, y, tasks=...) would leave it: coef_ (T, p),
    intercept_, tasks_, dual_gap_ (computed from the workers' statistics
    with the single-node formula), n_iter_ (outer iterations; for the
    logistic loss's group penalties, proximal Newton steps), n_rebuilt_
    (shards rebuilt after a lost worker), history_ (per outer iteration:
    bytes and times), worker_busy_, classes_ (the classifiers).

    Faults: the driver holds W and b (the checkpoint of every outer
    iteration); a shard whose worker is lost is rebuilt on a live worker
    from its partitions (recomputed from the DataFrame's graph, e.g. read
    again from Parquet) and warm-started with its columns of W, and the
    call is retried (at most MAX_REBUILDS times in a fit; then a
    RuntimeError says why).
    callback(info): called after every outer iteration with a dict
    (iteration, gap, target); returning True stops the fit."""
    name = type(estimator).__name__
    if name not in SUPPORTED or not type(estimator).__module__.startswith("mtlfast."):
        raise ValueError(f"fit_distributed supports {', '.join(SUPPORTED)}; {name} is not "
                         "supported on a cluster yet.")
    logistic = name == "MultiTaskLogisticRegression" or name in STRUCTURED_LOGISTIC
    estimator._validate_params()
    columns = list(ddf.columns)
    for col in [task, target] + ([sample_weight] if sample_weight else []):
        if col not in columns:
            raise ValueError(f"column {col!r} is not in the data (columns: {columns[:10]}).")
    if features is None:
        features = [c for c in columns if c not in (task, target, sample_weight)]
    missing = [c for c in features if c not in columns]
    if missing:
        raise ValueError(f"feature columns {missing[:5]} are not in the data.")
    import dask
    # the tasks of each partition, from the very partitions the shards will read
    # (a projected column can be partitioned differently: dask-expr fuses files)
    frames = ddf.to_delayed()
    counts = _wait_tasks(client, client.compute([dask.delayed(_value_counts)(f, task)
                                                 for f in frames]),
                         None, "reading the task labels of the partitions")
    seen = {}
    for i, vc in enumerate(counts):
        for lab in vc.index:
            if lab in seen:
                raise ValueError(f"task {lab!r} is split across partitions {seen[lab]} and {i}: "
                                 "every partition must hold whole tasks (repartition by task, "
                                 "or read a Parquet dataset partitioned by task).")
            seen[lab] = i
    labels, _ = check_tasks(np.array(list(seen)), len(seen))
    p = len(features)
    T = len(labels)
    structured = name in STRUCTURED or name in STRUCTURED_LOGISTIC
    if structured:
        if 8 * T * p * p > MAX_GRAM_BYTES:
            raise ValueError(f"fit_distributed: {name} on a cluster collects every task's Gram "
                             f"block on the driver ({8 * T * p * p / 2 ** 30:.1f} GiB for "
                             f"T = {T}, p = {p}), more than MAX_GRAM_BYTES "
                             f"({MAX_GRAM_BYTES / 2 ** 30:.0f} GiB).")
        from types import SimpleNamespace
        model = estimator._make_model(SimpleNamespace(n_features=p, n_tasks=T), labels)
        penalty = None
    else:
        penalty = estimator._make_penalty()
    pf = None if structured else check_penalty_factor(
        getattr(estimator, "penalty_factor", None), p)
    if pf is not None and (pf == 0).any():
        raise ValueError("fit_distributed: unpenalized features (penalty_factor 0) are not "
                         "supported on a cluster yet.")
    if pf is not None:
        penalty = penalty.with_factor(pf)
    if logistic and penalty is not None and not penalty.separable and penalty.lam1 == 0:
        raise ValueError("fit_distributed: a group penalty without a norm part (alpha * "
                         "l1_ratio = 0) is not supported on a cluster; use penalty='l2'.")
    sizes = [int(vc.sum()) for vc in counts]
    workers = sorted(client.scheduler_info()["workers"])
    groups = [g for g in _assign(sizes, len(workers)) if g]
    order = {lab: t for t, lab in enumerate(labels)}
    tw_of = None if task_weight is None else (lambda tk: [float(task_weight[t]) for t in tk])
    shards = _Shards(client, frames, groups, counts, order, tw_of,
                     (task, target, features, sample_weight, estimator.fit_intercept, dtype,
                      logistic), workers)
    cols = shards.cols
    W = np.zeros((p, T))
    estimator.history_ = []
    parts = None
    if structured and logistic:
        parts, gaps, n_iter = _structured_logistic(shards, model, p, T, estimator, callback)
        W = model.effective(parts)
    elif structured:
        parts, gaps, n_iter, _ = _structured(shards, model, p, T, estimator, callback)
        W = model.effective(parts)
    elif penalty.separable:
        gaps = np.zeros(T)
        n_iter = 0
        outs = shards.map("solve_separable", penalty, estimator.max_iter, estimator.tol, 1)
        for c, (Wk, gk, nk) in zip(cols, outs):
            W[:, c] = Wk
            gaps[c] = gk
            n_iter = max(n_iter, int(np.max(nk)))
        shards.W = W
    else:
        W, gaps, n_iter = _working_sets(shards, penalty, pf, p, T, estimator, callback,
                                        logistic)
    b = np.zeros(T)
    classes = [None] * T
    for c, out in zip(cols, shards.map("result")):
        b[c] = out[1]
        if logistic:
            for t, cls in zip(c, out[2]):
                classes[t] = cls
    # the single node's convergence check: each block's gap against tol x its scale
    from ._base import warn_if_not_converged
    scales = np.zeros(T)
    for c, sc in zip(cols, shards.map("task_scales")):
        scales[c] = sc
    eps = estimator.tol * (scales if len(gaps) == T and T > 1 else np.array([scales.sum()]))
    warn_if_not_converged(gaps, eps, estimator.max_iter, stacklevel=2)
    estimator.coef_ = W.T.copy()
    estimator.intercept_ = b
    estimator.tasks_ = labels
    estimator.n_iter_ = int(n_iter)
    estimator.dual_gap_ = float(np.sum(gaps))
    if len(gaps) > 1:
        estimator.task_dual_gaps_ = gaps
    estimator.n_features_in_ = p
    estimator.feature_names_in_ = np.asarray(features, dtype=object)
    estimator._per_task = True
    estimator._fit_1d = False
    if logistic:
        # the estimator's convention: one (2,) array when every task has the same classes
        estimator._task_classes = classes
        same = all(np.array_equal(cl, classes[0]) for cl in classes)
        estimator.classes_ = classes[0] if same else classes
        estimator._dtype = np.dtype(dtype)
    if parts is not None:
        estimator._set_parts(parts)
    if not logistic:
        # the certificate's bound, as the single node states it: tol sum_t ||y_eff,t||^2
        estimator.eps_ = float(eps.sum())
    estimator.shards_ = [list(labels[c]) for c in cols]
    # the workers' compute seconds per method, per shard (whole fit)
    estimator.worker_busy_ = shards.map("busy_times")
    estimator.n_rebuilt_ = shards.n_rebuilt
    return estimator


def _subproblem(cols, grams, A, T, pen_A, start, tol_abs, max_iter, max_rel=np.inf):
    """min over V (|A|, T) of sum_t 1/2 v_t^T G_t v_t - c_t^T v_t + pen_A(V)
    from the shards' Gram blocks (G_t, c_t) (grams[k]: shard k's tasks, in
    the order of cols[k]), solved on the driver by the compiled per-task
    kernel on virtual designs with the same quadratics (_virtual_task),
    warm-started from start, to the absolute gap tol_abs (at most max_rel
    relative to the virtual targets' sum of squares). Returns V."""
    sub, ysub = _virtual_datafit(cols, grams, T, len(A))
    res = solve_tasks(sub, pen_A, start.T, max_iter=max_iter,
                      tol=min(max_rel, tol_abs / max(ysub, 1e-300)), n_threads=1)
    return res.coef.T


def _virtual_datafit(cols, grams, T, m):
    """The per-task quadratics of the Gram blocks (grams[k]: shard k's tasks,
    in the order of cols[k]) as one QuadraticPerTask on virtual designs
    (_virtual_task; no intercepts: the blocks are of the centered design),
    and its targets' sum of squares."""
    rows, ys, codes = [], [], []
    for c, blocks in zip(cols, grams):
        for t, (G, cv) in zip(c, blocks):
            M, z = _virtual_task(G, cv)
            rows.append(M)
            ys.append(z)
            codes.append(np.full(len(z), t))
    codes = np.concatenate(codes)
    Xv = np.vstack(rows)
    yv = np.concatenate(ys)
    present = np.bincount(codes, minlength=T) > 0
    if not present.all():     # a task whose columns on A are all zero: one zero row
        miss = np.flatnonzero(~present)
        Xv = np.vstack([Xv, np.zeros((len(miss), m))])
        yv = np.concatenate([yv, np.zeros(len(miss))])
        codes = np.concatenate([codes, miss])
    by_task = np.argsort(codes, kind="stable")
    sub = QuadraticPerTask.from_row_weights(
        np.asfortranarray(Xv[by_task]), yv[by_task],
        np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=T))]),
        np.ones(len(yv)), False)
    return sub, float(yv @ yv)


def _structured(shards, model, p, T, est, callback):
    """The structured models (Gram form: the design study's "ship the Grams
    when T |A|^2 fits", with A all features): every task's Gram block once,
    the whole problem solved on the driver by the structured kernel on the
    virtual designs (the same objective up to a constant), then the exact
    global gap from the workers' per-task statistics and V = A^T r
    (quadratic_gaps_from: the single node's formula); while above the
    target, the driver's solve is tightened 10x from its last point.
    Returns (parts, gaps per block, outer iterations, ||y_t||^2 (T,))."""
    from .penalties.structured import quadratic_gaps_from
    from .solvers import solve_structured
    t0 = time.perf_counter()
    rec = dict(iteration=0, sent=-shards.sent, received=-shards.received)
    grams = shards.map("gram", np.arange(p))
    sub, _ = _virtual_datafit(shards.cols, grams, T, p)
    del grams
    vscale = sub.gap_scale()
    rec.update(t_gram=time.perf_counter() - t0, sent=rec["sent"] + shards.sent,
               received=rec["received"] + shards.received)
    history = est.history_
    history.append(rec)
    parts = [np.zeros(P.shape) for P in model.init_parts(p, T)]
    separable = model.separable and T > 1
    tol_in = None
    gaps = np.full(T if separable else 1, np.inf)
    yy = None
    for it in range(1, est.max_iter + 1):   # every solve is followed by its gap
        rec = dict(iteration=it, sent=-shards.sent, received=-shards.received)
        if yy is not None:
            t0 = time.perf_counter()
            res = solve_structured(sub, model, parts, max_iter=est.max_iter, tol=tol_in,
                                   n_threads=1)
            parts = [np.asarray(P, dtype=np.float64) for P in res.parts]
            rec["t_solve"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            W = model.effective(parts)
            shards.W = W             # the checkpoint: a rebuilt shard starts from it
            shards.map_each("set_coef", lambda k: (W[:, shards.cols[k]],))
            rec["t_update"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        rr, ry, yy, V = np.zeros(T), np.zeros(T), np.zeros(T), np.zeros((p, T))
        for c, (a, b_, y2, Vk) in zip(shards.cols, shards.map("task_stats")):
            rr[c], ry[c], yy[c], V[:, c] = a, b_, y2, Vk
        if not separable:
            rr, ry = np.array([rr.sum()]), np.array([ry.sum()])
        gaps = quadratic_gaps_from(model, parts, V, rr, ry)
        target = est.tol * (yy if separable else np.array([yy.sum()]))
        rec.update(gap=float(gaps.sum()), target=float(target.sum()),
                   t_gap=time.perf_counter() - t0, sent=rec["sent"] + shards.sent,
                   received=rec["received"] + shards.received)
        history.append(rec)
        if callback is not None and callback(dict(iteration=it, gap=float(gaps.sum()),
                                                  target=float(target.sum()))):
            break
        if np.all(gaps <= target):
            break
        # the driver's solve: its own gap (relative to the virtual targets) at
        # 0.3 x the certificate's target first, 10x tighter each round after
        vs = vscale if separable else np.array([vscale.sum()])
        tol_in = 0.3 * float(np.min(target / np.maximum(vs, 1e-300))) if tol_in is None \
            else tol_in / 10
    return parts, gaps, it, yy


def _line_search(shards, A, D, F0, pen_change):
    """The Newton step's alpha (armijo_step: the single node's test) for the
    step D on the rows A: the loss changes at alpha = 2^-k come from the
    workers HALVINGS_PER_ROUND at a time (one round trip; the full step
    usually passes), summed in shard order; the penalty's changes
    pen_change(alpha) on the driver."""
    def fetch(k0):
        k1 = min(k0 + HALVINGS_PER_ROUND, MAX_HALVINGS)
        lin, total = 0.0, np.zeros(k1 - k0)
        for part, ch in shards.map_each("trial", lambda k: (A, D[:, shards.cols[k]], k0, k1)):
            lin, total = lin + part, total + np.asarray(ch)
        return lin, list(total)
    lin, changes = fetch(0)
    decrease = lin + pen_change(1.0)

    def change(alpha):
        k = int(round(-np.log2(alpha)))
        while k >= len(changes):
            changes.extend(fetch(len(changes))[1])
        return changes[k] + pen_change(alpha)
    return armijo_step(decrease, F0, change)


def _working_sets(shards, penalty, pf, p, T, est, callback, logistic=False):
    """The coupled penalties' outer loop (module docstring). Returns (W, gaps,
    outer iterations)."""
    lam1, lam2 = penalty.lam1, penalty.lam2
    pfv = np.ones(p) if pf is None else pf
    from .penalties import NORM_L21
    whole_rows = penalty.kind != NORM_L21 or penalty.positive
    norms2 = np.zeros(p)
    for norms in shards.map("column_norms"):
        norms2 = np.maximum(norms2, norms)
    W = np.zeros((p, T))
    b = np.zeros(T)
    shards.W, shards.b = W, (b if logistic else None)
    ws_size = 0
    prev = None
    gap = np.inf
    history = est.history_
    for it in range(1, est.max_iter + 2):
        rec = dict(iteration=it, sent=-shards.sent, received=-shards.received)
        t0 = time.perf_counter()
        # the global gap from the shards' pieces, summed shard by shard (fixed order)
        first = second = scale = 0.0
        q = np.zeros(p)
        XtA = np.zeros((p, T)) if whole_rows else None
        for c_k, out in zip(shards.cols, shards.map("logistic_stats" if logistic else "stats",
                                                    lam2, pfv, whole_rows)):
            if logistic:
                first, scale = first + out[0], scale + out[1]
                b[c_k] = out[2]
            else:
                first, second, scale = first + out[0], second + out[1], scale + out[2]
            if whole_rows:
                XtA[:, c_k] = out[-1]
            else:
                q = q + out[-1]
        # N^D of an L2,1 row from its sum of squares; the others from the rows
        dn_rows = penalty.scaled_dual_norms(XtA) if whole_rows else np.sqrt(q) / pfv
        dn = dn_rows.max(initial=0.0)
        if logistic:
            # LogisticPerTask.gap: the dual at theta = -s c (y - p), s from the reduction
            s = 1.0 if dn <= lam1 else lam1 / max(dn, lam1)
            phi = 0.0
            for v in shards.map("logistic_dual", s):
                phi += v
            W2 = float(pfv @ np.sum(W * W, axis=1))
            F0 = first + penalty.value(W)
            gap = F0 - (-phi - 0.5 * lam2 * s * s * W2)
        else:
            gap = quadratic_gap_value(lam1, lam2, first, second,
                                      float(pfv @ np.sum(W * W, axis=1)),
                                      penalty.weighted_norms(W), dn)
        target = est.tol * scale
        rec.update(gap=gap, target=target, t_gap=time.perf_counter() - t0)
        history.append(rec)
        stop = callback is not None and callback(dict(iteration=it, gap=gap, target=target))
        # (after max_iter subproblems the gap is still taken: it certifies the W returned)
        if stop or gap <= target or it > est.max_iter:
            rec["sent"] += shards.sent
            rec["received"] += shards.received
            break
        # the working set: nonzero rows, then the nearest-to-active constraints
        # (the single-node solvers' scores: mtlfast._workset.build_ws's twin)
        nnz = int(np.sum(np.any(W != 0, axis=1)))
        ws_size = min(p, max(ws_size, P0, 2 * nnz))
        A = working_set_from_norms(penalty, norms2, W, dn_rows, dn, ws_size)
        # the same set as last time holds the support: its subproblem is
        # solved to the final tolerance at once (the single node's rule)
        same = prev is not None and np.array_equal(A, prev)
        prev = A
        pen_A = penalty if pf is None else penalty.with_factor(pf[A])
        rec["ws_size"] = len(A)
        t0 = time.perf_counter()
        grams = shards.map("newton_gram" if logistic else "gram", A)
        rec["t_gram"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if logistic:
            # one proximal Newton step on A (mtlfast.solvers._pn_structured's):
            # the model's Gram blocks, its solve, the line search on the workers
            V = _subproblem(shards.cols, grams, A, T, pen_A, W[A], NEWTON_FRACTION * gap,
                            MAX_INNER, max_rel=NEWTON_INNER_TOL)
        else:
            V = _subproblem(shards.cols, grams, A, T, pen_A, W[A],
                            INNER_FRACTION * (target if same else gap), est.max_iter)
        rec["t_solve"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if logistic:
            D = V - W[A]
            W_A = W[A]
            alpha = _line_search(shards, A, D, F0,
                                 lambda a: _pen_change(pen_A, W_A, W_A + a * D))
            W = W.copy()
            W[A] = W[A] + alpha * D
            for c_k, bk in zip(shards.cols, shards.map_each(
                    "step", lambda k: (A, D[:, shards.cols[k]], alpha))):
                b[c_k] = bk
            rec["alpha"] = alpha
        else:
            W = np.zeros((p, T))
            W[A] = V
            shards.map_each("set_rows", lambda k: (A, W[A][:, shards.cols[k]]))
        shards.W = W             # the checkpoint: a rebuilt shard starts from it
        rec["t_update"] = time.perf_counter() - t0
        rec["sent"] += shards.sent
        rec["received"] += shards.received
    return W, np.array([gap]), min(it, est.max_iter)


def _structured_logistic(shards, model, p, T, est, callback):
    """The structured classifiers: proximal Newton (the single node's,
    mtlfast.solvers._pn_structured) in Gram form. Each step: the exact global
    gap (penalties.structured.logistic_gaps' terms: per-task loss values,
    refitted intercepts and V = A^T (c (y - p)) from the workers, the dual
    scalings from model.dual_terms, then per-task sums of the conjugate at
    the scaled point), the Newton model's Gram blocks on all features (T p^2
    floats per step), its solve on the driver by the structured kernel, and
    the Armijo line search with the workers' loss changes. Returns (parts,
    gaps per block, Newton steps)."""
    from .solvers import solve_structured
    from .solvers._pn_structured import _value_change
    A = np.arange(p)
    parts = [np.zeros(P.shape) for P in model.init_parts(p, T)]
    W = model.effective(parts)
    b = np.zeros(T)
    shards.W, shards.b = W, b
    separable = model.separable and T > 1
    history = est.history_
    gaps = np.full(T if separable else 1, np.inf)
    n_iter = 0
    for it in range(1, est.max_iter + 2):
        rec = dict(iteration=it, sent=-shards.sent, received=-shards.received)
        t0 = time.perf_counter()
        loss, scale, V = np.zeros(T), np.zeros(T), np.zeros((p, T))
        for c, (lt, st, bk, Vk) in zip(shards.cols, shards.map("logistic_task_stats")):
            loss[c], scale[c], b[c], V[:, c] = lt, st, bk, Vk
        s, extra, value = model.dual_terms(V, parts)
        s_t = s if separable else np.full(T, s[0])
        phi = np.zeros(T)
        for c, ph in zip(shards.cols, shards.map_each(
                "logistic_dual_tasks", lambda k: (s_t[shards.cols[k]],))):
            phi[c] = ph
        if separable:
            gaps = loss + value + phi + extra
            target = est.tol * scale
        else:
            gaps = np.array([loss.sum() + value[0] + phi.sum() + extra[0]])
            target = np.array([est.tol * scale.sum()])
        rec.update(gap=float(gaps.sum()), target=float(target.sum()),
                   t_gap=time.perf_counter() - t0)
        history.append(rec)
        stop = callback is not None and callback(dict(iteration=it, gap=float(gaps.sum()),
                                                      target=float(target.sum())))
        if stop or np.all(gaps <= target) or n_iter >= est.max_iter:
            rec["sent"] += shards.sent
            rec["received"] += shards.received
            break
        t0 = time.perf_counter()
        grams = shards.map("newton_gram", A)
        sub, _ = _virtual_datafit(shards.cols, grams, T, p)
        del grams
        rec["t_gram"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        tol_in = min(NEWTON_INNER_TOL, NEWTON_FRACTION * float(gaps.sum())
                     / max(float(sub.gap_scale().sum()), 1e-300))
        res = solve_structured(sub, model, parts, max_iter=MAX_INNER, tol=tol_in, n_threads=1)
        new = [np.asarray(P, dtype=np.float64) for P in res.parts]
        D = [Nk - Pk for Nk, Pk in zip(new, parts)]
        DW = model.effective(new) - W
        rec["t_solve"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        F0 = float(loss.sum()) + model.value(parts)
        alpha = _line_search(shards, A, DW, F0,
                             lambda a: _value_change(model, parts, D, a))
        for c, bk in zip(shards.cols, shards.map_each(
                "step", lambda k: (A, DW[:, shards.cols[k]], alpha))):
            b[c] = bk
        parts = [Pk + alpha * Dk for Pk, Dk in zip(parts, D)]
        W = W + alpha * DW               # the workers' W, bit for bit (A: all features)
        shards.W = W                      # the checkpoint: a rebuilt shard starts from it
        n_iter += 1
        rec.update(alpha=alpha, t_update=time.perf_counter() - t0,
                   sent=rec["sent"] + shards.sent, received=rec["received"] + shards.received)
    return parts, gaps, n_iter
