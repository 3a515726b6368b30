"""Penalties (layer 2 of the design): small objects holding hyper-parameters
and the math (value, prox, dual norm, KKT violation, alpha_max), each mapped
to the kernels' parameter structs.

    row.py          row penalties h(W_j) = lam1 N(W_j) + lam2/2 ||W_j||^2:
                    L1, L2, ElasticNet, L21, L21L2, SparseGroupL1L21
                    (kernels: mtlfast._prox, enum NormKind)
    structured.py   penalties on parts of W: TwoPart (dirty, mean-regularized),
                    TaskGraph, Transfer (kernels: mtlfast._models, enum ModelKind)

Adding a norm: see docs/architecture.md ("Adding a penalty").
"""
from .row import (L1, L2, L21, L21L2, ElasticNet, SparseGroupL1L21, NORM_L1, NORM_L21,
                  NORM_SGL, soft_threshold, block_soft_threshold, _check_alpha, _check_ratio,
                  _RowPenalty)
from .structured import (TwoPart, TaskGraph, Transfer, StructuredParams, check_similarity,
                         check_source, laplacian_max_eig, transfer_prox, MOD_TWO_PART,
                         MOD_GRAPH, MOD_TRANSFER)

__all__ = ["L1", "L2", "L21", "L21L2", "ElasticNet", "SparseGroupL1L21", "TwoPart",
           "TaskGraph", "Transfer", "StructuredParams", "check_similarity", "check_source",
           "laplacian_max_eig", "transfer_prox", "soft_threshold", "block_soft_threshold"]
