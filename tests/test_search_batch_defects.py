"""Issue 27, part B: the README's batch workflow and searches over per-task
data (each test failed before its fix)."""
import json
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mtlfast
from mtlfast.__main__ import main
from mtlfast.model_selection import PathCV, TaskKFold

pd = pytest.importorskip("pandas")


def _states(seed=0, n_tasks=12, per_task=9, p=6, sort=True):
    """Per-task data as in a table of US states by year: few rows per task,
    rows sorted by task (as such files usually are)."""
    rng = np.random.default_rng(seed)
    tasks = np.repeat([f"s{t:02d}" for t in range(n_tasks)], per_task)
    X = rng.standard_normal((len(tasks), p))
    w = rng.standard_normal(p)
    W = w[:, None] + 0.3 * rng.standard_normal((p, n_tasks))
    codes = np.searchsorted(np.unique(tasks), tasks)
    y = np.einsum("ij,ji->i", X, W[:, codes]) + 0.3 * rng.standard_normal(len(tasks))
    if not sort:
        perm = rng.permutation(len(y))
        X, y, tasks = X[perm], y[perm], tasks[perm]
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
    df.insert(0, "state", tasks)
    return df, y


# -- 1. cv -> predict through the command line --------------------------------------
@pytest.mark.parametrize("model,extra", [("MultiTaskLasso", ["--n-values", "5"]),
                                         ("TaskGraphMultiTask",
                                          ["--values", "0.3,0.1,0.03"])])
def test_cli_cv_model_predicts_per_task_data(tmp_path, capsys, model, extra):
    df, y = _states(sort=False)
    df.assign(y=y).to_csv(tmp_path / "train.csv", index=False)
    df.assign(y=y).iloc[:20].to_csv(tmp_path / "test.csv", index=False)
    assert main(["cv", "--data", str(tmp_path / "train.csv"), "--target", "y", "--tasks",
                 "state", "--model", model, "--folds", "3", *extra,
                 "--out", str(tmp_path / "cv.mtl")]) == 0
    capsys.readouterr()
    for tasks_flag in ([], ["--tasks", "state"]):
        assert main(["predict", "--model", str(tmp_path / "cv.mtl"), "--data",
                     str(tmp_path / "test.csv"), *tasks_flag,
                     "--out", str(tmp_path / "pred.csv")]) == 0
        pred = pd.read_csv(tmp_path / "pred.csv")
        cv_model = mtlfast.load(tmp_path / "cv.mtl")
        np.testing.assert_allclose(pred["y_pred"], cv_model.predict(
            df.drop(columns="state").iloc[:20], tasks=df["state"].iloc[:20]), rtol=1e-12)


# -- 2. a search never picks by position -----------------------------------------------
def test_search_that_cannot_score_any_candidate_is_an_error():
    """Rows sorted by state, scikit-learn's default KFold: folds hold states
    absent from their training rows, every candidate scores NaN, and the
    search used to return the first grid value with warnings only."""
    df, y = _states()
    grid = {"alpha": [0.3, 0.1, 0.03]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="could not score any candidate"):
            GridSearchCV(mtlfast.MultiTaskLasso(), grid, cv=5).fit(df, y, tasks="state")
        with sklearn.config_context(enable_metadata_routing=True):
            X = df.drop(columns="state").to_numpy()
            with pytest.raises(ValueError, match="could not score any candidate"):
                GridSearchCV(mtlfast.MultiTaskLasso(), grid, cv=KFold(5)).fit(
                    X, y, tasks=df["state"].to_numpy())
    # with every task in every fold the same search works and picks by score
    search = GridSearchCV(mtlfast.MultiTaskLasso(), grid,
                          cv=TaskKFold(3, task_column="state")).fit(df, y, tasks="state")
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_index_ == int(np.argmax(search.cv_results_["mean_test_score"]))


# -- 3. tasks in every prediction method -----------------------------------------------
def test_pipeline_predict_proba_and_decision_function_receive_tasks():
    df, y = _states(sort=False)
    yb = (y > np.median(y)).astype(int)
    X, t = df.drop(columns="state").to_numpy(), df["state"].to_numpy()
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler(), mtlfast.MultiTaskLogisticRegression(0.01))
        pipe.fit(X, yb, tasks=t)
        Xs = StandardScaler().fit_transform(X)
        ref = mtlfast.MultiTaskLogisticRegression(0.01).fit(Xs, yb, tasks=t)
        np.testing.assert_allclose(pipe.predict_proba(X, tasks=t), ref.predict_proba(Xs, t))
        np.testing.assert_allclose(pipe.decision_function(X, tasks=t),
                                   ref.decision_function(Xs, t))


