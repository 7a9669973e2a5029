"""The compared methods, behind one interface (:class:`Method`).

- :mod:`.ours`: the estimators of ``sklearn_am`` (:class:`AMMethod`), their grid;
- :mod:`.peers`: OT-CFM / I-CFM (TorchCFM's recipe), POT McCann, do-nothing.
"""

from .base import ALL_PROTOCOLS, Method
from .ours import (
    AM_GRID_FULL,
    AM_GRID_QUICK,
    DEFAULTS_LABEL,
    ESTIMATORS,
    AMMethod,
    am_methods,
    grid_methods,
)
from .peers import CFMMethod, DoNothing, McCannMethod, equal_time_methods, peer_methods

__all__ = [
    "ALL_PROTOCOLS", "AM_GRID_FULL", "AM_GRID_QUICK", "DEFAULTS_LABEL", "ESTIMATORS",
    "AMMethod", "CFMMethod", "DoNothing", "McCannMethod", "Method", "am_methods",
    "equal_time_methods", "grid_methods", "peer_methods",
]
