"""Feedback and control in every fit: verbose, the `mtlfast` logger, a
callback that can stop the fit, and max_time; a stopped fit's dual_gap_
still bounds its suboptimality."""
import logging

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import mtlfast

from conftest import make_problem


def _hard_problem(seed=0):
    # correlated columns, small alpha: hundreds of epochs at a tight tolerance
    X, Y = make_problem(n=200, p=600, T=4, seed=seed, n_informative=40)
    rng = np.random.default_rng(seed)
    X = X + 2.0 * rng.standard_normal((200, 1))
    return np.asfortranarray(X), Y


def _mtl_objective(X, Y, coef, intercept, alpha):
    R = Y - X @ coef.T - intercept
    return 0.5 * np.sum(R ** 2) / X.shape[0] + alpha * np.linalg.norm(coef, axis=0).sum()


ESTIMATORS = {
    "shared": lambda **kw: mtlfast.MultiTaskLasso(alpha=0.002, tol=1e-14, max_iter=100000,
                                                  **kw),
    "per-task": lambda **kw: mtlfast.MultiTaskLasso(alpha=0.002, tol=1e-14, max_iter=100000,
                                                    **kw),
    "structured": lambda **kw: mtlfast.DirtyMultiTaskLasso(0.002, 0.002, tol=1e-14,
                                                           max_iter=100000, **kw),
    "logistic": lambda **kw: mtlfast.MultiTaskLogisticRegression(alpha=1e-4, tol=1e-14,
                                                                 max_iter=1000, **kw),
}


def _fit(kind, **kw):
    X, Y = _hard_problem()
    est = ESTIMATORS[kind](**kw)
    if kind == "per-task":
        tasks = np.repeat(np.arange(4), 50)
        return est.fit(X, Y[np.arange(200), tasks], tasks=tasks), X, Y
    if kind == "logistic":
        return est.fit(X, (Y > np.median(Y, axis=0)).astype(int)), X, Y
    return est.fit(X, Y), X, Y


@pytest.mark.parametrize("kind", list(ESTIMATORS))
def test_callback_sees_progress_and_can_stop(kind):
    seen = []

    def callback(info):
        seen.append(info)
        return len(seen) >= 2

    with pytest.warns(ConvergenceWarning, match="stopped by the callback"):
        est, X, Y = _fit(kind, callback=callback)
    assert len(seen) == 2
    assert set(seen[0]) == {"estimator", "n_iter", "gap", "target", "elapsed"}
    assert seen[0]["estimator"] == type(est).__name__
    assert seen[1]["elapsed"] >= seen[0]["elapsed"] >= 0
    assert np.all(np.isfinite(np.atleast_1d(est.dual_gap_)))


def test_stopped_fit_keeps_an_honest_certificate():
    X, Y = _hard_problem()
    with pytest.warns(ConvergenceWarning, match="stopped by the callback"):
        early = mtlfast.MultiTaskLasso(alpha=0.002, tol=1e-14, max_iter=100000,
                                       callback=lambda info: True).fit(X, Y)
    best = mtlfast.MultiTaskLasso(alpha=0.002, tol=1e-14, max_iter=100000).fit(X, Y)
    f_early = _mtl_objective(X, Y, early.coef_, early.intercept_, 0.002)
    f_star = _mtl_objective(X, Y, best.coef_, best.intercept_, 0.002)
    assert f_early - f_star > 0
    assert f_early - f_star <= early.dual_gap_ * (1 + 1e-9) + 1e-15


@pytest.mark.parametrize("kind", list(ESTIMATORS))
def test_max_time_stops_with_a_warning_stating_the_gap(kind):
    with pytest.warns(ConvergenceWarning, match=r"stopped by max_time=1e-05 s\. Duality gap"):
        est, X, Y = _fit(kind, max_time=1e-5)
    assert np.all(np.isfinite(np.atleast_1d(est.dual_gap_)))


def test_callback_exception_propagates_and_leaves_the_estimator_unchanged():
    X, Y = _hard_problem()
    est = mtlfast.MultiTaskLasso(alpha=0.01).fit(X, Y)
    coef = est.coef_.copy()

    def boom(info):
        raise RuntimeError("from the callback")

    est.set_params(callback=boom, alpha=0.002, tol=1e-12)
    with pytest.raises(RuntimeError, match="from the callback"):
        est.fit(X, Y)
    np.testing.assert_array_equal(est.coef_, coef)


def test_verbose_and_logger_report_without_changing_the_fit(capsys, caplog):
    X, Y = _hard_problem()
    plain = mtlfast.MultiTaskLasso(alpha=0.002, tol=1e-10).fit(X, Y)
    loud = mtlfast.MultiTaskLasso(alpha=0.002, tol=1e-10, verbose=1).fit(X, Y)
    np.testing.assert_array_equal(plain.coef_, loud.coef_)
    err = capsys.readouterr().err
    assert "[mtlfast MultiTaskLasso] n_iter" in err and "gap" in err
    with caplog.at_level(logging.INFO, logger="mtlfast"):
        mtlfast.MultiTaskLasso(alpha=0.002, tol=1e-10).fit(X, Y)
    assert any("gap" in r.getMessage() for r in caplog.records if r.name == "mtlfast")
    assert capsys.readouterr().err == ""           # the logger, not prints, without verbose


@pytest.mark.parametrize("bad", [{"max_time": 0}, {"max_time": -1.0}, {"callback": 3},
                                 {"verbose": "loud"}])
def test_bad_control_parameters(bad):
    X, Y = make_problem(n=30, p=10, T=2)
    with pytest.raises(ValueError):
        mtlfast.MultiTaskLasso(**bad).fit(X, Y)


def test_convergence_warning_points_at_the_callers_line():
    import warnings
    X, Y = _hard_problem()
    for make in (lambda: mtlfast.MultiTaskLasso(alpha=1e-4, max_iter=2, tol=1e-12),
                 lambda: mtlfast.Lasso(alpha=1e-4, max_iter=2, tol=1e-12),
                 lambda: mtlfast.DirtyMultiTaskLasso(1e-4, 1e-4, max_iter=2, tol=1e-12)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            make().fit(X, Y if not isinstance(make(), mtlfast.Lasso) else Y[:, 0])
        conv = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
        assert conv and conv[0].filename == __file__
