"""Golden master of the compiled solvers: coefficients, gaps and iteration
counts pinned bit for bit (glum's habit, for refactors that must not change
the arithmetic).

Every kernel (shared-design, per-task, structured, logistic) x dense/CSC x
float32/float64 x strategy (working sets / plain epochs) x 1/2 threads x two
strengths. The stored results (tests/golden/solvers.npz) were taken before
the solver-engine refactor; a deliberate change of the arithmetic must
regenerate them (`MTLFAST_GOLDEN_REGEN=1 python -m pytest
test_golden_master.py`) and say why in its commit.

Bits depend on the machine (BLAS kernels, compiler), so results are compared
bit for bit where the machine's fingerprint matches the one that wrote the
file, else to a tight tolerance (and iteration counts within one gap
schedule step).
"""
import os
import platform

import numpy as np
import pytest
from scipy import sparse
from threadpoolctl import threadpool_info

from mtlfast.penalties import (L1, L21, SparseGroupL1L21, ElasticNet, L21L2, TwoPart, TaskGraph,
                               Transfer)
from mtlfast.datafits import QuadraticShared, QuadraticPerTask, LogisticPerTask
from mtlfast.solvers import solve_shared, solve_tasks, solve_structured, solve_logistic

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "solvers.npz")
REGEN = os.environ.get("MTLFAST_GOLDEN_REGEN") == "1"
FRACTIONS = (0.3, 0.05)          # alpha / scale of the problem


def _fingerprint():
    blas = sorted(f"{d.get('internal_api')}-{d.get('version')}-{d.get('architecture')}"
                  for d in threadpool_info() if d.get("user_api") == "blas")
    return "|".join([platform.machine(), platform.python_version(), np.__version__,
                     *blas])


