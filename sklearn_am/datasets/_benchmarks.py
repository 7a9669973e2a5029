"""Time courses that stress an estimator: slow diffusion and dense sampling in time."""

from numbers import Integral, Real

import numpy as np

from ..utils._sklearn import Interval, validate_params
from ._base import (
    _COMMON_CONSTRAINTS,
    SnapshotTruth,
    _check_times,
    fill_generator_docs,
    snapshots_of,
)

__all__ = ["DiffusingGaussianTruth", "OrbitTruth", "make_diffusing_gaussian", "make_orbit"]


@fill_generator_docs
class DiffusingGaussianTruth(SnapshotTruth):
    """Ground truth of :func:`make_diffusing_gaussian`: q_t = N(0, (1 + t) I).

    The marginals spread slowly. Among deterministic gradient flows that carry
    them, dx/dt = x / (2(1 + t)) (the potential ‖x‖²/(4(1 + t))); with noise
    dX = b dt + σ dW of level ``sigma``, the gradient drift is
    b(x, t) = (1 − σ²)·x / (2(1 + t)). ``velocity`` returns that drift.

    Parameters
    ----------
    times : array-like of shape (n_times,)
        Strictly increasing observation times, all > −1.
    n_features : int
        Dimension of the space.
    sigma : float, default=0.0
        Noise level σ of the dynamics the drift is for (0: the deterministic flow).

    Examples
    --------
    >>> from sklearn_am.datasets import DiffusingGaussianTruth
    >>> truth = DiffusingGaussianTruth(times=[0.0, 1.0], n_features=2)
    >>> truth.velocity([[2.0, 0.0]], 1.0)
    array([[0.5, 0. ]])
    """

    def __init__(self, times, n_features, sigma=0.0):
        super().__init__(times, n_features)
        if self.times[0] <= -1:
            raise ValueError(f"times must all be > -1; got {self.times[0]}.")
        self.sigma = float(sigma)

    def _sample_initial(self, n, rng):
        return rng.standard_normal((n, self.n_features)) * np.sqrt(1.0 + self.times[0])

    def _flow(self, X, t, t_start):
        return X * np.sqrt((1.0 + t) / (1.0 + t_start))

    def _velocity(self, X, t):
        return (1.0 - self.sigma**2) * X / (2.0 * (1.0 + t[:, None]))

    def _potential(self, X, t):
        return (1.0 - self.sigma**2) * np.sum(X**2, axis=1) / (4.0 * (1.0 + t))


