"""sklearn-am: Action Matching estimators for learning dynamics from snapshots.

Users import from here only; the modules behind it are private or one-job
helpers (``networks``, ``losses``, ``paths``, ``couplings``, ``solvers``,
``metrics``, ``datasets``, ``plotting``).
"""

from ._am import ActionMatchingRegressor
from ._eam import EntropicActionMatching
from ._uam import UnbalancedActionMatching
from .plotting import TrajectoryDisplay

__version__ = "0.1.0"

__all__ = [
    "ActionMatchingRegressor",
    "EntropicActionMatching",
    "UnbalancedActionMatching",
    "TrajectoryDisplay",
    "__version__",
]
