"""Two-dimensional populations moved by autonomous nonlinear gradient fields."""

import numpy as np

from ..utils._sklearn import validate_params
from ._base import (
    _COMMON_CONSTRAINTS,
    _STEPS_PER_UNIT_TIME,
    SnapshotTruth,
    _check_times,
    _rk4,
    fill_generator_docs,
    snapshots_of,
)

__all__ = ["BranchingTruth", "NonlinearTruth", "make_branching", "make_nonlinear"]


class _AutonomousFlow(SnapshotTruth):
    """A 2-D Gaussian cloud moved by a time-independent field ``_field(X)``.

    Subclasses write ``_field`` and ``_potential``; marginals come from
    fixed-step RK4 on fresh draws of the initial cloud.
    """

    _autonomous = True

    def __init__(self, times, initial_mean, initial_std, steps_per_unit_time):
        super().__init__(times, 2)
        self.initial_mean = np.asarray(initial_mean, dtype=np.float64).reshape(2)
        self.initial_std = float(initial_std)
        self.steps_per_unit_time = int(steps_per_unit_time)

    def _velocity(self, X, t):
        return self._field(X)

    def _sample_initial(self, n, rng):
        return self.initial_mean + self.initial_std * rng.standard_normal((n, 2))

    def _flow(self, X, t, t_start):
        return _rk4(self._field, X, t_start, t, self.steps_per_unit_time)


@fill_generator_docs
class NonlinearTruth(_AutonomousFlow):
    """Ground truth of :func:`make_nonlinear`.

    Particles start from ``N(initial_mean, initial_std**2 I)`` at
    ``times[0]`` and follow the autonomous gradient field ``v = grad phi`` of

    ``phi(x) = x1 + (strength / 2) * log(1 + x2**2) * cos(x1)``,

    ``v(x) = (1 - (strength / 2) * log(1 + x2**2) * sin(x1),
    strength * x2 * cos(x1) / (1 + x2**2))``.

    The cloud drifts to the right, is squeezed in ``x2`` while ``cos(x1) < 0``
    and then opens into a crescent; ``|v2| <= strength / 2`` keeps it
    bounded. Marginals are computed by integrating the ODE with fixed-step
    RK4 (``steps_per_unit_time`` steps per unit of time).

    Parameters
    ----------
    times : array-like of shape (n_times,)
        Strictly increasing observation times.
    strength : float, default=2.0
        Strength of the nonlinear part of the potential.
    initial_mean : array-like of shape (2,), default=(-2.0, 0.0)
        Mean of the initial cloud.
    initial_std : float, default=0.3
        Standard deviation of the (isotropic) initial cloud.
    {{flow_tail}}

    Examples
    --------
    >>> from sklearn_am.datasets import NonlinearTruth
    >>> truth = NonlinearTruth(times=[0.0, 3.0])
    >>> truth.velocity([[0.0, 0.0]], 1.0)
    array([[1., 0.]])
    >>> truth.sample(5, 1.5, random_state=0).shape
    (5, 2)
    """

    def __init__(
        self,
        times,
        *,
        strength=2.0,
        initial_mean=(-2.0, 0.0),
        initial_std=0.3,
        steps_per_unit_time=_STEPS_PER_UNIT_TIME,
    ):
        super().__init__(times, initial_mean, initial_std, steps_per_unit_time)
        self.strength = float(strength)

    def _field(self, X):
        x1, x2 = X[:, 0], X[:, 1]
        b = self.strength
        v1 = 1.0 - 0.5 * b * np.log1p(x2**2) * np.sin(x1)
        v2 = b * x2 * np.cos(x1) / (1.0 + x2**2)
        return np.stack([v1, v2], axis=1)

    def _potential(self, X, t):
        x1, x2 = X[:, 0], X[:, 1]
        return x1 + 0.5 * self.strength * np.log1p(x2**2) * np.cos(x1)