@validate_params(
    {**_COMMON_CONSTRAINTS, "n_features": [Interval(Integral, 1, None, closed="left")],
     "sigma": [Interval(Real, 0, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
@fill_generator_docs
def make_diffusing_gaussian(
    n_samples=1200,
    *,
    n_features=2,
    times=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    sigma=0.0,
    random_state=None,
    shuffle=True,
    return_truth=False,
):
    """Snapshots of a Gaussian that spreads slowly: q_t = N(0, (1 + t) I).

    Consecutive snapshots differ little (the standard deviation grows by under
    10 % between the default times), so the displacement of an optimal
    transport pair is of the size of the spacing between samples: the case
    where a finite coupling's pairing noise dominates the learnt field
    (``benchmarks/results/ablation.md``: fitted to those pairs by path
    regression, the worst relative velocity error is 2.07 ± 2.60 over 3 seeds,
    against 0.058 ± 0.039 with the defaults). The true field is known in closed form (see
    :class:`DiffusingGaussianTruth`).

    Parameters
    ----------
    {{n_samples}}
    n_features : int, default=2
        Dimension of the space.
    times : array-like of float, default=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
        Strictly increasing observation times, all > −1.
    sigma : float, default=0.0
        Noise level the truth's drift is for (the snapshots do not depend on it).
    {{random_state}}
    {{shuffle}}
    {{return_truth::class:`DiffusingGaussianTruth`}}

    Returns
    -------
    {{returns:DiffusingGaussianTruth}}

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am.datasets import make_diffusing_gaussian
    >>> X, t = make_diffusing_gaussian(n_samples=2000, random_state=0)
    >>> bool(abs(X[t == 1.0].var() - 2.0) < 0.15)
    True
    """
    truth = DiffusingGaussianTruth(_check_times(times), int(n_features), sigma=sigma)
    return snapshots_of(truth, n_samples, random_state, shuffle, return_truth)


@fill_generator_docs
class OrbitTruth(SnapshotTruth):
    """Ground truth of :func:`make_orbit`: three blobs carried together along a circle.

    The mixture of three Gaussian blobs (offsets ``(0, 0)``, ``(0.8, 0.3)``,
    ``(−0.5, 0.7)``, standard deviation ``blob_std``) translates without turning:
    its centre c(t) = r·(cos ωt, sin ωt) with ω = ``revolutions``·2π/(t_K − t_0)
    per unit time, so the velocity field is uniform in space, v(x, t) = c′(t),
    the gradient of ⟨c′(t), x⟩: a nonlinear path in time, exactly representable.

    Parameters
    ----------
    times : array-like of shape (n_times,)
        Strictly increasing observation times.
    radius : float, default=2.0
        Radius r of the orbit.
    revolutions : float, default=0.5
        Turns made over the time range.
    blob_std : float, default=0.3
        Standard deviation of each blob.
    """

    _OFFSETS = np.array([[0.0, 0.0], [0.8, 0.3], [-0.5, 0.7]])

    def __init__(self, times, radius=2.0, revolutions=0.5, blob_std=0.3):
        super().__init__(times, 2)
        self.radius = float(radius)
        self.omega = 2 * np.pi * float(revolutions) / (self.times[-1] - self.times[0])
        self.blob_std = float(blob_std)

    def _angle(self, t):
        return self.omega * (np.asarray(t, dtype=np.float64) - self.times[0])

    def _center(self, t):
        a = self._angle(t)
        return self.radius * np.stack([np.cos(a), np.sin(a)], axis=-1)

    def _sample_initial(self, n, rng):
        blob = rng.randint(len(self._OFFSETS), size=n)
        return self._center(self.times[0]) + self._OFFSETS[blob] + \
            self.blob_std * rng.standard_normal((n, 2))

    def _flow(self, X, t, t_start):
        return X + self._center(t) - self._center(t_start)

    def _velocity(self, X, t):
        a = self._angle(t)
        return self.radius * self.omega * np.stack([-np.sin(a), np.cos(a)], axis=-1)

    def _potential(self, X, t):
        return np.sum(self._velocity(X, t) * X, axis=1)


@validate_params(
    {**_COMMON_CONSTRAINTS, "radius": [Interval(Real, 0, None, closed="neither")],
     "revolutions": [Interval(Real, None, None, closed="neither")]},
    prefer_skip_nested_validation=True,
)
@fill_generator_docs
def make_orbit(
    n_samples=2000,
    *,
    times=tuple(i / 50 for i in range(51)),
    radius=2.0,
    revolutions=0.5,
    random_state=None,
    shuffle=True,
    return_truth=False,
):
    """Dense snapshots of three blobs carried along a circle (a nonlinear dense case).

    Many snapshots (51 by default) close in time, the regime of time-lapse data,
    with a path that curves: straight interpolation between snapshots is nearly
    right, and the true field is known (see :class:`OrbitTruth`).

    Parameters
    ----------
    {{n_samples}}
    times : array-like of float, default=51 evenly spaced times in [0, 1]
        Strictly increasing observation times.
    radius : float, default=2.0
        Radius of the orbit.
    revolutions : float, default=0.5
        Turns made over the time range.
    {{random_state}}
    {{shuffle}}
    {{return_truth::class:`OrbitTruth`}}

    Returns
    -------
    {{returns:OrbitTruth}}

    Examples
    --------
    >>> from sklearn_am.datasets import make_orbit
    >>> X, t, truth = make_orbit(n_samples=100, random_state=0, return_truth=True)
    >>> X.shape, len(truth.times)
    ((5100, 2), 51)
    """
    truth = OrbitTruth(_check_times(times), radius=radius, revolutions=revolutions)
    return snapshots_of(truth, n_samples, random_state, shuffle, return_truth)
