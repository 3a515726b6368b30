"""Proximal Newton for the per-task logistic datafit + a structured model
(mtlfast.penalties.structured: TwoPart, TaskGraph, Transfer).

Each Newton step minimizes the model's penalty plus the quadratic model of
the loss at (W, b),

    sum_i g_i u_i + h_i / 2 u_i^2,   u_i = x_i . (W' - W)_t(i) + (b' - b)_t(i),
    g_i = c_i (p_i - y_i),  h_i = c_i p_i (1 - p_i),  p = sigmoid(z),

which is the weighted least-squares problem 1/2 sum_i h_i (zeta_i - x_i . w'_t
- b'_t)^2 with the working response zeta_i = z_i - g_i / h_i: a
QuadraticPerTask datafit (sample weights h, intercepts by weighted
centering, which eliminates them exactly as the row-penalty kernel does)
solved by the structured kernel (mtlfast._cd_structured, or its NumPy twin
mtlfast.reference.bcd_structured with backend="reference"), warm-started
from the current parts, to an accuracy that follows the outer gap
(0.1 x the gap, relative to the model's ||zeta_eff||^2, at most inner_tol).
The step (parts, b) + alpha (D, Db) takes alpha halved from 1 until Tseng and
Yun's Armijo condition holds (the constants of mtlfast.reference.pn_logistic:
F(x + alpha D) - F(x) <= 1e-4 alpha (G . D + Gb . Db + Omega(x + D) - Omega(x)),
the full step where that test is below F's rounding). Then the intercepts
are refitted given W and the gap (mtlfast.penalties.structured.logistic_gaps)
decides: every block's gap <= tol x its loss at z = 0.

The outer loop is NumPy (a few passes over the data per Newton step: the
model's weights, the gap, the line search); the inner solves, where the
epochs are, are compiled. Curvatures h_i below 1e-12 c_i (|z_i| above ~28)
are raised to it, so that every row keeps a finite working response; any
positive curvature gives a descent direction, and the line search keeps
every step a decrease.
"""
import time

import numpy as np
from scipy import sparse
from scipy.special import expit

from .. import _control
from .._kinds import CONSTANTS
from ..datafits.quadratic import QuadraticPerTask
from ..datafits._layout import csc_task_pointers, repeat_design
from ..penalties.structured import logistic_gaps
from ..reference.pn_logistic import ARMIJO, MAX_HALVINGS, UNDECIDABLE
from ._compiled import SolveResult, solve_structured

# each Newton step's inner solve: to INNER_FRACTION of the gap; the curvature floor
H_FLOOR, INNER_FRACTION = CONSTANTS["H_FLOOR"], CONSTANTS["INNER_FRACTION"]


def _long_design(df):
    """Every task's rows of X in the task order, as float64 (a shared design
    repeated per task, as the structured regressors' long layout); sparse X
    as CSC with sorted int32 indices, built once per solve."""
    X = df.X
    if df.shared:
        X = repeat_design(X, df.n_tasks)
    if sparse.issparse(X):
        X = sparse.csc_matrix(X, dtype=np.float64, copy=True)
        X.sort_indices()
        X.indices, X.indptr = X.indices.astype(np.int32), X.indptr.astype(np.int32)
        return X
    return np.asfortranarray(X, dtype=np.float64)


def newton_weights(df, z):
    """The quadratic model of the loss at z (module docstring): gradients
    g = c (p - y), curvatures h (floored) and the working response zeta."""
    p = expit(z)
    g = df.c * (p - df.y)
    h = np.maximum(df.c * p * (1.0 - p), H_FLOOR * df.c)
    zeta = z - np.divide(g, h, out=np.zeros_like(g), where=h > 0)
    return g, h, zeta


def _newton_model(df, X, W, b, task_ptr=None, out=None):
    """The quadratic model at (W, b) as a QuadraticPerTask datafit, with the
    loss's gradients G = A^T g (p, T) and Gb (T,)."""
    z = df.z(W, b)
    g, h, zeta = newton_weights(df, z)
    qdf = QuadraticPerTask.from_row_weights(X, zeta, df.offsets, h, df.fit_intercept, task_ptr,
                                            out)
    Gb = np.array([g[sl].sum() for sl in df.task_slices()])
    return qdf, z, df.adjoint(g), Gb


def _value_change(model, parts, D, alpha):
    return model.value([P + alpha * Dk for P, Dk in zip(parts, D)]) - model.value(parts)


def _line_search(df, model, parts, b, z, G, Gb, D, Db):
    """alpha of the Armijo backtracking (module docstring)."""
    W_D = model.effective(D)
    u = df.apply(W_D) + Db[df.codes]
    decrease = float(np.sum(G * W_D)) + float(Gb @ Db) + _value_change(model, parts, D, 1.0)
    F0 = df.loss(z) + model.value(parts)
    return armijo_step(decrease, F0, lambda alpha: df.loss_change(z, u, alpha)
                       + _value_change(model, parts, D, alpha))


