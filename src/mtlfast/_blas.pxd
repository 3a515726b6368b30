# Fused float32/float64 wrappers around scipy.linalg.cython_blas (level 1).
# Each wrapper states its NumPy meaning. All are nogil and never raise.
from cython cimport floating
from scipy.linalg.cython_blas cimport sdot, ddot, saxpy, daxpy, snrm2, dnrm2, sgemm, dgemm


cdef inline floating _dot(int n, const floating* x, int incx,
                          const floating* y, int incy) noexcept nogil:
    """return x @ y"""
    if floating is float:
        return sdot(&n, <float*> x, &incx, <float*> y, &incy)
    else:
        return ddot(&n, <double*> x, &incx, <double*> y, &incy)


cdef inline void _axpy(int n, floating alpha, const floating* x, int incx,
                       floating* y, int incy) noexcept nogil:
    """y += alpha * x"""
    if floating is float:
        saxpy(&n, &alpha, <float*> x, &incx, y, &incy)
    else:
        daxpy(&n, &alpha, <double*> x, &incx, y, &incy)


cdef inline floating _nrm2(int n, const floating* x, int incx) noexcept nogil:
    """return np.linalg.norm(x)"""
    if floating is float:
        return snrm2(&n, <float*> x, &incx)
    else:
        return dnrm2(&n, <double*> x, &incx)




cdef inline void _gemm(char transa, char transb, int m, int n, int k, floating alpha,
                       const floating* A, int lda, const floating* B, int ldb,
                       floating beta, floating* C, int ldc) noexcept nogil:
    """Column-major C = alpha * op(A) @ op(B) + beta * C, op = transpose if 'T'."""
    if floating is float:
        sgemm(&transa, &transb, &m, &n, &k, &alpha, <float*> A, &lda, <float*> B, &ldb,
              &beta, C, &ldc)
    else:
        dgemm(&transa, &transb, &m, &n, &k, &alpha, <double*> A, &lda, <double*> B, &ldb,
              &beta, C, &ldc)


from scipy.linalg.cython_blas cimport ssyrk, dsyrk


cdef inline void _syrk_lt(int n, int k, const floating* A, int lda,
                          floating* C, int ldc) noexcept nogil:
    """Lower triangle of column-major C (n x n) = A^T @ A, A of shape (k, n)."""
    cdef char uplo = b'L'[0], trans = b'T'[0]
    cdef floating one = 1.0, zero = 0.0
    if floating is float:
        ssyrk(&uplo, &trans, &n, &k, &one, <float*> A, &lda, &zero, C, &ldc)
    else:
        dsyrk(&uplo, &trans, &n, &k, &one, <double*> A, &lda, &zero, C, &ldc)


from scipy.linalg.cython_blas cimport sgemv, dgemv


cdef inline void _gemv_t(int m, int n, const floating* A, int lda, const floating* x,
                         floating* y) noexcept nogil:
    """y (n) = A.T @ x, A column-major (m x n)."""
    cdef char trans = b'T'[0]
    cdef int one_i = 1
    cdef floating one = 1.0, zero = 0.0
    if floating is float:
        sgemv(&trans, &m, &n, &one, <float*> A, &lda, <float*> x, &one_i, &zero, y, &one_i)
    else:
        dgemv(&trans, &m, &n, &one, <double*> A, &lda, <double*> x, &one_i, &zero, y, &one_i)


cdef inline void _gemv_n(int m, int n, floating alpha, const floating* A, int lda,
                         const floating* x, floating* y) noexcept nogil:
    """y (m) += alpha * A @ x, A column-major (m x n)."""
    cdef char trans = b'N'[0]
    cdef int one_i = 1
    cdef floating one = 1.0
    if floating is float:
        sgemv(&trans, &m, &n, &alpha, <float*> A, &lda, <float*> x, &one_i, &one, y, &one_i)
    else:
        dgemv(&trans, &m, &n, &alpha, <double*> A, &lda, <double*> x, &one_i, &one, y, &one_i)


from scipy.linalg.cython_lapack cimport dpotrf, dpotrs


cdef inline int _chol_solve(int m, double* A, double* b) noexcept nogil:
    """b <- A^{-1} b for symmetric positive definite A (m x m, lower triangle
    used, overwritten by its Cholesky factor); returns LAPACK's info (0: solved,
    > 0: A not positive definite, b untouched)."""
    cdef char uplo = b'L'[0]
    cdef int info = 0, one_i = 1
    dpotrf(&uplo, &m, A, &m, &info)
    if info != 0:
        return info
    dpotrs(&uplo, &m, &one_i, A, &m, b, &m, &info)
    return info
