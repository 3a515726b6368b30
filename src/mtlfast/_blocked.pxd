# Blocked epochs on dense X (mtlfast._cd_shared): the cyclic epoch of
# _cd_shared._epoch with level-3 BLAS. Per block B of features:
# G = R^T X_B (gemm), then the row updates in order, each corrected for the
# earlier updates of the block through the cached Gram K = X_B^T X_B, then
# R -= X_B Delta^T (gemm). Same iterates as the plain epoch up to rounding.
# The chunk partitions (G_CHUNK features, R_CHUNKS rows or tasks) never depend
# on the thread count, so neither do results.
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memcpy, memset
from libc.math cimport fabs, fmax

from mtlfast._prox cimport Penalty, row_prox, pen_factor
from mtlfast._design cimport Design
from mtlfast._blas cimport _gemm, _syrk_lt


ctypedef struct BlockScratch:
    # scratch of the blocked dense epoch, allocated once per solve
    int bs          # block size
    void* XB        # n x bs gathered columns (floating), used when ws is not contiguous
    void* G         # T x bs: column k = X_B[:, k]^T R, corrected inside the block
    void* Dlt       # T x bs: coefficient changes of the block
    void* K         # cached Gram matrices X_B^T X_B (bs x bs, lower) of every block
    char* K_ok      # per block: cache valid (reset whenever the working set changes)
    int n_blocks    # capacity of the cache, in blocks
    int* idx        # bs feature indices


cdef enum:
    G_CHUNK = 8        # features per parallel chunk of G = R^T X_B
    R_CHUNKS = 8       # row chunks of the residual update R -= X_B Delta^T


cdef void epoch_blocked(const Design* D, const Penalty* pen, const double* norms2,
                         floating* W, Py_ssize_t ldw, floating* R, int T,
                         const int* ws, int n_ws, BlockScratch* S,
                         double* a, double* w_old,
                         double* w_max, double* d_w_max, int n_threads) noexcept nogil


cdef int blocks_alloc(BlockScratch* S, int bs, int n, int p, int T,
                       size_t item) noexcept nogil


cdef void blocks_invalidate(BlockScratch* S) noexcept nogil


cdef void blocks_free(BlockScratch* S) noexcept nogil
