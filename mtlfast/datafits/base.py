"""The datafit protocol, and the design objects handed to the kernels.

A datafit is the loss part of the objective with its data, already
validated, weighted and (for the quadratic ones) centered. It gives the
solver driver, the kernels and the NumPy twins everything they need from the
data; it never sees a penalty's internals (only `penalty.alpha_max` and, for
the logistic gap, the penalty's dual norm).

Every datafit has

    n_samples, n_features, n_tasks   rows (of all tasks), p, T
    dtype                            float32 / float64 (the kernels' dtype)
    is_sparse, fit_intercept
    kernel_design()                  the kernel's design object: a
                                     SharedDesignArrays (QuadraticShared) or a
                                     TaskDesignArrays (per-task datafits), arrays
                                     only, named fields, the kernel's dtype
    gradient(W)                      (p, T): the per-(feature, task) gradient of
                                     the datafit in W (intercepts optimal)
    curvatures()                     (p, T): per-(feature, task) curvature bound
                                     of the datafit (the coordinate steps' L)
    alpha_max(penalty)               the smallest alpha whose solution is W = 0
    intercept(W)                     the intercepts that go with W
    gap_scale()                      what `tol` multiplies in the stopping rule
                                     (scikit-learn's meaning for a shared design)
    task_slices()                    the rows of each task (per-task datafits)

The kernel side of the protocol (what a kernel computes with the design,
called by the driver once per epoch or gap, never per coordinate; see
src/mtlfast/_driver.pxd): the residual or linear predictor r = y - A(W)
(quadratic) or z = A(W) + b (logistic), kept up to date coordinate by
coordinate; the per-(feature, task) gradient A_jt^T r and curvature; the
dual point (the residual rescaled into the dual norm ball) and the
conjugate for the gap; intercepts by implicit centering (quadratic) or by
Newton steps (logistic).
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SharedDesignArrays:
    """The shared-design kernel's design (mtlfast._cd_shared.solve).

    X : (n, p) Fortran-ordered dense effective design, or (0, 0) when sparse
    X_data, X_indices, X_indptr : the CSC arrays (int32 indices), or empty
    Y : (n, T) Fortran-ordered effective targets
    X_mean : (p,) implicit centering of sparse X (float64), or empty (none)
    u : (n,) row scaling (sqrt of the sample weights) with X_mean, or empty
    """
    X: np.ndarray
    X_data: np.ndarray
    X_indices: np.ndarray
    X_indptr: np.ndarray
    is_sparse: bool
    n_samples: int
    n_features: int
    Y: np.ndarray
    X_mean: np.ndarray
    u: np.ndarray


@dataclass(frozen=True)
class TaskDesignArrays:
    """The per-task kernels' design (mtlfast._cd_pertask, _cd_structured,
    _pn_logistic; read by mtlfast._taskdesign / _logdesign).

    X : (N, p) dense Fortran-ordered rows of all tasks (or, with shared, the
        one (n, p) design of every task); (0, 0) when sparse
    X_data, X_indices : CSC data and row indices (sorted per column)
    ptr : with shared, X's indptr; else tptr (p * (T+1)): the nonzeros of
        column j in task t are tptr[j*(T+1)+t] : tptr[j*(T+1)+t+1]
    offsets : (T+1,) int32, task t owns rows offsets[t]:offsets[t+1]
    y : (N,) targets (quadratic: effective targets in the dtype; logistic:
        0/1 labels in float64)
    X_mean (T, p), u (N,), uu (T,) : implicit centering of sparse X (quadratic;
        empty: none)
    c : (N,) row weights (logistic), else empty
    """
    X: np.ndarray
    X_data: np.ndarray
    X_indices: np.ndarray
    ptr: np.ndarray
    is_sparse: bool
    shared: bool
    n_rows: int
    n_features: int
    offsets: np.ndarray
    y: np.ndarray
    X_mean: np.ndarray
    u: np.ndarray
    uu: np.ndarray
    c: np.ndarray
    fit_intercept: bool


class Datafit:
    """Base of the datafits: the protocol's shared parts (see the module
    docstring for the whole protocol)."""

    def alpha_max(self, penalty):
        """The smallest alpha whose solution is W = 0: the penalty's, given
        the datafit's gradient at W = 0 (intercepts optimal)."""
        W0 = np.zeros((self.n_features, self.n_tasks))
        from ..penalties.factors import unpenalized, has_unpenalized, refit_unpenalized
        U = unpenalized(penalty)
        if has_unpenalized(U):     # the unpenalized features fitted: W = 0 on the others
            W0 = refit_unpenalized(self, W0, U)
            W0 = W0[0] if isinstance(W0, tuple) else W0
        return penalty.alpha_max(-self.gradient(W0))

    def task_slices(self):
        return [slice(self.offsets[t], self.offsets[t + 1]) for t in range(self.n_tasks)]
