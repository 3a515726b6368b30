"""Block coordinate descent for per-task designs (mtlfast.tasks).

Rows of all tasks are stacked, task t owning rows offsets[t]:offsets[t+1] of
the effective design X (N x p; dense Fortran-ordered or CSC with sorted row
indices) and of y. Objective (already weighted and scaled by the datafit):

    1/2 ||y - A(W)||^2 + sum_j h(W[j, :]),    A(W)_i = x_i . w_t(i)

with h a row penalty from mtlfast._prox. W is stored as coef (T, p),
C-ordered. A feature's block spans the tasks; the inner products run over
each task's own rows. Separable penalties (PEN_L1) update each coordinate
exactly and are solved task by task in parallel; coupled ones take one
proximal gradient step per row with the row's Lipschitz constant
max_t ||X[rows t, j]||^2 (the tasks' column norms differ, so the exact row
minimization has no closed form). Same iterates as
mtlfast.reference.bcd_tasks.

Stopping: the duality gap (the construction of _bcd.block_gap with n = 1)
<= tol * ||y_block||^2, computed after an epoch whose largest change is
<= tol * the largest coefficient, every gap_freq epochs and at the last one;
tol < 0 never stops.
"""
import numpy as np
from cython cimport floating
from cython.parallel cimport prange
from libc.stdlib cimport malloc, free
from libc.math cimport fabs, fmax, sqrt

from mtlfast._prox cimport Penalty, PEN_L1, row_prox, row_norm, row_dual_norm
from mtlfast._taskdesign cimport (
    TaskDesign, piece_dot, piece_update, piece_norm2, set_design)


cdef double tasks_gap(const TaskDesign* D, const Penalty* pen, const floating* W,
                      const floating* r, const floating* y, int t0, int nt,
                      double* XtA, double* buf, int n_threads) noexcept nogil:
    """Duality gap of the block of tasks t0 .. t0+nt-1 (see _bcd.block_gap;
    here n = 1): lam1 > 0: dual point cst * residual, cst = min(1, lam1 /
    max_j N^D(XtA_j)); lam1 = 0: the ridge Fenchel dual at the residual."""
    cdef int p = D.p, T = D.T
    cdef int j, tt, t, i
    cdef double R_norm2 = 0.0, RY = 0.0, W_norm2 = 0.0, NW = 0.0, w
    cdef double dn = 0.0, cst, xtr, XtR_norm2 = 0.0
    if n_threads > 1:
        for j in prange(p, schedule='static', num_threads=n_threads, nogil=True):
            _xta_row(D, pen, W, r, t0, nt, j, XtA)
    else:
        for j in range(p):
            _xta_row(D, pen, W, r, t0, nt, j, XtA)
    for i in range(D.offsets[t0], D.offsets[t0 + nt]):
        R_norm2 += <double> r[i] * r[i]
        RY += <double> r[i] * y[i]
    for j in range(p):
        for tt in range(nt):
            w = W[<Py_ssize_t> (t0 + tt) * p + j]
            buf[tt] = w
            W_norm2 += w * w
        NW += row_norm(pen, buf, nt)
    if pen.lam1 > 0.0:
        for j in range(p):
            dn = fmax(dn, row_dual_norm(pen, &XtA[<Py_ssize_t> j * nt], nt, buf))
        cst = 1.0 if dn <= pen.lam1 else pen.lam1 / dn
        return (0.5 * (1.0 + cst * cst) * R_norm2 + pen.lam1 * NW - cst * RY
                + 0.5 * pen.lam2 * (1.0 + cst * cst) * W_norm2)
    if pen.lam2 > 0.0:
        for j in range(p):
            for tt in range(nt):
                xtr = XtA[<Py_ssize_t> j * nt + tt] + pen.lam2 * W[<Py_ssize_t> (t0 + tt) * p + j]
                XtR_norm2 += xtr * xtr
        return R_norm2 + 0.5 * pen.lam2 * W_norm2 - RY + 0.5 * XtR_norm2 / pen.lam2
    for j in range(p):
        dn = fmax(dn, row_dual_norm(pen, &XtA[<Py_ssize_t> j * nt], nt, buf))
    return 0.5 * R_norm2 if dn > 0.0 else R_norm2 - RY


cdef void _xta_row(const TaskDesign* D, const Penalty* pen, const floating* W,
                   const floating* r, int t0, int nt, int j, double* XtA) noexcept nogil:
    cdef int tt
    for tt in range(nt):
        XtA[<Py_ssize_t> j * nt + tt] = (piece_dot(D, j, t0 + tt, r)
                                        - pen.lam2 * W[<Py_ssize_t> (t0 + tt) * D.p + j])


