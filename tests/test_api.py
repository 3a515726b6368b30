"""scikit-learn conformance, bad input, inputs never modified, pickling,
pipelines, warnings."""
import pickle
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import mtlfast
from conftest import make_problem

ESTIMATORS = [mtlfast.MultiTaskLasso(), mtlfast.MultiTaskElasticNet(), mtlfast.Lasso(),
              mtlfast.ElasticNet(), mtlfast.MultiTaskSparseGroupLasso(),
              mtlfast.MultiTaskLassoCV(alphas=5, cv=3),
              mtlfast.MultiTaskElasticNetCV(l1_ratio=[0.5, 1.0], alphas=5, cv=3),
              # tol: scikit-learn's sample-weight checks compare two fits'
              # probabilities to 1e-7; tol=1e-6 bounds the objective's
              # suboptimality (6e-7 apart in probability, measured), not that
              mtlfast.MultiTaskLogisticRegression(alpha=0.01, tol=1e-8),
              mtlfast.DirtyMultiTaskLogisticRegression(0.01, 0.01),
              mtlfast.MeanRegularizedMultiTaskLogisticRegression(0.01, 0.01),
              mtlfast.TaskGraphMultiTaskLogisticRegression(0.01),
              mtlfast.TransferLogisticRegression(0.01)]
MT = [mtlfast.MultiTaskLasso, mtlfast.MultiTaskElasticNet, mtlfast.MultiTaskSparseGroupLasso,
      mtlfast.Lasso, mtlfast.ElasticNet]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("Est", MT)
def test_pickle_pipeline_gridsearch(Est):
    X, Y = make_problem(seed=1)
    m = Est(alpha=0.05).fit(X, Y)
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m.predict(X), m2.predict(X))
    pipe = make_pipeline(StandardScaler(), Est(alpha=0.05)).fit(X, Y)
    assert pipe.predict(X).shape == Y.shape
    gs = GridSearchCV(Est(), {"alpha": [0.01, 0.1]}, cv=3).fit(X, Y)
    assert gs.best_params_["alpha"] in (0.01, 0.1)


def _bad_inputs():
    X, Y = make_problem(n=20, p=5, T=2)
    sw = np.ones(20)
    nanX = X.copy(); nanX[0, 0] = np.nan
    infY = Y.copy(); infY[1, 1] = np.inf
    return [
        ("X contains NaN", nanX, Y, None, "X"),
        ("Y contains inf", X, infY, None, "y"),
        ("sample_weight NaN", X, Y, np.full(20, np.nan), "sample_weight"),
        ("sample_weight inf", X, Y, np.r_[np.inf, sw[1:]], "sample_weight"),
        ("rows mismatch", X, Y[:-1], None, "samples"),
        ("negative weights", X, Y, -sw, "sample_weight"),
        ("zero weights", X, Y, 0 * sw, "weight"),
        ("weights shape", X, Y, sw[:3], "sample_weight"),
        ("empty", X[:0], Y[:0], None, "sample"),
        ("no features", X[:, :0], Y, None, "feature"),
        ("object strings", np.full(X.shape, "a", dtype=object), Y, None, "X"),
        ("complex X", X.astype(complex), Y, None, "Complex"),
        ("complex y", X, Y.astype(complex), None, "Complex"),
        ("3-D X", X[:, :, None], Y, None, "dim 3"),
        ("3-D y", X, Y[:, :, None], None, "y"),
        ("no tasks", X, Y[:, :0], None, "task"),
    ]


@pytest.mark.parametrize("Est", MT)
@pytest.mark.parametrize("case", _bad_inputs(), ids=lambda c: c[0])
def test_bad_input_clear_error(Est, case):
    _, X, Y, sw, word = case
    with pytest.raises((ValueError, TypeError), match=word):
        Est(alpha=0.1).fit(X, Y, sample_weight=sw)


@pytest.mark.parametrize("Est", MT)
@pytest.mark.parametrize("param,value,word", [
    ("alpha", -1.0, "alpha"), ("alpha", np.nan, "alpha"), ("max_iter", 0, "max_iter"),
    ("tol", -1e-3, "tol"), ("selection", "greedy", "selection"), ("n_threads", 0, "n_threads")])
def test_bad_params(Est, param, value, word):
    X, Y = make_problem(n=20, p=5, T=2)
    with pytest.raises(ValueError, match=word):
        Est(**{param: value}).fit(X, Y)


@pytest.mark.parametrize("Est", [mtlfast.MultiTaskElasticNet, mtlfast.ElasticNet])
@pytest.mark.parametrize("l1_ratio", [-0.1, 1.5])
def test_bad_l1_ratio(Est, l1_ratio):
    X, Y = make_problem(n=20, p=5, T=2)
    with pytest.raises(ValueError, match="l1_ratio"):
        Est(l1_ratio=l1_ratio).fit(X, Y)


