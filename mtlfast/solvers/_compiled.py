"""The four compiled solvers, each the one call site of its kernel, and each
with its NumPy twin as backend="reference".

Every kernel entry takes three objects: the datafit's design
(`datafit.kernel_design()`, named arrays), the penalty (or the structured
model's StructuredParams; the kernel fills its struct from it with
_prox.penalty_from) and a KernelOptions. Every function returns a
SolveResult.

Objective scalings (stated once, in DESIGN.md section 3 and the README):
the shared-design kernel works on the objective multiplied by n, as
scikit-learn's does (its iterates depend on it), and its gaps come back in
the 1/(2n) scaling; the per-task kernels work on their objective as the
datafit writes it (no hidden factor). `tol` multiplies datafit.gap_scale()
in the datafit's own scaling either way.
"""
from dataclasses import dataclass, field, replace
import functools

import numpy as np

from ..datafits import QuadraticShared
from ..datafits._checks import check_shared_norms
from ..penalties.factors import (unpenalized, has_unpenalized, refit_unpenalized,
                                 quadratic_gaps)
from .. import _cd_shared, _cd_pertask, _cd_structured, _pn_logistic, reference
from .. import _control
from .._config import resolve_n_threads, single_threaded_blas
from .._kinds import Strategy

_STRATEGIES = {"cd": Strategy.STRATEGY_CD, "ws": Strategy.STRATEGY_WS,
               "gram": Strategy.STRATEGY_WS}
SMALL_PROBLEM = 250_000   # n * p * T below which wide sparse X never turns to working sets
# n * p * T below which "auto" runs plain epochs without extrapolation: a fit
# this small costs microseconds either way (its fixed cost dominates), and
# plain epochs give scikit-learn's own iterates (its estimator checks compare
# fits at tol 1e-4, such as weighted against repeated rows, that agree only
# to the tolerance when the two take different routes)
TINY_PROBLEM = 20_000
CD_FIRST = 100            # wide sparse X: plain epochs before "auto" turns to working sets


@dataclass(frozen=True)
class KernelOptions:
    """What a kernel entry reads besides the design and the penalty (each
    kernel reads the fields it uses; see its `solve` docstring)."""
    max_iter: int
    tol: float
    gap_freq: int = 10
    n_threads: int = 1
    strategy: int = Strategy.STRATEGY_WS
    p0: int = 10
    screen: bool = True
    screen_freq: int = 0
    block_size: int = 0
    anderson_k: int = 0
    random: bool = False
    seed: int = 0
    max_inner: int = 1000
    inner_tol: float = 1e-3
    # shared design: called as check_norms(norms2, design) with the column
    # squared norms of the kernel's first pass, before any epoch (the data's
    # magnitudes: mtlfast.datafits._checks.check_shared_norms)
    check_norms: object = None
    # shared design, working sets on dense X: covariance epochs for sets
    # small against n (and first sets sized by the violated constraints)
    covariance: bool = True
    # shared design, working sets on dense X: one set of all features solved on
    # the Gram of X (computed once; glmnet's covariance mode, scikit-learn's precompute)
    gram: bool = False
    # shared design, working sets of single-task blocks on dense X: Newton steps
    # on the support once the epochs crawl (_cd_shared_core.pxi: support_newton)
    newton: bool = False
    # the current fit's time budget (time.monotonic seconds) and progress
    # callable (mtlfast._control: set by the estimators' fit)
    deadline: float = field(default_factory=_control.deadline)
    progress: object = field(default_factory=_control.progress)


@dataclass
class SolveResult:
    coef: np.ndarray           # (n_tasks, n_features), the solver's dtype: W.T
    n_iter: np.ndarray         # epochs (Newton steps) per block (per task when separable)
    gaps: np.ndarray           # duality gap per block, in the datafit's scaling
    residual: np.ndarray = None
    intercept: np.ndarray = None   # logistic: the fitted intercepts (T,)
    parts: list = None         # structured models: the parts, each (p, T_k)
    x_passes: float = None     # shared design: the work in passes over X (see _cd_shared.solve)
    info: dict = None          # shared design: where the work went (_cd_shared.solve's info)


