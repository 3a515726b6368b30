"""Penalties: small objects holding hyper-parameters and the math.

Every penalty here acts on the rows W[j, :] (one feature across tasks) of the
coefficient matrix W of shape (n_features, n_tasks) and has the form

    Omega(W) = sum_j  pf_j * (lam1 * N(W[j, :]) + 0.5 * lam2 * ||W[j, :]||^2)

with N one of ||.||_1 (L1 family), ||.||_2 (L2,1 family) or
tau ||.||_1 + (1 - tau) ||.||_2 (sparse-group). Each object gives its value,
row-wise prox, dual norm, KKT violation (distance of -grad to the
subdifferential) and alpha_max, and maps to a kernel enum + parameters.
pf: the optional per-feature penalty factors (`factor`, glmnet's
penalty.factor; None: all 1; pf_j = 0 leaves feature j unpenalized), set by
`with_factor` (mtlfast.penalties.factors.check_penalty_factor validates and
rescales a user's vector).
The kernel enum (NormKind) is defined once, in src/mtlfast/_kinds.pxd.
"""
from dataclasses import dataclass, field, replace
import numbers

import numpy as np

from .._kinds import NormKind, CONSTANTS

# the kernels' enum (defined once, in src/mtlfast/_kinds.pxd)
NORM_L1, NORM_L21, NORM_SGL = NormKind.NORM_L1, NormKind.NORM_L21, NormKind.NORM_SGL


def _check_alpha(alpha, name="alpha"):
    if not isinstance(alpha, numbers.Real) or isinstance(alpha, bool):
        raise TypeError(f"{name} must be a real number, got {type(alpha).__name__}.")
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"{name} must be a finite non-negative number, got {alpha!r}.")
    return float(alpha)


