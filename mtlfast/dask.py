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
  constant. Reductions run in a fixed order (shard by shard), so reruns give
  the same bits.
Other models raise a clear error.
"""
import numpy as np

from .datafits import QuadraticPerTask, check_tasks
from .penalties.factors import check_penalty_factor, quadratic_gap_value
from .reference.pn_logistic import working_set_from_norms
from .solvers import solve_tasks

P0 = 10               # smallest working set
INNER_FRACTION = 0.3  # the subproblem is solved to this share of the outer gap


class _Shard:
    """One worker's tasks: their per-task datafit (centered and weighted as
    the single-node fit does), coefficient columns W (p, T_k) and residual."""

    def __init__(self, frames, task, target, features, tasks, sample_weight, task_weight,
                 fit_intercept, dtype):
        import pandas as pd
        df = pd.concat(list(frames)) if len(frames) else None
        labels = np.asarray(df[task].to_numpy())
        codes = np.searchsorted(np.asarray(tasks), labels)
        self.tasks = np.asarray(tasks)
        X = df[list(features)].to_numpy(dtype=dtype)
        y = df[target].to_numpy(dtype=dtype)
        sw = None if sample_weight is None else df[sample_weight].to_numpy(dtype=np.float64)
        tw = None if task_weight is None else np.asarray(task_weight, dtype=np.float64)
        self.df = QuadraticPerTask(X, y, codes, len(tasks), sw, tw, fit_intercept)
        self.W = np.zeros((self.df.n_features, len(tasks)))
        self.r = self.df.y_eff.astype(np.float64)
        self.cols = None          # this shard's columns of the whole W (set_columns)

    def set_columns(self, cols):
        self.cols = np.asarray(cols)
        return True

    def column_norms(self):
        """max over this shard's tasks of ||x_tj||^2, per feature (p,)."""
        return self.df.curvatures().max(axis=1)

    def set_rows(self, A, values):
        """W = 0 outside the rows A, W[A] = values (|A|, T_k): the driver sends
        only the working set's rows."""
        W = np.zeros_like(self.W)
        W[np.asarray(A)] = values
        return self.set_coef(W)

    def set_coef(self, W):
        """Replace the coefficient columns (p, T_k) and recompute the residual."""
        self.W = np.array(W, dtype=np.float64)
        self.r = self.df.residual(self.W)
        return True

    def stats(self, lam2, pf, rows=False):
        """(||r||^2, <r, y_eff>, ||y_eff||^2, sum_t XtA_tj^2 (p,)) with
        XtA = A_t^T r_t - lam2 pf W_t: this shard's part of the global gap;
        rows: XtA itself (p, T_k) instead of its row sums of squares (the
        dual norms that are not a function of them: sparse-group, positive)."""
        y = self.df.y_eff.astype(np.float64)
        XtA = self.df.xtr(self.r) - lam2 * pf[:, None] * self.W
        return (float(self.r @ self.r), float(self.r @ y), float(y @ y),
                XtA if rows else np.sum(XtA * XtA, axis=1))

    def gram(self, A):
        """Per task: (X_t[:, A]^T X_t[:, A], X_t[:, A]^T y_t) of the effective
        (centered, weighted) design."""
        X = self.df.design_dense()[:, A]
        y = self.df.y_eff.astype(np.float64)
        return [(X[s].T @ X[s], X[s].T @ y[s]) for s in self.df.task_slices()]

    def solve_separable(self, penalty, max_iter, tol, n_threads):
        """Separable penalties: this shard's tasks are problems of their own."""
        res = solve_tasks(self.df, penalty, None, max_iter=max_iter, tol=tol,
                          n_threads=n_threads)
        self.W = res.coef.T.astype(np.float64)
        self.r = self.df.residual(self.W)
        return self.W, np.atleast_1d(res.gaps), np.asarray(res.n_iter)

    def result(self):
        """(W (p, T_k), intercepts (T_k,))."""
        return self.W, self.df.intercept(self.W)


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


SUPPORTED = ("Lasso", "ElasticNet", "MultiTaskLasso", "MultiTaskElasticNet",
             "MultiTaskSparseGroupLasso")
