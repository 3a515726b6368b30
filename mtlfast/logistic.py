"""Deprecated location, kept for one release: the datafit is
mtlfast.datafits.LogisticPerTask, the twin mtlfast.reference.pn_logistic, the
compiled solver mtlfast.solvers.solve_logistic."""
import numpy as np

from .datafits.logistic import LogisticPerTask, _phi  # noqa: F401
from .datafits._layout import shared_to_long  # noqa: F401
from .reference.pn_logistic import (prox_newton, working_set, _newton_step,  # noqa: F401
                                    _pen_change, ARMIJO, MAX_HALVINGS, UNDECIDABLE)
from .solvers import solve_logistic as _solve_logistic


def solve_logistic(df, pen, W0=None, b0=None, max_iter=100, tol=1e-8, max_inner=1000,
                   inner_tol=1e-3, use_ws=True, p0=10, dtype=np.float64, n_threads=1):
    """(W (p, T), b (T,), gap, n_iter), the former return convention."""
    res = _solve_logistic(df, pen, None if W0 is None else np.asarray(W0).T, b0,
                          max_iter=max_iter, tol=tol, max_inner=max_inner,
                          inner_tol=inner_tol, strategy="ws" if use_ws else "cd", p0=p0,
                          dtype=dtype, n_threads=n_threads)
    gap = float(res.gaps.sum()) if tol >= 0 else np.inf
    return res.coef.T.astype(np.float64), res.intercept, gap, int(res.n_iter.max())
