"""Batch jobs: model files (mtlfast.save / load) and the command line
(`mtlfast fit / predict / inspect`)."""
import io
import json
import os
import pickle
import zipfile

import joblib
import numpy as np
import pytest
from scipy import sparse

import mtlfast
from mtlfast import persistence
from mtlfast.__main__ import main

from conftest import make_problem

HERE = os.path.dirname(__file__)


def _per_task_data(seed=0, T=3, n=40, p=12):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n * T, p))
    tasks = np.repeat(np.array(["north", "south", "west"][:T]), n)
    W = np.zeros((p, T))
    W[:4] = rng.standard_normal((4, T))
    codes = np.repeat(np.arange(T), n)
    y = np.einsum("ij,ij->i", X, W[:, codes].T) + 0.1 * rng.standard_normal(n * T)
    return X, y, tasks


FITTED = [
    lambda: mtlfast.MultiTaskLasso(alpha=0.05).fit(*make_problem(n=60, p=15, T=3, seed=1)),
    lambda: mtlfast.Lasso(alpha=0.02).fit(make_problem(n=60, p=15, T=1, seed=2)[0],
                                          make_problem(n=60, p=15, T=1, seed=2)[1][:, 0]),
    lambda: mtlfast.MultiTaskElasticNet(alpha=0.05, l1_ratio=0.3).fit(
        sparse.csc_matrix(make_problem(n=60, p=15, T=2, seed=3)[0]),
        make_problem(n=60, p=15, T=2, seed=3)[1]),
    lambda: mtlfast.MultiTaskLasso(alpha=0.05).fit(*_per_task_data()[:2],
                                                   tasks=_per_task_data()[2]),
    lambda: mtlfast.DirtyMultiTaskLasso(0.05, 0.05).fit(*make_problem(n=60, p=15, T=3, seed=4)),
    lambda: mtlfast.MultiTaskLogisticRegression(alpha=0.01).fit(
        make_problem(n=80, p=10, T=2, seed=5)[0],
        (make_problem(n=80, p=10, T=2, seed=5)[1] > 0).astype(int)),
    lambda: mtlfast.MeanRegularizedMultiTaskLogisticRegression(0.01, 0.01).fit(
        make_problem(n=80, p=10, T=3, seed=7)[0],
        (make_problem(n=80, p=10, T=3, seed=7)[1] > 0).astype(int)),
    lambda: mtlfast.TransferLogisticRegression(0.01, coef_source=np.ones(10)).fit(
        make_problem(n=80, p=10, T=2, seed=8)[0],
        (make_problem(n=80, p=10, T=2, seed=8)[1] > 0).astype(int)),
    lambda: mtlfast.MultiTaskLassoCV(cv=3, alphas=5).fit(*make_problem(n=60, p=15, T=2,
                                                                       seed=6)),
]


def _same(v, w, where):
    """Equal values of the same types, arrays bit for bit with their dtype."""
    if isinstance(v, np.ndarray):
        assert isinstance(w, np.ndarray) and v.dtype == w.dtype and v.shape == w.shape, where
        np.testing.assert_array_equal(v, w, err_msg=where)
    elif isinstance(v, (list, tuple)):
        assert type(v) is type(w) and len(v) == len(w), where
        for i, (a, b) in enumerate(zip(v, w)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(v, dict):
        assert type(w) is dict and set(v) == set(w), where
        for k in v:
            _same(v[k], w[k], f"{where}[{k!r}]")
    elif hasattr(v, "get_params") and not isinstance(v, type):
        _same_state(v, w)
    else:
        assert type(v) is type(w), where
        assert v == w or (isinstance(v, float) and np.isnan(v) and np.isnan(w)), where


def _same_state(a, b):
    """Every attribute equal."""
    assert type(a) is type(b)
    assert set(vars(a)) == set(vars(b))
    for k, v in vars(a).items():
        _same(v, vars(b)[k], k)


@pytest.mark.parametrize("make", FITTED, ids=range(len(FITTED)))
def test_save_load_round_trip_is_exact(make, tmp_path):
    est = make()
    path = tmp_path / "model.mtl"
    mtlfast.save(est, path)
    with _no_warning():
        back = mtlfast.load(path)
    _same_state(est, back)
    X = make_problem(n=7, p=est.n_features_in_, T=1, seed=9)[0]
    if getattr(est, "_per_task", False):
        t = np.array(["north", "south", "west", "west", "north", "south", "north"])
        np.testing.assert_array_equal(est.predict(X, t), back.predict(X, t))
    else:
        np.testing.assert_array_equal(est.predict(X), back.predict(X))
    # the file holds no pickle and a readable manifest
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["arrays.npz", "manifest.json"]
        manifest = json.loads(z.read("manifest.json"))
        np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False)
    assert manifest["estimator"].endswith(type(est).__name__)
    assert manifest["versions"]["mtlfast"] == mtlfast.__version__