def test_path_cv_classifier_has_predict_proba_and_decision_function():
    df, y = _states(sort=False)
    yb = (y > np.median(y)).astype(int)
    X, t = df.drop(columns="state").to_numpy(), df["state"].to_numpy()
    cv = PathCV(mtlfast.MultiTaskLogisticRegression(), values=[0.1, 0.01], cv=3).fit(
        X, yb, tasks=t)
    np.testing.assert_array_equal(cv.predict_proba(X, tasks=t),
                                  cv.best_estimator_.predict_proba(X, t))
    np.testing.assert_array_equal(cv.decision_function(X, tasks=t),
                                  cv.best_estimator_.decision_function(X, t))
    reg = PathCV(mtlfast.MultiTaskLasso(), values=[0.1, 0.01], cv=3)
    assert not hasattr(reg, "predict_proba")


def test_predict_takes_the_task_column_by_name():
    df, y = _states(sort=False)
    est = mtlfast.MultiTaskLasso(0.05).fit(df, y, tasks="state")
    np.testing.assert_array_equal(est.predict(df, tasks="state"), est.predict(df))
    clf = mtlfast.MultiTaskLogisticRegression(0.01).fit(df, (y > 0).astype(int),
                                                        tasks="state")
    np.testing.assert_array_equal(clf.predict_proba(df, tasks="state"), clf.predict_proba(df))


def test_path_cv_with_a_task_kfold_splitter():
    df, y = _states(sort=False)
    X, t = df.drop(columns="state").to_numpy(), df["state"].to_numpy()
    a = PathCV(mtlfast.MultiTaskLasso(), values=[0.3, 0.1, 0.03], cv=TaskKFold(3)).fit(
        X, y, tasks=t)
    b = PathCV(mtlfast.MultiTaskLasso(), values=[0.3, 0.1, 0.03], cv=3).fit(X, y, tasks=t)
    np.testing.assert_array_equal(a.loss_path_, b.loss_path_)


# -- 4. feature names kept -------------------------------------------------------------
def _no_feature_name_warning(fn):
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*feature names.*")
        return fn()


def test_feature_names_kept_by_structured_models_cv_refits_and_model_files(tmp_path):
    df, y = _states(sort=False)
    X = df.drop(columns="state")
    names = list(X.columns)
    Y = np.column_stack([y, -y + 0.1 * X["x0"].to_numpy()])
    for est in (mtlfast.DirtyMultiTaskLasso(0.05, 0.05), mtlfast.TaskGraphMultiTask(0.05),
                mtlfast.MeanRegularizedMultiTask(0.05, 0.05)):
        est.fit(X, Y)
        assert list(est.feature_names_in_) == names
        _no_feature_name_warning(lambda: est.predict(X))
    cv = PathCV(mtlfast.MultiTaskLasso(), values=[0.1, 0.01], cv=3).fit(df, y, tasks="state")
    assert list(cv.best_estimator_.feature_names_in_) == names
    assert list(cv.feature_names_in_) == names
    _no_feature_name_warning(lambda: cv.predict(df))
    df.assign(y=y).to_csv(tmp_path / "train.csv", index=False)
    assert main(["fit", "--data", str(tmp_path / "train.csv"), "--target", "y", "--tasks",
                 "state", "--model", "MultiTaskLasso", "--out", str(tmp_path / "m.mtl"),
                 "--summary", str(tmp_path / "s.json")]) == 0
    assert list(mtlfast.load(tmp_path / "m.mtl").feature_names_in_) == names
    assert main(["cv", "--data", str(tmp_path / "train.csv"), "--target", "y", "--tasks",
                 "state", "--model", "MultiTaskLasso", "--n-values", "4", "--folds", "3",
                 "--out", str(tmp_path / "cv.mtl"), "--summary", str(tmp_path / "s2.json")]) == 0
    loaded = mtlfast.load(tmp_path / "cv.mtl")
    assert list(loaded.best_estimator_.feature_names_in_) == names
    assert json.loads((tmp_path / "s.json").read_text())["data"]["n_rows"] == len(y)


# -- what batch users expect -------------------------------------------------------------
def _heating_csv(path):
    """Ecdat::Heating as a batch user's file: an id column, the region as the
    task column, 'gas central' as the label, numeric features."""
    from real_data import _rdata
    d = _rdata("Ecdat", "Heating")
    cols = [c for c in d.columns if c.startswith(("ic.", "oc."))] + ["income", "agehed",
                                                                      "rooms"]
    df = d[["idcase", "region", *cols]].rename(columns={"idcase": "id"})
    df["gc"] = (d["depvar"] == "gc").astype(int)
    df.to_csv(path, index=False)
    return df, cols


