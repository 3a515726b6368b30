"""Suite problems of DESIGN.md section 6, all generated from a seed.

Every problem is fit without intercept (fit_intercept=False), so all solvers
minimize exactly  1/(2n) ||Y - X W||_F^2 + alpha * ||W||_21  (T = 1: the lasso).
"""
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from mtlfast.datasets import make_multitask_regression


@dataclass
class Problem:
    name: str
    X: object
    Y: np.ndarray
    alpha_max: float
    meta: dict = field(default_factory=dict)

    @property
    def shape(self):
        return (*self.X.shape, self.Y.shape[1])


def _alpha_max(X, Y):
    XtY = np.asarray(X.T @ Y)
    return float(np.linalg.norm(XtY, axis=1).max() / X.shape[0])


def _zipf_sparse(n, p, mean_density, seed):
    """CSC matrix whose column densities follow a Zipf-like law (text-like)."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, p + 1)
    dens = 1.0 / ranks ** 0.8
    dens *= mean_density * p / dens.sum()
    dens = np.clip(dens, 1.0 / n, 0.5)
    nnz = np.maximum(1, rng.binomial(n, dens))
    indptr = np.concatenate([[0], np.cumsum(nnz)])
    indices = np.concatenate([np.sort(rng.choice(n, k, replace=False)) for k in nnz])
    data = rng.standard_normal(indptr[-1])
    return sparse.csc_matrix((data, indices.astype(np.int32), indptr.astype(np.int32)),
                             shape=(n, p))


SIZES = {
    #            n      p      T   extra
    "meg":     (300, 10000, 50, dict(rho=0.9)),
    "wide":    (1000, 5000, 20, {}),
    "tall":    (50000, 500, 10, {}),
    "sparse":  (20000, 50000, 10, dict(density=0.002)),
    "many-tasks": (500, 2000, 200, {}),
    "sparse-lasso": (20000, 100000, 1, dict(zipf=0.001)),
}
QUICK_SIZES = {
    "meg":     (150, 2000, 20, dict(rho=0.9)),
    "wide":    (300, 1500, 10, {}),
    "tall":    (10000, 200, 5, {}),
    "sparse":  (5000, 10000, 5, dict(density=0.004)),
    "many-tasks": (200, 500, 60, {}),
    "sparse-lasso": (5000, 20000, 1, dict(zipf=0.002)),
}


# alpha = alpha_max / ratio; DESIGN.md section 6
RATIOS = {name: (10, 100) for name in SIZES}
RATIOS["sparse-lasso"] = (100, 1000)


def make_problem(name, quick=False, seed=0):
    n, p, T, extra = (QUICK_SIZES if quick else SIZES)[name]
    if "zipf" in extra:
        rng = np.random.default_rng(seed)
        X = _zipf_sparse(n, p, extra["zipf"], seed)
        w = np.zeros(p)
        w[rng.choice(p, 50, replace=False)] = rng.standard_normal(50)
        Y = np.asfortranarray((X @ w + 0.5 * rng.standard_normal(n))[:, None])
    else:
        X, Y, _ = make_multitask_regression(
            n, p, T, n_informative=max(10, p // 100), rho=extra.get("rho", 0.0),
            density=extra.get("density", 1.0), noise=1.0, seed=seed)
    return Problem(name, X, Y, _alpha_max(X, Y), dict(n=n, p=p, T=T, **extra))
