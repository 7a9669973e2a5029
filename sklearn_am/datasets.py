"""Synthetic time courses of population snapshots with known dynamics.

Each ``make_*`` function draws independent snapshots of a population whose
particles move under a known velocity field, and returns them the way real
time-course data comes: a matrix ``X`` of shape (n_samples, n_features) and
the observation time ``t`` of every row. No particle is followed from one
snapshot to the next: every snapshot is a fresh sample of the marginal at its
time.

With ``return_truth=True`` the functions also return a *truth* object that
knows the ground truth: the velocity field ``velocity(X, t)``, its potential
``potential(X, t)`` (the fields are gradients, as Action Matching assumes),
the particle flow ``flow(X, t, t_start=...)`` and fresh draws
``sample(n_samples, t)`` of the true marginal at any time in
``[times[0], times[-1]]``.

- :func:`make_gaussian_transport`: McCann's displacement interpolation between
  two random Gaussians (closed-form marginals, any dimension),
- :func:`make_nonlinear`: a 2-D cloud bent into a crescent by a nonlinear
  gradient field,
- :func:`make_branching`: a 2-D cloud that splits into two branches ("cell
  differentiation").
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from .utils._sklearn import Interval, validate_params

__all__ = [
    "BranchingTruth",
    "GaussianTransportTruth",
    "NonlinearTruth",
    "make_branching",
    "make_gaussian_transport",
    "make_nonlinear",
]

#: Fixed RK4 steps per unit of time used to integrate the ODE datasets.
_STEPS_PER_UNIT_TIME = 200


# --------------------------------------------------------------------------- #
# Argument checks
# --------------------------------------------------------------------------- #


def _check_times(times):
    """Return ``times`` as a float64 array of >= 2 finite, strictly increasing values."""
    arr = np.asarray(times)
    if arr.ndim != 1:
        raise ValueError(
            f"times must be a 1-D sequence of floats; got an array of shape {arr.shape}."
        )
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"times must contain real numbers; got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if arr.shape[0] < 2:
        raise ValueError(f"times must contain at least 2 values; got {arr.shape[0]}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError("times must contain finite values.")
    if np.any(np.diff(arr) <= 0):
        raise ValueError(f"times must be strictly increasing; got {arr.tolist()}.")
    return arr


def _check_n_samples(n_samples, n_times):
    """Return the number of rows of every snapshot as an int array of length ``n_times``."""
    if isinstance(n_samples, Integral) and not isinstance(n_samples, bool):
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1; got {n_samples}.")
        return np.full(n_times, int(n_samples), dtype=np.intp)
    arr = np.asarray(n_samples)
    if arr.ndim != 1:
        raise ValueError(
            "n_samples must be an int or a 1-D sequence of ints; "
            f"got an array of shape {arr.shape}."
        )
    if arr.shape[0] != n_times:
        raise ValueError(
            f"n_samples must have one entry per time: got {arr.shape[0]} entries "
            f"for {n_times} times."
        )
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.intp)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"n_samples must contain integers; got {arr.tolist()}.")
    if np.any(arr < 1):
        raise ValueError(f"n_samples must contain values >= 1; got {arr.tolist()}.")
    return arr.astype(np.intp)


def _assemble(truth, n_per_time, rng, shuffle):
    """Draw one independent snapshot per time, concatenate, optionally shuffle."""
    blocks = [truth.sample(int(n), t, random_state=rng) for n, t in zip(n_per_time, truth.times)]
    X = np.concatenate(blocks, axis=0)
    t = np.repeat(truth.times, n_per_time)
    if shuffle:
        perm = rng.permutation(X.shape[0])
        X, t = X[perm], t[perm]
    return np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(t, dtype=np.float64)


def _rk4(field, X, t_start, t_end, steps_per_unit_time):
    """Integrate the autonomous ODE ``dx/dt = field(x)`` with fixed-step RK4."""
    span = t_end - t_start
    if span == 0:
        return X.copy()
    n_steps = max(1, int(np.ceil(abs(span) * steps_per_unit_time)))
    h = span / n_steps
    for _ in range(n_steps):
        k1 = field(X)
        k2 = field(X + (0.5 * h) * k1)
        k3 = field(X + (0.5 * h) * k2)
        k4 = field(X + h * k3)
        X = X + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return X


# --------------------------------------------------------------------------- #
# Ground truth
# --------------------------------------------------------------------------- #


class _Truth:
    """Common interface of the ground-truth objects returned by the ``make_*`` functions.

    Subclasses implement ``_sample_initial(n, rng)`` (draws of the marginal at
    ``times[0]``), ``_flow(X, t, t_start)``, ``_velocity(X, t)`` and
    ``_potential(X, t)``, the last two with ``t`` one time per row.
    """

    #: Whether ``velocity`` and ``potential`` accept times outside ``[times[0], times[-1]]``.
    _autonomous = False

    def __init__(self, times, n_features):
        self.times = _check_times(times)
        self.n_features = int(n_features)

    # -- checks -------------------------------------------------------------- #

    def _check_X(self, X, name="X"):
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"{name} must be a 2-D array with {self.n_features} columns; got shape {X.shape}."
            )
        if X.dtype.kind not in "biuf":
            raise ValueError(f"{name} must contain real numbers; got dtype {X.dtype}.")
        X = X.astype(np.float64)
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{name} contains NaN or infinite values.")
        return X

    def _check_in_range(self, t, name):
        t0, t1 = self.times[0], self.times[-1]
        if np.any(t < t0) or np.any(t > t1):
            raise ValueError(f"{name} must lie in [times[0], times[-1]] = [{t0}, {t1}]; got {t}.")

    def _check_scalar_t(self, t, name="t"):
        if not isinstance(t, Real) and not (np.ndim(t) == 0 and np.asarray(t).dtype.kind in "biuf"):
            raise ValueError(f"{name} must be a real number; got {t!r}.")
        t = float(t)
        if not np.isfinite(t):
            raise ValueError(f"{name} must be finite; got {t}.")
        self._check_in_range(t, name)
        return t

    def _check_row_times(self, t, n):
        """Return ``t`` (a scalar or one time per row) as a float64 array of shape (n,)."""
        arr = np.asarray(t)
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"t must contain real numbers; got dtype {arr.dtype}.")
        arr = arr.astype(np.float64)
        if arr.ndim == 0:
            arr = np.full(n, float(arr))
        elif arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1 or arr.shape[0] != n:
            raise ValueError(
                f"t must be a scalar or hold one time per row of X ({n}); got shape {np.shape(t)}."
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError("t contains NaN or infinite values.")
        if not self._autonomous:
            self._check_in_range(arr, "t")
        return arr

    # -- public interface ---------------------------------------------------- #

    def velocity(self, X, t):
        """True velocity field at points ``X`` and time(s) ``t``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Positions.
        t : float or array-like of shape (n_samples,)
            One time for all rows, or one time per row.

        Returns
        -------
        V : ndarray of shape (n_samples, n_features)
            The velocity ``v(x, t)`` at every row.
        """
        X = self._check_X(X)
        return self._velocity(X, self._check_row_times(t, X.shape[0]))

    def potential(self, X, t):
        """Potential ``phi(x, t)`` whose gradient in ``x`` is the velocity.

        It is defined up to a function of time only.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Positions.
        t : float or array-like of shape (n_samples,)
            One time for all rows, or one time per row.

        Returns
        -------
        phi : ndarray of shape (n_samples,)
            The potential at every row.
        """
        X = self._check_X(X)
        return self._potential(X, self._check_row_times(t, X.shape[0]))

    def flow(self, X, t, *, t_start=None):
        """Transport particles along the true dynamics.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Positions of the particles at time ``t_start``.
        t : float
            Time to move them to, in ``[times[0], times[-1]]`` (it may be
            before ``t_start``).
        t_start : float, default=None
            Time at which the particles are at ``X``; None means ``times[0]``.

        Returns
        -------
        X_t : ndarray of shape (n_samples, n_features)
            Positions at time ``t``.
        """
        X = self._check_X(X)
        t = self._check_scalar_t(t, "t")
        t_start = self.times[0] if t_start is None else self._check_scalar_t(t_start, "t_start")
        return self._flow(X, t, t_start)

    def sample(self, n_samples, t, random_state=None):
        """Fresh draws from the true marginal at time ``t``.

        Parameters
        ----------
        n_samples : int
            Number of points, at least 1.
        t : float
            Time in ``[times[0], times[-1]]``.
        random_state : int, RandomState instance or None, default=None
            Seed or generator of the draws.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Independent draws of the marginal at time ``t``.
        """
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"n_samples must be an int >= 1; got {n_samples!r}.")
        t = self._check_scalar_t(t, "t")
        rng = check_random_state(random_state)
        X0 = self._sample_initial(int(n_samples), rng)
        return self._flow(X0, t, self.times[0])

    def __repr__(self):
        times = ", ".join(f"{v:g}" for v in self.times)
        return f"{type(self).__name__}(n_features={self.n_features}, times=[{times}])"


class GaussianTransportTruth(_Truth):
    """Ground truth of :func:`make_gaussian_transport`.

    The marginal at time ``t`` is McCann's displacement interpolation between
    ``N(m0, S0)`` at ``times[0]`` and ``N(m1, S1)`` at ``times[-1]``. With
    ``lam = (t - times[0]) / (times[-1] - times[0])``, ``A`` the
    (symmetric positive definite) matrix of the optimal transport map
    ``x -> m1 + A (x - m0)``, ``M_lam = (1 - lam) I + lam A`` and
    ``m_lam = m0 + lam (m1 - m0)``, a particle starting at ``x0`` is at
    ``m_lam + M_lam (x0 - m0)`` at time ``t``, the marginal is
    ``N(m_lam, M_lam S0 M_lam)`` and the velocity field is

    ``v(x, t) = [(m1 - m0) + (A - I) M_lam^{-1} (x - m_lam)] / (times[-1] - times[0])``,

    the gradient of
    ``phi(x, t) = [(m1 - m0) . (x - m_lam) + (x - m_lam)' (A - I) M_lam^{-1} (x - m_lam) / 2]
    / (times[-1] - times[0])``.

    Parameters
    ----------
    mean_start : array-like of shape (n_features,)
        Mean ``m0`` at ``times[0]``.
    cov_start : array-like of shape (n_features, n_features)
        Symmetric positive definite covariance ``S0`` at ``times[0]``.
    mean_end : array-like of shape (n_features,)
        Mean ``m1`` at ``times[-1]``.
    cov_end : array-like of shape (n_features, n_features)
        Symmetric positive definite covariance ``S1`` at ``times[-1]``.
    times : array-like of shape (n_times,)
        Strictly increasing observation times.

    Attributes
    ----------
    times : ndarray of shape (n_times,)
        Observation times.
    n_features : int
        Dimension of the space.
    mean_start, mean_end : ndarray of shape (n_features,)
        Means at the first and last time.
    cov_start, cov_end : ndarray of shape (n_features, n_features)
        Covariances at the first and last time.
    transport_map : ndarray of shape (n_features, n_features)
        The symmetric positive definite matrix
        ``A = S0^{-1/2} (S0^{1/2} S1 S0^{1/2})^{1/2} S0^{-1/2}``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am.datasets import GaussianTransportTruth
    >>> truth = GaussianTransportTruth(
    ...     [0.0, 0.0], np.eye(2), [2.0, 0.0], 4 * np.eye(2), times=[0.0, 1.0])
    >>> truth.mean(0.5)
    array([1., 0.])
    >>> truth.covariance(0.5)
    array([[2.25, 0.  ],
           [0.  , 2.25]])
    >>> truth.velocity([[1.0, 1.5]], 0.5)
    array([[2., 1.]])
    """

    def __init__(self, mean_start, cov_start, mean_end, cov_end, times):
        m0 = np.asarray(mean_start, dtype=np.float64)
        if m0.ndim != 1 or m0.shape[0] < 1:
            raise ValueError(f"mean_start must be a non-empty 1-D array; got shape {m0.shape}.")
        d = m0.shape[0]
        super().__init__(times, d)
        m1 = np.asarray(mean_end, dtype=np.float64)
        if m1.shape != (d,):
            raise ValueError(f"mean_end must have shape ({d},); got {m1.shape}.")
        S0 = self._check_spd(cov_start, "cov_start", d)
        S1 = self._check_spd(cov_end, "cov_end", d)
        self.mean_start, self.mean_end = m0, m1
        self.cov_start, self.cov_end = S0, S1

        w0, U0 = np.linalg.eigh(S0)
        S0_half = (U0 * np.sqrt(w0)) @ U0.T
        S0_inv_half = (U0 / np.sqrt(w0)) @ U0.T
        wc, Uc = np.linalg.eigh(S0_half @ S1 @ S0_half)
        middle = (Uc * np.sqrt(np.clip(wc, 0.0, None))) @ Uc.T
        A = S0_inv_half @ middle @ S0_inv_half
        self.transport_map = 0.5 * (A + A.T)
        # A = U diag(alpha) U'; every M_lam and (A - I) M_lam^{-1} share U.
        self._alpha, self._U = np.linalg.eigh(self.transport_map)
        self._duration = self.times[-1] - self.times[0]

    @staticmethod
    def _check_spd(S, name, d):
        S = np.asarray(S, dtype=np.float64)
        if S.shape != (d, d):
            raise ValueError(f"{name} must have shape ({d}, {d}); got {S.shape}.")
        if not np.all(np.isfinite(S)) or not np.allclose(S, S.T):
            raise ValueError(f"{name} must be a finite symmetric matrix.")
        S = 0.5 * (S + S.T)
        if np.linalg.eigvalsh(S)[0] <= 0:
            raise ValueError(f"{name} must be positive definite.")
        return S

    def _lam(self, t):
        return (np.asarray(t, dtype=np.float64) - self.times[0]) / self._duration

    def mean(self, t):
        """Mean of the marginal at time ``t``.

        Parameters
        ----------
        t : float
            Time in ``[times[0], times[-1]]``.

        Returns
        -------
        mean : ndarray of shape (n_features,)
            ``m0 + lam (m1 - m0)``.
        """
        lam = self._lam(self._check_scalar_t(t))
        return self.mean_start + lam * (self.mean_end - self.mean_start)

    def covariance(self, t):
        """Covariance of the marginal at time ``t``.

        Parameters
        ----------
        t : float
            Time in ``[times[0], times[-1]]``.

        Returns
        -------
        cov : ndarray of shape (n_features, n_features)
            ``M_lam S0 M_lam`` with ``M_lam = (1 - lam) I + lam A``.
        """
        lam = self._lam(self._check_scalar_t(t))
        M = (1.0 - lam) * np.eye(self.n_features) + lam * self.transport_map
        C = M @ self.cov_start @ M
        return 0.5 * (C + C.T)

    def _sample_initial(self, n, rng):
        L = np.linalg.cholesky(self.cov_start)
        return self.mean_start + rng.standard_normal((n, self.n_features)) @ L.T

    def _flow(self, X, t, t_start):
        # x_t = m_t + M_t M_s^{-1} (x_s - m_s); M_t M_s^{-1} = U diag(mu_t / mu_s) U'.
        lt, ls = self._lam(t), self._lam(t_start)
        shift = self.mean_end - self.mean_start
        mu_t = (1.0 - lt) + lt * self._alpha
        mu_s = (1.0 - ls) + ls * self._alpha
        Z = (X - (self.mean_start + ls * shift)) @ self._U
        return self.mean_start + lt * shift + (Z * (mu_t / mu_s)) @ self._U.T

    def _centred_eigencoords(self, X, t):
        lam = self._lam(t)[:, None]
        Z = (X - (self.mean_start + lam * (self.mean_end - self.mean_start))) @ self._U
        # eigenvalues of (A - I) M_lam^{-1}, one row per point
        B = (self._alpha - 1.0) / ((1.0 - lam) + lam * self._alpha)
        return Z, B

    def _velocity(self, X, t):
        Z, B = self._centred_eigencoords(X, t)
        return ((self.mean_end - self.mean_start) + (Z * B) @ self._U.T) / self._duration

    def _potential(self, X, t):
        Z, B = self._centred_eigencoords(X, t)
        linear = Z @ (self._U.T @ (self.mean_end - self.mean_start))
        return (linear + 0.5 * np.sum(B * Z**2, axis=1)) / self._duration


class NonlinearTruth(_Truth):
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
    steps_per_unit_time : int, default=200
        RK4 steps per unit of time.

    Attributes
    ----------
    times : ndarray of shape (n_times,)
        Observation times.
    n_features : int
        Always 2.

    Examples
    --------
    >>> from sklearn_am.datasets import NonlinearTruth
    >>> truth = NonlinearTruth(times=[0.0, 3.0])
    >>> truth.velocity([[0.0, 0.0]], 1.0)
    array([[1., 0.]])
    >>> truth.sample(5, 1.5, random_state=0).shape
    (5, 2)
    """

    _autonomous = True

    def __init__(
        self,
        times,
        *,
        strength=2.0,
        initial_mean=(-2.0, 0.0),
        initial_std=0.3,
        steps_per_unit_time=_STEPS_PER_UNIT_TIME,
    ):
        super().__init__(times, 2)
        self.strength = float(strength)
        self.initial_mean = np.asarray(initial_mean, dtype=np.float64).reshape(2)
        self.initial_std = float(initial_std)
        self.steps_per_unit_time = int(steps_per_unit_time)

    def _field(self, X):
        x1, x2 = X[:, 0], X[:, 1]
        b = self.strength
        v1 = 1.0 - 0.5 * b * np.log1p(x2**2) * np.sin(x1)
        v2 = b * x2 * np.cos(x1) / (1.0 + x2**2)
        return np.stack([v1, v2], axis=1)

    def _velocity(self, X, t):
        return self._field(X)

    def _potential(self, X, t):
        x1, x2 = X[:, 0], X[:, 1]
        return x1 + 0.5 * self.strength * np.log1p(x2**2) * np.cos(x1)

    def _sample_initial(self, n, rng):
        return self.initial_mean + self.initial_std * rng.standard_normal((n, 2))

    def _flow(self, X, t, t_start):
        return _rk4(self._field, X, t_start, t, self.steps_per_unit_time)


class BranchingTruth(_Truth):
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
    steps_per_unit_time : int, default=200
        RK4 steps per unit of time.

    Attributes
    ----------
    times : ndarray of shape (n_times,)
        Observation times.
    n_features : int
        Always 2.

    Examples
    --------
    >>> from sklearn_am.datasets import BranchingTruth
    >>> truth = BranchingTruth(times=[0.0, 4.0])
    >>> truth.velocity([[0.0, 0.5]], 2.0)
    array([[1.     , 0.46875]])
    """

    _autonomous = True

    def __init__(
        self,
        times,
        *,
        drift=1.0,
        rate=1.25,
        initial_std=0.2,
        steps_per_unit_time=_STEPS_PER_UNIT_TIME,
    ):
        super().__init__(times, 2)
        self.drift = float(drift)
        self.rate = float(rate)
        self.initial_std = float(initial_std)
        self.steps_per_unit_time = int(steps_per_unit_time)

    def _field(self, X):
        x2 = X[:, 1]
        v1 = np.full(X.shape[0], self.drift)
        v2 = self.rate * x2 * (1.0 - x2**2)
        return np.stack([v1, v2], axis=1)

    def _velocity(self, X, t):
        return self._field(X)

    def _potential(self, X, t):
        x1, x2 = X[:, 0], X[:, 1]
        return self.drift * x1 + self.rate * (0.5 * x2**2 - 0.25 * x2**4)

    def _sample_initial(self, n, rng):
        return self.initial_std * rng.standard_normal((n, 2))

    def _flow(self, X, t, t_start):
        return _rk4(self._field, X, t_start, t, self.steps_per_unit_time)


# --------------------------------------------------------------------------- #
# Generators
# --------------------------------------------------------------------------- #

_COMMON_CONSTRAINTS = {
    "n_samples": [Interval(Integral, 1, None, closed="left"), "array-like"],
    "times": ["array-like"],
    "random_state": ["random_state"],
    "shuffle": ["boolean"],
    "return_truth": ["boolean"],
}


def _random_spd(d, rng, low=0.25, high=2.0):
    """Random SPD matrix with a Haar-random eigenbasis and eigenvalues in [low, high]."""
    Q, R = np.linalg.qr(rng.standard_normal((d, d)))
    Q = Q * np.where(np.diag(R) < 0, -1.0, 1.0)
    eig = rng.uniform(low, high, size=d)
    S = (Q * eig) @ Q.T
    return 0.5 * (S + S.T)


@validate_params(
    {**_COMMON_CONSTRAINTS, "n_features": [Interval(Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def make_gaussian_transport(
    n_samples=1000,
    *,
    n_features=2,
    times=(0.0, 0.3, 0.5, 1.0),
    random_state=None,
    shuffle=True,
    return_truth=False,
):
    """Snapshots of the optimal transport path between two random Gaussians.

    Draws ``N(m0, S0)`` and ``N(m1, S1)`` at random: ``m0`` uniform in
    ``[-1, 1]^d``, ``m1 = m0 + r u`` with ``u`` a uniform random direction and
    ``r`` uniform in ``[2, 3]``, and covariances with a random eigenbasis and
    eigenvalues uniform in ``[0.25, 2]``. The marginal at time ``t`` is
    McCann's displacement interpolation between them (see
    :class:`GaussianTransportTruth`), so marginals, velocity field and
    potential are all known in closed form.

    Parameters
    ----------
    n_samples : int or array-like of int, default=1000
        Number of rows per snapshot, or one count per time.
    n_features : int, default=2
        Dimension of the space.
    times : array-like of float, default=(0.0, 0.3, 0.5, 1.0)
        Strictly increasing observation times (at least 2, any spacing). The
        two Gaussians sit at ``times[0]`` and ``times[-1]``.
    random_state : int, RandomState instance or None, default=None
        Seed or generator for the Gaussians, the samples and the shuffle.
    shuffle : bool, default=True
        Whether to shuffle the rows (the same permutation for ``X`` and
        ``t``). Otherwise rows are grouped by snapshot, in time order.
    return_truth : bool, default=False
        Whether to also return the :class:`GaussianTransportTruth`.

    Returns
    -------
    X : ndarray of shape (n_rows, n_features)
        The concatenated snapshots.
    t : ndarray of shape (n_rows,)
        Observation time of every row.
    truth : GaussianTransportTruth
        Only returned if ``return_truth`` is True.

    Examples
    --------
    >>> from sklearn_am.datasets import make_gaussian_transport
    >>> X, t, truth = make_gaussian_transport(
    ...     n_samples=100, n_features=3, random_state=0, return_truth=True)
    >>> X.shape, t.shape
    ((400, 3), (400,))
    >>> sorted(set(t.tolist()))
    [0.0, 0.3, 0.5, 1.0]
    >>> truth.velocity(X[:5], t[:5]).shape
    (5, 3)
    """
    times = _check_times(times)
    n_per_time = _check_n_samples(n_samples, times.shape[0])
    rng = check_random_state(random_state)

    d = int(n_features)
    m0 = rng.uniform(-1.0, 1.0, size=d)
    direction = rng.standard_normal(d)
    norm = np.linalg.norm(direction)
    direction = direction / norm if norm > 0 else np.eye(d)[0]
    m1 = m0 + rng.uniform(2.0, 3.0) * direction
    S0 = _random_spd(d, rng)
    S1 = _random_spd(d, rng)
    truth = GaussianTransportTruth(m0, S0, m1, S1, times=times)

    X, t = _assemble(truth, n_per_time, rng, shuffle)
    return (X, t, truth) if return_truth else (X, t)


@validate_params(_COMMON_CONSTRAINTS, prefer_skip_nested_validation=True)
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
    n_samples : int or array-like of int, default=1000
        Number of rows per snapshot, or one count per time.
    times : array-like of float, default=(0.0, 1.0, 2.0, 3.0)
        Strictly increasing observation times (at least 2, any spacing). The
        initial cloud sits at ``times[0]``.
    random_state : int, RandomState instance or None, default=None
        Seed or generator for the samples and the shuffle.
    shuffle : bool, default=True
        Whether to shuffle the rows (the same permutation for ``X`` and
        ``t``). Otherwise rows are grouped by snapshot, in time order.
    return_truth : bool, default=False
        Whether to also return the :class:`NonlinearTruth`.

    Returns
    -------
    X : ndarray of shape (n_rows, 2)
        The concatenated snapshots.
    t : ndarray of shape (n_rows,)
        Observation time of every row.
    truth : NonlinearTruth
        Only returned if ``return_truth`` is True.

    Examples
    --------
    >>> from sklearn_am.datasets import make_nonlinear
    >>> X, t = make_nonlinear(n_samples=[50, 60, 70, 80], random_state=0, shuffle=False)
    >>> X.shape
    (260, 2)
    >>> t[:2], t[-2:]
    (array([0., 0.]), array([3., 3.]))
    """
    times = _check_times(times)
    n_per_time = _check_n_samples(n_samples, times.shape[0])
    rng = check_random_state(random_state)
    truth = NonlinearTruth(times)
    X, t = _assemble(truth, n_per_time, rng, shuffle)
    return (X, t, truth) if return_truth else (X, t)


