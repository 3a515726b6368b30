"""Datafits: the loss part of the objective, and problem assembly for kernels.

QuadraticShared (shared design X, targets Y of shape (n, T)):

    1/(2n) * sum_i s_i ||y_i - x_i W - b||^2

with sample weights s rescaled to sum to n (scikit-learn's convention) and an
unpenalized intercept b. The intercept is eliminated by (weighted) centering,
and weights by scaling rows by sqrt(s), so the solver sees

    1/(2n) ||Y_eff - X_eff W||_F^2,   X_eff = diag(sqrt s) (X - 1 x_mean^T).

Dense X is centered/scaled into a Fortran-ordered copy only when needed (no
copy when it is already F-ordered, of the working dtype, with no intercept and
no weights). Sparse CSC X is never densified: centering stays implicit
(X_mean, u = sqrt(s)) and only the data array is rescaled (copied) for weights.
"""
import numpy as np
from scipy import sparse


class QuadraticShared:
    """Least squares with one design shared by all tasks.

    Parameters
    ----------
    X : ndarray or CSC matrix of shape (n_samples, n_features), float32/float64
        (validated by the caller).
    Y : ndarray of shape (n_samples, n_tasks), same dtype as X.
    sample_weight : ndarray of shape (n_samples,) or None (validated, > 0 sum).
    fit_intercept : bool
    """

    def __init__(self, X, Y, sample_weight=None, fit_intercept=True):
        dtype = X.dtype
        n, p = X.shape
        self.n_samples, self.n_features, self.n_tasks = n, p, Y.shape[1]
        self.dtype = dtype
        self.fit_intercept = fit_intercept
        self.is_sparse = sparse.issparse(X)
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=np.float64)
            sw = sw * (n / sw.sum())
            sqrt_sw = np.sqrt(sw)
        else:
            sw = sqrt_sw = None
        self.sample_weight = sw

        # weighted means (float64) -> intercept recovery
        if fit_intercept:
            if sw is None:
                self.X_offset = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
                self.Y_offset = Y.mean(axis=0, dtype=np.float64)
            else:
                self.X_offset = np.asarray(X.T @ sw, dtype=np.float64).ravel() / n
                self.Y_offset = (Y.T @ sw).astype(np.float64) / n
        else:
            self.X_offset = np.zeros(p)
            self.Y_offset = np.zeros(self.n_tasks)

        Y_eff = Y - self.Y_offset.astype(dtype) if fit_intercept else Y
        if sqrt_sw is not None:
            Y_eff = Y_eff * sqrt_sw.astype(dtype)[:, None]
        self.Y = np.asfortranarray(Y_eff, dtype=dtype)

        empty = np.empty(0, dtype=dtype)
        if self.is_sparse:
            Xc = X.tocsc() if X.format != "csc" else X
            data = Xc.data
            if sqrt_sw is not None:
                data = (data * sqrt_sw[Xc.indices]).astype(dtype)
            self.X_dense = np.empty((0, 0), dtype=dtype, order="F")
            self.X_data = np.ascontiguousarray(data, dtype=dtype)
            self.X_indices = np.ascontiguousarray(Xc.indices, dtype=np.intc)
            self.X_indptr = np.ascontiguousarray(Xc.indptr, dtype=np.intc)
            self.X_mean = self.X_offset.copy() if fit_intercept else np.empty(0)
            self.u = sqrt_sw.astype(dtype) if sqrt_sw is not None else empty
        else:
            if fit_intercept or sqrt_sw is not None:
                Xe = np.array(X, dtype=dtype, order="F", copy=True)
                if fit_intercept:
                    Xe -= self.X_offset.astype(dtype)
                if sqrt_sw is not None:
                    Xe *= sqrt_sw.astype(dtype)[:, None]
            else:
                Xe = np.asfortranarray(X, dtype=dtype)  # no copy when already F + dtype
            self.X_dense = Xe
            self.X_data = empty
            self.X_indices = np.empty(0, dtype=np.intc)
            self.X_indptr = np.empty(0, dtype=np.intc)
            self.X_mean = np.empty(0)
            self.u = empty

    # -- kernel arguments -------------------------------------------------
    def kernel_args(self):
        """Positional design arguments of mtlfast._cd_shared.solve."""
        return (self.X_dense, self.X_data, self.X_indices, self.X_indptr,
                self.is_sparse, self.n_samples, self.n_features, self.Y)

    # -- math (NumPy, used by references, tests and alpha_max) --------------
    def design_dense(self):
        """X_eff as a dense float64 array (reference solver / tests only)."""
        if not self.is_sparse:
            return np.asarray(self.X_dense, dtype=np.float64)
        X = sparse.csc_matrix((self.X_data, self.X_indices, self.X_indptr),
                              shape=(self.n_samples, self.n_features)).toarray()
        X = X.astype(np.float64)
        if self.X_mean.size:
            u = self.u.astype(np.float64) if self.u.size else np.ones(self.n_samples)
            X = X - np.outer(u, self.X_mean)
        return X

    def matvec_T(self, R):
        """X_eff^T R for R of shape (n, T), float64."""
        if not self.is_sparse:
            return self.X_dense.T.astype(np.float64) @ R
        Xs = sparse.csc_matrix((self.X_data.astype(np.float64), self.X_indices, self.X_indptr),
                               shape=(self.n_samples, self.n_features))
        out = np.asarray(Xs.T @ R)
        if self.X_mean.size:
            u = self.u.astype(np.float64) if self.u.size else np.ones(self.n_samples)
            out = out - np.outer(self.X_mean, u @ R)
        return out

    def residual(self, W):
        """Y_eff - X_eff W in float64; W of shape (n_features, n_tasks)."""
        return self.Y.astype(np.float64) - self.design_dense() @ W

    def value(self, W):
        R = self.residual(W)
        return float(0.5 * np.sum(R * R) / self.n_samples)

    def gradient(self, W):
        """Gradient of the datafit in W: -X_eff^T R / n, shape (p, T)."""
        return -self.matvec_T(self.residual(W)) / self.n_samples

    def XtY_over_n(self):
        return self.matvec_T(self.Y.astype(np.float64)) / self.n_samples

    def intercept(self, W):
        """b = Y_offset - X_offset @ W (zeros without an intercept)."""
        if not self.fit_intercept:
            return np.zeros(self.n_tasks)
        return self.Y_offset - self.X_offset @ W
