"""Gaussian snapshots with closed-form dynamics."""

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from ..utils._sklearn import Interval, validate_params
from ._base import (
    _COMMON_CONSTRAINTS,
    SnapshotTruth,
    _check_times,
    fill_generator_docs,
    snapshots_of,
)

__all__ = ["GaussianTransportTruth", "make_gaussian_transport"]


@fill_generator_docs
class GaussianTransportTruth(SnapshotTruth):
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
        {{t}}

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
        {{t}}

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
@fill_generator_docs
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
    {{n_samples}}
    n_features : int, default=2
        Dimension of the space.
    times : array-like of float, default=(0.0, 0.3, 0.5, 1.0)
        Strictly increasing observation times (at least 2, any spacing). The
        two Gaussians sit at ``times[0]`` and ``times[-1]``.
    {{random_state}}
    {{shuffle}}
    {{return_truth::class:`GaussianTransportTruth`}}

    Returns
    -------
    {{returns:GaussianTransportTruth}}

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
    return snapshots_of(truth, n_samples, rng, shuffle, return_truth)