def _check_ratio(value, name):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a real number in [0, 1], got {type(value).__name__}.")
    if not (0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be in [0, 1], got {value!r}.")
    return float(value)


def soft_threshold(x, thr):
    """sign(x) * max(|x| - thr, 0), elementwise."""
    return np.sign(x) * np.maximum(np.abs(x) - thr, 0.0)


def block_soft_threshold(x, thr):
    """Prox of thr * ||.||_2 applied to each row of x (last axis)."""
    x = np.asarray(x, dtype=float)
    nrm = np.linalg.norm(x, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(nrm > thr, 1.0 - thr / np.where(nrm > 0, nrm, 1.0), 0.0)
    return x * shrink


def _sgl_dual_norm_row(v, tau):
    """Dual norm of tau||.||_1 + (1-tau)||.||_2 by bisection on
    ||soft_threshold(v, tau s)||_2 = (1 - tau) s (independent of the kernel's
    closed form)."""
    a = np.abs(np.asarray(v, dtype=float))
    if tau <= 0:
        return float(np.linalg.norm(a))
    if tau >= 1:
        return float(a.max(initial=0.0))
    if not a.any():
        return 0.0
    lo, hi = 0.0, a.max() / tau
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.linalg.norm(np.maximum(a - tau * mid, 0.0)) > (1 - tau) * mid:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class _RowPenalty:
    """Base class: subclasses define `lam1`, `lam2`, `tau`, `kind`."""

    positive = False
    # per-feature factors of both strengths (read-only float64, or None: all 1):
    # (p,), or (p, T) per-task factors of a separable penalty
    factor: object = field(default=None, kw_only=True, compare=False, repr=False)

    def __post_init__(self):
        _check_alpha(self.alpha)
        for name in ("l1_ratio", "tau"):
            if name in self.__dataclass_fields__:
                _check_ratio(getattr(self, name), name)
        if self.factor is not None:
            pf = np.array(self.factor, dtype=np.float64, order="C")
            if pf.ndim not in (1, 2) or not np.isfinite(pf).all() or (pf < 0).any():
                raise ValueError("penalty factors must be an array of finite "
                                 "non-negative numbers.")
            if pf.ndim == 2 and self.kind != NORM_L1:
                raise ValueError("per-task penalty factors (shape (n_features, n_tasks)) "
                                 "need a separable penalty (L1, elastic net, ridge): a "
                                 "coupled penalty has one factor per feature.")
            if self.positive and (pf == 0).any():
                raise ValueError(
                    "positive=True with unpenalized features (penalty_factor 0) is not "
                    "supported: their exact refit, which the certificate needs, is "
                    "unconstrained. Give those features a small positive factor instead.")
            pf.flags.writeable = False
            object.__setattr__(self, "factor", pf)

    def with_factor(self, factor):
        """The same penalty with per-feature factors (None: none)."""
        return replace(self, factor=factor)

    def row_factors(self, p):
        """pf as a (p,) array (ones without factors; per-task factors: use
        for_task or factor_matrix)."""
        if self.factor is None:
            return np.ones(p)
        if self.factor.ndim == 2:
            raise ValueError("per-task factors: take one task's (for_task) or the matrix.")
        return self.factor

    def factor_matrix(self, p):
        """The factors broadcastable against W (p, T): (p, 1), or (p, T) per task."""
        if self.factor is None:
            return np.ones((p, 1))
        return self.factor if self.factor.ndim == 2 else self.factor[:, None]

    def for_task(self, t):
        """Task t's penalty: its column of per-task factors (else self)."""
        if self.factor is None or self.factor.ndim == 1:
            return self
        return self.with_factor(self.factor[:, t])

    def kernel_factor(self):
        """The factors as the kernels read them: None, or a C-contiguous
        (1, p) / (T, p) float64 array (task t's row at t * p)."""
        if self.factor is None:
            return None
        if self.factor.ndim == 1:
            return self.factor[None, :]
        kf = getattr(self, "_kernel_factor", None)
        if kf is None:
            kf = np.ascontiguousarray(self.factor.T)
            object.__setattr__(self, "_kernel_factor", kf)
        return kf

    def _pf(self, W):
        """pf broadcastable against W."""
        return self.factor_matrix(np.atleast_2d(W).shape[0])

    def weighted_norms(self, W):
        """sum_j pf_j N(W_j) (per-task factors, L1: sum_jt pf_jt |W_jt|)."""
        W = np.atleast_2d(W)
        if self.factor is not None and self.factor.ndim == 2:
            return float(np.sum(self.factor * np.abs(W)))
        return float(self._pf(W)[:, 0] @ self.row_norms(W))

    # -- kernel mapping -------------------------------------------------
    def kernel_params(self):
        """(kind, lam1, lam2, tau, positive): the kernels' Penalty struct
        (filled by _prox.penalty_from)."""
        return (self.kind, self.lam1, self.lam2, self.tau, bool(self.positive))

    @property
    def separable(self):
        """True when the penalty decouples over tasks (tasks solve apart)."""
        return self.kind == NORM_L1

    # -- math ------------------------------------------------------------
    def row_norms(self, W):
        W = np.atleast_2d(W)
        l1 = np.abs(W).sum(axis=1)
        l2 = np.linalg.norm(W, axis=1)
        if self.kind == NORM_L1:
            return l1
        if self.kind == NORM_L21:
            return l2
        return self.tau * l1 + (1 - self.tau) * l2

    def value(self, W):
        """Omega(W) for W of shape (n_features, n_tasks)."""
        W = np.atleast_2d(W)
        return float(self.lam1 * self.weighted_norms(W)
                     + 0.5 * self.lam2 * np.sum(self._pf(W) * W * W))

    def row_value(self, w, j):
        """pf_j h(w) for one row w of feature j."""
        w = np.asarray(w, dtype=float).ravel()
        if self.factor is not None and self.factor.ndim == 2:     # separable, per task
            f = self.factor[j]
            return float(np.sum(f * (self.lam1 * np.abs(w) + 0.5 * self.lam2 * w * w)))
        f = 1.0 if self.factor is None else float(self.factor[j])
        return f * float(self.lam1 * self.row_norms(w[None, :])[0] + 0.5 * self.lam2 * w @ w)

    def prox(self, A, step, rows=None):
        """Row-wise argmin_w 1/2 ||w - A_j||^2 + step_j * pf_j * h(w).

        A : (p, T); step : scalar or (p,) array; rows: the features A's rows
        are (None: all of them, in order; their factors pf apply).
        """
        A = np.atleast_2d(np.asarray(A, dtype=float))
        step = np.broadcast_to(np.asarray(step, dtype=float), A.shape[:1])[:, None]
        if self.factor is not None:      # row j's penalty is pf_j h
            pf = self.factor_matrix(len(self.factor))
            step = step * (pf if rows is None else pf[rows])
        thr = step * self.lam1
        if self.positive and self.kind != NORM_L1:
            A = np.maximum(A, 0.0)      # h + the orthant's indicator: clip, then h's prox
        if self.kind == NORM_L1:
            if self.positive:
                out = np.maximum(A - thr, 0.0)
            else:
                out = soft_threshold(A, thr)
        elif self.kind == NORM_L21:
            out = block_soft_threshold(A, thr)
        else:
            out = block_soft_threshold(soft_threshold(A, self.tau * thr), (1 - self.tau) * thr)
        return out / (1.0 + step * self.lam2)

    def prox_diag(self, a, L, pf=1.0):
        """argmin_w sum_t L_t/2 (w_t - a_t/L_t)^2 + pf h(w) for one row (length T).

        a = L * w_old + g, L >= 0: the exact minimization over a feature's row
        when each task's part of the data term is its own quadratic (per-task
        designs). With d = L + lam2: w_t = S_t / d_t for L1 (S the soft
        threshold of a); for the group kinds s = a (L2,1) or S (sparse-group),
        w = 0 if ||s|| <= b (the group weight), else w_t = s_t nu / (d_t nu + b)
        with nu = ||w|| the root of sum_t s_t^2 / (d_t nu + b)^2 = 1, found by
        Newton on F(nu)^(-1/2) - 1 from (||s|| - b) / max(d) (the kernel's
        mtlfast._prox.row_prox_diag, same steps).
        """
        a = np.asarray(a, dtype=float)
        d = np.asarray(L, dtype=float) + pf * self.lam2
        b = pf * self.lam1
        if self.kind == NORM_L1:
            s = np.maximum(a - b, 0.0) if self.positive else soft_threshold(a, b)
            return np.divide(s, d, out=np.zeros_like(s), where=s != 0)
        if self.positive:
            a = np.maximum(a, 0.0)      # clip, then the group step
        s = a if self.kind == NORM_L21 else soft_threshold(a, self.tau * b)
        if self.kind == NORM_SGL:
            b = (1 - self.tau) * b
        nrm = np.linalg.norm(s)
        if nrm <= b or nrm == 0:
            return np.zeros_like(s)
        nz = s != 0
        s_nz, d_nz = s[nz], d[nz]
        nu = (nrm - b) / d.max()
        for _ in range(100):
            q = d_nz * nu + b
            F = np.sum((s_nz / q) ** 2)
            F1 = np.sum((s_nz / q) ** 2 * d_nz / q)
            step = (np.sqrt(F) - 1.0) * F / F1
            if not step > 1e-15 * nu:
                break
            nu += step
        w = np.zeros_like(s)
        w[nz] = s_nz * nu / (d_nz * nu + b)
        return w

    def dual_norm_rows(self, V):
        """N^D(V_j) for every row of V (p, T)."""
        V = np.atleast_2d(V)
        if self.kind == NORM_L1:
            if self.positive:
                return np.maximum(V.max(axis=1), 0.0)
            return np.abs(V).max(axis=1)
        if self.positive:
            V = np.maximum(V, 0.0)      # the dual norm of the positive part
        if self.kind == NORM_L21:
            return np.linalg.norm(V, axis=1)
        return np.array([_sgl_dual_norm_row(v, self.tau) for v in V])

    def scaled_dual_norms(self, V):
        """N^D(V_j) / pf_j for every row: feature j's dual constraint
        N^D(V_j) <= lam1 pf_j read against lam1. Unpenalized rows (pf_j = 0,
        constraint V_j = 0) enter with pf_j = UNPENALIZED_DUAL (the kernels'
        _prox.feature_dual_norm; see mtlfast.penalties.factors)."""
        if self.factor is None:
            return self.dual_norm_rows(V)
        pf = np.where(self.factor > 0, self.factor, CONSTANTS["UNPENALIZED_DUAL"])
        if pf.ndim == 2:        # separable, per task: entry by entry
            V = np.atleast_2d(V) / pf
            return (np.maximum(V.max(axis=1), 0.0) if self.positive
                    else np.abs(V).max(axis=1))
        return self.dual_norm_rows(V) / pf

    def alpha_max(self, XtY_over_n):
        """Smallest alpha with W = 0 optimal (on the penalized rows), given
        X^T Y / n of shape (p, T) (with unpenalized features: the gradient
        with those fitted, whose own rows are then 0 and do not count; see
        mtlfast.penalties.factors)."""
        ratio = self.l1_share
        if ratio == 0:
            return np.inf
        if self.factor is not None:    # the unpenalized entries do not count
            V = np.atleast_2d(XtY_over_n)
            V = np.where(self.factor_matrix(V.shape[0]) > 0, V, 0.0)
            dn = self.scaled_dual_norms(V)
        else:
            dn = self.scaled_dual_norms(XtY_over_n)
        return float(dn.max(initial=0.0) / ratio)

    def subdiff_distance(self, W, grad):
        """Per-row distance of -grad_j to the subdifferential of h at W_j.

        W, grad : (p, T); grad is the datafit gradient. Zero for all rows at
        the optimum (the KKT conditions).
        """
        W = np.atleast_2d(W)
        pf = np.broadcast_to(self._pf(W), W.shape)
        v = -np.atleast_2d(grad) - self.lam2 * pf * W
        out = np.empty(W.shape[0])
        for j, (w, g) in enumerate(zip(W, v)):
            lam1 = self.lam1 * (pf[j] if self.kind == NORM_L1 else pf[j, 0])
            nz = w != 0
            if self.kind == NORM_L1:
                if self.positive:
                    res = np.where(nz, g - lam1, np.maximum(g - lam1, 0.0))
                else:
                    res = np.where(nz, g - lam1 * np.sign(w), np.maximum(np.abs(g) - lam1, 0.0))
                out[j] = np.linalg.norm(res)
                continue
            tau = self.tau if self.kind == NORM_SGL else 0.0
            if not nz.any():
                gp = np.maximum(g, 0.0) if self.positive else g
                out[j] = max(np.linalg.norm(soft_threshold(gp, lam1 * tau)) - lam1 * (1 - tau),
                             0.0)
                continue
            g = g - lam1 * (1 - tau) * w / np.linalg.norm(w)
            off = np.maximum(g - lam1 * tau, 0.0) if self.positive else np.maximum(
                np.abs(g) - lam1 * tau, 0.0)     # zero entries: only upward violations
            res = np.where(nz, g - lam1 * tau * np.sign(w), off)
            out[j] = np.linalg.norm(res)
        return out


class _Pure:
    """lam1 = alpha, no ridge part."""
    l1_share = 1.0
    lam1 = property(lambda self: float(self.alpha))
    lam2 = property(lambda self: 0.0)


class _Mixed:
    """scikit-learn's elastic-net mixing: lam1 = alpha * l1_ratio,
    lam2 = alpha * (1 - l1_ratio)."""
    l1_share = property(lambda self: float(self.l1_ratio))
    lam1 = property(lambda self: float(self.alpha * self.l1_ratio))
    lam2 = property(lambda self: float(self.alpha * (1 - self.l1_ratio)))


@dataclass(frozen=True)
class L1(_Pure, _RowPenalty):
    """alpha * ||W||_1 (independent lassos, one alpha); optional W >= 0."""

    alpha: float
    positive: bool = False
    kind = NORM_L1
    tau = 0.0


@dataclass(frozen=True)
class ElasticNet(_Mixed, _RowPenalty):
    """alpha*l1_ratio*||W||_1 + 0.5*alpha*(1-l1_ratio)*||W||_F^2 (per task)."""

    alpha: float
    l1_ratio: float = 0.5
    positive: bool = False
    kind = NORM_L1
    tau = 0.0


@dataclass(frozen=True)
class L2(_RowPenalty):
    """Ridge: 0.5 * alpha * ||W||_F^2."""

    alpha: float
    kind = NORM_L1
    tau = 0.0
    l1_share = 0.0
    lam1 = property(lambda self: 0.0)
    lam2 = property(lambda self: float(self.alpha))


@dataclass(frozen=True)
class L21(_Pure, _RowPenalty):
    """alpha * sum_j ||W[j, :]||_2 (multi-task lasso: joint feature selection)."""

    alpha: float
    positive: bool = False
    kind = NORM_L21
    tau = 0.0


@dataclass(frozen=True)
class L21L2(_Mixed, _RowPenalty):
    """alpha*l1_ratio*||W||_21 + 0.5*alpha*(1-l1_ratio)*||W||_F^2
    (scikit-learn's multi-task elastic net)."""

    alpha: float
    l1_ratio: float = 0.5
    positive: bool = False
    kind = NORM_L21
    tau = 0.0


@dataclass(frozen=True)
class SparseGroupL1L21(_Pure, _RowPenalty):
    """alpha * (tau * ||W||_1 + (1 - tau) * ||W||_21): sparse-group lasso
    across tasks (features selected jointly, and sparse within a feature)."""

    alpha: float
    tau: float = 0.5
    positive: bool = False
    kind = NORM_SGL
