"""Deprecated location, kept for one release: the models are in
mtlfast.penalties.structured, their twin solver in mtlfast.reference."""
from .penalties.structured import *  # noqa: F401,F403
from .penalties.structured import (_matrix_row_step, _dual_scale, GRAPH_MAX_INNER,  # noqa: F401
                                   GRAPH_INNER_RTOL)
from .reference.cd_structured import bcd_structured, block_norms2  # noqa: F401
