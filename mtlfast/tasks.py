"""Deprecated location, kept for one release: use mtlfast.datafits."""
from .datafits import QuadraticPerTask  # noqa: F401
from .datafits._layout import check_tasks, codes_for, stack_task_list  # noqa: F401