cdef void screen_rows(const TaskDesign* D, const Penalty* pen, floating* W, floating* r,
                      const double* L, int t0, int nt, const double* XtA, double* dn,
                      double* buf, double gap, unsigned char* active) noexcept nogil:
    """Gap-safe screening after a duality gap (tasks_gap left XtA_j = A_j^T r
    - lam2 W_j in XtA). The dual optimum lies within sqrt(2 gap) of the
    rescaled residual c r, and for any theta in that ball N^D(A_j^T theta) <=
    c N^D(XtA_j) + sqrt(2 gap) max_t sqrt(L_jt + lam2) (A_j is block-diagonal
    over the tasks; N^D <= ||.||_2 for every penalty here). A row whose bound
    is below lam1 (with the relative margin of mtlfast._bcd against rounding)
    is zero at the optimum: it is set to 0 and leaves the epochs."""
    cdef int p = D.p, T = D.T
    cdef int j, tt
    cdef double dn_max = 0.0, c, radius, lmax, w
    cdef double margin = 1e-4 if floating is float else 1e-9
    for j in range(p):
        dn[j] = row_dual_norm(pen, &XtA[<Py_ssize_t> j * nt], nt, buf)
        dn_max = fmax(dn_max, dn[j])
    c = 1.0 if dn_max <= pen.lam1 else pen.lam1 / dn_max
    radius = sqrt(2.0 * fmax(gap, 0.0))
    for j in range(p):
        if not active[j]:
            continue
        lmax = 0.0
        for tt in range(nt):
            lmax = fmax(lmax, L[<Py_ssize_t> j * T + t0 + tt])
        if c * dn[j] + radius * sqrt(lmax + pen.lam2) < pen.lam1 * (1.0 - margin):
            active[j] = 0
            for tt in range(nt):
                w = W[<Py_ssize_t> (t0 + tt) * p + j]
                if w != 0.0:
                    piece_update(D, j, t0 + tt, -w, r)
                    W[<Py_ssize_t> (t0 + tt) * p + j] = 0.0


cdef int tasks_block_solve(const TaskDesign* D, const Penalty* pen, const double* L,
                           floating* W, floating* r, const floating* y, int t0, int nt,
                           int max_iter, double tol, int gap_freq, int n_threads,
                           bint screen, double* gap_out) noexcept nogil:
    """Epochs over all features for the tasks t0 .. t0+nt-1; returns the
    number of epochs, or -1 when scratch memory cannot be allocated.
    L[j * T + t] = ||X[rows t, j]||^2. With `screen` (and lam1 > 0, tol >= 0)
    every gap is followed by gap-safe screening; the gap stays the full
    problem's."""
    cdef int p = D.p, T = D.T
    cdef int it, j, tt, t, i, n_iter = 0
    cdef double Lj, delta, w_max, d_w_max, gap, tol_abs = 0.0
    cdef floating w_new
    cdef double* a = <double*> malloc(<size_t> nt * sizeof(double))
    cdef double* w_old = <double*> malloc(<size_t> nt * sizeof(double))
    cdef double* buf = <double*> malloc(<size_t> nt * sizeof(double))
    cdef double* XtA = <double*> malloc(<size_t> p * nt * sizeof(double))
    cdef double* dn = <double*> malloc(<size_t> p * sizeof(double))
    cdef unsigned char* active = <unsigned char*> malloc(<size_t> p)
    if (a == NULL or w_old == NULL or buf == NULL or XtA == NULL or dn == NULL
            or active == NULL):
        free(a); free(w_old); free(buf); free(XtA); free(dn); free(active)
        return -1
    screen = screen and pen.lam1 > 0.0 and tol >= 0.0
    for j in range(p):
        active[j] = 1
    for i in range(D.offsets[t0], D.offsets[t0 + nt]):
        tol_abs += <double> y[i] * y[i]
    tol_abs *= tol
    gap = tasks_gap(D, pen, W, r, y, t0, nt, XtA, buf, n_threads)
    if screen and gap > tol_abs:
        screen_rows(D, pen, W, r, L, t0, nt, XtA, dn, buf, gap, active)
    if gap > tol_abs:
        for it in range(max_iter):
            w_max = 0.0
            d_w_max = 0.0
            for j in range(p):
                if not active[j]:
                    continue
                Lj = 0.0
                for tt in range(nt):
                    Lj = fmax(Lj, L[<Py_ssize_t> j * T + t0 + tt])
                if Lj == 0.0:
                    # the column vanishes in every task: the optimum row is 0
                    for tt in range(nt):
                        W[<Py_ssize_t> (t0 + tt) * p + j] = 0.0
                    continue
                for tt in range(nt):
                    w_old[tt] = W[<Py_ssize_t> (t0 + tt) * p + j]
                    a[tt] = Lj * w_old[tt] + piece_dot(D, j, t0 + tt, r)
                row_prox(pen, a, nt, Lj, 1.0)
                for tt in range(nt):
                    w_new = <floating> a[tt]
                    delta = w_new - <floating> w_old[tt]
                    if delta != 0.0:
                        piece_update(D, j, t0 + tt, delta, r)
                        W[<Py_ssize_t> (t0 + tt) * p + j] = w_new
                        d_w_max = fmax(d_w_max, fabs(delta))
                    w_max = fmax(w_max, fabs(w_new))
            n_iter = it + 1
            if (w_max == 0.0 or d_w_max <= tol * w_max or n_iter == max_iter
                    or (gap_freq > 0 and n_iter % gap_freq == 0)):
                gap = tasks_gap(D, pen, W, r, y, t0, nt, XtA, buf, n_threads)
                if gap <= tol_abs:
                    break
                if screen:
                    screen_rows(D, pen, W, r, L, t0, nt, XtA, dn, buf, gap, active)
    gap_out[0] = gap
    free(a); free(w_old); free(buf); free(XtA); free(dn); free(active)
    return n_iter


