"""Issue 14's reproducers, each a regression test: no silent wrong answer at
any scale, Ctrl-C stops every fit, every sparse format handled, path
functions validate their parameters."""
import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning

import mtlfast
from mtlfast import _signals

from fuzz import with_duplicates

RNG = np.random.default_rng(0)
X = RNG.standard_normal((60, 8))
Y = X[:, :3] @ RNG.standard_normal((3, 3)) + 0.1 * RNG.standard_normal((60, 3))
y = Y[:, 0]
tasks = np.repeat([0, 1, 2], 20)


# -- 1-3: scale: a clear error, never a NaN gap or a certified zero -------------
@pytest.mark.parametrize("fit", [
    lambda: mtlfast.Lasso(alpha=.05e300).fit(X, y * 1e300, tasks=tasks),
    lambda: mtlfast.MultiTaskLasso(alpha=.05e-160).fit(X * 1e-160, y, tasks=tasks),
    lambda: mtlfast.MultiTaskLasso(alpha=.05e-300).fit(X * 1e-300, Y),
    lambda: mtlfast.Lasso(alpha=.05e-300).fit(X, y * 1e-300),
    lambda: mtlfast.Lasso(alpha=.05e-300).fit(X, y * 1e-300, tasks=tasks),
    lambda: mtlfast.Lasso(alpha=.05).fit(sparse.csc_matrix(X) * 1e200, y, tasks=tasks),
    lambda: mtlfast.MultiTaskLogisticRegression(alpha=.05).fit(X * 1e-200, Y > 0),
], ids=["huge-y-pertask", "tiny-X-pertask", "tiny-X-shared", "tiny-y", "tiny-y-pertask",
        "huge-sparse-pertask", "tiny-X-logistic"])
def test_out_of_range_magnitudes_get_a_clear_error(fit):
    with pytest.raises(ValueError, match="underflow|overflow|outside"):
        fit()


def test_scale_equivariance_inside_the_range():
    """fit(cX, y) with alpha * c equals fit(X, y) with coef / c."""
    ref = mtlfast.MultiTaskLasso(alpha=0.05, tol=1e-10).fit(X, Y)
    for c in (1e-40, 1e40):
        m = mtlfast.MultiTaskLasso(alpha=0.05 * c, tol=1e-10).fit(X * c, Y)
        np.testing.assert_allclose(m.coef_ * c, ref.coef_, rtol=1e-6, atol=1e-9)


def test_a_nan_gap_is_never_a_certificate():
    from mtlfast._base import warn_if_not_converged, check_finite_fit
    with pytest.warns(ConvergenceWarning):
        warn_if_not_converged([np.nan], [np.inf], 10, stacklevel=1)
    with pytest.raises(ValueError, match="non-finite"):
        check_finite_fit(np.zeros(2), np.array([np.nan]))
    with pytest.raises(ValueError, match="non-finite"):
        check_finite_fit(np.zeros(2), np.array([0.0]), np.array([np.inf]))
    check_finite_fit(np.zeros(2), np.array([0.0]), np.zeros(1))     # finite: no error


# -- 4: duplicate entries are summed, on a copy ---------------------------------
@pytest.mark.parametrize("fmt", ["csc", "csr"])
def test_duplicate_entries_are_summed(fmt):
    Xd = with_duplicates(X).asformat(fmt)
    assert not Xd.has_canonical_format
    nnz = Xd.nnz
    np.testing.assert_allclose(mtlfast.MultiTaskLasso(alpha=0.05).fit(Xd, Y).coef_,
                               mtlfast.MultiTaskLasso(alpha=0.05).fit(X, Y).coef_, atol=1e-12)
    np.testing.assert_allclose(mtlfast.Lasso(alpha=0.05).fit(Xd, y, tasks=tasks).coef_,
                               mtlfast.Lasso(alpha=0.05).fit(X, y, tasks=tasks).coef_,
                               atol=1e-12)
    np.testing.assert_allclose(
        mtlfast.MultiTaskLogisticRegression(alpha=0.01).fit(Xd, Y > 0).coef_,
        mtlfast.MultiTaskLogisticRegression(alpha=0.01).fit(X, Y > 0).coef_, atol=1e-10)
    yc = y - y.mean()
    np.testing.assert_allclose(mtlfast.lasso_path(Xd, yc, alphas=[0.1, 0.05])[1],
                               mtlfast.lasso_path(X, yc, alphas=[0.1, 0.05])[1], atol=1e-12)
    assert Xd.nnz == nnz and not Xd.has_canonical_format      # the input is untouched


def test_int64_sparse_indices_are_accepted():
    X64 = sparse.csc_matrix(X)
    X64.indices, X64.indptr = X64.indices.astype(np.int64), X64.indptr.astype(np.int64)
    np.testing.assert_allclose(mtlfast.MultiTaskLasso(alpha=0.05).fit(X64, Y).coef_,
                               mtlfast.MultiTaskLasso(alpha=0.05).fit(X, Y).coef_, atol=1e-12)
    assert X64.indices.dtype == np.int64


# -- 5: path functions validate and warn ----------------------------------------
@pytest.mark.parametrize("kw, match", [
    (dict(max_iter=0), "max_iter"), (dict(tol=float("nan")), "tol"),
    (dict(eps=-1e-3), "eps"), (dict(eps=0), "eps"), (dict(n_alphas=0), "n_alphas"),
    (dict(selection="rand"), "selection")])
