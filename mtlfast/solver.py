"""Deprecated location, kept for one release: use mtlfast.solvers."""
import numpy as np

from .solvers import SolveResult, solver_for, ROW_PENALTIES, SMALL_PROBLEM  # noqa: F401
from .solvers import solve_shared as solve, solve_tasks  # noqa: F401
from .solvers import solve_structured as _solve_structured
from .datafits import QuadraticShared

SUPPORTED = {QuadraticShared: ROW_PENALTIES}
SUPPORTED_TASKS = ROW_PENALTIES


def check_supported(datafit, penalty):
    solver_for(datafit, penalty)


def solve_structured(datafit, model, parts_init=None, **options):
    """(parts, n_iter, gaps), the former return convention."""
    res = _solve_structured(datafit, model, parts_init, **options)
    return res.parts, res.n_iter, np.asarray(res.gaps)
