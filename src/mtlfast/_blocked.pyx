"""The blocked BLAS-3 epochs of the shared-design kernel, compiled once as their own module (declared, with the cimports they use, in _blocked.pxd):
plain functions, inlined by the C compiler only where it chooses."""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memcpy, memset
from libc.math cimport fabs, fmax


cdef void _block_G(const floating* R, const floating* XB, floating* G, int n, int T,
                   int b, int ch) noexcept nogil:
    """G[:, ch*G_CHUNK : ...] = R^T X_B[:, same columns] (one fixed chunk)."""
    cdef int k0 = ch * G_CHUNK
    cdef int bc = min(G_CHUNK, b - k0)
    _gemm(c'T', c'N', T, bc, n, 1.0, R, n, XB + <Py_ssize_t> k0 * n, n, 0.0,
          G + <Py_ssize_t> k0 * T, T)


cdef void _block_G_tasks(const floating* R, const floating* XB, floating* G, int n, int T,
                         int b, int tc, int ch) noexcept nogil:
    """G[ch*tc : ..., :] = R[:, same tasks]^T X_B (one fixed chunk of tasks)."""
    cdef int t0 = ch * tc
    cdef int nt = min(tc, T - t0)
    if nt <= 0:
        return
    _gemm(c'T', c'N', nt, b, n, 1.0, R + <Py_ssize_t> t0 * n, n, XB, n, 0.0, G + t0, T)


cdef void _block_update(floating* R, const floating* XB, const floating* Dlt, int n, int T,
                        int b, int rows, int ch) noexcept nogil:
    """R[i0:i1, :] -= X_B[i0:i1, :] @ Delta^T (one fixed chunk of rows)."""
    cdef int i0 = ch * rows
    cdef int nr = min(rows, n - i0)
    if nr <= 0:
        return
    _gemm(c'N', c'T', nr, T, b, -1.0, XB + i0, n, Dlt, T, 1.0, R + i0, n)


