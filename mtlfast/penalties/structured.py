"""Structured multi-task models: shared + specific parts, task graphs, transfer.

Each model here is a penalty on the coefficients of a per-task problem
(mtlfast.datafits.QuadraticPerTask; a shared design enters as its long layout):

    1/2 ||y_eff - A(W)||^2 + Omega,   A(W)_i = x_eff_i . w_t(i),   W (p, T)

TwoPart      W = P_A + P_B, Omega = h_A(P_A) + h_B(P_B), each h a row penalty
             of mtlfast.penalties (L1, L2,1, ridge, elastic net). P_A is a
             (p, T) matrix (dirty model: L2,1 on B, L1 on S) or one vector
             w_0 of shape (p, 1) shared by every task (mean-regularized
             model W_t = w_0 + v_t).
TaskGraph    Omega = 0.5 lam sum_{s,t} A_st ||w_s - w_t||^2 + h(W)
                   = lam sum_j W[j] Lap W[j]^T + h(W),   Lap = diag(A 1) - A
             with A symmetric, >= 0 (its diagonal does not enter).
Transfer     Omega = alpha sum_{j,t} beta |W_jt| + (1 - beta) |W_jt - S_jt|
             with S the source coefficients.

All couplings stay inside one feature's row (the tasks' entries of feature j),
so one block coordinate descent serves them all: per feature j, the data term
restricted to the row is exactly the quadratic sum_t H_t/2 d_t^2 - g_t d_t in
the change d of W[j] (g_t = x_jt . r_t, H_t = ||x_jt||^2 over task t's rows),
and each model updates its row variables from (g, H) by `row_update`, which
returns d. Exact coordinate minimization where it has a closed form, else one
proximal gradient step with the row's curvature bound (documented per model).

Every model has a duality gap (Fenchel dual at the rescaled residual), written
out in `gaps`. The ridge-type parts (l2 in a row penalty, the graph term) enter
the dual as extra least-squares rows, as in mtlfast.reference.duality_gap.
These models' row updates and gaps are the NumPy twin of
src/mtlfast/_models.pxd and _cd_structured.pyx (same updates, same order, same
gaps); the twin's loop is mtlfast.reference.cd_structured.
"""
import copy
from dataclasses import dataclass
import math
import numbers

import numpy as np
from scipy import linalg, sparse
from scipy.special import expit
from scipy.sparse import linalg as splinalg

from . import row as P
from .row import soft_threshold

from .._kinds import ModelKind, CONSTANTS
from ..datafits.logistic import _phi

# the kernels' enum and constants (defined once, in src/mtlfast/_kinds.pxd)
MOD_TWO_PART, MOD_GRAPH, MOD_TRANSFER = (ModelKind.MOD_TWO_PART, ModelKind.MOD_GRAPH,
                                         ModelKind.MOD_TRANSFER)
# task graph, coupled row penalty: most inner steps per row (TaskGraph._coupled_row)
GRAPH_MAX_INNER = CONSTANTS["GRAPH_MAX_INNER"]
GRAPH_INNER_RTOL = CONSTANTS["GRAPH_INNER_RTOL"]
# two-part models: alternating sweeps over a row's parts (TwoPart.row_update),
# while a sweep lowers the row's objective by more than TWO_PART_RTOL of it
TWO_PART_SWEEPS = CONSTANTS["TWO_PART_SWEEPS"]
TWO_PART_RTOL = CONSTANTS["TWO_PART_RTOL"]
# the share of a shared part's rounding allowance granted to the inner solves
# of the logistic fits (TwoPart.for_design)
INNER_SLACK = 0.01


