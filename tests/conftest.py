import numpy as np
import pytest
from scipy import sparse

try:  # a source checkout on sys.path without its compiled modules shadows the install
    import mtlfast
    from mtlfast import _cd_shared  # noqa: F401
except ImportError as exc:  # pragma: no cover
    pytest.exit(f"mtlfast has no compiled kernels here ({exc}). "
                "Run the tests as the README says: pip install \".[test]\" && cd tests && "
                "python -m pytest (or use an editable install).", returncode=3)


def make_problem(n=60, p=40, T=4, density=1.0, seed=0, n_informative=5, noise=0.1):
    """A small multi-task regression problem with a shared support."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if density < 1.0:
        X = X * (rng.random((n, p)) < density)
    W = np.zeros((p, T))
    k = min(n_informative, p)
    W[:k] = rng.standard_normal((k, T))
    Y = X @ W + noise * rng.standard_normal((n, T)) + rng.standard_normal(T)
    return X, Y


@pytest.fixture
def problem():
    return make_problem()


def as_sparse(X):
    return sparse.csc_matrix(X)
