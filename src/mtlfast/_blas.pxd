# Fused float32/float64 wrappers around scipy.linalg.cython_blas (level 1).
# Each wrapper states its NumPy meaning. All are nogil and never raise.
from cython cimport floating
from scipy.linalg.cython_blas cimport sdot, ddot, saxpy, daxpy, snrm2, dnrm2


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
