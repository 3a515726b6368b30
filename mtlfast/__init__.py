"""mtlfast: fast regularized multi-task learning with linear models.

Cython + OpenMP block coordinate descent with duality-gap certificates,
drop-in estimators for scikit-learn's coordinate-descent models, and a
pure-NumPy reference twin of every kernel (mtlfast.reference).
"""
__version__ = "0.1.0"

from ._config import show_config, config, openmp_enabled, resolve_n_threads
from .linear_model import (
    ElasticNet, Lasso, MultiTaskElasticNet, MultiTaskLasso, MultiTaskSparseGroupLasso)
from .multi_task import (
    DirtyMultiTaskLasso, MeanRegularizedMultiTask, TaskGraphMultiTask, TransferLasso)
from .path import enet_path, lasso_path, alpha_grid
from .model_selection import MultiTaskElasticNetCV, MultiTaskLassoCV, PathCV
from .classification import MultiTaskLogisticRegression
from . import penalties, datafits, reference
from .persistence import save, load

__all__ = [
    "ElasticNet", "Lasso", "MultiTaskElasticNet", "MultiTaskLasso",
    "MultiTaskSparseGroupLasso", "show_config", "config", "openmp_enabled",
    "resolve_n_threads", "penalties", "datafits", "reference", "enet_path", "lasso_path",
    "alpha_grid", "DirtyMultiTaskLasso", "MeanRegularizedMultiTask", "TaskGraphMultiTask",
    "TransferLasso", "MultiTaskElasticNetCV", "MultiTaskLassoCV", "PathCV",
    "MultiTaskLogisticRegression", "save", "load",
]