@dataclass(frozen=True)
class StructuredParams:
    """What mtlfast._cd_structured.solve reads of a model (its Model struct):
    kind (ModelKind) and the fields that kind uses."""
    kind: int
    pen_a: object = None      # two-part: penalty of P_A; graph: the row penalty
    pen_b: object = None      # two-part: penalty of P_B
    shared_a: bool = False    # two-part: P_A is one vector shared by all tasks
    ta: float = 0.0           # transfer: alpha beta
    tb: float = 0.0           # transfer: alpha (1 - beta)
    src: np.ndarray = None    # transfer: source coefficients (T, p), C-ordered
    lam_g: float = 0.0        # graph strength
    lmax: float = 0.0         # graph: largest eigenvalue of the Laplacian
    g_ptr: np.ndarray = None  # graph: CSR of the off-diagonal similarities
    g_idx: np.ndarray = None
    g_val: np.ndarray = None
    deg: np.ndarray = None    # graph: deg[t] = sum_s A_ts
    factor: np.ndarray = None # transfer: per-feature penalty factors (the others: their penalties')
    agg_slack: float = 0.0    # two-part, shared_a: TwoPart.agg_slack


def _residual_terms(df, W):
    r = df.residual(W)
    return r, df.y_eff.astype(np.float64), df.xtr(r)


def _matrix_row_step(pen, w, g, H, j):
    """New row of feature j in a (p, T)-shaped part with row penalty `pen`,
    given the data term's gradient -g and curvatures H: exact per entry for
    the separable (L1-family) penalties, else one proximal gradient step with
    curvature max_t H_t (exact when all H_t are equal, as on a shared design)."""
    if pen.separable:
        new = np.zeros_like(w)
        for t in range(len(w)):
            if H[t] > 0:
                new[t] = pen.prox(np.array([[w[t] + g[t] / H[t]]]), 1.0 / H[t], rows=[j])[0, 0]
        return new
    M = H.max()
    if M == 0:
        return np.zeros_like(w)
    return pen.prox((w + g / M)[None, :], 1.0 / M, rows=[j])[0]


def _factored(pen, factor):
    return pen if factor is None else pen.with_factor(factor)


def _check_positive_factor(factor):
    """The structured models take factors > 0 only (an unpenalized feature has
    no exact refit there: the parts' split, the graph term)."""
    if factor is not None and np.any(np.asarray(factor) <= 0):
        raise ValueError("penalty_factor with zeros (unpenalized features) is supported by "
                         "the row-penalty models only; the structured models need factors "
                         "> 0 (give those features a small positive factor).")


def _dual_scale(c, lam1, dual_norm):
    """min(c, lam1 / dual_norm): the rescaling that makes the dual point feasible."""
    return c if dual_norm <= lam1 else min(c, lam1 / dual_norm)


def _blocks(df, n_blocks):
    """The rows of each gap block: every task's own (separable models) or all."""
    return df.task_slices() if n_blocks == df.n_tasks and n_blocks > 1 else [slice(None)]


def quadratic_gaps(model, df, parts):
    """The model's duality gaps on a QuadraticPerTask datafit, per block.

    With r = y_eff - A(W) and V = A^T r, model.dual_terms(V, parts) gives per
    block the dual scaling s (theta = s r is dual feasible), the conjugate
    terms `extra` of the penalty (its ridge-type parts written as
    least-squares rows) and the penalty's value:
        primal = 1/2 ||r||^2 + value,  dual = s r.y - s^2/2 ||r||^2 - extra
    (the same terms serve the logistic datafit: logistic_gaps)."""
    r, y, V = _residual_terms(df, model.effective(parts))
    blocks = _blocks(df, df.n_tasks if model.separable else 1)   # as dual_terms' blocks
    rr = np.array([r[sl] @ r[sl] for sl in blocks])
    ry = np.array([r[sl] @ y[sl] for sl in blocks])
    return quadratic_gaps_from(model, parts, V, rr, ry)


def quadratic_gaps_from(model, parts, V, rr, ry):
    """quadratic_gaps from its statistics: V = A^T r (p, T) and, per block,
    ||r||^2 and <r, y_eff> (mtlfast.dask sums them over the workers)."""
    s, extra, value = model.dual_terms(V, parts, math.sqrt(float(np.sum(rr))))
    return 0.5 * rr + value - (s * ry - 0.5 * s * s * rr - extra)