@fill_generator_docs
class BranchingTruth(_AutonomousFlow):
    """Ground truth of :func:`make_branching`.

    Particles start from ``N(0, initial_std**2 I)`` at ``times[0]`` and follow
    the autonomous gradient field ``v = grad phi`` of the double-well
    potential

    ``phi(x) = drift * x1 + rate * (x2**2 / 2 - x2**4 / 4)``,

    ``v(x) = (drift, rate * x2 * (1 - x2**2))``:

    a constant drift along ``x1`` while ``x2 = 0`` is unstable and the
    particles split towards the two stable branches ``x2 = +1`` and
    ``x2 = -1``. Marginals are computed by integrating the ODE with
    fixed-step RK4 (``steps_per_unit_time`` steps per unit of time).

    Parameters
    ----------
    times : array-like of shape (n_times,)
        Strictly increasing observation times.
    drift : float, default=1.0
        Constant speed along ``x1``.
    rate : float, default=1.25
        Rate of the pitchfork in ``x2``; the branches separate after a time
        of order ``1 / rate`` and then tighten.
    initial_std : float, default=0.2
        Standard deviation of the (isotropic, centred) initial cloud.
    {{flow_tail}}

    Examples
    --------
    >>> from sklearn_am.datasets import BranchingTruth
    >>> truth = BranchingTruth(times=[0.0, 4.0])
    >>> truth.velocity([[0.0, 0.5]], 2.0)
    array([[1.     , 0.46875]])
    """

    def __init__(
        self,
        times,
        *,
        drift=1.0,
        rate=1.25,
        initial_std=0.2,
        steps_per_unit_time=_STEPS_PER_UNIT_TIME,
    ):
        super().__init__(times, (0.0, 0.0), initial_std, steps_per_unit_time)
        self.drift = float(drift)
        self.rate = float(rate)

    def _field(self, X):
        x2 = X[:, 1]
        v1 = np.full(X.shape[0], self.drift)
        v2 = self.rate * x2 * (1.0 - x2**2)
        return np.stack([v1, v2], axis=1)

    def _potential(self, X, t):
        x1, x2 = X[:, 0], X[:, 1]
        return self.drift * x1 + self.rate * (0.5 * x2**2 - 0.25 * x2**4)


@validate_params(_COMMON_CONSTRAINTS, prefer_skip_nested_validation=True)
@fill_generator_docs
def make_nonlinear(
    n_samples=1000,
    *,
    times=(0.0, 1.0, 2.0, 3.0),
    random_state=None,
    shuffle=True,
    return_truth=False,
):
    """Snapshots of a 2-D cloud bent into a crescent by a nonlinear gradient field.

    Particles start from ``N([-2, 0], 0.3**2 I)`` at ``times[0]`` and follow
    ``v = grad phi`` with ``phi(x) = x1 + log(1 + x2**2) cos(x1)``: they
    drift to the right, are squeezed in ``x2`` while ``cos(x1) < 0`` and then
    fan out into a crescent (see :class:`NonlinearTruth`). Over the default
    times the cloud stays within ``|x| < 5`` and is clearly non-Gaussian.
    Each snapshot integrates fresh initial draws with fixed-step RK4 (200
    steps per unit of time).

    Parameters
    ----------
    {{n_samples}}
    times : array-like of float, default=(0.0, 1.0, 2.0, 3.0)
        Strictly increasing observation times (at least 2, any spacing). The
        initial cloud sits at ``times[0]``.
    {{random_state}}
    {{shuffle}}
    {{return_truth::class:`NonlinearTruth`}}

    Returns
    -------
    {{returns:NonlinearTruth}}

    Examples
    --------
    >>> from sklearn_am.datasets import make_nonlinear
    >>> X, t = make_nonlinear(n_samples=[50, 60, 70, 80], random_state=0, shuffle=False)
    >>> X.shape
    (260, 2)
    >>> t[:2], t[-2:]
    (array([0., 0.]), array([3., 3.]))
    """
    truth = NonlinearTruth(_check_times(times))
    return snapshots_of(truth, n_samples, random_state, shuffle, return_truth)


@validate_params(_COMMON_CONSTRAINTS, prefer_skip_nested_validation=True)
@fill_generator_docs
def make_branching(
    n_samples=1000,
    *,
    times=(0.0, 1.0, 2.0, 3.0, 4.0),
    random_state=None,
    shuffle=True,
    return_truth=False,
):
    """Snapshots of a 2-D cloud that splits into two branches.

    A toy model of cell differentiation: particles start from
    ``N(0, 0.2**2 I)`` at ``times[0]`` and follow ``v = grad phi`` with the
    double-well potential ``phi(x) = x1 + 1.25 (x2**2 / 2 - x2**4 / 4)``,
    i.e. ``v(x) = (1, 1.25 x2 (1 - x2**2))`` (see :class:`BranchingTruth`).
    The cloud drifts along ``x1`` while ``x2 = 0`` is unstable: by the
    default last time it has split into two clearly separated branches near
    ``x2 = +1`` and ``x2 = -1``, with a few stragglers in between. Each
    snapshot integrates fresh initial draws with fixed-step RK4 (200 steps
    per unit of time).

    Parameters
    ----------
    {{n_samples}}
    times : array-like of float, default=(0.0, 1.0, 2.0, 3.0, 4.0)
        Strictly increasing observation times (at least 2, any spacing). The
        initial cloud sits at ``times[0]``.
    {{random_state}}
    {{shuffle}}
    {{return_truth::class:`BranchingTruth`}}

    Returns
    -------
    {{returns:BranchingTruth}}

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am.datasets import make_branching
    >>> X, t = make_branching(n_samples=200, random_state=0)
    >>> last = X[t == 4.0]
    >>> bool(np.mean(np.abs(last[:, 1]) > 0.5) > 0.9)
    True
    """
    truth = BranchingTruth(_check_times(times))
    return snapshots_of(truth, n_samples, random_state, shuffle, return_truth)
