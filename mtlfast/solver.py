"""Solver driver: datafit + penalty -> kernel (or reference) -> result.

One table says which solver supports which datafit x penalty; unsupported
pairs get a clear error.
"""
from dataclasses import dataclass

import numpy as np

from . import _cd_shared, reference
from ._config import resolve_n_threads, single_threaded_blas
from .datafits import QuadraticShared
from .structured import bcd_structured as reference_structured
from .penalties import L1, L2, L21, L21L2, ElasticNet, SparseGroupL1L21

from ._kinds import Strategy

_STRATEGIES = {"cd": Strategy.STRATEGY_CD, "ws": Strategy.STRATEGY_WS}
SMALL_PROBLEM = 250_000   # n * p * T below which "auto" runs plain epochs

SUPPORTED = {
    QuadraticShared: (L1, L2, ElasticNet, L21, L21L2, SparseGroupL1L21),
}


@dataclass
class SolveResult:
    coef: np.ndarray     # (n_tasks, n_features), the datafit's dtype
    n_iter: np.ndarray   # epochs per block (per task for separable penalties)
    gaps: np.ndarray     # duality gap per block, 1/(2n) scaling
    residual: np.ndarray = None


def _p0(datafit, p0):
    if p0 is not None:
        return int(p0)
    return int(np.clip(datafit.n_features // 50, 10, 100))


def _block_size(datafit, block_size):
    """Blocks pay when several tasks share each column read (T >= 4)."""
    if block_size is not None:
        return int(block_size)
    if datafit.is_sparse or datafit.n_tasks < 4:
        return 0
    return 32


def _initial_coef(datafit, coef_init):
    """The kernels' in/out coef (T, p), C-ordered; coef_init is never modified."""
    if coef_init is None:
        return np.zeros((datafit.n_tasks, datafit.n_features), dtype=datafit.dtype)
    return np.array(coef_init, dtype=datafit.dtype, order="C", copy=True)


def check_supported(datafit, penalty):
    allowed = SUPPORTED.get(type(datafit), ())
    if not isinstance(penalty, allowed):
        raise NotImplementedError(
            f"mtlfast has no solver for datafit {type(datafit).__name__} with "
            f"penalty {type(penalty).__name__}; supported: "
            f"{[c.__name__ for c in allowed]}.")


def solve(datafit, penalty, coef_init=None, *, max_iter=1000, tol=1e-4,
          gap_freq=10, selection="cyclic", seed=0, n_threads=None,
          backend="cython", strategy="auto", block_size=None, anderson_k=None, p0=None,
          screening=True, screen_freq=0):
    """Minimize datafit + penalty by block coordinate descent.

    coef_init : (n_tasks, n_features) or None. Never modified.
    tol : scikit-learn's meaning: stop when the duality gap (n-scaled) is
        <= tol * ||Y_block||^2, per task for separable penalties.
    backend : "cython" (the kernels) or "reference" (NumPy twin, cyclic only).
    strategy : "ws" (working sets grown from dual scores, with Anderson
        extrapolation), "cd" (plain epochs over all features; what the
        reference runs) or "auto": "ws" for dense X, "cd" for sparse X and
        for small problems (n * p * T < 250000, where an epoch costs well
        under a millisecond and plain epochs keep scikit-learn's exact
        iterates). Chosen by measurement (benchmarks/): on sparse designs the
        columns are nearly orthogonal, plain epochs converge in a few passes
        and working sets only add outer iterations; on dense designs working
        sets win by 1.3-8x.
    block_size : features per level-3 BLAS block in the epochs on dense X
        (None: automatic; 0: plain level-1 epochs). Same iterates either way.
    anderson_k : depth of the Anderson extrapolation of the iterates (0: none;
        cyclic selection only); None: 5, except 0 when "auto" picks plain
        epochs for a small problem (keeping scikit-learn's iterates there).
    p0 : smallest working-set size (strategy "ws"); None: p / 50 clipped to
        [10, 100] (measured on the suite: large first sets pay on wide
        problems, small ones on tall problems with few features).
    screening : gap-safe screening after every duality gap (lam1 > 0): features
        proven zero at the optimum leave the problem. With strategy "ws" the
        returned gap is that of the remaining problem (same optimal value, so
        a certificate of the full one); with "cd" it is the full gap, as in
        scikit-learn, which screens the same way.
    screen_freq : with strategy "cd", also compute the gap and screen every
        screen_freq epochs (0, the default: only at scikit-learn's gap
        schedule). Measured on the suite's sparse problems, the extra gaps
        cost ~10% and screened almost nothing at the tolerances that reach
        1e-6 relative suboptimality (the sphere is still large there).
    """
    small = datafit.n_samples * datafit.n_features * datafit.n_tasks < SMALL_PROBLEM
    if anderson_k is None:
        anderson_k = 0 if strategy == "auto" and small else 5
    if strategy == "auto":
        strategy = "cd" if datafit.is_sparse or small else "ws"
    if strategy not in _STRATEGIES:
        raise ValueError(f"strategy must be 'auto' or one of {sorted(_STRATEGIES)}, "
                         f"got {strategy!r}.")
    check_supported(datafit, penalty)
    T, p = datafit.n_tasks, datafit.n_features
    if backend == "reference":
        W0 = None if coef_init is None else np.asarray(coef_init, dtype=np.float64).T
        X = datafit.design_dense()
        Y = datafit.Y.astype(np.float64)
        tol_ref = None if tol is None or tol < 0 else tol
        if penalty.separable:
            W = np.zeros((p, T))
            gaps, iters = np.zeros(T), np.zeros(T, dtype=int)
            for t in range(T):
                w0 = None if W0 is None else W0[:, t:t + 1]
                Wt, gaps[t], iters[t] = reference.bcd(X, Y[:, t:t + 1], penalty, w0, max_iter, tol_ref)
                W[:, t] = Wt[:, 0]
        else:
            W, gap, it = reference.bcd(X, Y, penalty, W0, max_iter, tol_ref)
            gaps, iters = np.array([gap]), np.array([it])
        return SolveResult(W.T.astype(datafit.dtype), iters, gaps)
    if backend != "cython":
        raise ValueError(f"backend must be 'cython' or 'reference', got {backend!r}.")

    coef = _initial_coef(datafit, coef_init)
    kind, lam1, lam2, tau, positive = penalty.kernel_params()
    n_threads = resolve_n_threads(n_threads)
    with single_threaded_blas():
        n_iter, gaps, R = _cd_shared.solve(
            *datafit.kernel_args(), coef, kind, lam1, lam2, tau, positive,
            datafit.X_mean, datafit.u, int(max_iter), float(tol), int(gap_freq),
            selection == "random", int(seed) & 0xFFFFFFFF, n_threads,
            _STRATEGIES[strategy], int(_p0(datafit, p0)), _block_size(datafit, block_size),
            int(anderson_k), bool(screening), int(screen_freq))
    return SolveResult(coef, n_iter, gaps, R)


SUPPORTED_TASKS = (L1, L2, ElasticNet, L21, L21L2, SparseGroupL1L21)


def solve_tasks(datafit, penalty, coef_init=None, *, max_iter=1000, tol=1e-4, gap_freq=10,
                n_threads=None, backend="cython", screening=True, strategy="ws", p0=None):
    """Minimize a per-task datafit (mtlfast.tasks.QuadraticPerTask) + penalty.

    tol : stop when the duality gap <= tol * ||y_eff||^2 (per task for
        separable penalties), the per-task analogue of scikit-learn's rule.
    backend : "cython" (mtlfast._cd_pertask) or "reference" (NumPy twin).
    screening : gap-safe screening after every gap (lam1 > 0, tol >= 0): rows
        proven zero at the optimum leave the epochs (twin:
        mtlfast.reference.gap_safe_screen_tasks). The returned gap is the full
        problem's. tol < 0 runs plain epochs, the twin's iterates.
    strategy : "ws" (working sets grown from dual scores, as in `solve`) or
        "cd" (epochs over all unscreened features). Both stop on the full
        problem's gap; tol < 0 always runs plain epochs.
    p0 : smallest working-set size; None: p / 50 clipped to [10, 100].
    Returns a SolveResult (coef (T, p), n_iter, gaps, residual).
    """
    if not isinstance(penalty, SUPPORTED_TASKS):
        raise NotImplementedError(
            f"mtlfast has no per-task solver for penalty {type(penalty).__name__}; "
            f"supported: {[c.__name__ for c in SUPPORTED_TASKS]}.")
    if backend == "reference":
        W0 = None if coef_init is None else np.asarray(coef_init, dtype=np.float64).T
        tol_ref = None if tol is None or tol < 0 else tol
        W, gap, it = reference.bcd_tasks(datafit, penalty, W0, max_iter, tol_ref)
        return SolveResult(W.T.astype(datafit.dtype), np.array([it]), np.array([gap]))
    if backend != "cython":
        raise ValueError(f"backend must be 'cython' or 'reference', got {backend!r}.")
    if strategy not in _STRATEGIES:
        raise ValueError(f"strategy must be one of {sorted(_STRATEGIES)}, got {strategy!r}.")
    from . import _cd_pertask
    coef = _initial_coef(datafit, coef_init)
    kind, lam1, lam2, tau, positive = penalty.kernel_params()
    with single_threaded_blas():
        n_iter, gaps, r = _cd_pertask.solve_tasks(
            *datafit.kernel_args(), coef, kind, lam1, lam2, tau, positive,
            int(max_iter), float(tol), int(gap_freq), resolve_n_threads(n_threads),
            bool(screening), strategy == "ws", _p0(datafit, p0))
    return SolveResult(coef, n_iter, gaps, r)


def solve_structured(datafit, model, parts_init=None, *, max_iter=1000, tol=1e-4, gap_freq=10,
                     n_threads=None, backend="cython", strategy="ws", p0=None):
    """Minimize a per-task datafit + a structured model (mtlfast.structured).

    parts_init : list of the model's parts, each (p, T_k) as in
        model.init_parts, or None (zeros). Never modified.
    tol : stop when the duality gap <= tol * ||y_eff||^2 (per task for the
        separable transfer model).
    strategy : "ws" (working sets, for models whose every part has an
        L1-type norm; the transfer lasso and ridge parts always run plain
        epochs) or "cd". tol < 0 always runs plain epochs (the twin's iterates).
    p0 : smallest working-set size; None: p / 50 clipped to [10, 100].
    Returns (parts (list of (p, T_k) arrays, the datafit's dtype), n_iter,
    gaps).
    """
    p, T = datafit.n_features, datafit.n_tasks
    shapes = [Pk.shape for Pk in model.init_parts(p, T)]
    if parts_init is None:
        parts_init = [np.zeros(s) for s in shapes]
    if [np.shape(Pk) for Pk in parts_init] != shapes:
        raise ValueError(f"initial parts must have shapes {shapes}.")
    if backend == "reference":
        tol_ref = None if tol is None or tol < 0 else tol
        parts, gaps, it = reference_structured(datafit, model, parts_init, max_iter, tol_ref)
        return [Pk.astype(datafit.dtype) for Pk in parts], np.array([it]), gaps
    if backend != "cython":
        raise ValueError(f"backend must be 'cython' or 'reference', got {backend!r}.")
    if strategy not in _STRATEGIES:
        raise ValueError(f"strategy must be one of {sorted(_STRATEGIES)}, got {strategy!r}.")
    from . import _cd_structured
    dt = datafit.dtype
    PA = np.array(np.asarray(parts_init[0]).T, dtype=dt, order="C")
    PB = (np.array(np.asarray(parts_init[1]).T, dtype=dt, order="C") if len(parts_init) > 1
          else np.zeros((0, p), dtype=dt))
    with single_threaded_blas():
        n_iter, gaps, _ = _cd_structured.solve_structured(
            *datafit.kernel_args(), PA, PB, model.kernel_params(), int(max_iter), float(tol),
            int(gap_freq), resolve_n_threads(n_threads), strategy == "ws", _p0(datafit, p0))
    parts = [PA.T] if len(parts_init) == 1 else [PA.T, PB.T]
    return parts, n_iter, gaps
