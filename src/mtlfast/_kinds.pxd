# The enums and constants shared by the kernels and Python, defined once:
# the kernels cimport them from here, Python imports them from the compiled
# module mtlfast._kinds (cpdef enums are Python IntFlag classes there).

# The norm N of a row penalty h(w) = lam1 N(w) + lam2/2 ||w||^2 (mtlfast._prox):
# ridge is NORM_L1 with lam1 = 0. NORM_L1 is the separable one (tasks apart).
cpdef enum NormKind:
    NORM_L1 = 0       # ||w||_1
    NORM_L21 = 1      # ||w||_2
    NORM_SGL = 2      # tau ||w||_1 + (1 - tau) ||w||_2

# The structured models (mtlfast._models, mtlfast.penalties.structured).
cpdef enum ModelKind:
    MOD_TWO_PART = 0  # W = PA + PB (dirty, mean-regularized)
    MOD_GRAPH = 1     # task-graph Laplacian + row penalty
    MOD_TRANSFER = 2  # alpha (beta |W| + (1 - beta) |W - W_src|)

# Outer loops of the driver (mtlfast._driver).
cpdef enum Strategy:
    STRATEGY_CD = 0   # plain epochs over all (unscreened) features
    STRATEGY_WS = 1   # working sets

# Constants that a kernel and its NumPy twin must share.
cdef extern from *:
    """
    #define MTLFAST_GRAPH_MAX_INNER 200
    #define MTLFAST_GRAPH_INNER_RTOL 1e-3
    #define MTLFAST_TWO_PART_SWEEPS 50
    #define MTLFAST_TWO_PART_RTOL 1e-10
    #define MTLFAST_ARMIJO 1e-4
    #define MTLFAST_MAX_HALVINGS 50
    #define MTLFAST_UNDECIDABLE (16 * 2.220446049250313e-16)
    #define MTLFAST_UNPENALIZED_DUAL 1e-3
    #define MTLFAST_INNER_FRACTION 0.1
    #define MTLFAST_H_FLOOR 1e-12
    """
    # task-graph model with a coupled row penalty: most inner accelerated
    # proximal gradient steps per row update, and their early stop (a step
    # moving the row by at most this x its total move)
    const int GRAPH_MAX_INNER "MTLFAST_GRAPH_MAX_INNER"
    const double GRAPH_INNER_RTOL "MTLFAST_GRAPH_INNER_RTOL"
    # two-part models: most alternating sweeps over a row's two parts (its
    # exact block minimization), stopped once a sweep lowers the row's
    # objective by at most this x its value
    const int TWO_PART_SWEEPS "MTLFAST_TWO_PART_SWEEPS"
    const double TWO_PART_RTOL "MTLFAST_TWO_PART_RTOL"
    # proximal Newton's Armijo backtracking: sufficient decrease, most
    # halvings, and the relative size below which the test is undecidable
    const double ARMIJO "MTLFAST_ARMIJO"
    const int MAX_HALVINGS "MTLFAST_MAX_HALVINGS"
    const double UNDECIDABLE "MTLFAST_UNDECIDABLE"
    # penalty factors: an unpenalized feature's dual constraint A_j^T theta = 0
    # enters the dual scaling as N^D(A_j^T theta) <= lam1 x this (the
    # solvers' stopping tests then wait until it nearly holds; the final
    # certificate is taken after the exact refit, where it holds to rounding)
    const double UNPENALIZED_DUAL "MTLFAST_UNPENALIZED_DUAL"
    # proximal Newton: each step's inner solve ends when the quadratic model's
    # duality gap is at most this share of the outer gap; curvatures below
    # H_FLOOR c_i (|z_i| above ~28) are raised to it where they divide
    const double INNER_FRACTION "MTLFAST_INNER_FRACTION"
    const double H_FLOOR "MTLFAST_H_FLOOR"
