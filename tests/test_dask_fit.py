"""mtlfast.dask.fit_distributed on a LocalCluster of 2 worker processes:
equal to the single-node fit (coefficients within the certificate, the same
gap formula), bit-identical reruns, clear errors for bad inputs."""
import numpy as np
import pytest

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import mtlfast  # noqa: E402
from mtlfast.dask import fit_distributed  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _frames(seed, T, p, sizes, target):
    """Per-task frames (features, y = target(z, t), weights w, task label),
    the whole pandas frame and a dask frame with one task per partition."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(*sizes, T)
    W = rng.standard_normal((p, T)) * (rng.random((p, 1)) < 0.3)
    frames = []
    for t, n in enumerate(sizes):
        X = rng.standard_normal((n, p))
        f = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
        f["y"] = target(X @ W[:, t], rng, t)
        f["w"] = rng.uniform(0.5, 2.0, n)
        f["task"] = f"site{t}"
        frames.append(f)
    df = pd.concat(frames, ignore_index=True)
    ddf = dd.concat([dd.from_pandas(f, npartitions=1) for f in frames])
    return df, ddf, [f"x{j}" for j in range(p)]


def _data(seed=0, T=6, p=30):
    return _frames(seed, T, p, (20, 60),
                   lambda z, rng, t: z + 0.3 * rng.standard_normal(len(z)) + t)


def _ring(T):
    """A ring of tasks with unequal weights (the graph models' similarity)."""
    A = np.zeros((T, T))
    for t in range(T):
        A[t, (t + 1) % T] = A[(t + 1) % T, t] = 1.0 + 0.5 * t
    return A


def _single(est, df, features, sample_weight=None):
    X = df[features].to_numpy()
    return est.fit(X, df["y"].to_numpy(), tasks=df["task"].to_numpy(),
                   sample_weight=None if sample_weight is None else df[sample_weight].to_numpy())


@pytest.mark.parametrize("make", [lambda: mtlfast.MultiTaskLasso(0.05, tol=1e-10),
                                  lambda: mtlfast.MultiTaskElasticNet(0.05, l1_ratio=0.6,
                                                                      tol=1e-10),
                                  lambda: mtlfast.MultiTaskSparseGroupLasso(0.05, tau=0.4,
                                                                            tol=1e-10),
                                  lambda: mtlfast.MultiTaskLasso(0.05, positive=True,
                                                                 tol=1e-10),
                                  lambda: mtlfast.Lasso(0.03, tol=1e-10),
                                  lambda: mtlfast.ElasticNet(0.03, l1_ratio=0.5, tol=1e-10),
                                  lambda: mtlfast.DirtyMultiTaskLasso(0.05, 0.04, tol=1e-10),
                                  lambda: mtlfast.MeanRegularizedMultiTask(
                                      0.03, 0.05, penalty_factor=np.linspace(0.5, 2, 30),
                                      tol=1e-10),
                                  lambda: mtlfast.TaskGraphMultiTask(
                                      0.05, graph_alpha=0.2, tol=1e-10,
                                      similarity=_ring(6)),
                                  lambda: mtlfast.TransferLasso(
                                      0.04, beta=0.3, tol=1e-10,
                                      coef_source=np.random.default_rng(9).standard_normal(
                                          (6, 30)) * (np.arange(30) < 8))],
                         ids=["mtlasso", "mtenet", "sgl", "mtlasso-positive", "lasso", "enet",
                              "dirty", "meanreg-factor", "graph", "transfer"])
def test_equals_the_single_node_fit(client, make):
    df, ddf, features = _data()
    one = _single(make(), df, features, "w")
    dist = fit_distributed(make(), ddf, client, task="task", target="y", features=features,
                           sample_weight="w")
    np.testing.assert_array_equal(dist.tasks_, one.tasks_)
    # both within their certificates of the same optimum: objective values agree
    # to the sum of the gaps, and the gaps are below tol x ||y_eff||^2
    np.testing.assert_allclose(dist.coef_, one.coef_, rtol=0, atol=1e-5)
    np.testing.assert_allclose(dist.intercept_, one.intercept_, rtol=0, atol=1e-5)
    assert dist.dual_gap_ <= one.eps_ * 1.0001
    np.testing.assert_allclose(dist.eps_, one.eps_, rtol=1e-12)
    # a rerun gives the same bits (fixed reduction order)
    again = fit_distributed(make(), ddf, client, task="task", target="y", features=features,
                            sample_weight="w")
    np.testing.assert_array_equal(again.coef_, dist.coef_)
    # the fitted model predicts as a single-node one
    X = df[features].to_numpy()
    np.testing.assert_allclose(dist.predict(df[features], tasks=df["task"].to_numpy()),
                               one.predict(X, tasks=df["task"].to_numpy()), atol=1e-4)


def _labels(seed=0, T=6, p=30):
    """Per-task binary labels (string classes, one task with other classes)."""
    def target(z, rng, t):
        z = z + 0.5 * rng.standard_normal(len(z)) + 0.3 * t
        return np.where(z > 0, "yes", "no") if t else np.where(z > 0, "b", "a")
    return _frames(seed, T, p, (40, 90), target)


@pytest.mark.parametrize("kw", [dict(penalty="l21"), dict(penalty="sparse-group", tau=0.3),
                                dict(penalty="l21+l2", l1_ratio=0.7),
                                dict(penalty="l21", positive=True),
                                dict(penalty="l1"), dict(penalty="elasticnet", l1_ratio=0.5)],
                         ids=["l21", "sgl", "l21+l2", "l21-positive", "l1", "enet"])
def test_logistic_equals_the_single_node_fit(client, kw):
    df, ddf, features = _labels()
    make = lambda: mtlfast.MultiTaskLogisticRegression(0.02, tol=1e-10, **kw)  # noqa: E731
    X = df[features].to_numpy()
    one = make().fit(X, df["y"].to_numpy(), tasks=df["task"].to_numpy(),
                     sample_weight=df["w"].to_numpy())
    dist = fit_distributed(make(), ddf, client, task="task", target="y", features=features,
                           sample_weight="w")
    np.testing.assert_array_equal(dist.tasks_, one.tasks_)
    for a, b in zip(dist._task_classes, one._task_classes):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(dist.coef_, one.coef_, rtol=0, atol=1e-4)
    np.testing.assert_allclose(dist.intercept_, one.intercept_, rtol=0, atol=1e-4)
    scale = float(np.log(2.0) * len(one.tasks_))
    assert dist.dual_gap_ <= 1e-10 * scale * 1.0001
    assert np.any(dist.coef_ != 0)
    # the distributed gap is the single-node certificate at the distributed (W, b)
    datafit, _, _ = make()._validate(X, df["y"].to_numpy(), df["w"].to_numpy(),
                                     df["task"].to_numpy(), None)
    pen = make()._make_penalty()
    if pen.separable:
        np.testing.assert_allclose(dist.dual_gap_, dist.task_dual_gaps_.sum())
    else:
        g = datafit.gap(dist.coef_.T, dist.intercept_, pen)
        np.testing.assert_allclose(dist.dual_gap_, g, rtol=1e-6, atol=1e-13)
    again = fit_distributed(make(), ddf, client, task="task", target="y", features=features,
                            sample_weight="w")
    np.testing.assert_array_equal(again.coef_, dist.coef_)
    np.testing.assert_array_equal(dist.predict(df[features], tasks=df["task"].to_numpy()),
                                  one.predict(X, tasks=df["task"].to_numpy()))


@pytest.mark.parametrize("make", [
    lambda: mtlfast.DirtyMultiTaskLogisticRegression(0.02, 0.03, tol=1e-10),
    lambda: mtlfast.MeanRegularizedMultiTaskLogisticRegression(0.02, 0.03, tol=1e-10),
    lambda: mtlfast.TaskGraphMultiTaskLogisticRegression(0.02, graph_alpha=0.1,
                                                         similarity=_ring(6), tol=1e-10),
    lambda: mtlfast.TransferLogisticRegression(
        0.02, beta=0.4, coef_source=np.full((6, 30), 0.1), tol=1e-10)],
    ids=["dirty", "meanreg", "graph", "transfer"])
def test_structured_classifiers_equal_the_single_node_fit(client, make):
    from mtlfast.penalties.structured import logistic_gaps
    df, ddf, features = _labels(seed=2)
    X = df[features].to_numpy()
    one = make().fit(X, df["y"].to_numpy(), tasks=df["task"].to_numpy(),
                     sample_weight=df["w"].to_numpy())
    dist = fit_distributed(make(), ddf, client, task="task", target="y", features=features,
                           sample_weight="w")
    np.testing.assert_allclose(dist.coef_, one.coef_, rtol=0, atol=1e-4)
    np.testing.assert_allclose(dist.intercept_, one.intercept_, rtol=0, atol=1e-4)
    assert np.any(dist.coef_ != 0)
    assert dist.dual_gap_ <= 1e-10 * np.log(2.0) * len(one.tasks_) * 1.0001
    # the gap is the single node's certificate at the distributed parts and intercepts
    datafit, _, _ = make()._validate(X, df["y"].to_numpy(), df["w"].to_numpy(),
                                     df["task"].to_numpy(), None)
    g = logistic_gaps(make()._make_model(datafit, one.tasks_), datafit, dist._get_parts(),
                      dist.intercept_)
    np.testing.assert_allclose(dist.dual_gap_, g.sum(), rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(dist.predict(df[features], tasks=df["task"].to_numpy()),
                                  one.predict(X, tasks=df["task"].to_numpy()))


@pytest.mark.parametrize("max_iter", [2, 1000])
def test_the_gap_is_the_single_node_formula(client, max_iter):
    """The distributed gap at the distributed W equals the NumPy certificate of
    the single-node datafit at that W; stopped by max_iter too (the gap of the
    W returned, with the single node's ConvergenceWarning)."""
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    df, ddf, features = _data(seed=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = fit_distributed(mtlfast.MultiTaskLasso(0.05, tol=1e-6, max_iter=max_iter), ddf,
                              client, task="task", target="y", features=features)
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught) == (max_iter == 2)
    assert est.n_iter_ <= max_iter
    one = mtlfast.MultiTaskLasso(0.05)
    datafit = one._per_task_datafit(df[features].to_numpy(), df["y"].to_numpy(), None,
                                    df["task"].to_numpy(), None)[0]
    from mtlfast.penalties.factors import quadratic_gaps
    g = quadratic_gaps(datafit, est.coef_.T, one._make_penalty())
    np.testing.assert_allclose(est.dual_gap_, g.sum(), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("make", [lambda: mtlfast.DirtyMultiTaskLasso(0.05, 0.04, tol=1e-6),
                                  lambda: mtlfast.TransferLasso(
                                      0.04, beta=0.3, tol=1e-6,
                                      coef_source=np.ones((6, 30)))], ids=["dirty", "transfer"])
def test_the_structured_gap_is_the_single_node_formula(client, make):
    """The structured models' distributed gap (per block) equals the NumPy
    certificate of the single-node datafit at the distributed parts; the
    parts add up to coef_."""
    from mtlfast.penalties.structured import quadratic_gaps
    df, ddf, features = _data(seed=4)
    est = fit_distributed(make(), ddf, client, task="task", target="y", features=features)
    one = make()
    datafit = one._per_task_datafit(df[features].to_numpy(), df["y"].to_numpy(), None,
                                    df["task"].to_numpy(), None)[0]
    parts = est._get_parts()
    np.testing.assert_allclose(parts[0] + parts[1] if len(parts) == 2 else parts[0],
                               est.coef_.T, rtol=0, atol=1e-12)
    g = quadratic_gaps(one._make_model(datafit, est.tasks_), datafit, parts)
    np.testing.assert_allclose(est.dual_gap_, g.sum(), rtol=1e-6, atol=1e-12)
    if len(g) > 1:
        np.testing.assert_allclose(est.task_dual_gaps_, g, rtol=1e-6, atol=1e-12)


def test_bad_inputs_are_clear_errors(client):
    df, ddf, features = _data()
    split = dd.from_pandas(df, npartitions=3)     # tasks cut across partitions
    with pytest.raises(ValueError, match="split across partitions"):
        fit_distributed(mtlfast.MultiTaskLasso(0.1), split, client, task="task", target="y",
                        features=features)
    with pytest.raises(ValueError, match="not in the data"):
        fit_distributed(mtlfast.MultiTaskLasso(0.1), ddf, client, task="task", target="yy")
    from sklearn.linear_model import Lasso
    for est in (Lasso(0.1), mtlfast.MultiTaskLassoCV()):
        with pytest.raises(ValueError, match="not supported on a cluster"):
            fit_distributed(est, ddf, client, task="task", target="y")
    with pytest.raises(ValueError, match="alpha"):
        fit_distributed(mtlfast.MultiTaskLasso(-1.0), ddf, client, task="task", target="y",
                        features=features)
    # data the single node refuses are refused by the workers, with its message
    bad = df.copy()
    bad.loc[3, "x2"] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit_distributed(mtlfast.MultiTaskLasso(0.1), _by_task(bad), client, task="task",
                        target="y", features=features)
    bad = df.copy()
    bad["x2"] = "a"
    with pytest.raises(ValueError):
        fit_distributed(mtlfast.MultiTaskLasso(0.1), _by_task(bad), client, task="task",
                        target="y", features=features)
    one_class = df.assign(y=np.where(df["task"] == "site2", "u", "v"))
    one_class.loc[one_class.index[:5], "y"] = "u"
    with pytest.raises(ValueError, match="only one class"):
        fit_distributed(mtlfast.MultiTaskLogisticRegression(0.1), _by_task(one_class),
                        client, task="task", target="y", features=features)
    with pytest.raises(ValueError, match="no task|empty|no rows"):
        fit_distributed(mtlfast.MultiTaskLasso(0.1), _by_task(df.iloc[:0]), client,
                        task="task", target="y", features=features)


def _by_task(df):
    """One partition per task (an empty frame: one empty partition)."""
    parts = [g for _, g in df.groupby("task")] or [df]
    return dd.concat([dd.from_pandas(g, npartitions=1) for g in parts])


@pytest.mark.parametrize("kind", ["mtlasso", "logistic-l21", "dirty-logistic"])
def test_a_worker_killed_mid_fit_does_not_lose_the_fit(kind):
    """A worker process killed after the second outer iteration: its shard is
    rebuilt on a live worker from the partitions, warm-started from the
    driver's W (and b), and the fit ends at the single-node optimum."""
    import os
    logistic = kind != "mtlasso"
    df, ddf, features = (_labels if logistic else _data)(seed=5, T=8, p=60)
    make = {"mtlasso": lambda: mtlfast.MultiTaskLasso(0.02, tol=1e-10),
            "logistic-l21": lambda: mtlfast.MultiTaskLogisticRegression(0.01, tol=1e-10),
            "dirty-logistic": lambda: mtlfast.DirtyMultiTaskLogisticRegression(
                0.01, 0.02, tol=1e-10)}[kind]
    cluster = distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    c = distributed.Client(cluster)
    try:
        killed = []

        async def die():          # a coroutine: client.run(wait=False) takes only those
            os._exit(1)

        def kill_one(info):
            if info["iteration"] == 2 and not killed:
                victim = sorted(c.scheduler_info()["workers"])[0]
                c.run(die, workers=[victim], wait=False)
                killed.append(victim)
            return False
        est = fit_distributed(make(), ddf, c, task="task", target="y", features=features,
                              callback=kill_one)
    finally:
        c.close()
        cluster.close()
    assert killed and est.n_rebuilt_ >= 1
    one = _single(make(), df, features)
    np.testing.assert_allclose(est.coef_, one.coef_, rtol=0, atol=1e-4 if logistic else 1e-5)
    if logistic:
        assert est.dual_gap_ <= 1e-10 * np.log(2.0) * len(one.tasks_) * 1.0001
    else:
        assert est.dual_gap_ <= one.eps_ * 1.0001


def test_cli_fit_on_the_cluster_reads_a_partitioned_parquet_dataset(client, tmp_path):
    """mtlfast fit --scheduler: a Parquet dataset partitioned by task, read on
    the workers; the saved model equals the single-node fit."""
    from mtlfast.__main__ import main
    df, _, features = _data(seed=7)
    data = tmp_path / "sales"
    df.drop(columns="w").to_parquet(data, partition_cols=["task"])
    out = tmp_path / "model.mtl"
    summary = tmp_path / "summary.json"
    code = main(["fit", "--data", str(data), "--target", "y", "--tasks", "task", "--model",
                 "MultiTaskLasso", "--set", "alpha=0.05", "--set", "tol=1e-10", "--out",
                 str(out), "--summary", str(summary), "--scheduler",
                 client.scheduler.address])
    assert code == 0
    model = mtlfast.load(str(out))
    one = _single(mtlfast.MultiTaskLasso(0.05, tol=1e-10), df, features)
    order = np.argsort(model.tasks_.astype(str))
    np.testing.assert_array_equal(model.tasks_.astype(str)[order], one.tasks_)
    np.testing.assert_allclose(model.coef_[order], one.coef_, rtol=0, atol=1e-5)
    import json
    s = json.loads(summary.read_text())
    assert s["converged"] and s["data"]["scheduler"] == client.scheduler.address
    # a classifier through the same job: string labels, the saved model predicts them
    ldf, _, _ = _labels(seed=8)
    ldata = tmp_path / "labels"
    ldf.drop(columns="w").to_parquet(ldata, partition_cols=["task"])
    code = main(["fit", "--data", str(ldata), "--target", "y", "--tasks", "task", "--model",
                 "MultiTaskLogisticRegression", "--set", "alpha=0.02", "--set", "tol=1e-10",
                 "--out", str(tmp_path / "clf.mtl"), "--scheduler", client.scheduler.address])
    assert code == 0
    clf = mtlfast.load(str(tmp_path / "clf.mtl"))
    one = mtlfast.MultiTaskLogisticRegression(0.02, tol=1e-10).fit(
        ldf[features].to_numpy(), ldf["y"].to_numpy(), tasks=ldf["task"].to_numpy())
    tasks = ldf["task"].astype(str).to_numpy()
    np.testing.assert_array_equal(clf.predict(ldf[features], tasks=tasks),
                                  one.predict(ldf[features].to_numpy(), tasks=tasks))
    # a missing column: a clear error, the exit code of bad input
    code = main(["fit", "--data", str(data), "--target", "sales", "--tasks", "task", "--model",
                 "MultiTaskLasso", "--set", "alpha=0.05", "--out", str(tmp_path / "m2.mtl"),
                 "--scheduler", client.scheduler.address])
    assert code == 2


def test_a_worker_paused_at_its_memory_limit_is_a_clear_error(monkeypatch):
    """A worker over its memory limit's pause threshold runs no task, so its
    shard is never built: the fit stops with an error that says so instead of
    waiting for ever (the nanny's restart is switched off, so the worker stays
    paused rather than being killed)."""
    import dask
    import mtlfast.dask as mdask
    monkeypatch.setattr(mdask, "PAUSED_LIMIT", 2.0)
    df, ddf, features = _data(seed=2, T=2, p=10)
    with dask.config.set({"distributed.worker.memory.terminate": False,
                          "distributed.worker.memory.spill": False,
                          "distributed.worker.memory.target": False}):
        # 100 MiB: any worker process is above its pause threshold (80 MiB) at start
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", memory_limit="100MiB")
        c = distributed.Client(cluster)
        try:
            with pytest.raises(RuntimeError, match="paused at its memory limit"):
                fit_distributed(mtlfast.MultiTaskLasso(0.1), ddf, c, task="task", target="y",
                                features=features)
        finally:
            c.close()
            cluster.close()


def _wide_task(t, n, p):
    rng = np.random.default_rng(t)
    f = pd.DataFrame(rng.standard_normal((n, p)), columns=[f"x{j}" for j in range(p)])
    f["y"] = rng.standard_normal(n)
    f["task"] = t
    return f


def test_data_larger_than_the_workers_memory_is_a_clear_error_before_any_build():
    """240 MiB of designs for one worker of 400 MiB (pause threshold set to
    95%): refused before any shard is built, with the sizes in the message."""
    import dask
    ddf = dd.from_delayed([dask.delayed(_wide_task)(t, 50_000, 50) for t in range(12)],
                          meta=_wide_task(0, 1, 50))
    with dask.config.set({"distributed.worker.memory.terminate": False,
                          "distributed.worker.memory.pause": 0.95}):
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", memory_limit="400MiB")
        c = distributed.Client(cluster)
        try:
            with pytest.raises(RuntimeError, match="does not fit below its pause threshold"):
                fit_distributed(mtlfast.MultiTaskLasso(0.1), ddf, c, task="task", target="y")
        finally:
            c.close()
            cluster.close()