@dataclass
class PathResult:
    """A path solved in one kernel call (solve_shared with scales): per point."""
    coefs: np.ndarray          # (k, n_tasks, n_features)
    n_iter: np.ndarray         # (k, n_blocks)
    gaps: np.ndarray           # (k, n_blocks), in the datafit's scaling
    x_passes: np.ndarray       # (k,)


UNPENALIZED_ROUNDS = 10     # kernel re-runs (tol / 10 each) while the refit point's gap is above tol


def _block_gaps_logistic(datafit, W, b, penalty):
    """The logistic solver's blocks' gaps (per task when separable)."""
    if penalty.separable and datafit.n_tasks > 1:
        return np.array([datafit.task_block(t).gap(W[:, [t]], b[[t]], penalty.for_task(t))
                         for t in range(datafit.n_tasks)])
    return np.array([datafit.gap(W, b, penalty)])


def _block_scales(datafit, penalty, logistic):
    """What tol multiplies, per block, in the gaps' scaling."""
    if logistic:
        if penalty.separable and datafit.n_tasks > 1:
            return np.array([datafit.task_block(t).gap_scale() for t in range(datafit.n_tasks)])
        return np.array([datafit.gap_scale()])
    s = np.atleast_1d(np.asarray(datafit.gap_scale(), dtype=float))
    if isinstance(datafit, QuadraticShared):   # per task, in the 1/(2n) scaling
        Y = datafit.Y.astype(np.float64)
        s = (Y * Y).sum(axis=0) / datafit.n_samples
    return s if penalty.separable else np.array([s.sum()])


def _finish_unpenalized(datafit, penalty, res, tol, rerun, logistic=False):
    """Features with penalty factor 0: refit them exactly given the others
    and recompute the certificate there (mtlfast.penalties.factors); when that
    gap is above tol, run the solver again from the refit point with tol / 10
    (at most UNPENALIZED_ROUNDS times). rerun(coef (T, p), intercept, tol)
    returns a SolveResult."""
    U = unpenalized(penalty)
    if not has_unpenalized(U) or tol is None or tol < 0:
        return res
    scales = _block_scales(datafit, penalty, logistic)
    eps = tol * scales
    n_iter = np.asarray(res.n_iter).copy()
    for k in range(UNPENALIZED_ROUNDS + 1):
        W = np.asarray(res.coef, dtype=np.float64).T
        if logistic:
            W, b = refit_unpenalized(datafit, W, U, res.intercept)
            gaps = _block_gaps_logistic(datafit, W, b, penalty)
        else:
            W, b = refit_unpenalized(datafit, W, U), None
            gaps = quadratic_gaps(datafit, W, penalty)
        # a gap below zero beyond rounding means the refit left the unpenalized
        # constraints unmet: no certificate (reported as inf, never as converged)
        gaps = np.where(gaps < -1e-10 * scales, np.inf, gaps)
        if (gaps <= eps).all() or k == UNPENALIZED_ROUNDS:
            break
        res = rerun(W.T, b, tol * 0.1 ** (k + 1))
        n_iter = n_iter + np.asarray(res.n_iter).max()
    res.coef = np.ascontiguousarray(W.T, dtype=res.coef.dtype)
    res.gaps = gaps
    res.n_iter = n_iter
    res.residual = None
    if logistic:
        res.intercept = b
    return res


def _strategy(strategy):
    if strategy not in _STRATEGIES:
        raise ValueError(f"strategy must be one of {sorted(_STRATEGIES)}, got {strategy!r}.")
    return _STRATEGIES[strategy]