class _no_warning:
    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *a):
        return self._w.__exit__(*a)


def test_pickle_and_joblib_still_work(tmp_path):
    est = FITTED[0]()
    for back in (pickle.loads(pickle.dumps(est)),
                 joblib.load(joblib.dump(est, tmp_path / "m.joblib")[0])):
        _same_state(est, back)


def test_load_refuses_foreign_classes_and_newer_formats(tmp_path):
    est = FITTED[0]()
    path = tmp_path / "model.mtl"
    mtlfast.save(est, path)
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(z.read("manifest.json"))
        arrays = z.read("arrays.npz")

    def rewrite(m, name):
        p = tmp_path / name
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("manifest.json", json.dumps(m))
            z.writestr("arrays.npz", arrays)
        return p

    evil = dict(manifest, estimator="os:system")
    with pytest.raises(ValueError, match="not a class of mtlfast or scikit-learn"):
        mtlfast.load(rewrite(evil, "evil.mtl"))
    nested = json.loads(json.dumps(manifest))
    nested["state"]["alpha"] = {"__object__": "subprocess:Popen", "state": {}}
    with pytest.raises(ValueError, match="refused"):
        mtlfast.load(rewrite(nested, "nested.mtl"))
    newer = dict(manifest, format_version=persistence.FORMAT_VERSION + 1)
    with pytest.raises(ValueError, match="upgrade mtlfast"):
        mtlfast.load(rewrite(newer, "newer.mtl"))
    (tmp_path / "junk.mtl").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not an mtlfast model file"):
        mtlfast.load(tmp_path / "junk.mtl")


def test_save_refuses_what_it_cannot_represent_and_writes_nothing(tmp_path):
    est = FITTED[0]()
    est.some_callable_ = lambda x: x
    path = tmp_path / "model.mtl"
    with pytest.raises(TypeError, match="cannot save"):
        mtlfast.save(est, path)
    assert os.listdir(tmp_path) == []
    with pytest.raises(TypeError, match="mtlfast estimators"):
        mtlfast.save(object(), path)


FIXTURE = os.path.join(HERE, "data", "model-format1-mtlfast0.1.0.mtl")