def logistic_gaps(model, df, parts, b):
    """The model's duality gaps on a LogisticPerTask datafit at (parts, b),
    per block (b should be optimal given W: the intercepts' dual constraints).

    With p = sigmoid(z), rho = c (y - p) (the loss's negative gradient in z)
    and V = A^T rho, model.dual_terms(V, parts) gives per block the scaling
    s, the conjugate terms and the penalty's value (as quadratic_gaps):
        primal = sum_i c_i (log(1 + e^z_i) - y_i z_i) + value,
        dual = -sum_i c_i phi(y_i + s (p_i - y_i)) - extra,
    phi(v) = v log v + (1 - v) log(1 - v), the logistic loss's conjugate at
    theta = -s rho (mtlfast.datafits.logistic)."""
    z = df.z(model.effective(parts), b)
    p = expit(z)
    rho = df.c * (df.y - p)
    V = df.adjoint(rho)
    s, extra, value = model.dual_terms(V, parts, float(np.linalg.norm(rho)))
    loss = df.c * (np.logaddexp(0.0, z) - df.y * z)
    out = np.empty(len(s))
    for k, sl in enumerate(_blocks(df, len(s))):
        v = df.y[sl] + s[k] * (p[sl] - df.y[sl])
        out[k] = loss[sl].sum() + value[k] + float(df.c[sl] @ _phi(v)) + extra[k]
    return out


def aggregate_slack(datafit, factor=None):
    """TwoPart.agg_slack for a datafit: n_max eps max_j ||x_j|| / min_j pf_j,
    n_max the largest task's rows and ||x_j|| feature j's norm over every
    task's rows (datafit.column_norms). Times ||r||, it bounds the rounding
    of the computed sums sum_t x_jt . r_t (each dot product's error is at
    most n_t eps |x_jt| . |r_t| <= n_t eps ||x_jt|| ||r_t||). 0 for a
    datafit without its design (a cluster fit's driver)."""
    if not hasattr(datafit, "column_norms"):
        return 0.0
    pf_min = 1.0 if factor is None else float(np.min(factor))
    n_max = int(np.max(datafit.task_sizes))
    return float(n_max * np.finfo(np.float64).eps
                 * datafit.column_norms().max(initial=0.0) / pf_min)


