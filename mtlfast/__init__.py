"""mtlfast: fast regularized multi-task learning with linear models."""
__version__ = "0.1.0"
