# The structured kernel's numerics (mtlfast._cd_structured; the driver's hooks
# and the entry live there): the models' duality gaps, the epochs (dots, the
# model's row update from _models.pxd, residual updates) and the working
# sets' scores.
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport fabs, fmax, fmin, sqrt, INFINITY

from mtlfast._prox cimport (Penalty, NORM_L1, row_norm, row_dual_norm, pen_factor,
                            feature_dual_norm)
from mtlfast._taskdesign cimport TaskDesign, piece_dot, piece_update, piece_norm2, flush
from mtlfast._workset cimport ScoredFeature
from mtlfast._models cimport (Model, MOD_TWO_PART, MOD_GRAPH, MOD_TRANSFER, row_update,
                              _w, _lap_row, _lap_vec)


cdef double model_gap(const TaskDesign* D, const Model* M, const floating* PA,
                      const floating* PB, floating* r, const floating* y, int t0,
                      int nt, const int* ws, int n_f, double* V, double* buf, double* buf2,
                      int n_threads, double* L) noexcept nogil


cdef void _epoch(const TaskDesign* D, const Model* M, const double* L, floating* PA,
                 floating* PB, floating* r, int t0, int nt, const int* feats, int m,
                 double* g, double* delta, double* buf, bint par, int n_threads,
                 double* w_max, double* d_w_max) noexcept nogil


cdef int _score_features(const Model* M, const floating* PA, const floating* PB, int p,
                         int T, int t0, int nt, const double* V, const double* L,
                         ScoredFeature* sc, double* buf, double* buf2, int* nnz) noexcept nogil