MAX_REBUILDS = 10
POLL = 1.0            # seconds between checks that a shard's worker is still there


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
        self.W = None                 # the driver's checkpoint (p, T), once known
        self.n_rebuilt = 0
        self.sent = self.received = 0     # bytes of numpy arrays to and from the shards
        self.where = [workers[k % len(workers)] for k in range(len(groups))]
        self.actors = [None] * len(groups)
        for k in range(len(groups)):
            self.actors[k] = self._build(k, self.where[k])
        for a, c in zip(self.actors, self.cols):
            a.set_columns(c).result()

    def _build(self, k, worker):
        task, target, features, sample_weight, fit_intercept, dtype = self.spec
        where = [worker]
        # the partitions are read on the shard's worker: data never reach the client
        # (allow_other_workers: a placement never waits for a worker that is gone)
        data = self.client.compute([self.frames[i] for i in self.groups[k]], workers=where,
                                   allow_other_workers=True)
        fut = self.client.submit(_Shard, data, task, target, features, self.tasks[k],
                                 sample_weight, self.tw[k], fit_intercept, dtype,
                                 actor=True, workers=where, allow_other_workers=True)
        actor = fut.result()
        self.where[k] = self.client.who_has(fut)[fut.key][0] if self.client.who_has(
            fut).get(fut.key) else worker
        return actor

    def _rebuild(self, k, exc):
        self.n_rebuilt += 1
        if self.n_rebuilt > MAX_REBUILDS:
            raise RuntimeError(f"fit_distributed: {MAX_REBUILDS} shards were rebuilt after lost "
                               f"workers and shard {k} failed again ({exc!r}); the fit cannot "
                               "continue.") from exc
        lost = self.where[k]
        live = [w for w in sorted(self.client.scheduler_info()["workers"]) if w != lost]
        if not live:
            raise RuntimeError("fit_distributed: no worker is left to place the tasks of a "
                               "lost worker; the fit cannot continue.") from exc
        self.actors[k] = self._build(k, live[k % len(live)])
        self._result(k, self.actors[k].set_columns(self.cols[k]))
        if self.W is not None:
            self._result(k, self.actors[k].set_coef(self.W[:, self.cols[k]]))

    def _result(self, k, fut):
        """fut's result, polling that shard k's worker is still in the cluster
        (a call to a dead worker's actor would wait for ever)."""
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
    with the single-node formula), n_iter_ (outer iterations), n_rebuilt_
    (shards rebuilt after a lost worker).

    Faults: the driver holds W (the checkpoint of every outer iteration); a
    shard whose worker is lost is rebuilt on a live worker from its
    partitions (recomputed from the DataFrame's graph, e.g. read again from
    Parquet) and warm-started with its columns of W, and the call is retried
    (at most MAX_REBUILDS times in a fit; then a RuntimeError says why).
    callback(info): called after every outer iteration with a dict
    (iteration, gap, target); returning True stops the fit."""
    name = type(estimator).__name__
    if name not in SUPPORTED:
        raise ValueError(f"fit_distributed supports {', '.join(SUPPORTED)}; {name} is not "
                         "supported on a cluster yet.")
    columns = list(ddf.columns)
    for col in [task, target] + ([sample_weight] if sample_weight else []):
        if col not in columns:
            raise ValueError(f"column {col!r} is not in the data (columns: {columns[:10]}).")
    if features is None:
        features = [c for c in columns if c not in (task, target, sample_weight)]
    missing = [c for c in features if c not in columns]
    if missing:
        raise ValueError(f"feature columns {missing[:5]} are not in the data.")
    # which tasks each partition holds (small: labels and counts only)
    import dask
    # the tasks of each partition, from the very partitions the shards will read
    # (a projected column can be partitioned differently: dask-expr fuses files)
    frames = ddf.to_delayed()
    counts = client.compute([dask.delayed(_value_counts)(f, task) for f in frames], sync=True)
    seen = {}
    for i, vc in enumerate(counts):
        for lab in vc.index:
            if lab in seen:
                raise ValueError(f"task {lab!r} is split across partitions {seen[lab]} and {i}: "
                                 "every partition must hold whole tasks (repartition by task, "
                                 "or read a Parquet dataset partitioned by task).")
            seen[lab] = i
    labels, _ = check_tasks(np.array(list(seen)), len(seen))
    sizes = [int(vc.sum()) for vc in counts]
    workers = sorted(client.scheduler_info()["workers"])
    groups = [g for g in _assign(sizes, len(workers)) if g]
    order = {lab: t for t, lab in enumerate(labels)}
    tw_of = None if task_weight is None else (lambda tk: [float(task_weight[t]) for t in tk])
    shards = _Shards(client, frames, groups, counts, order, tw_of,
                     (task, target, features, sample_weight, estimator.fit_intercept, dtype),
                     workers)
    cols = shards.cols
    p = len(features)
    T = len(labels)
    penalty = estimator._make_penalty()
    pf = check_penalty_factor(getattr(estimator, "penalty_factor", None), p)
    if pf is not None and (pf == 0).any():
        raise ValueError("fit_distributed: unpenalized features (penalty_factor 0) are not "
                         "supported on a cluster yet.")
    if pf is not None:
        penalty = penalty.with_factor(pf)
    W = np.zeros((p, T))
    if penalty.separable:
        gaps = np.zeros(T)
        n_iter = 0
        outs = shards.map("solve_separable", penalty, estimator.max_iter, estimator.tol, 1)
        for c, (Wk, gk, nk) in zip(cols, outs):
            W[:, c] = Wk
            gaps[c] = gk
            n_iter = max(n_iter, int(np.max(nk)))
        shards.W = W
    else:
        W, gaps, n_iter = _working_sets(shards, penalty, pf, p, T, estimator, callback)
    b = np.zeros(T)
    for c, out in zip(cols, shards.map("result")):
        b[c] = out[1]
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
    estimator.shards_ = [list(labels[c]) for c in cols]
    estimator.n_rebuilt_ = shards.n_rebuilt
    return estimator


def _working_sets(shards, penalty, pf, p, T, est, callback):
    """The coupled penalties' outer loop (module docstring). Returns (W, gaps,
    outer iterations)."""
    lam1, lam2 = penalty.lam1, penalty.lam2
    pfv = np.ones(p) if pf is None else pf
    from .penalties import NORM_L21
    whole_rows = penalty.kind != NORM_L21 or penalty.positive
    col2 = np.zeros(p)
    for norms in shards.map("column_norms"):
        col2 = np.maximum(col2, norms)
    W = np.zeros((p, T))
    shards.W = W
    ws_size = 0
    gap = np.inf
    history = []
    import time
    for it in range(1, est.max_iter + 1):
        rec = dict(iteration=it, sent=-shards.sent, received=-shards.received)
        t0 = time.perf_counter()
        # the global gap from the shards' pieces, summed shard by shard (fixed order)
        R2 = RY = yy = 0.0
        q = np.zeros(p)
        XtA = np.zeros((p, T)) if whole_rows else None
        for c_k, (a, b_, c, qk) in zip(shards.cols,
                                       shards.map("stats", lam2, pfv, whole_rows)):
            R2, RY, yy = R2 + a, RY + b_, yy + c
            if whole_rows:
                XtA[:, c_k] = qk
            else:
                q = q + qk
        rec["t_gap"] = time.perf_counter() - t0
        # N^D of an L2,1 row from its sum of squares; the others from the rows
        dn_rows = penalty.scaled_dual_norms(XtA) if whole_rows else np.sqrt(q) / pfv
        dn = dn_rows.max(initial=0.0)
        gap = quadratic_gap_value(lam1, lam2, R2, RY, float(pfv @ np.sum(W * W, axis=1)),
                                  penalty.weighted_norms(W), dn)
        rec.update(gap=gap, target=est.tol * yy)
        history.append(rec)
        if callback is not None and callback(dict(iteration=it, gap=gap,
                                                  target=est.tol * yy)):
            break
        if gap <= est.tol * yy:
            rec["sent"] += shards.sent
            rec["received"] += shards.received
            break
        # the working set: nonzero rows, then the nearest-to-active constraints
        # (the single-node solvers' scores: mtlfast._workset.build_ws's twin)
        nnz = int(np.sum(np.any(W != 0, axis=1)))
        ws_size = min(p, max(ws_size, P0, 2 * nnz))
        A = working_set_from_norms(penalty, col2, W, dn_rows, dn, ws_size)
        ws_size = min(p, 2 * ws_size)
        # the subproblem on A from the shards' Gram blocks
        t0 = time.perf_counter()
        rows, ys, codes = [], [], []
        for c, grams in zip(shards.cols, shards.map("gram", A)):
            for t, (G, cv) in zip(c, grams):
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
            Xv = np.vstack([Xv, np.zeros((len(miss), len(A)))])
            yv = np.concatenate([yv, np.zeros(len(miss))])
            codes = np.concatenate([codes, miss])
        by_task = np.argsort(codes, kind="stable")
        sub = QuadraticPerTask.from_row_weights(
            np.asfortranarray(Xv[by_task]), yv[by_task],
            np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=T))]),
            np.ones(len(yv)), False)
        pen_A = penalty if pf is None else penalty.with_factor(pf[A])
        ysub = float(yv @ yv)
        rec["t_gram"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = solve_tasks(sub, pen_A, W[A].T, max_iter=est.max_iter,
                          tol=INNER_FRACTION * gap / max(ysub, 1e-300), n_threads=1)
        rec["t_solve"] = time.perf_counter() - t0
        rec["ws_size"] = len(A)
        t0 = time.perf_counter()
        W = np.zeros((p, T))
        W[A] = res.coef.T
        shards.W = W             # the checkpoint: a rebuilt shard starts from it
        shards.map_each("set_rows", lambda k: (A, W[A][:, shards.cols[k]]))
        rec["t_update"] = time.perf_counter() - t0
        rec["sent"] += shards.sent
        rec["received"] += shards.received
    est.history_ = history
    return W, np.array([gap]), it