def test_path_parameters_are_validated(kw, match):
    with pytest.raises(ValueError, match=match):
        mtlfast.lasso_path(X, y, **kw)


def test_path_warns_when_not_converged():
    with pytest.warns(ConvergenceWarning):
        mtlfast.enet_path(X, y, max_iter=2, tol=1e-12, alphas=[0.001])


# -- 6: Ctrl-C stops every fit and leaves the estimator as it was ----------------
LONG = dict(tol=0.0, max_iter=10 ** 8)
Xl = RNG.standard_normal((200, 1500))
Yl = RNG.standard_normal((200, 4))
tl = np.repeat(np.arange(4), 50)
FITS = {
    "dense": lambda: (mtlfast.MultiTaskLasso(alpha=1e-4, **LONG), (Xl, Yl), {}),
    "sparse": lambda: (mtlfast.MultiTaskLasso(alpha=1e-4, **LONG), (sparse.csc_matrix(Xl), Yl),
                       {}),
    "lasso": lambda: (mtlfast.Lasso(alpha=1e-4, **LONG), (Xl, Yl[:, 0]), {}),
    "per-task": lambda: (mtlfast.Lasso(alpha=1e-4, **LONG), (Xl, Yl[:, 0]), {"tasks": tl}),
    "dirty": lambda: (mtlfast.DirtyMultiTaskLasso(alpha_shared=1e-4, alpha_specific=1e-4,
                                                  **LONG), (Xl, Yl[:, 0]), {"tasks": tl}),
    "logistic": lambda: (mtlfast.MultiTaskLogisticRegression(alpha=1e-6, **LONG),
                         (Xl, Yl > 0), {}),
    "cv": lambda: (mtlfast.MultiTaskLassoCV(cv=2, alphas=3, **LONG), (Xl, Yl), {}),
}


@pytest.mark.parametrize("name", list(FITS))
def test_ctrl_c_stops_the_fit(name):
    est, args, kw = FITS[name]()
    before = dict(est.__dict__)
    Xa = args[0].copy()
    # Python's own SIGINT handler, installed again at the C level: in fresh CI
    # environments (first run of the suite in a new venv, twice; never on a
    # re-run) SIGINT went unseen by Python for this whole group of tests, as
    # if a library used by an earlier test had left its own C handler behind
    # (not identified yet). What is tested here is that the kernels honour the
    # signal Python sees.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    # a fit that ignored the signal would run for ever: a guard aborts it
    # after 20 s, and the test then fails instead of hanging
    guard_fired = threading.Event()
    guard = threading.Timer(20.0, lambda: (guard_fired.set(), _signals.request_abort()))
    t0 = time.perf_counter()
    timer.start()
    guard.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            est.fit(*args, **kw)
    finally:
        timer.cancel()
        guard.cancel()
    assert not guard_fired.is_set(), "the fit ignored SIGINT"
    assert time.perf_counter() - t0 < 5.0          # the signal comes at 0.3 s
    assert est.__dict__.keys() == before.keys()    # no fitted attribute left behind
    assert (abs(args[0] - Xa)).sum() == 0          # the input is untouched


def test_abort_request_stops_fits_in_worker_threads():
    out = {}

    def work():
        try:
            mtlfast.MultiTaskLasso(alpha=1e-4, **LONG).fit(Xl, Yl)
            out["result"] = "finished"
        except KeyboardInterrupt:
            out["result"] = "stopped"
    th = threading.Thread(target=work, daemon=True)    # a failure must not block the exit
    th.start()
    time.sleep(0.3)
    _signals.request_abort()
    th.join(10.0)
    assert not th.is_alive() and out["result"] == "stopped"


# -- 7: smaller ------------------------------------------------------------------
def test_logistic_predict_takes_the_list_layout():
    Xs, ys = [X[:20], X[20:40], X[40:]], [y[:20] > 0, y[20:40] > 0, y[40:] > 0]
    m = mtlfast.MultiTaskLogisticRegression(alpha=0.01).fit(Xs, ys)
    pred = m.predict(Xs)
    assert [p.shape for p in pred] == [(20,), (20,), (20,)]
    np.testing.assert_array_equal(np.concatenate(pred), m.predict(X, tasks=tasks))


@pytest.mark.parametrize("tw, match", [(np.array([1 + 1j, 1, 1]), "real"),
                                       ({0: 1.0, 1: 1.0, 5: 1.0}, "do not match the tasks")])
def test_task_weight_errors(tw, match):
    with pytest.raises(ValueError, match=match):
        mtlfast.Lasso(alpha=0.05).fit(X, y, tasks=tasks, task_weight=tw)


@pytest.mark.parametrize("fmt", ["coo", "dia", "bsr", "lil", "dok"])
def test_every_sparse_format_fits_and_predicts(fmt):
    Xf = sparse.csr_matrix(X).asformat(fmt)
    m = mtlfast.Lasso(alpha=0.05).fit(Xf, y, tasks=tasks)
    np.testing.assert_allclose(m.predict(Xf, tasks=tasks),
                               mtlfast.Lasso(alpha=0.05).fit(X, y, tasks=tasks).predict(
                                   X, tasks=tasks), atol=1e-10)


def test_nan_in_a_dok_matrix_is_refused():
    Xd = sparse.dok_matrix(X)
    Xd[3, 2] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match="NaN"):
            mtlfast.Lasso(alpha=0.05).fit(Xd, y, tasks=tasks)
