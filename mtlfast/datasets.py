"""Built-in generated problems (seeded), used by the demo, tests and benchmarks."""
import numpy as np
from scipy import sparse


def make_multitask_regression(n_samples=500, n_features=2000, n_tasks=10, n_informative=20,
                              rho=0.0, noise=0.5, density=1.0, dtype=np.float64, seed=0):
    """Multi-task regression with one support shared by all tasks.

    Columns follow an AR(1) correlation with coefficient `rho` (as in MEG/EEG
    source imaging); `density` < 1 returns a CSC sparse X. The informative
    rows are spread evenly over the features.

    Returns
    -------
    X : ndarray (Fortran-ordered) or CSC matrix of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_tasks)
    W : ndarray of shape (n_features, n_tasks), the true coefficients
    """
    rng = np.random.default_rng(seed)
    if density < 1.0:
        X = sparse.random(n_samples, n_features, density=density, format="csc",
                          random_state=rng, data_rvs=rng.standard_normal, dtype=np.float64)
    else:
        X = rng.standard_normal((n_samples, n_features))
        if rho:
            # AR(1) across columns: X_j = rho X_{j-1} + sqrt(1 - rho^2) e_j
            for j in range(1, n_features):
                X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho ** 2) * X[:, j]
        X = np.asfortranarray(X)
    W = np.zeros((n_features, n_tasks))
    support = np.linspace(0, n_features - 1, n_informative).astype(int)
    W[support] = rng.standard_normal((n_informative, n_tasks))
    Y = np.asarray(X @ W) + noise * rng.standard_normal((n_samples, n_tasks))
    return X.astype(dtype), np.asfortranarray(Y, dtype=dtype), W
