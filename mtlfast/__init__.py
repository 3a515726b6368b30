"""mtlfast: fast regularized multi-task learning with linear models.

Cython + OpenMP block coordinate descent with duality-gap certificates,
drop-in estimators for scikit-learn's coordinate-descent models, and a
pure-NumPy reference twin of every kernel (mtlfast.reference).
"""
__version__ = "0.1.0"

try:
    from . import _openmp  # noqa: F401  (a compiled module: is the package built?)
except ImportError as _exc:
    import os as _os
    raise ImportError(
        f"mtlfast's compiled modules were not found next to {_os.path.dirname(__file__)}: "
        "this is the source folder, not an installed (built) package. Python puts the "
        "current directory first on sys.path, so running it from the repository's root "
        "imports the sources: install the package (pip install .) and run from another "
        "directory (the tests: cd tests && python -m pytest), or build in place with "
        "pip install --no-build-isolation -e .") from _exc

from ._config import show_config, config, openmp_enabled, resolve_n_threads
from .linear_model import (
    ElasticNet, Lasso, MultiTaskElasticNet, MultiTaskLasso, MultiTaskSparseGroupLasso)
from .multi_task import (
    DirtyMultiTaskLasso, MeanRegularizedMultiTask, TaskGraphMultiTask, TransferLasso)
from .path import enet_path, lasso_path, alpha_grid
from .model_selection import MultiTaskElasticNetCV, MultiTaskLassoCV, PathCV
from .classification import MultiTaskLogisticRegression
from .multi_task_logistic import (
    DirtyMultiTaskLogisticRegression, MeanRegularizedMultiTaskLogisticRegression,
    TaskGraphMultiTaskLogisticRegression, TransferLogisticRegression)
from . import penalties, datafits, reference
from .persistence import save, load

__all__ = [
    "ElasticNet", "Lasso", "MultiTaskElasticNet", "MultiTaskLasso",
    "MultiTaskSparseGroupLasso", "show_config", "config", "openmp_enabled",
    "resolve_n_threads", "penalties", "datafits", "reference", "enet_path", "lasso_path",
    "alpha_grid", "DirtyMultiTaskLasso", "MeanRegularizedMultiTask", "TaskGraphMultiTask",
    "TransferLasso", "MultiTaskElasticNetCV", "MultiTaskLassoCV", "PathCV",
    "MultiTaskLogisticRegression", "DirtyMultiTaskLogisticRegression",
    "MeanRegularizedMultiTaskLogisticRegression", "TaskGraphMultiTaskLogisticRegression",
    "TransferLogisticRegression", "save", "load",
]