def test_multitask_rejects_1d_y():
    X, Y = make_problem(n=20, p=5, T=2)
    with pytest.raises(ValueError, match="mono-task"):
        mtlfast.MultiTaskLasso().fit(X, Y[:, 0])


@pytest.mark.parametrize("Est", MT)
@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_inputs_not_modified_readonly_and_memmap(Est, fmt, tmp_path):
    X, Y = make_problem(density=0.5 if fmt == "sparse" else 1.0)
    sw = np.random.default_rng(0).uniform(0.5, 2, X.shape[0])
    ref = Est(alpha=0.05).fit(sparse.csc_matrix(X) if fmt == "sparse" else X, Y, sample_weight=sw)
    Xm = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=X.dtype, shape=X.shape)
    Xm[:] = X
    Xm.flush()
    Xr = np.load(tmp_path / "X.npy", mmap_mode="r")
    Yr, swr = Y.copy(), sw.copy()
    Yr.setflags(write=False); swr.setflags(write=False)
    Xin = sparse.csc_matrix(np.asarray(Xr)) if fmt == "sparse" else np.asfortranarray(Xr)
    if fmt == "sparse":
        Xin.data.setflags(write=False)
    before = (Xin.copy(), Yr.copy(), swr.copy())
    m = Est(alpha=0.05).fit(Xin, Yr, sample_weight=swr)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-10)
    if fmt == "sparse":
        assert (Xin != before[0]).nnz == 0
    else:
        np.testing.assert_array_equal(Xin, before[0])
    np.testing.assert_array_equal(Yr, before[1])
    np.testing.assert_array_equal(swr, before[2])
    # memory-mapped read-only dense input directly
    if fmt == "dense":
        m2 = Est(alpha=0.05).fit(Xr, Yr, sample_weight=swr)
        np.testing.assert_allclose(m2.coef_, ref.coef_, atol=1e-10)


def test_convergence_warning_reports_gap():
    X, Y = make_problem(n=50, p=200, T=3, seed=3)
    with pytest.warns(ConvergenceWarning, match="Duality gap"):
        mtlfast.MultiTaskLasso(alpha=1e-4, max_iter=2, tol=1e-12).fit(X, Y)


def test_warm_start_resumes():
    X, Y = make_problem(n=50, p=200, T=3, seed=3)
    m = mtlfast.MultiTaskLasso(alpha=0.01, tol=1e-10, max_iter=5, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m.fit(X, Y)
        first = m.n_iter_
        m.set_params(max_iter=10000).fit(X, Y)
    cold = mtlfast.MultiTaskLasso(alpha=0.01, tol=1e-10, max_iter=10000).fit(X, Y)
    np.testing.assert_allclose(m.coef_, cold.coef_, atol=1e-7)
    assert first == 5
    # refitting a converged warm-started model certifies the start at once
    m.fit(X, Y)
    assert m.n_iter_ == 0 and m.dual_gap_ * X.shape[0] <= m.eps_


def test_thread_invariance_estimators():
    X, Y = make_problem(n=80, p=400, T=5, seed=11)
    for Est in MT:
        a = Est(alpha=0.02, n_threads=1).fit(X, Y)
        b = Est(alpha=0.02, n_threads=2).fit(X, Y)
        np.testing.assert_array_equal(a.coef_, b.coef_)


def test_show_config(capsys):
    mtlfast.show_config()
    out = capsys.readouterr().out
    assert "openmp_enabled" in out and "threadpools" in out
    cfg = mtlfast.config()
    assert cfg["openmp_enabled"] == mtlfast.openmp_enabled()
    assert mtlfast.resolve_n_threads(1) == 1
    with pytest.raises(ValueError):
        mtlfast.resolve_n_threads(0)


def test_importing_the_source_folder_says_so(tmp_path):
    """The package's Python files without their compiled modules (what
    `import mtlfast` finds from the repository's root): a message that says
    what happened, not a "circular import"."""
    import os
    import shutil
    import subprocess
    import sys
    src = os.path.dirname(mtlfast.__file__)
    shutil.copytree(src, tmp_path / "mtlfast",
                    ignore=lambda d, names: [n for n in names if not (
                        n.endswith(".py") or os.path.isdir(os.path.join(d, n)))
                        or n == "__pycache__"])
    proc = subprocess.run([sys.executable, "-S", "-c", "import mtlfast"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "compiled modules were not found" in proc.stderr
    assert "circular import" not in proc.stderr.splitlines()[-1]