class TwoPart:
    """W = P_A + P_B with a row penalty on each part.

    pen_a, pen_b : penalties from mtlfast.penalties (L1, L21, L2, ElasticNet,
        L21L2, SparseGroupL1L21). Each must be non-zero (lam1 > 0 or lam2 > 0):
        an unpenalized part has no closed-form dual.
    shared_a : P_A is one vector (p, 1) added to every task (w_0).
    agg_slack : with shared_a, the rounding allowance of w_0's dual
        constraint |sum_t V_jt| <= lam1 pf_j per unit residual norm
        (aggregate_slack): the computed sum is reduced by agg_slack ||r||
        before the dual scaling. That constraint is a sum over the tasks,
        whose alpha_max is exactly 0 when the tasks' targets add up to a
        constant (one-vs-rest indicators with intercepts): a strength near
        0 is then a natural choice, and a sum that holds to rounding would
        otherwise scale the dual point to nothing (a gap of the order of the
        objective). The certificate may then under-state the suboptimality by
        at most agg_slack ||r|| ||w_0*||_1, a rounding-level amount.

    Row update: P_A (shared: exact scalar step with curvature sum_t H_t;
    matrix: `_matrix_row_step`), then P_B with the updated gradient, the two
    alternated (at most TWO_PART_SWEEPS sweeps) while a sweep lowers the
    row's objective by more than TWO_PART_RTOL of it: both parts move the
    same entries of W, and one sweep left the feature's block far from its
    minimum where both are active; the objective test never follows a flat
    direction (the split of W between the parts need not be unique).
    """

    kind = MOD_TWO_PART

    def __init__(self, pen_a, pen_b, shared_a=False, factor=None, agg_slack=0.0):
        _check_positive_factor(factor)
        pen_a, pen_b = _factored(pen_a, factor), _factored(pen_b, factor)
        for name, pen in (("first part", pen_a), ("second part", pen_b)):
            if pen.lam1 <= 0 and pen.lam2 <= 0:
                raise ValueError(f"the penalty of the {name} must be positive (its "
                                 "strength is 0): the model would be unbounded in that part.")
        self.pen_a, self.pen_b, self.shared_a = pen_a, pen_b, bool(shared_a)
        self.agg_slack = float(agg_slack) if self.shared_a else 0.0
        self.separable = False

    def for_design(self, datafit):
        """This model for the Newton steps' weighted least-squares designs of
        the logistic fits: agg_slack of that design, x INNER_SLACK (the
        inner solves must hold the summed constraint well inside the outer
        certificate's allowance, or their error uses it up: measured on
        Ecdat::Heating, the sum reached 2e-12 against an allowance of 3e-13
        with the inner allowance at 1x, 3e-15 at 0.01x)."""
        if not self.shared_a:
            return self
        out = copy.copy(self)
        out.agg_slack = INNER_SLACK * aggregate_slack(datafit, self.pen_a.factor)
        return out

    def init_parts(self, p, T):
        return [np.zeros((p, 1 if self.shared_a else T)), np.zeros((p, T))]

    def effective(self, parts):
        return parts[0] + parts[1]

    def value(self, parts):
        return self.pen_a.value(parts[0]) + self.pen_b.value(parts[1])

    def row_update(self, parts, j, g, H):
        PA, PB = parts
        g = np.array(g, dtype=float)
        delta = np.zeros(len(g))
        Hs = H.sum()
        f_prev = np.inf
        for _ in range(TWO_PART_SWEEPS):
            if self.shared_a:
                old = PA[j, 0]
                new = 0.0
                if Hs > 0:
                    new = self.pen_a.prox(np.array([[old + g.sum() / Hs]]), 1.0 / Hs,
                                          rows=[j])[0, 0]
                PA[j, 0] = new
                d = np.full(len(g), new - old)
            else:
                new = _matrix_row_step(self.pen_a, PA[j], g, H, j)
                d = new - PA[j]
                PA[j] = new
            delta += d
            g -= H * d
            new = _matrix_row_step(self.pen_b, PB[j], g, H, j)
            d = new - PB[j]
            delta += d
            g -= H * d
            PB[j] = new
            # the row's objective up to a constant (g: the gradient after delta)
            f_row = (-np.sum((0.5 * H * delta + g) * delta) + self.pen_a.row_value(PA[j], j)
                     + self.pen_b.row_value(PB[j], j))
            if not f_prev - f_row > TWO_PART_RTOL * abs(f_row):
                break
            f_prev = f_row
        return delta

    def dual_terms(self, V, parts, resid_norm=0.0):
        """(s, extra, value) of the one block (see quadratic_gaps): the dual
        scaling from each part's dual constraint (a shared part's reduced by
        agg_slack x resid_norm, ||r|| or ||rho||), the parts' ridge terms."""
        corr = [V.sum(axis=1, keepdims=True) if self.shared_a else V, V]
        slack = [self.agg_slack * resid_norm, 0.0]
        pf = self.pen_a.row_factors(V.shape[0])[:, None]
        c = 1.0
        for pen, Pk, Ck, sl in zip((self.pen_a, self.pen_b), parts, corr, slack):
            if pen.lam1 > 0:
                dn = pen.scaled_dual_norms(Ck - pen.lam2 * pf * Pk).max(initial=0)
                c = _dual_scale(c, pen.lam1, max(dn - sl, 0.0))
        extra = 0.0
        for pen, Pk, Ck in zip((self.pen_a, self.pen_b), parts, corr):
            if pen.lam1 > 0:
                extra += 0.5 * c * c * pen.lam2 * np.sum(pf * Pk ** 2)
            else:   # pure ridge: its conjugate sum_j ||u_j||^2 / (2 lam2 pf_j) at u = c Ck
                extra += 0.5 * c * c * np.sum(Ck ** 2 / pf) / pen.lam2
        return np.array([c]), np.array([extra]), np.array([self.value(parts)])

    def gaps(self, df, parts):
        return quadratic_gaps(self, df, parts)

    def alpha_max_parts(self, V):
        """Per part, the smallest strength whose part is 0 at W = 0 given V =
        -(the data term's gradient at 0): the part's largest dual norm of V
        (summed over the tasks for a shared part); None for a ridge part."""
        corr = [V.sum(axis=1, keepdims=True) if self.shared_a else V, V]
        return [float(pen.scaled_dual_norms(C).max(initial=0.0)) if pen.lam1 > 0 else None
                for pen, C in zip((self.pen_a, self.pen_b), corr)]

    def kernel_params(self):
        return StructuredParams(self.kind, pen_a=self.pen_a, pen_b=self.pen_b,
                                shared_a=self.shared_a, agg_slack=self.agg_slack)


