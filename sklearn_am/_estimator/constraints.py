"""Parameter constraints shared by every estimator that trains a potential network.

The snapshot estimators (``_base``) and the generative wing (``_density``) both take
them from here, so neither imports the other for them.
"""

from numbers import Integral, Real

from .._numerics.solvers import ODE_SOLVERS
from ..networks import ACTIVATIONS
from ..utils._sklearn import Interval, StrOptions

__all__ = ["MAX_N_STEPS", "TRAINING_CONSTRAINTS"]

#: Upper bound of ``n_steps``: with the extrapolation limit, a push never takes
#: more than 3 × this many fixed steps.
MAX_N_STEPS = 100_000

#: The constraints of the training and inference parameters every estimator with a
#: potential network shares (the snapshot estimators and ``ActionMatchingDensity``).
TRAINING_CONSTRAINTS = {
    "potential": [None, callable],
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "solver": [StrOptions(set(ODE_SOLVERS))],
    "n_steps": [Interval(Integral, 1, MAX_N_STEPS, closed="both")],
    "solver_tol": [Interval(Real, 0, None, closed="neither")],
    "device": [str],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
}