def _shared_problem(fmt, dtype, T=5, n=50, p=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * (rng.random((n, p)) < (0.3 if fmt == "csc" else 1.0))
    W = np.zeros((p, T))
    W[:6] = rng.standard_normal((6, T))
    Y = X @ W + 0.3 * rng.standard_normal((n, T)) + 1.0
    X, Y = X.astype(dtype), Y.astype(dtype)
    return (sparse.csc_matrix(X) if fmt == "csc" else np.asfortranarray(X)), Y


def _long_problem(fmt, dtype, n_t=(30, 45, 25, 40), p=60, seed=1):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(p) * (rng.random(p) < 0.15)
    Xs = [rng.standard_normal((k, p)) * (rng.random((k, p)) < (0.3 if fmt == "csc" else 1.0))
          for k in n_t]
    ys = [X @ (w + 0.3 * rng.standard_normal(p)) + 0.2 * rng.standard_normal(len(X)) + 0.5
          for X in Xs]
    codes = np.concatenate([np.full(k, t) for t, k in enumerate(n_t)])
    perm = rng.permutation(len(codes))
    X = np.vstack(Xs)[perm].astype(dtype)
    y = np.concatenate(ys)[perm].astype(dtype)
    sw = rng.uniform(0.5, 2.0, len(codes))
    return (sparse.csc_matrix(X) if fmt == "csc" else X), y, codes[perm], sw


def _scale(X, Y):
    """max_j ||X_j^T Y||_2 / n of the centered problem (about alpha_max)."""
    Xd = X.toarray() if sparse.issparse(X) else np.asarray(X)
    Xd = Xd.astype(np.float64) - Xd.mean(axis=0)
    Yd = np.asarray(Y, dtype=np.float64).reshape(len(Xd), -1)
    return float(np.linalg.norm(Xd.T @ (Yd - Yd.mean(axis=0)), axis=1).max() / len(Xd))


SHARED_PENS = {"l1": lambda a: L1(a), "l21": lambda a: L21(a),
               "sgl": lambda a: SparseGroupL1L21(a, 0.4), "enet": lambda a: ElasticNet(a, 0.6)}
TASK_PENS = {"l1": lambda a: L1(a), "l21": lambda a: L21(a),
             "sgl": lambda a: SparseGroupL1L21(a, 0.4), "mtenet": lambda a: L21L2(a, 0.7)}
STRUCT_MODELS = {
    "dirty": lambda a, T, p: TwoPart(L21(a), L1(1.5 * a)),
    "meanreg": lambda a, T, p: TwoPart(L1(a), L1(2 * a), shared_a=True),
    "graph": lambda a, T, p: TaskGraph(L1(a), 0.05, sparse.csr_matrix(
        np.ones((T, T)) - np.eye(T))),
    "transfer": lambda a, T, p: Transfer(a, 0.3, np.full((p, T), 0.05)),
}
LOGIT_PENS = {"l1": lambda a: L1(a), "l21": lambda a: L21(a)}


def _cases():
    for fmt in ("dense", "csc"):
        for dt in ("float64", "float32"):
            for strat in ("ws", "cd"):
                for k in range(len(FRACTIONS)):
                    for name in SHARED_PENS:
                        yield f"shared-{name}-{fmt}-{dt}-{strat}-a{k}"
                    for name in TASK_PENS:
                        yield f"tasks-{name}-{fmt}-{dt}-{strat}-a{k}"
                    for name in STRUCT_MODELS:
                        yield f"struct-{name}-{fmt}-{dt}-{strat}-a{k}"
                    for name in LOGIT_PENS:
                        yield f"logit-{name}-{fmt}-{dt}-{strat}-a{k}"


def run_case(case, n_threads):
    """(coef, gaps, n_iter) of one case, every array float64/int64."""
    family, name, fmt, dt, strat, ak = case.split("-")
    dtype = np.dtype(dt)
    frac = FRACTIONS[int(ak[1:])]
    if family == "shared":
        X, Y = _shared_problem(fmt, dtype)
        pen = SHARED_PENS[name](frac * _scale(X, Y))
        df = QuadraticShared(X, Y, None, True)
        res = solve_shared(df, pen, max_iter=3000, tol=1e-8, strategy=strat,
                           n_threads=n_threads)
        return res.coef, res.gaps, res.n_iter
    if family in ("tasks", "struct"):
        X, y, codes, sw = _long_problem(fmt, dtype)
        T, p = int(codes.max()) + 1, X.shape[1]
        df = QuadraticPerTask(X, y, codes, T, sw, [1.0, 0.5, 2.0, 1.0], True)
        a = frac * _scale(X, y) / 2
        if family == "tasks":
            res = solve_tasks(df, TASK_PENS[name](a), max_iter=3000, tol=1e-8, strategy=strat,
                              n_threads=n_threads, p0=5)
            return res.coef, res.gaps, res.n_iter
        model = STRUCT_MODELS[name](a, T, p)
        res = solve_structured(df, model, max_iter=3000, tol=1e-8, strategy=strat,
                               n_threads=n_threads, p0=5)
        return np.concatenate([np.ravel(P) for P in res.parts]), res.gaps, res.n_iter
    X, y, codes, sw = _long_problem(fmt, dtype, seed=2)
    labels = (y > np.median(y)).astype(float)
    T = int(codes.max()) + 1
    df = LogisticPerTask(X, labels, codes, T, sw, None, True)
    pen = LOGIT_PENS[name](frac * _scale(X, labels - 0.5) / 4)
    res = solve_logistic(df, pen, max_iter=60, tol=1e-8, strategy=strat, p0=5, dtype=dtype,
                         n_threads=n_threads)
    W = res.coef.T.astype(np.float64)
    return (np.concatenate([W.ravel(), res.intercept]), np.array([res.gaps.sum()]),
            np.array([res.n_iter.max()]))


def _as_arrays(coef, gaps, n_iter):
    return (np.asarray(coef, dtype=np.float64).ravel(), np.asarray(gaps, dtype=np.float64),
            np.asarray(n_iter, dtype=np.int64))


def _regenerate():
    store = {"fingerprint": np.array(_fingerprint())}
    for case in _cases():
        coef, gaps, n_iter = _as_arrays(*run_case(case, 1))
        store[case + ":coef"], store[case + ":gaps"], store[case + ":n_iter"] = coef, gaps, n_iter
    os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
    np.savez_compressed(GOLDEN, **store)


if REGEN:
    _regenerate()
_STORED = np.load(GOLDEN) if os.path.exists(GOLDEN) else None
EXACT = _STORED is not None and str(_STORED["fingerprint"]) == _fingerprint()


def test_golden_file_covers_every_case():
    assert _STORED is not None, f"missing {GOLDEN}"
    keys = {k.rsplit(":", 1)[0] for k in _STORED.files if k != "fingerprint"}
    assert keys == set(_cases())


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("case", list(_cases()))
def test_golden_master(case, n_threads):
    coef, gaps, n_iter = _as_arrays(*run_case(case, n_threads))
    want_coef = _STORED[case + ":coef"]
    want_gaps = _STORED[case + ":gaps"]
    want_iter = _STORED[case + ":n_iter"]
    if EXACT:
        np.testing.assert_array_equal(coef, want_coef)
        np.testing.assert_array_equal(gaps, want_gaps)
        np.testing.assert_array_equal(n_iter, want_iter)
        return
    # another machine: the same algorithm up to rounding
    f32 = "float32" in case
    scale = max(np.abs(want_coef).max(), 1e-300)
    np.testing.assert_allclose(coef, want_coef, rtol=0, atol=(1e-3 if f32 else 1e-6) * scale)
    assert gaps.shape == want_gaps.shape
    assert np.all(np.abs(n_iter - want_iter) <= np.maximum(10, 0.2 * want_iter))
