"""Datafits: the loss part of the objective, with its data (layer 2 of the
design). The protocol every datafit follows, and the design objects handed
to the kernels, are in mtlfast.datafits.base.

    QuadraticShared    1/(2n) sum_i s_i ||y_i - x_i W - b||^2 (one X)
    QuadraticPerTask   sum_t omega_t/(2 n_t) sum_{i in t} s_i (y_i - x_i w_t - b_t)^2
    LogisticPerTask    sum_t omega_t/n_t sum_{i in t} s_i (log(1 + e^z_i) - y_i z_i)

Task labels and the long / list layouts: mtlfast.datafits._layout.
"""
from .base import Datafit, SharedDesignArrays, TaskDesignArrays
from .quadratic import QuadraticShared, QuadraticPerTask
from .logistic import LogisticPerTask
from ._layout import (check_tasks, codes_for, stack_task_list, shared_to_long,
                      check_task_weight, per_row_linear)

__all__ = ["Datafit", "SharedDesignArrays", "TaskDesignArrays", "QuadraticShared",
           "QuadraticPerTask", "LogisticPerTask", "check_tasks", "codes_for",
           "stack_task_list", "shared_to_long"]
