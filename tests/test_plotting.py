"""mtlfast.plotting and `mtlfast report`, headless (matplotlib's Agg)."""
import base64
import re

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import mtlfast                                       # noqa: E402
from mtlfast import plotting                         # noqa: E402
from mtlfast.__main__ import main                    # noqa: E402
from mtlfast.datasets import make_multitask_regression  # noqa: E402


@pytest.fixture(scope="module")
def data():
    X, Y, _ = make_multitask_regression(120, 40, 4, 6, seed=0)
    return X, Y


def test_path_and_cv_plots(data):
    X, Y = data
    alphas, coefs, _ = mtlfast.lasso_path(X, Y, n_alphas=15)
    ax = plotting.plot_path(alphas, coefs)
    active = np.count_nonzero(np.any(coefs != 0, axis=(0, 2)))
    assert len(ax.lines) == active
    assert ax.get_xscale() == "log"
    cv = mtlfast.MultiTaskLassoCV(cv=3, alphas=10).fit(X, Y)
    ax = plotting.plot_cv(cv)
    mean_line = [ln for ln in ax.lines if ln.get_label() == "mean over folds"][0]
    np.testing.assert_allclose(mean_line.get_ydata(), cv.mse_path_.mean(axis=1))
    chosen = [ln for ln in ax.lines if ln.get_label().startswith("chosen")][0]
    assert chosen.get_xdata()[0] == pytest.approx(cv.alpha_)
    pcv = mtlfast.PathCV(mtlfast.MultiTaskLasso(), values=8, cv=3).fit(X, Y)
    plotting.plot_cv(pcv)
    with pytest.raises(ValueError, match="coefs must be"):
        plotting.plot_path(alphas, coefs[..., :3])
    matplotlib.pyplot.close("all")


def test_coefficients_graph_and_convergence(data):
    X, Y = data
    fig = plotting.plot_coefficients(mtlfast.DirtyMultiTaskLasso(0.05, 0.05).fit(X, Y))
    assert len(fig.axes) == 6                      # three panels and their colour bars
    A = np.ones((4, 4)) - np.eye(4)
    ax = plotting.plot_task_graph(A, ["a", "b", "c", "d"])
    assert len(ax.lines) == 6                      # one line per edge
    rec = plotting.ConvergenceRecorder()
    mtlfast.MultiTaskLasso(alpha=0.001, tol=1e-12, callback=rec).fit(X, Y)
    assert rec.history
    ax = plotting.plot_convergence(rec)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [h["gap"] for h in rec.history])
    with pytest.raises(ValueError, match="no progress reports"):
        plotting.plot_convergence([])
    matplotlib.pyplot.close("all")


def test_report_command_writes_html_with_inline_images(data, tmp_path, capsys):
    X, Y = data
    A = np.ones((4, 4)) - np.eye(4)
    model = mtlfast.TaskGraphMultiTask(alpha=0.05, graph_alpha=0.5, similarity=A).fit(X, Y)
    mtlfast.save(model, tmp_path / "m.mtl")
    assert main(["report", str(tmp_path / "m.mtl"), "--out", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text()
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert len(images) == 2                        # coefficients, task graph
    for img in images:
        assert base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "TaskGraphMultiTask" in page and "dual_gap_" in page
    assert main(["report", str(tmp_path / "missing.mtl")]) == 2