def _p0(datafit, p0):
    if p0 is not None:
        return int(p0)
    return min(max(datafit.n_features // 50, 10), 100)


def _block_size(datafit, block_size):
    """Blocks pay when several tasks share each column read (T >= 4)."""
    if block_size is not None:
        return int(block_size)
    if datafit.is_sparse or datafit.n_tasks < 4:
        return 0
    return 32


def _initial_coef(datafit, coef_init, dtype=None):
    """The kernels' in/out coef (T, p), C-ordered; coef_init is never modified."""
    dtype = datafit.dtype if dtype is None else dtype
    if coef_init is None:
        return np.zeros((datafit.n_tasks, datafit.n_features), dtype=dtype)
    return np.array(coef_init, dtype=dtype, order="C", copy=True)


def _reference_tol(tol):
    return None if tol is None or tol < 0 else tol


def _check_backend(backend):
    if backend not in ("cython", "reference"):
        raise ValueError(f"backend must be 'cython' or 'reference', got {backend!r}.")


def _solve_shared_core(datafit, penalty, coef_init=None, *, max_iter=1000, tol=1e-4,
                 gap_freq=10, selection="cyclic", seed=0, n_threads=None,
                 backend="cython", strategy="auto", block_size=None, anderson_k=None, p0=None,
                 screening=True, screen_freq=0, covariance=True, newton=None, scales=None):
    """Minimize a QuadraticShared datafit + a row penalty (mtlfast._cd_shared).

    coef_init : (n_tasks, n_features) or None. Never modified.
    tol : scikit-learn's meaning: stop when the duality gap (n-scaled) is
        <= tol * ||Y_block||^2, per task for separable penalties.
    backend : "cython" (the kernel) or "reference" (NumPy twin, cyclic only).
    strategy : "ws" (working sets grown from dual scores, with Anderson
        extrapolation), "gram" (dense X: one set of all features, solved on
        the Gram of X, computed once: glmnet's covariance mode), "cd" (plain
        epochs over all features; what the reference runs; scikit-learn's
        exact iterates) or "auto": "ws" on dense X ("cd" for problems with
        n * p * T < TINY_PROBLEM), "cd" for sparse
        X, except that on sparse X with more features than samples a fit
        still running after CD_FIRST (100) epochs continues with "ws" from
        where it is. Chosen by measurement (benchmarks/sweep.py's sparse
        draws, seeds 0-2, and the suite's sparse problems): sparse columns
        are often nearly orthogonal, plain epochs then converge in a few
        passes and working sets only add outer iterations (1-2x slower);
        where plain epochs crawl (n small against p, heavy-tailed columns,
        supports near n: up to 26000 epochs) working sets took 0.1-0.5x
        their time; on dense designs working sets win by 1.3-8x.
    block_size : features per level-3 BLAS block in the epochs on dense X
        (None: automatic; 0: plain level-1 epochs). Same iterates either way.
    anderson_k : depth of the Anderson extrapolation of the iterates (0: none;
        cyclic selection only); None: 5, except 0 when "auto" picks plain
        epochs for a tiny problem.
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
    covariance : with strategy "ws" on dense X, working sets small against n
        (m <= n / 4, m <= 32 (T + 1)) run covariance epochs (glmnet's
        type.gaussian="covariance": the set's Gram matrix and X_S^T R, an
        epoch in O(m^2 T) instead of O(n m T); same iterates up to rounding),
        and a set is at least as large as the constraints the last full gap
        found violated, up to sqrt(2 p T) (a Gram then costs about a full
        gap). False: epochs on the columns, sets
        grown from p0 by doubling only.
    newton : with strategy "ws", single-task blocks (T = 1 or a separable
        penalty) on dense X: a Newton step on the support of the iterate (the
        objective is a quadratic on the orthant of its signs: one linear
        solve, cut at the first sign change, refused unless the objective
        decreases) once the set's epochs since the last step have cost as
        much as the step, the signs unchanged by the last epoch. Epochs need
        O(condition number) passes on ill-conditioned supports (near n
        features on correlated columns: 10^4-10^5 epochs, 0.08x skglm on
        such a draw); the steps bound that at about twice the cost of a
        few solves. None: on when Anderson extrapolation is (anderson_k > 0;
        both change the iterates of plain epochs).
    scales : None, or a path in one kernel call: the penalty's strengths
        times each of these multipliers in turn, warm-started from the
        previous point (strategy "cd" or "ws"; no unpenalized features).
        Returns a PathResult instead of a SolveResult.
    """
    if scales is not None and (strategy == "auto" or backend != "cython"
                               or has_unpenalized(unpenalized(penalty))):
        raise ValueError("a path (scales) needs strategy 'cd' or 'ws', the compiled backend "
                         "and no unpenalized features")
    size = datafit.n_samples * datafit.n_features * datafit.n_tasks
    small, tiny = size < SMALL_PROBLEM, size < TINY_PROBLEM
    if anderson_k is None:
        anderson_k = 0 if strategy == "auto" and tiny else 5
    if newton is None:
        newton = anderson_k > 0
    then_ws = False             # wide sparse X: plain epochs first, then working sets
    if strategy == "auto":
        then_ws = (datafit.is_sparse and datafit.n_features > datafit.n_samples and not small
                   and selection == "cyclic" and max_iter > CD_FIRST)
        strategy = "cd" if datafit.is_sparse or tiny else "ws"
    code = _strategy(strategy)
    _check_backend(backend)
    T, p = datafit.n_tasks, datafit.n_features
    if backend == "reference":
        W0 = None if coef_init is None else np.asarray(coef_init, dtype=np.float64).T
        X = datafit.design_dense()
        Y = datafit.Y.astype(np.float64)
        tol_ref = _reference_tol(tol)
        if penalty.separable:
            W = np.zeros((p, T))
            gaps, iters = np.zeros(T), np.zeros(T, dtype=int)
            for t in range(T):
                w0 = None if W0 is None else W0[:, t:t + 1]
                Wt, gaps[t], iters[t] = reference.bcd(X, Y[:, t:t + 1], penalty.for_task(t), w0,
                                                      max_iter, tol_ref)
                W[:, t] = Wt[:, 0]
        else:
            W, gap, it = reference.bcd(X, Y, penalty, W0, max_iter, tol_ref)
            gaps, iters = np.array([gap]), np.array([it])
        return SolveResult(W.T.astype(datafit.dtype), iters, gaps)
    coef = _initial_coef(datafit, coef_init)
    design = datafit.kernel_design()
    work = T * (design.X_data.size if datafit.is_sparse else datafit.n_samples * p)
    options = KernelOptions(
        int(CD_FIRST if then_ws else max_iter), float(tol), int(gap_freq),
        resolve_n_threads(n_threads, work), code, _p0(datafit, p0), bool(screening),
        int(screen_freq), _block_size(datafit, block_size), int(anderson_k),
        selection == "random", int(seed), check_norms=check_shared_norms,
        covariance=bool(covariance), gram=strategy == "gram", newton=bool(newton))
    if scales is not None:
        with single_threaded_blas(datafit.n_samples, datafit.n_features, datafit.n_tasks):
            n_iter, gaps, coefs, x_passes = _cd_shared.solve(design, coef, penalty, options,
                                                             scales)
        _control.raise_callback_error()
        return PathResult(coefs, n_iter, gaps, x_passes)
    with single_threaded_blas(datafit.n_samples, datafit.n_features, datafit.n_tasks):
        n_iter, gaps, R, x_passes, info = _cd_shared.solve(design, coef, penalty, options)
        info["strategy"] = strategy
        control = _control.current()
        stopped = control is not None and control.stop_reason() is not None
        if then_ws and n_iter.max() >= CD_FIRST and not stopped:
            # not converged in CD_FIRST epochs: working sets from here (coef in/out)
            options = replace(options, max_iter=int(max_iter) - CD_FIRST,
                              strategy=Strategy.STRATEGY_WS)
            n_more, gaps, R, more, info2 = _cd_shared.solve(design, coef, penalty, options)
            n_iter, x_passes = n_iter + n_more, x_passes + more
            info = _merge_info(info, info2)
            info["strategy"] = f"cd then ws (after {CD_FIRST} epochs)"
    _control.raise_callback_error()
    info["x_passes"] = float(x_passes)
    return SolveResult(coef, n_iter, gaps, R, x_passes=x_passes, info=info)


def _merge_info(a, b):
    """Two solves' info dicts (_cd_shared.solve) added up."""
    out = {k: (max(a[k], b[k]) if k == "gram_max" else a[k] + b[k])
           for k in a if k not in ("seconds", "strategy")}
    out["seconds"] = {k: a["seconds"][k] + b["seconds"][k] for k in a["seconds"]}
    return out


def _solve_tasks_core(datafit, penalty, coef_init=None, *, max_iter=1000, tol=1e-4, gap_freq=10,
                n_threads=None, backend="cython", screening=True, strategy="ws", p0=None,
                anderson_k=None):
    """Minimize a QuadraticPerTask datafit + a row penalty (mtlfast._cd_pertask).

    tol : stop when the duality gap <= tol * ||y_eff||^2 (per task for
        separable penalties), the per-task analogue of scikit-learn's rule.
    backend : "cython" (the kernel) or "reference" (NumPy twin).
    screening : gap-safe screening after every gap (lam1 > 0, tol >= 0): rows
        proven zero at the optimum leave the epochs (twin:
        mtlfast.reference.gap_safe_screen_tasks). The returned gap is the full
        problem's. tol < 0 runs plain epochs, the twin's iterates.
    strategy : "ws" (working sets grown from dual scores, as in solve_shared)
        or "cd" (epochs over all unscreened features). Both stop on the full
        problem's gap; tol < 0 always runs plain epochs.
    p0 : smallest working-set size; None: p / 50 clipped to [10, 100].
    anderson_k : Anderson extrapolation of the epochs' iterates every
        anderson_k + 1 epochs (0: off); None: 5 in float64, except 0 with
        tol < 0 (the twin's iterates); 0 in float32 (near float32's rounding
        floor the acceptance test cannot tell an improvement: measured, an
        L1 fit at tol 1e-6 hit max_iter with it and converged without; at
        tol 1e-8 several golden-master fits took 10-25x the epochs). Measured (per-task data, 20-50 tasks, p = 500-2000,
        L1 and L2,1 at alpha_max/10 and /100, tol 1e-4 and 1e-8, one thread):
        0.57-1.05x the time without (one 3 ms fit 1.2x), the gain growing
        with the accuracy. The residual follows W's change piece by piece
        after an extrapolation (extrapolating it too drifted from W by
        rounding: gaps 100x optimistic at tol 1e-12).
    """
    if anderson_k is None:
        anderson_k = 5 if tol is not None and tol >= 0 and datafit.dtype == np.float64 else 0
    _check_backend(backend)
    code = _strategy(strategy)
    if backend == "reference":
        W0 = None if coef_init is None else np.asarray(coef_init, dtype=np.float64).T
        W, gap, it = reference.bcd_tasks(datafit, penalty, W0, max_iter, _reference_tol(tol))
        return SolveResult(W.T.astype(datafit.dtype), np.array([it]), np.array([gap]))
    coef = _initial_coef(datafit, coef_init)
    options = KernelOptions(int(max_iter), float(tol), int(gap_freq),
                            resolve_n_threads(n_threads), code, _p0(datafit, p0), bool(screening),
                            anderson_k=int(anderson_k))
    with single_threaded_blas():
        n_iter, gaps, r = _cd_pertask.solve(datafit.kernel_design(), coef, penalty, options)
    _control.raise_callback_error()
    return SolveResult(coef, n_iter, gaps, r)


def solve_structured(datafit, model, parts_init=None, *, max_iter=1000, tol=1e-4, gap_freq=10,
                     n_threads=None, backend="cython", strategy="ws", p0=None):
    """Minimize a QuadraticPerTask datafit + a structured model
    (mtlfast.penalties.structured; kernel mtlfast._cd_structured).

    parts_init : list of the model's parts, each (p, T_k) as in
        model.init_parts, or None (zeros). Never modified.
    tol : stop when the duality gap <= tol * ||y_eff||^2 (per task for the
        separable transfer model).
    strategy : "ws" (working sets, for models whose every part has an
        L1-type norm, and the transfer lasso with alpha > 0, whose features
        with a nonzero source entry are always in the set; ridge parts and
        the task graph with a coupled penalty run plain epochs) or "cd". tol < 0 always runs plain epochs (the twin's iterates).
    p0 : smallest working-set size; None: p / 50 clipped to [10, 100].
    Returns a SolveResult with parts (the datafit's dtype) and coef = W.T.
    """
    _check_backend(backend)
    code = _strategy(strategy)
    p, T = datafit.n_features, datafit.n_tasks
    shapes = [Pk.shape for Pk in model.init_parts(p, T)]
    if parts_init is None:
        parts_init = [np.zeros(s) for s in shapes]
    if [np.shape(Pk) for Pk in parts_init] != shapes:
        raise ValueError(f"initial parts must have shapes {shapes}.")
    if backend == "reference":
        parts, gaps, it = reference.bcd_structured(datafit, model, parts_init, max_iter,
                                                   _reference_tol(tol))
        parts = [Pk.astype(datafit.dtype) for Pk in parts]
        return SolveResult(model.effective(parts).T, np.array([it]), gaps, parts=parts)
    dt = datafit.dtype
    PA = np.array(np.asarray(parts_init[0]).T, dtype=dt, order="C")
    PB = (np.array(np.asarray(parts_init[1]).T, dtype=dt, order="C") if len(parts_init) > 1
          else np.zeros((0, p), dtype=dt))
    options = KernelOptions(int(max_iter), float(tol), int(gap_freq),
                            resolve_n_threads(n_threads), code, _p0(datafit, p0))
    with single_threaded_blas():
        n_iter, gaps, r = _cd_structured.solve(datafit.kernel_design(), PA, PB,
                                               model.kernel_params(), options)
    _control.raise_callback_error()
    parts = [PA.T] if len(parts_init) == 1 else [PA.T, PB.T]
    return SolveResult(model.effective(parts).T, n_iter, gaps, r, parts=parts)


def _solve_logistic_core(datafit, penalty, coef_init=None, intercept_init=None, *, max_iter=100,
                   tol=1e-8, max_inner=1000, inner_tol=1e-3, strategy="ws", p0=10,
                   dtype=np.float64, n_threads=1, backend="cython"):
    """Minimize a LogisticPerTask datafit + a row penalty by proximal Newton
    (mtlfast._pn_logistic; twin mtlfast.reference.prox_newton, the same steps).

    coef_init (T, p), intercept_init (T,) or None; never modified.
    tol : relative to each block's loss at z = 0; tol < 0 runs exactly
        max_iter Newton steps on all features without gaps.
    strategy : "ws" (working sets; lam1 > 0 and tol >= 0 only) or "cd".
    Separable penalties' tasks run n_threads at a time. n_iter counts Newton
    steps; gaps are per block (per task when separable; their sum certifies
    the whole objective).
    """
    _check_backend(backend)
    code = _strategy(strategy)
    if backend == "reference":
        W0 = None if coef_init is None else np.asarray(coef_init, dtype=np.float64).T
        W, b, gap, it = reference.prox_newton(datafit, penalty, W0, intercept_init, max_iter,
                                              tol, max_inner, inner_tol,
                                              code == Strategy.STRATEGY_WS, p0)
        return SolveResult(W.T.astype(dtype), np.array([it]), np.array([gap]), intercept=b)
    coef = _initial_coef(datafit, coef_init, dtype)
    b = (np.zeros(datafit.n_tasks) if intercept_init is None
         else np.array(intercept_init, dtype=float, copy=True))
    options = KernelOptions(int(max_iter), float(tol), n_threads=int(n_threads), strategy=code,
                            p0=int(p0), max_inner=int(max_inner), inner_tol=float(inner_tol))
    n_iter, gaps = _pn_logistic.solve(datafit.kernel_design(dtype), coef, b, penalty, options)
    _control.raise_callback_error()
    if tol < 0:
        gaps = np.full_like(gaps, np.inf)
    return SolveResult(coef, n_iter, gaps, intercept=b)


def _with_unpenalized(core, default_tol, logistic=False):
    """The public solver: `core`, then the exact treatment of unpenalized
    features (_finish_unpenalized) when the penalty has factors of 0."""
    @functools.wraps(core)
    def solve(datafit, penalty, coef_init=None, *args, **kwargs):
        res = core(datafit, penalty, coef_init, *args, **kwargs)
        tol = kwargs.get("tol", default_tol)
        if logistic:
            def rerun(coef, b, t):
                kw = dict(kwargs, tol=t)
                return core(datafit, penalty, coef, b, **kw)
        else:
            def rerun(coef, b, t):
                return core(datafit, penalty, coef, *args, **dict(kwargs, tol=t))
        return _finish_unpenalized(datafit, penalty, res, tol, rerun, logistic)
    return solve


solve_shared = _with_unpenalized(_solve_shared_core, 1e-4)
solve_tasks = _with_unpenalized(_solve_tasks_core, 1e-4)
solve_logistic = _with_unpenalized(_solve_logistic_core, 1e-8, logistic=True)