def armijo_step(decrease, F0, change):
    """Tseng and Yun's backtracking: alpha halved from 1 (at most MAX_HALVINGS
    times) until change(alpha) = F(x + alpha D) - F(x) <= ARMIJO alpha
    decrease; the full step when that test is below F0's rounding."""
    if ARMIJO * abs(decrease) <= UNDECIDABLE * abs(F0):
        return 1.0
    alpha = 1.0
    for _ in range(MAX_HALVINGS):
        if change(alpha) <= ARMIJO * alpha * decrease:
            break
        alpha *= 0.5
    return alpha


def _inner_control(control):
    """The inner solves keep the fit's deadline but report nothing (the
    Newton steps report)."""
    if control is None:
        return None
    inner = _control.FitControl(control.name)
    inner.deadline, inner.progress = control.deadline, None
    return inner


def block_scales(df, n_blocks):
    """Each gap block's loss at z = 0 (tol multiplies it): per task when the
    model is separable, else the total."""
    per_task = np.array([df.c[sl].sum() * np.log(2.0) for sl in df.task_slices()])
    return per_task if n_blocks == df.n_tasks else np.array([per_task.sum()])


def solve_structured_logistic(datafit, model, parts_init=None, intercept_init=None, *,
                              max_iter=100, tol=1e-6, max_inner=1000, inner_tol=1e-3,
                              n_threads=None, backend="cython"):
    """Minimize a LogisticPerTask datafit + a structured model by proximal
    Newton (module docstring).

    parts_init : the model's parts as in model.init_parts, or None (zeros);
        intercept_init (T,) or None. Never modified.
    max_iter : Newton steps. tol : relative to each block's loss at z = 0
        (block_scales); tol < 0 runs exactly max_iter Newton steps, each
        inner solve exactly max_inner plain epochs, without gaps (the mode
        that compares the backends step by step).
    max_inner : epochs of each inner solve. backend : the inner solver,
        "cython" (mtlfast._cd_structured) or "reference" (its NumPy twin).
    Returns a SolveResult: coef (T, p) float64, intercept, parts, n_iter
    (Newton steps, shape (1,)), gaps per block (per task for the separable
    transfer model; their sum certifies the whole objective).
    """
    p, T = datafit.n_features, datafit.n_tasks
    shapes = [Pk.shape for Pk in model.init_parts(p, T)]
    parts = [np.zeros(s) for s in shapes] if parts_init is None else \
        [np.array(Pk, dtype=np.float64) for Pk in parts_init]
    if [Pk.shape for Pk in parts] != shapes:
        raise ValueError(f"initial parts must have shapes {shapes}.")
    b = np.zeros(T) if intercept_init is None else np.array(intercept_init, dtype=float)
    X = _long_design(datafit)
    task_ptr = (csc_task_pointers(X.indices, X.indptr, datafit.offsets.astype(np.intc))
                if sparse.issparse(X) else None)
    exact_steps = tol < 0
    n_blocks = T if model.separable else 1
    target = tol * block_scales(datafit, n_blocks)
    control = _control.current()
    start = time.monotonic()
    n_iter = 0
    gaps = np.full(n_blocks, np.inf)
    qdf = None
    while True:
        W = model.effective(parts)
        if not exact_steps:
            b = datafit.optimal_intercept(W, b)
            gaps = logistic_gaps(model, datafit, parts, b)
            if control is not None and control.progress is not None:
                if control.progress(float(gaps.sum()), float(target.sum()), n_iter,
                                    time.monotonic() - start):
                    break
            if np.all(gaps <= target):
                break
        if n_iter >= max_iter or (control is not None and control.out_of_time):
            break
        # the previous step's weighted design is done with: its memory is reused
        qdf, z, G, Gb = _newton_model(datafit, X, W, b, task_ptr,
                                      None if qdf is None or qdf.is_sparse else qdf.X_eff)
        if exact_steps:
            tol_in = -1.0
        else:
            tol_in = min(inner_tol, INNER_FRACTION * float(gaps.sum())
                         / max(float(qdf.gap_scale().sum()), 1e-300))
        with _control.fit_control(_inner_control(control)):
            res = solve_structured(qdf, model.for_design(qdf), parts, max_iter=max_inner,
                                   tol=tol_in,
                                   n_threads=n_threads, backend=backend)
        new = [np.asarray(Pk, dtype=np.float64) for Pk in res.parts]
        b_new = qdf.intercept(model.effective(new)) if datafit.fit_intercept else b
        D = [Nk - Pk for Nk, Pk in zip(new, parts)]
        Db = b_new - b
        alpha = _line_search(datafit, model, parts, b, z, G, Gb, D, Db)
        parts = [Pk + alpha * Dk for Pk, Dk in zip(parts, D)]
        b = b + alpha * Db
        n_iter += 1
    _control.raise_callback_error()
    W = model.effective(parts)
    return SolveResult(np.ascontiguousarray(W.T), np.array([n_iter]), gaps, intercept=b,
                       parts=parts)
