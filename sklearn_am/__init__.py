"""sklearn-am: Action Matching estimators for learning dynamics from snapshots.

Estimators, displays and warnings are imported from here; the other public
modules are ``sklearn_am.datasets``, ``sklearn_am.metrics``,
``sklearn_am.model_selection``, ``sklearn_am.networks`` and ``sklearn_am.plotting``. Modules whose names start
with an underscore are private.
"""

from ._am import ActionMatchingRegressor
from ._density import ActionMatchingDensity
from ._eam import EntropicActionMatching
from ._estimator.persistence import InconsistentVersionWarning
from ._impute import ActionMatchingImputer
from ._uam import UnbalancedActionMatching
from .plotting import LossCurveDisplay, MarginalsDisplay, TrajectoryDisplay, VelocityFieldDisplay

from ._version import __version__

__all__ = [
    "ActionMatchingDensity",
    "ActionMatchingImputer",
    "ActionMatchingRegressor",
    "EntropicActionMatching",
    "UnbalancedActionMatching",
    "InconsistentVersionWarning",
    "TrajectoryDisplay", "VelocityFieldDisplay", "MarginalsDisplay", "LossCurveDisplay",
    "__version__",
]
