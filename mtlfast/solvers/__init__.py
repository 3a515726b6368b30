"""Solvers (layer 3 of the design): datafit + penalty -> kernel -> SolveResult.

One table says which solver supports which (datafit, penalty) pair, and
`solve` is the one entry that reads it; anything else gets a clear error.

    datafit            penalty                              solver (kernel)
    QuadraticShared    row penalty (L1, L2, ElasticNet,     solve_shared (_cd_shared)
                       L21, L21L2, SparseGroupL1L21)
    QuadraticPerTask   row penalty                          solve_tasks (_cd_pertask)
    QuadraticPerTask   TwoPart, TaskGraph, Transfer         solve_structured (_cd_structured)
    LogisticPerTask    row penalty                          solve_logistic (_pn_logistic)
    LogisticPerTask    TwoPart, TaskGraph, Transfer         solve_structured_logistic
                                                            (proximal Newton, its inner
                                                            solves _cd_structured)

Every kernel runs the same outer loops (src/mtlfast/_driver.pxd: plain
epochs with scikit-learn's stopping rule, or working sets; gap-safe
screening and Anderson extrapolation where the kernel provides them), and
has a NumPy twin in mtlfast.reference (backend="reference").
"""
from ..datafits import QuadraticShared, QuadraticPerTask, LogisticPerTask
from ..penalties import (L1, L2, L21, L21L2, ElasticNet, SparseGroupL1L21, TwoPart, TaskGraph,
                         Transfer)
from ._compiled import (KernelOptions, SolveResult, solve_shared, solve_tasks,
                        solve_structured, solve_logistic, SMALL_PROBLEM)
from ._pn_structured import solve_structured_logistic

ROW_PENALTIES = (L1, L2, ElasticNet, L21, L21L2, SparseGroupL1L21)
STRUCTURED_MODELS = (TwoPart, TaskGraph, Transfer)

SUPPORT = {
    QuadraticShared: ((ROW_PENALTIES, solve_shared),),
    QuadraticPerTask: ((ROW_PENALTIES, solve_tasks), (STRUCTURED_MODELS, solve_structured)),
    LogisticPerTask: ((ROW_PENALTIES, solve_logistic),
                      (STRUCTURED_MODELS, solve_structured_logistic)),
}


def solver_for(datafit, penalty):
    """The solver of the support table for this pair, or a clear error."""
    for allowed, fn in SUPPORT.get(type(datafit), ()):
        if isinstance(penalty, allowed):
            return fn
    pairs = "; ".join(f"{df.__name__} with {', '.join(c.__name__ for c in allowed)}"
                      for df, rows in SUPPORT.items() for allowed, _ in rows)
    raise NotImplementedError(
        f"mtlfast has no solver for datafit {type(datafit).__name__} with penalty "
        f"{type(penalty).__name__}; supported pairs: {pairs}.")


def solve(datafit, penalty, init=None, **options):
    """Minimize datafit + penalty with the solver of the support table.

    init : the solver's initial point (coef (T, p), or the structured
        model's parts), or None. options : that solver's keyword options.
    """
    return solver_for(datafit, penalty)(datafit, penalty, init, **options)


__all__ = ["solve", "solver_for", "SUPPORT", "SolveResult", "KernelOptions", "solve_shared",
           "solve_tasks", "solve_structured", "solve_logistic", "solve_structured_logistic",
           "ROW_PENALTIES",
           "STRUCTURED_MODELS", "SMALL_PROBLEM"]