def check_similarity(A, n_tasks):
    """Validated task-similarity matrix: square (T, T), finite, non-negative,
    symmetric (to 1e-12 relative). Returns a CSR float64 matrix without its
    diagonal (which does not enter the penalty)."""
    if A is None:
        raise ValueError("similarity is required: a (n_tasks, n_tasks) symmetric "
                         "non-negative matrix.")
    try:
        A = (sparse.csr_matrix(A, dtype=np.float64) if sparse.issparse(A)
             else np.asarray(A, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"similarity must be a numeric (n_tasks, n_tasks) matrix of "
                         f"non-negative task similarities; could not read it as numbers "
                         f"({exc}).") from None
    if A.ndim != 2 or A.shape != (n_tasks, n_tasks):
        raise ValueError(f"similarity must have shape ({n_tasks}, {n_tasks}) (one row and "
                         f"column per task), got {A.shape}.")
    vals = A.data if sparse.issparse(A) else A
    if not np.isfinite(vals).all():
        raise ValueError("similarity contains NaN or infinite values.")
    if np.any(vals < 0):
        raise ValueError("similarity must be non-negative.")
    A = sparse.csr_matrix(A)
    asym = abs(A - A.T)
    if asym.nnz and asym.max() > 1e-12 * max(abs(A).max(), 1e-300):
        raise ValueError("similarity must be symmetric.")
    A = ((A + A.T) * 0.5).tocsr()
    A.setdiag(0.0)
    A.eliminate_zeros()
    A.sort_indices()
    return A


def laplacian_max_eig(A):
    """Largest eigenvalue of diag(A 1) - A, rounded up so that it bounds the
    curvature of the graph term (used as a step size)."""
    T = A.shape[0]
    deg = np.asarray(A.sum(axis=1)).ravel()
    if A.nnz == 0:
        return 0.0
    Lap = sparse.diags(deg) - A
    if T <= 500:
        try:
            lmax = linalg.eigh(Lap.toarray(), eigvals_only=True,
                               subset_by_index=[T - 1, T - 1])[0]
        except linalg.LinAlgError:
            # LAPACK's subset solver fails on highly repeated eigenvalues (the
            # complete graph's Laplacian: T with multiplicity T - 1)
            lmax = linalg.eigvalsh(Lap.toarray())[-1]
    else:
        lmax = splinalg.eigsh(Lap, k=1, which="LA", tol=1e-10, return_eigenvectors=False)[0]
    # never above Gershgorin's bound 2 max(deg); the slack covers eigsh's tolerance
    return float(min(lmax * (1 + 1e-8) + 1e-12 * deg.max(), 2.0 * deg.max()))


class TaskGraph:
    """0.5 lam sum_{s,t} A_st ||w_s - w_t||^2 + h(W), h a row penalty with
    lam1 > 0 (the dual point's rescaling needs a norm part).

    Row update: separable h: exact coordinate steps over the tasks in order
    (curvature H_t + 2 lam deg_t, the other tasks' current entries fixed);
    coupled h: the row's T-dimensional problem (diagonal data curvature plus
    the graph's Laplacian) solved by accelerated proximal gradient steps
    (_coupled_row). One plain proximal gradient step with the curvature
    bound max_t H_t + 2 lam lambda_max(Lap) converged in hundreds of epochs
    when the graph term dominates: the bound is then far above the data's
    curvature along the smooth (low-frequency) directions of the graph.
    """

    kind = MOD_GRAPH

    def __init__(self, pen, lam, A, factor=None):
        _check_positive_factor(factor)
        pen = _factored(pen, factor)
        if pen.lam1 <= 0:
            raise ValueError("the task-graph model needs alpha > 0 (the sparsity part "
                             "certifies the fit through the duality gap).")
        self.pen, self.lam, self.A = pen, float(lam), A
        self.deg = np.asarray(A.sum(axis=1)).ravel()
        self.lmax = laplacian_max_eig(A)
        self.Lap = (sparse.diags(self.deg) - A).tocsr()
        self.separable = False

    def for_design(self, datafit):
        return self

    def init_parts(self, p, T):
        return [np.zeros((p, T))]

    def effective(self, parts):
        return parts[0]

    def graph_value(self, W):
        """sum_j W[j] Lap W[j]^T = 0.5 sum_{s,t} A_st ||w_s - w_t||^2"""
        return float(np.sum(W * (self.Lap @ W.T).T))

    def value(self, parts):
        return self.lam * self.graph_value(parts[0]) + self.pen.value(parts[0])

    def row_update(self, parts, j, g, H):
        W = parts[0]
        old = W[j].copy()
        lam, pen = self.lam, self.pen
        if pen.separable:
            for t in range(len(g)):
                c = H[t] + 2 * lam * self.deg[t]
                if c == 0:
                    W[j, t] = 0.0
                    continue
                lo, hi = self.A.indptr[t], self.A.indptr[t + 1]
                aw = self.A.data[lo:hi] @ W[j, self.A.indices[lo:hi]]
                # gradient of the smooth part in W[j, t]: -g_t + 2 lam (Lap W[j])_t
                z = (H[t] * W[j, t] + g[t] + 2 * lam * aw) / c
                W[j, t] = pen.prox(np.array([[z]]), 1.0 / c, rows=[j])[0, 0]
            return W[j] - old
        W[j] = self._coupled_row(old, np.asarray(g, dtype=float), np.asarray(H, dtype=float), j)
        return W[j] - old

    def _row_value(self, v, b, H, j):
        """F(v) = 1/2 v^T (diag(H) + 2 lam Lap) v - b^T v + pf_j h(v)"""
        return (0.5 * v @ (H * v) + self.lam * v @ (self.Lap @ v) - b @ v
                + self.pen.row_value(v, j))

    def _coupled_row(self, old, g, H, j):
        """Coupled h: the row minimizes F(w) = 1/2 w^T Q w - b^T w + h(w),
        Q = diag(H) + 2 lam Lap, b = H * w_old + g. w = 0 when N^D(b) <=
        lam1 (exact); otherwise K accelerated proximal gradient steps from
        w_old with step 1/M, M = max_t H_t + 2 lam lambda_max(Lap), momentum
        (1 - sqrt q) / (1 + sqrt q), q = min_t H_t / M (FISTA's t_k when q =
        0), K = min(GRAPH_MAX_INNER, ceil(log(1e-4) / log(1 - sqrt q))) so
        that the contraction bound (1 - sqrt q)^K is 1e-4 (K = 1 when q = 1:
        Q = M I), stopping early once a step moves the row by at most
        GRAPH_INNER_RTOL x its total move from w_old (so the rows get exact
        as the outer iterations converge); the result is kept unless F is
        larger than after the first step (a descent step), then that step."""
        pen, lam = self.pen, self.lam
        f = 1.0 if pen.factor is None else float(pen.factor[j])
        M = H.max() + 2 * lam * self.lmax
        b = H * old + g
        if M == 0 or pen.dual_norm_rows(b[None, :])[0] <= f * pen.lam1:
            return np.zeros_like(old)
        q = H.min() / M
        beta = (1 - np.sqrt(q)) / (1 + np.sqrt(q))
        if q >= 1:
            K = 1
        elif q > 0:
            K = int(min(GRAPH_MAX_INNER, max(1.0, math.ceil(math.log(1e-4) / math.log1p(-math.sqrt(q))))))
        else:
            K = GRAPH_MAX_INNER
        x = old.copy()
        y = old.copy()
        tk = 1.0
        for k in range(K):
            grad = H * y + 2 * lam * (self.Lap @ y) - b
            x, xp = pen.prox((y - grad / M)[None, :], 1.0 / M, rows=[j])[0], x
            if k == 0:
                x1 = x
            if q > 0:
                mom = beta
            else:
                tn = 0.5 * (1 + math.sqrt(1 + 4 * tk * tk))
                mom, tk = (tk - 1) / tn, tn
            y = x + mom * (x - xp)
            if np.max(np.abs(x - xp)) <= GRAPH_INNER_RTOL * np.max(np.abs(x - old)):
                break
        if K > 1 and self._row_value(x, b, H, j) > self._row_value(x1, b, H, j):
            return x1
        return x

    def dual_terms(self, V, parts, resid_norm=0.0):
        """(s, extra, value) of the one block: the graph and ridge terms are
        least-squares rows of the data term (their conjugate 0.5 s^2 Q)."""
        W = parts[0]
        pen, lam = self.pen, self.lam
        pf = pen.row_factors(W.shape[0])[:, None]
        G = V - 2 * lam * (self.Lap @ W.T).T - pen.lam2 * pf * W
        c = _dual_scale(1.0, pen.lam1, pen.scaled_dual_norms(G).max(initial=0))
        Q = 2 * lam * self.graph_value(W) + pen.lam2 * np.sum(pf * W ** 2)
        return np.array([c]), np.array([0.5 * c * c * Q]), np.array([self.value(parts)])

    def gaps(self, df, parts):
        return quadratic_gaps(self, df, parts)

    def alpha_max_parts(self, V):
        """[the smallest alpha with W = 0 optimal] (the graph term vanishes
        at W = 0): the largest dual norm of V's rows."""
        return [float(self.pen.scaled_dual_norms(V).max(initial=0.0))]

    def kernel_params(self):
        A = self.A
        return StructuredParams(self.kind, pen_a=self.pen, lam_g=self.lam, lmax=self.lmax,
                                g_ptr=A.indptr.astype(np.intc), g_idx=A.indices.astype(np.intc),
                                g_val=A.data.astype(np.float64),
                                deg=self.deg.astype(np.float64))


def transfer_prox(z, c, ka, kb):
    """argmin_w 1/2 (w - z)^2 + ka |w| + kb |w - c| (elementwise).

    The objective is convex and piecewise quadratic with kinks 0 and c: the
    minimizer is that of the leftmost or rightmost piece when it falls inside
    it, else the middle piece's minimizer clipped to [min(0,c), max(0,c)].
    """
    z, c = np.broadcast_arrays(np.asarray(z, float), np.asarray(c, float))
    k1, k2 = np.minimum(0.0, c), np.maximum(0.0, c)
    mid = np.clip(z - (ka - kb) * np.sign(c), k1, k2)
    return np.where(z + ka + kb < k1, z + ka + kb, np.where(z - ka - kb > k2, z - ka - kb, mid))


def check_source(coef_source, n_tasks, n_features):
    """Source coefficients as a (p, T) float64 array: coef_source of shape
    (n_tasks, n_features), or (n_features,) / (1, n_features) shared by all
    tasks, or a fitted source model (its coef_; its features must be the
    target's)."""
    if coef_source is None:
        return np.zeros((n_features, n_tasks))
    if hasattr(coef_source, "get_params"):        # a fitted source model
        if not hasattr(coef_source, "coef_"):
            raise ValueError(f"coef_source is a {type(coef_source).__name__} that is not "
                             "fitted: fit it on the source data first. (A search or "
                             "cross-validation clones its estimator's parameters, which "
                             "unfits a model given as coef_source: pass "
                             "sklearn.frozen.FrozenEstimator(model) or model.coef_.)")
        src_p = getattr(coef_source, "n_features_in_", np.shape(coef_source.coef_)[-1])
        if src_p != n_features:
            raise ValueError(f"coef_source: the source model was fitted on {src_p} features, "
                             f"the target data have {n_features}.")
        coef_source = coef_source.coef_
    S = np.asarray(coef_source)
    if S.dtype.kind not in "biuf":
        raise ValueError(f"coef_source must be numeric, got dtype {S.dtype}.")
    S = S.astype(np.float64)
    if S.ndim == 1:
        S = S[None, :]
    if S.ndim != 2 or S.shape[1] != n_features or S.shape[0] not in (1, n_tasks):
        raise ValueError(f"coef_source must have shape ({n_tasks}, {n_features}), "
                         f"(1, {n_features}) or ({n_features},) (one row shared by all "
                         f"tasks), got {np.asarray(coef_source).shape}.")
    if not np.isfinite(S).all():
        raise ValueError("coef_source contains NaN or infinite values.")
    return np.ascontiguousarray(np.broadcast_to(S, (n_tasks, n_features)).T)


class Transfer:
    """alpha sum_{j,t} beta |W_jt| + (1 - beta) |W_jt - S_jt| (separable:
    exact coordinate steps, tasks solved apart; one gap per task).

    Dual: with f(w) = a|w| + b|w - c| (a = alpha beta, b = alpha (1-beta)),
    f*(u) = max(-b|c|, u c - a|c|) for |u| <= alpha (+inf beyond), the max
    over f's two kinks; the dual point is the residual rescaled into that box.
    """

    kind = MOD_TRANSFER

    def __init__(self, alpha, beta, source, factor=None):
        self.alpha = P._check_alpha(alpha)
        self.beta = P._check_ratio(beta, "beta")
        self.a, self.b = self.alpha * self.beta, self.alpha * (1 - self.beta)
        self.S = np.asarray(source, dtype=np.float64)
        self.separable = True
        _check_positive_factor(factor)
        self.factor = (None if factor is None
                       else np.ascontiguousarray(factor, dtype=np.float64))

    def _pf(self):
        return np.ones(self.S.shape[0]) if self.factor is None else self.factor

    def for_design(self, datafit):
        return self

    def init_parts(self, p, T):
        return [np.zeros((p, T))]

    def effective(self, parts):
        return parts[0]

    def value(self, parts):
        W = parts[0]
        pf = self._pf()
        return float(pf @ (self.a * np.abs(W) + self.b * np.abs(W - self.S)).sum(axis=1))

    def row_update(self, parts, j, g, H):
        W = parts[0]
        old = W[j].copy()
        f = self._pf()[j]
        for t in range(len(g)):
            if H[t] > 0:
                W[j, t] = transfer_prox(old[t] + g[t] / H[t], self.S[j, t],
                                        f * self.a / H[t], f * self.b / H[t])
            else:   # the loss ignores W[j, t]: minimize the penalty alone
                W[j, t] = 0.0 if self.a >= self.b else self.S[j, t]
        return W[j] - old

    def dual_terms(self, V, parts, resid_norm=0.0):
        """(s, extra, value) per task: each task's scaling into the box
        |u| <= alpha and the conjugate of its penalty there."""
        W, T = parts[0], V.shape[1]
        pf = self._pf()
        s, extra, value = np.empty(T), np.empty(T), np.empty(T)
        for t in range(T):
            Vt, St = V[:, t], self.S[:, t]
            dn = (np.abs(Vt) / pf).max(initial=0)
            s[t] = (_dual_scale(1.0, self.alpha, dn) if self.alpha > 0
                    else (1.0 if dn == 0 else 0.0))
            extra[t] = np.maximum(-pf * self.b * np.abs(St),
                                  s[t] * Vt * St - pf * self.a * np.abs(St)).sum()
            value[t] = pf @ (self.a * np.abs(W[:, t]) + self.b * np.abs(W[:, t] - St))
        return s, extra, value

    def gaps(self, df, parts):
        return quadratic_gaps(self, df, parts)

    def alpha_max_parts(self, V):
        """[max_jt |V_jt| / pf_j]: the smallest alpha with W = 0 optimal when
        the source is 0 (with a source, the scale of the alpha grid)."""
        return [float((np.abs(V) / self._pf()[:, None]).max(initial=0.0))]

    def kernel_params(self):
        return StructuredParams(self.kind, ta=self.a, tb=self.b,
                                src=np.ascontiguousarray(self.S.T), factor=self.factor)