def _mtlfast(*argv, cwd):
    """The installed command, as a batch job runs it."""
    import shutil
    import subprocess
    exe = shutil.which("mtlfast")
    assert exe is not None, "the mtlfast command is not installed"
    return subprocess.run([exe, *argv], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_readme_batch_workflow_end_to_end(tmp_path):
    """fit, cv (a structured model, its default 2-D grid), predict --proba
    --keep id, report: through the installed command, on a CSV with an id
    and a task column."""
    df, features = _heating_csv(tmp_path / "heating.csv")
    data = ["--data", "heating.csv", "--target", "gc", "--tasks", "region",
            "--features", ",".join(features)]
    r = _mtlfast("fit", *data, "--model", "MultiTaskLogisticRegression", "--set", "alpha=0.01",
                 "--standardize", "--out", "fit.mtl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["data"]["features"] == features and summary["converged"]
    r = _mtlfast("cv", *data, "--model", "MeanRegularizedMultiTaskLogisticRegression",
                 "--n-values", "4", "--folds", "3", "--standardize", "--out", "cv.mtl",
                 "--summary", "cv.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    cv = json.loads((tmp_path / "cv.json").read_text())["cv"]
    assert set(cv["best_params"]) == {"alpha_shared", "alpha_specific"}
    assert np.shape(cv["loss_surface"]) == (4, 4) and len(cv["grid"]) == 4
    for model in ("fit.mtl", "cv.mtl"):
        r = _mtlfast("predict", "--model", model, "--data", "heating.csv", "--proba", "--keep",
                     "id", "--out", "pred.csv", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        pred = pd.read_csv(tmp_path / "pred.csv")
        assert list(pred.columns) == ["id", "region", "gc_pred", "gc_proba"]
        np.testing.assert_array_equal(pred["id"], df["id"])
        assert ((pred["gc_proba"] > 0.5) == (pred["gc_pred"] == 1)).all()
        # the stored scaling is applied: the same probabilities as in Python
        est = mtlfast.load(tmp_path / model)
        X = df[features].to_numpy(dtype=float)
        Xs = (X - X.mean(axis=0)) / X.std(axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = est.predict_proba(Xs, tasks=df["region"].to_numpy())[:, 1]
        np.testing.assert_allclose(pred["gc_proba"], ref, rtol=1e-10)
    r = _mtlfast("report", "cv.mtl", "--out", "cv.html", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "cv.html").read_text()
    assert "Cross-validation surface" in page and "best_params_" in page
    r = _mtlfast("report", "fit.mtl", "--out", "fit.html", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "fit.html").read_text()
    assert "<h2>Convergence</h2>" in page


def test_cli_help_version_and_messages(tmp_path, capsys, monkeypatch):
    assert main([]) == 0
    assert "fit" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("mtlfast ")
    df, y = _states(sort=False)
    df.assign(y=y).to_csv(tmp_path / "d.csv", index=False)
    data = ["--data", str(tmp_path / "d.csv"), "--tasks", "state", "--model",
            "MultiTaskLasso", "--out", str(tmp_path / "m.mtl")]
    assert main(["fit", *data, "--set", "alpha", "0.01"]) == 2
    assert "--set alpha=0.01" in capsys.readouterr().err
    bad = df.assign(y=y)
    bad.loc[3, "x2"] = np.nan
    bad.to_csv(tmp_path / "nan.csv", index=False)
    assert main(["fit", "--data", str(tmp_path / "nan.csv"), *data[2:]]) == 2
    assert "'x2' (1 rows)" in capsys.readouterr().err
    assert main(["fit", *data]) == 0
    capsys.readouterr()
    assert main(["predict", "--model", str(tmp_path / "m.mtl"), "--data",
                 str(tmp_path / "d.csv"), "--proba", "--out", str(tmp_path / "p.csv")]) == 2
    assert "--proba needs a classifier" in capsys.readouterr().err
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    assert main(["report", str(tmp_path / "m.mtl")]) == 2
    assert "pip install 'mtlfast[plot]'" in capsys.readouterr().err


def test_plots_read_at_scale():
    """Feature names on the heatmap's axis; a task graph of 1,225 edges draws
    its 200 strongest."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from mtlfast.plotting import plot_coefficients, plot_task_graph
    df, y = _states(sort=False)
    est = mtlfast.MultiTaskLasso(0.01).fit(df, y, tasks="state")
    fig = plot_coefficients(est)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert set(labels) <= set(est.feature_names_in_) and labels
    A = np.random.default_rng(0).random((50, 50))
    ax = plot_task_graph(A + A.T)
    assert len(ax.lines) == 200 and "1225 edges" in ax.get_title()
