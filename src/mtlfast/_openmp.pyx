"""Build-time and run-time OpenMP facts (safe to build without OpenMP)."""

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int mtlfast_has_openmp(void) { return 1; }
    static int mtlfast_max_threads(void) { return omp_get_max_threads(); }
    static int mtlfast_openmp_version(void) { return _OPENMP; }
    #else
    static int mtlfast_has_openmp(void) { return 0; }
    static int mtlfast_max_threads(void) { return 1; }
    static int mtlfast_openmp_version(void) { return 0; }
    #endif
    """
    int mtlfast_has_openmp() noexcept nogil
    int mtlfast_max_threads() noexcept nogil
    int mtlfast_openmp_version() noexcept nogil


def openmp_enabled():
    """True when the compiled kernels were built with OpenMP."""
    return bool(mtlfast_has_openmp())


def openmp_max_threads():
    """omp_get_max_threads() (honours OMP_NUM_THREADS); 1 without OpenMP."""
    return mtlfast_max_threads()


def openmp_version():
    """The _OPENMP macro (yyyymm) the kernels were compiled with, 0 without OpenMP."""
    return mtlfast_openmp_version()