@validate_params(_COMMON_CONSTRAINTS, prefer_skip_nested_validation=True)
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
    n_samples : int or array-like of int, default=1000
        Number of rows per snapshot, or one count per time.
    times : array-like of float, default=(0.0, 1.0, 2.0, 3.0, 4.0)
        Strictly increasing observation times (at least 2, any spacing). The
        initial cloud sits at ``times[0]``.
    random_state : int, RandomState instance or None, default=None
        Seed or generator for the samples and the shuffle.
    shuffle : bool, default=True
        Whether to shuffle the rows (the same permutation for ``X`` and
        ``t``). Otherwise rows are grouped by snapshot, in time order.
    return_truth : bool, default=False
        Whether to also return the :class:`BranchingTruth`.

    Returns
    -------
    X : ndarray of shape (n_rows, 2)
        The concatenated snapshots.
    t : ndarray of shape (n_rows,)
        Observation time of every row.
    truth : BranchingTruth
        Only returned if ``return_truth`` is True.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am.datasets import make_branching
    >>> X, t = make_branching(n_samples=200, random_state=0)
    >>> last = X[t == 4.0]
    >>> bool(np.mean(np.abs(last[:, 1]) > 0.5) > 0.9)
    True
    """
    times = _check_times(times)
    n_per_time = _check_n_samples(n_samples, times.shape[0])
    rng = check_random_state(random_state)
    truth = BranchingTruth(times)
    X, t = _assemble(truth, n_per_time, rng, shuffle)
    return (X, t, truth) if return_truth else (X, t)