def solve_tasks(const floating[::1, :] X,
                const floating[::1] X_data,
                const int[::1] X_indices,
                const int[::1] tptr,
                bint is_sparse, int n_rows, int n_features,
                const floating[::1] y,
                const int[::1] offsets,
                floating[:, ::1] coef,
                int kind, double lam1, double lam2, double tau, bint positive,
                int max_iter, double tol, int gap_freq, int n_threads, bint screen):
    """Run per-task block coordinate descent in place on coef (T, p).

    X : (N, p) Fortran-ordered dense effective design, or an empty array when
        is_sparse (CSC arrays X_data, X_indices (sorted per column), and tptr
        (p * (T+1)): the nonzeros of column j in task t are
        tptr[j*(T+1)+t] : tptr[j*(T+1)+t+1], see QuadraticPerTask.kernel_args).
    y : (N,) effective targets; offsets : (T+1,) task row offsets.
    Returns (n_iter per block, gap per block, residual y - A(W)); one block per
    task for separable penalties (PEN_L1), else a single block.
    """
    cdef TaskDesign D
    cdef Penalty pen
    cdef int T = <int> offsets.shape[0] - 1
    cdef int p = n_features, N = n_rows
    cdef int j, t, k, b, n_blocks
    cdef double s, w
    cdef bint separable = kind == PEN_L1
    dtype = np.float32 if floating is float else np.float64
    if coef.shape[0] != T or coef.shape[1] != p:
        raise ValueError("coef must have shape (n_tasks, n_features)")
    if is_sparse:
        set_design(&D, True, N, p, T, &offsets[0],
                   <const void*> &X_data[0] if X_data.shape[0] > 0 else NULL,
                   &X_indices[0] if X_indices.shape[0] > 0 else NULL, &tptr[0])
    else:
        set_design(&D, False, N, p, T, &offsets[0], <const void*> &X[0, 0], NULL, NULL)
    pen.kind = kind
    pen.lam1 = lam1
    pen.lam2 = lam2
    pen.tau = tau
    pen.positive = positive

    r_arr = np.array(y, dtype=dtype, copy=True)
    cdef floating[::1] r = r_arr
    L_arr = np.empty((p, T), dtype=np.float64)
    cdef double[:, ::1] L = L_arr
    n_blocks = T if separable else 1
    n_iter_arr = np.zeros(n_blocks, dtype=np.intc)
    cdef int[::1] n_iter = n_iter_arr
    gaps_arr = np.zeros(n_blocks, dtype=np.float64)
    cdef double[::1] gaps = gaps_arr

    with nogil:
        for j in prange(p, schedule='static', num_threads=n_threads):
            for t in range(T):
                L[j, t] = piece_norm2(&D, j, t, &r[0])
        # r = y - A(W)
        for j in range(p):
            for t in range(T):
                w = coef[t, j]
                if w != 0.0:
                    piece_update(&D, j, t, w, &r[0])
        if separable:
            for b in prange(T, schedule='static', num_threads=n_threads):
                n_iter[b] = tasks_block_solve(&D, &pen, &L[0, 0], &coef[0, 0], &r[0], &y[0],
                                              b, 1, max_iter, tol, gap_freq, 1, screen,
                                              &gaps[b])
        else:
            n_iter[0] = tasks_block_solve(&D, &pen, &L[0, 0], &coef[0, 0], &r[0], &y[0],
                                          0, T, max_iter, tol, gap_freq, n_threads, screen,
                                          &gaps[0])
    if (n_iter_arr < 0).any():
        raise MemoryError("mtlfast: could not allocate solver scratch memory")
    return n_iter_arr, gaps_arr, r_arr
