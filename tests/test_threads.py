"""The thread policy: the default thread count leaves out the cores other
processes keep busy, and the kernels' per-call thread choice (the driver's
Governor) never changes results (see also the thread-invariance tests of
each kernel)."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import scipy.sparse as sp

import mtlfast
from mtlfast._config import busy_cores

from conftest import make_problem


@pytest.mark.skipif(not os.path.exists("/proc/loadavg"), reason="Linux /proc only")
def test_default_threads_leave_out_a_busy_core():
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        busy = busy_cores()
        n = mtlfast.resolve_n_threads(None)
    finally:
        hog.kill()
        hog.wait()
    assert busy >= 1
    cores = os.cpu_count()
    assert 1 <= n <= max(1, cores - 1)
    assert mtlfast.resolve_n_threads(2) == (2 if mtlfast.openmp_enabled() else 1)


def test_small_fits_default_to_one_thread(monkeypatch):
    from mtlfast import _config
    monkeypatch.setattr(_config._openmp, "openmp_max_threads", lambda: 2)
    monkeypatch.setattr(_config, "busy_cores", lambda: 0)
    monkeypatch.setattr(_config, "_CPU_COUNT", 2)
    assert _config.resolve_n_threads(None, work=_config.SERIAL_WORK) == 1
    assert _config.resolve_n_threads(None, work=None) == (2 if mtlfast.openmp_enabled() else 1)
    assert _config.resolve_n_threads(None, work=10 * _config.SERIAL_WORK) == (
        2 if mtlfast.openmp_enabled() else 1)
    # an explicit count is honoured whatever the size
    assert _config.resolve_n_threads(2, work=10) == (2 if mtlfast.openmp_enabled() else 1)


def test_busy_cores_is_a_count():
    b = busy_cores()
    assert isinstance(b, int) and b >= 0


@pytest.mark.parametrize("sparse", [False, True])
def test_governed_threads_give_the_same_bits(sparse):
    """Long enough for the governor to switch thread counts several times
    within the fit (working sets, plain epochs)."""
    X, Y = make_problem(n=300, p=600, T=6, seed=3, n_informative=40)
    if sparse:
        X = sp.csc_matrix(X * (np.abs(X) > 1.0))
    for Est in (mtlfast.MultiTaskLasso, mtlfast.Lasso):
        y = Y if Est is mtlfast.MultiTaskLasso else Y[:, 0]
        a = Est(alpha=0.01, tol=1e-10, max_iter=5000, n_threads=1).fit(X, y)
        b = Est(alpha=0.01, tol=1e-10, max_iter=5000, n_threads=2).fit(X, y)
        np.testing.assert_array_equal(a.coef_, b.coef_)
        assert a.n_iter_ == b.n_iter_
