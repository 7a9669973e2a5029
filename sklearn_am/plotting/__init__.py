"""Display objects for fitted Action Matching estimators.

Follows scikit-learn's visualisation API (``sklearn.metrics.PredictionErrorDisplay``,
``sklearn.inspection.DecisionBoundaryDisplay``): ``__init__`` stores computed
arrays, ``plot`` draws them and sets ``ax_`` (``axes_`` for several panels) and
``figure_``, and the ``from_estimator`` class method computes then plots.
Matplotlib is optional (``pip install "sklearn-am[plot]"``): it is imported
inside ``plot`` only.

- :class:`TrajectoryDisplay`: trajectories of pushed points over the snapshots,
- :class:`VelocityFieldDisplay`: the learnt field at one time (stream or quiver),
- :class:`MarginalsDisplay`: observed snapshots beside the pushed first one, with W1,
- :class:`LossCurveDisplay`: the training loss per step, and validation checks.
"""

from ._loss import LossCurveDisplay
from ._marginals import MarginalsDisplay
from ._trajectory import TrajectoryDisplay
from ._velocity import VelocityFieldDisplay

__all__ = [
    "LossCurveDisplay",
    "MarginalsDisplay",
    "TrajectoryDisplay",
    "VelocityFieldDisplay",
]
