"""NumPy reference twins of the compiled kernels (layer 5 of the design):
one module per kernel, with the kernel's name, the same objective, the same
updates in the same order and the same gaps, so tests can hold each kernel to
its twin after 1-2 epochs and at convergence.

    cd_shared.py       mtlfast._cd_shared      quadratic, shared design
    cd_pertask.py      mtlfast._cd_pertask     quadratic, per-task designs
    cd_structured.py   mtlfast._cd_structured  structured models (the models'
                                               row updates and gaps are methods of
                                               mtlfast.penalties.structured)
    pn_logistic.py     mtlfast._pn_logistic    logistic, proximal Newton (the gap
                                               is LogisticPerTask.gap)
"""
from .cd_shared import duality_gap, objective, bcd, gap_safe_screen
from .cd_pertask import objective_tasks, duality_gap_tasks, bcd_tasks, gap_safe_screen_tasks
from .cd_structured import bcd_structured, block_norms2
from .pn_logistic import prox_newton, working_set

__all__ = ["duality_gap", "objective", "bcd", "gap_safe_screen", "objective_tasks",
           "duality_gap_tasks", "bcd_tasks", "gap_safe_screen_tasks", "bcd_structured",
           "block_norms2", "prox_newton", "working_set"]