def test_model_file_of_an_earlier_version_loads():
    """A file written by mtlfast 0.1.0 (format 1; made by the code at the end
    of this file): later versions must keep loading it."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)     # a version notice after upgrades
        est = mtlfast.load(FIXTURE)
    X, Y = make_problem(n=60, p=15, T=3, seed=1)
    assert type(est) is mtlfast.MultiTaskLasso and est.get_params()["alpha"] == 0.05
    # parameters added since (verbose, callback, max_time) take their defaults
    assert est.get_params()["max_time"] is None
    sklearn_clone = __import__("sklearn").base.clone(est)
    assert sklearn_clone.get_params() == mtlfast.MultiTaskLasso(alpha=0.05, tol=1e-12).get_params()
    np.testing.assert_allclose(est.predict(X), X @ est.coef_.T + est.intercept_, rtol=1e-14)
    # fitted to tol=1e-12: the same optimum as today's fit
    ref = mtlfast.MultiTaskLasso(alpha=0.05, tol=1e-12).fit(X, Y)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-8)


# ---- the command line ----------------------------------------------------------

def _write_long_csv(path, seed=0):
    pd = pytest.importorskip("pandas")
    X, y, tasks = _per_task_data(seed)
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    df.insert(0, "school", tasks)
    df["score"] = y
    df.to_csv(path, index=False)
    return X, y, tasks


def test_cli_fit_predict_long_layout_csv(tmp_path, capsys):
    X, y, tasks = _write_long_csv(tmp_path / "train.csv")
    model = tmp_path / "model.mtl"
    code = main(["fit", "--data", str(tmp_path / "train.csv"), "--target", "score",
                 "--tasks", "school", "--model", "MultiTaskLasso", "--set", "alpha=0.05",
                 "--set", "tol=1e-8", "--out", str(model)])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["converged"] is True and summary["data"]["n_rows"] == len(y)
    assert len(summary["data"]["sha256"]) == 64
    ref = mtlfast.MultiTaskLasso(alpha=0.05, tol=1e-8).fit(X, y, tasks=tasks)
    est = mtlfast.load(model)
    np.testing.assert_array_equal(est.coef_, ref.coef_)
    code = main(["predict", "--model", str(model), "--data", str(tmp_path / "train.csv"),
                 "--out", str(tmp_path / "pred.csv"), "--summary", str(tmp_path / "p.json")])
    assert code == 0
    import pandas as pd
    pred = pd.read_csv(tmp_path / "pred.csv")
    np.testing.assert_allclose(pred["score_pred"], ref.predict(X, tasks), rtol=1e-12)
    assert list(pred["school"]) == list(tasks)
    code = main(["inspect", str(model)])
    shown = json.loads(capsys.readouterr().out)
    assert shown["metadata"]["job"]["tasks"] == "school"


def test_cli_shared_design_several_targets_npz_and_toml(tmp_path, capsys):
    X, Y = make_problem(n=50, p=8, T=2, seed=3)
    np.savez(tmp_path / "d.npz", X=X, a=Y[:, 0], b=Y[:, 1])
    (tmp_path / "job.toml").write_text(
        'data = "d.npz"\ntarget = "a,b"\nmodel = "MultiTaskLasso"\nout = "m.mtl"\n'
        'predictions = "p.npz"\n[params]\nalpha = 0.1\n')
    assert main(["fit", str(tmp_path / "job.toml")]) == 0
    ref = mtlfast.MultiTaskLasso(alpha=0.1).fit(X, Y)
    # (X read back in Fortran order: the centering's sums may differ in the last bit)
    np.testing.assert_allclose(mtlfast.load(tmp_path / "m.mtl").coef_, ref.coef_, rtol=1e-12,
                               atol=1e-14)
    with np.load(tmp_path / "p.npz") as p:
        np.testing.assert_allclose(np.column_stack([p["a_pred"], p["b_pred"]]),
                                   ref.predict(X), rtol=1e-12)


def test_cli_sparse_formats_stay_sparse(tmp_path):
    from sklearn.datasets import dump_svmlight_file
    from scipy.io import mmwrite
    rng = np.random.default_rng(0)
    X = sparse.random(80, 30, density=0.2, format="csr", random_state=0)
    y = np.asarray(X @ rng.standard_normal(30)).ravel()
    dump_svmlight_file(X, y, str(tmp_path / "d.svm"))
    mmwrite(tmp_path / "d.mtx", X)
    np.savetxt(tmp_path / "y.txt", y)
    ref = mtlfast.Lasso(alpha=0.01).fit(sparse.csc_matrix(X), y)
    for args in (["--data", str(tmp_path / "d.svm")],
                 ["--data", str(tmp_path / "d.mtx"), "--target-file", str(tmp_path / "y.txt")]):
        out = tmp_path / "m.mtl"
        assert main(["fit", *args, "--model", "Lasso", "--set", "alpha=0.01", "--out", str(out),
                     "--summary", str(tmp_path / "s.json")]) == 0
        assert json.load(open(tmp_path / "s.json"))["data"]["sparse"] is True
        np.testing.assert_allclose(mtlfast.load(out).coef_, ref.coef_, atol=1e-9)


@pytest.mark.parametrize("argv,message", [
    (["--model", "NoSuchModel", "--set", "alpha=1"], "unknown model"),
    (["--model", "MultiTaskLasso", "--set", "alpah=1"], "no parameter"),
    (["--model", "MultiTaskLasso", "--set", "alpha=-1"], "alpha"),
    (["--model", "MultiTaskLasso", "--tasks", "district"], "no column 'district'"),
    (["--model", "MultiTaskLasso", "--target", "nope"], "no column 'nope'"),
    (["--model", "MultiTaskLasso", "--set", "alpha"], "NAME=VALUE"),
])
def test_cli_bad_input_exit_code_2_and_nothing_written(tmp_path, capsys, argv, message):
    _write_long_csv(tmp_path / "train.csv")
    out = tmp_path / "model.mtl"
    base = ["fit", "--data", str(tmp_path / "train.csv"), "--target", "score",
            "--tasks", "school", "--out", str(out)]
    if "--tasks" in argv:
        base = base[:5] + base[7:]
    if "--target" in argv:
        base = base[:3] + base[5:]
    code = main(base + argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["train.csv"]


def test_cli_missing_file_and_strict_non_convergence(tmp_path, capsys):
    assert main(["fit", "--data", str(tmp_path / "none.csv"), "--model", "Lasso",
                 "--out", str(tmp_path / "m.mtl")]) == 2
    assert "no such file" in capsys.readouterr().err
    _write_long_csv(tmp_path / "ok.csv")
    assert main(["fit", "--data", str(tmp_path / "ok.csv"), "--target", "score", "--tasks",
                 "school", "--model", "MultiTaskLasso", "--out",
                 str(tmp_path / "no" / "such" / "m.mtl")]) == 2
    assert "no directory" in capsys.readouterr().err
    X, Y = make_problem(n=60, p=40, T=1, seed=2)
    np.savez(tmp_path / "d.npz", X=X, y=Y[:, 0])
    args = ["fit", "--data", str(tmp_path / "d.npz"), "--model", "Lasso", "--set",
            "alpha=0.001", "--set", "max_iter=1", "--set", "tol=1e-12", "--out",
            str(tmp_path / "m.mtl")]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["converged"] is False
    assert main(args + ["--strict"]) == 3
    assert "not converged" in capsys.readouterr().err


def test_cli_help_documents_every_option(capsys):
    for cmd in ("fit", "predict", "inspect"):
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0
        text = capsys.readouterr().out
        assert "exit codes" in text


def make_fixture():     # pragma: no cover - run by hand once per model format
    X, Y = make_problem(n=60, p=15, T=3, seed=1)
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    mtlfast.save(mtlfast.MultiTaskLasso(alpha=0.05, tol=1e-12).fit(X, Y), FIXTURE)


def test_cli_cv_and_path(tmp_path, capsys):
    X, y, tasks = _write_long_csv(tmp_path / "train.csv")
    data = ["--data", str(tmp_path / "train.csv"), "--target", "score", "--tasks", "school",
            "--model", "MultiTaskLasso"]
    assert main(["cv", *data, "--n-values", "6", "--folds", "3", "--out",
                 str(tmp_path / "cv.mtl")]) == 0
    summary = json.loads(capsys.readouterr().out)
    ref = mtlfast.PathCV(mtlfast.MultiTaskLasso(), values=6, cv=3).fit(X, y, tasks=tasks)
    assert summary["cv"]["best_value"] == pytest.approx(ref.best_value_, rel=1e-12)
    np.testing.assert_allclose(summary["cv"]["mean_loss"], ref.loss_path_.mean(axis=1),
                               rtol=1e-10)
    cv_model = mtlfast.load(tmp_path / "cv.mtl")
    np.testing.assert_allclose(cv_model.predict(X, tasks=tasks), ref.predict(X, tasks=tasks),
                               rtol=1e-12)
    assert main(["path", *data, "--values", "0.5,0.1,0.02", "--out",
                 str(tmp_path / "path.csv"), "--summary", str(tmp_path / "s.json")]) == 0
    import pandas as pd
    path = pd.read_csv(tmp_path / "path.csv")
    assert list(path["value"]) == [0.5, 0.1, 0.02]
    for a, k in zip(path["value"], path["nonzero_features"]):
        m = mtlfast.MultiTaskLasso(alpha=a).fit(X, y, tasks=tasks)
        assert k == np.count_nonzero(np.any(m.coef_ != 0, axis=0))
    assert main(["path", *data, "--param", "tol", "--out", str(tmp_path / "p2.csv")]) == 2


@pytest.mark.parametrize("make", FITTED, ids=range(len(FITTED)))
def test_skops_loads_with_the_documented_trusted_types(make, tmp_path):
    sio = pytest.importorskip("skops.io")
    est = make()
    sio.dump(est, tmp_path / "m.skops")
    trusted = persistence.skops_trusted_types()
    assert set(sio.get_untrusted_types(file=tmp_path / "m.skops")) <= set(trusted)
    back = sio.load(tmp_path / "m.skops", trusted=trusted)
    np.testing.assert_array_equal(np.asarray(back.coef_), np.asarray(est.coef_))