cdef void epoch_blocked(const Design* D, const Penalty* pen, const double* norms2,
                         floating* W, Py_ssize_t ldw, floating* R, int T,
                         const int* ws, int n_ws, BlockScratch* S,
                         double* a, double* w_old,
                         double* w_max, double* d_w_max, int n_threads) noexcept nogil:
    """One cyclic epoch over ws (all features when NULL) on dense X, in blocks
    of S.bs features: the same iterates as _epoch, with level-3 BLAS.

    Per block B:  G = R^T X_B (gemm); then for k in B, in order, the row
    update uses g_k = G_k - sum_{l<k} K_lk Delta_l (the Gram correction
    K = X_B^T X_B accounts for the earlier updates of the block); finally
    R -= X_B Delta^T (gemm).
    """
    cdef int n = D.n_samples
    cdef int m = D.n_features if ws == NULL else n_ws
    cdef int bs = S.bs
    cdef int start, b, k, l, t, j, ch, n_gch
    cdef int rows = (n + R_CHUNKS - 1) // R_CHUNKS
    cdef int t_chunk = (T + R_CHUNKS - 1) // R_CHUNKS
    cdef bint small_R = <size_t> n * T * sizeof(floating) <= 512 * 1024
    # a parallel region per block pays only for enough work per block (the
    # chunk partition stays the same, so results do not change)
    if <double> n * T * bs < 2e5:
        n_threads = 1
    cdef bint contiguous, changed
    cdef double L, delta
    cdef floating w_new, dk
    cdef const floating* X = <const floating*> D.data
    cdef const floating* XB
    cdef floating* XBbuf = <floating*> S.XB
    cdef floating* G = <floating*> S.G
    cdef floating* Dlt = <floating*> S.Dlt
    cdef floating* K
    cdef int* idx = S.idx
    cdef double wm = 0.0, dwm = 0.0     # the largest |w| and change (kept in registers)
    start = 0
    while start < m:
        b = min(bs, m - start)
        for k in range(b):
            idx[k] = start + k if ws == NULL else ws[start + k]
        contiguous = idx[b - 1] - idx[0] == b - 1
        if contiguous:
            XB = X + <Py_ssize_t> idx[0] * n
        else:
            for k in range(b):
                memcpy(XBbuf + <Py_ssize_t> k * n, X + <Py_ssize_t> idx[k] * n,
                       n * sizeof(floating))
            XB = XBbuf
        # G (T x b) = R^T X_B in fixed chunks, shared by the threads: chunks of
        # features when R stays in cache (each chunk re-reads R), else chunks of
        # tasks (each reads its own part of R). The choice depends on n and T
        # only and the partition never on the thread count, so neither do results.
        n_gch = (b + G_CHUNK - 1) // G_CHUNK if small_R else 1
        if not small_R:
            if n_threads > 1:
                for ch in prange(R_CHUNKS, schedule='dynamic', num_threads=n_threads,
                                 nogil=True):
                    _block_G_tasks(R, XB, G, n, T, b, t_chunk, ch)
            else:
                for ch in range(R_CHUNKS):
                    _block_G_tasks(R, XB, G, n, T, b, t_chunk, ch)
        elif n_threads > 1:
            for ch in prange(n_gch, schedule='dynamic', num_threads=n_threads, nogil=True):
                _block_G(R, XB, G, n, T, b, ch)
        else:
            for ch in range(n_gch):
                _block_G(R, XB, G, n, T, b, ch)
        # lower triangle of K (b x b) = X_B^T X_B, computed once per working set
        K = (<floating*> S.K) + <Py_ssize_t> (start // bs) * bs * bs
        if not S.K_ok[start // bs]:
            _syrk_lt(b, n, XB, n, K, b)
            S.K_ok[start // bs] = 1
        changed = False
        for k in range(b):
            j = idx[k]
            L = norms2[j]
            if L == 0.0:
                for t in range(T):
                    W[t * ldw + j] = 0.0
                    Dlt[<Py_ssize_t> k * T + t] = 0.0
                continue
            for t in range(T):
                w_old[t] = W[t * ldw + j]
                a[t] = L * w_old[t] + G[<Py_ssize_t> k * T + t]
            row_prox(pen, a, T, L, n * pen_factor(pen, j))
            for t in range(T):
                w_new = <floating> a[t]
                dk = w_new - <floating> w_old[t]
                Dlt[<Py_ssize_t> k * T + t] = dk
                if dk != 0.0:
                    changed = True
                    W[t * ldw + j] = w_new
                    dwm = fmax(dwm, fabs(dk))
                    # later features of the block see this change through K
                    for l in range(k + 1, b):
                        G[<Py_ssize_t> l * T + t] -= K[l + <Py_ssize_t> k * b] * dk
                wm = fmax(wm, fabs(w_new))
        if changed:
            # R (n x T) -= X_B (n x b) @ Delta^T (b x T), in R_CHUNKS fixed row chunks
            if n_threads > 1:
                for ch in prange(R_CHUNKS, schedule='dynamic', num_threads=n_threads,
                                 nogil=True):
                    _block_update(R, XB, Dlt, n, T, b, rows, ch)
            else:
                for ch in range(R_CHUNKS):
                    _block_update(R, XB, Dlt, n, T, b, rows, ch)
        start += b
    w_max[0] = wm
    d_w_max[0] = dwm


cdef int blocks_alloc(BlockScratch* S, int bs, int n, int p, int T,
                       size_t item) noexcept nogil:
    S.bs = bs
    S.XB = S.G = S.Dlt = S.K = NULL
    S.K_ok = NULL
    S.idx = NULL
    if bs <= 1:
        S.bs = 0
        return 0
    S.n_blocks = (p + bs - 1) // bs
    S.XB = malloc(<size_t> n * bs * item)
    S.G = malloc(<size_t> T * bs * item)
    S.Dlt = malloc(<size_t> T * bs * item)
    S.K = malloc(<size_t> S.n_blocks * bs * bs * item)
    S.K_ok = <char*> calloc(S.n_blocks, 1)
    S.idx = <int*> malloc(<size_t> bs * sizeof(int))
    if (S.XB == NULL or S.G == NULL or S.Dlt == NULL or S.K == NULL or S.K_ok == NULL
            or S.idx == NULL):
        return -1
    return 0


cdef void blocks_invalidate(BlockScratch* S) noexcept nogil:
    if S.bs > 1:
        memset(S.K_ok, 0, S.n_blocks)


cdef void blocks_free(BlockScratch* S) noexcept nogil:
    free(S.XB); free(S.G); free(S.Dlt); free(S.K); free(S.K_ok); free(S.idx)
