"""The kernels' enums and shared constants, for Python (defined once in
_kinds.pxd): NormKind, ModelKind, Strategy, and CONSTANTS for the twins."""

CONSTANTS = {
    "GRAPH_MAX_INNER": GRAPH_MAX_INNER,
    "GRAPH_INNER_RTOL": GRAPH_INNER_RTOL,
    "TWO_PART_SWEEPS": TWO_PART_SWEEPS,
    "TWO_PART_RTOL": TWO_PART_RTOL,
    "ARMIJO": ARMIJO,
    "MAX_HALVINGS": MAX_HALVINGS,
    "UNDECIDABLE": UNDECIDABLE,
    "UNPENALIZED_DUAL": UNPENALIZED_DUAL,
    "INNER_FRACTION": INNER_FRACTION,
    "H_FLOOR": H_FLOOR,
}
