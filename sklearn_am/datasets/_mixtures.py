"""Slowly changing populations that are not Gaussian: mixtures whose components diffuse."""

from numbers import Real

import numpy as np
from scipy.special import logsumexp

from ..utils._sklearn import Interval, StrOptions, validate_params
from ._base import _COMMON_CONSTRAINTS, SnapshotTruth, _check_times, fill_generator_docs, \
    snapshots_of

__all__ = ["DiffusingMixtureTruth", "make_diffusing_mixture"]

#: Fixed RK4 steps per unit of time of :meth:`DiffusingMixtureTruth.flow`.
_FLOW_STEPS_PER_UNIT_TIME = 400

#: The preset populations of :func:`make_diffusing_mixture` (2-D): weights, means and
#: per-axis standard deviations of the components at ``times[0]``.
MIXTURES = {
    # A few well separated clusters of equal weight.
    "clusters": dict(weights=(1 / 3, 1 / 3, 1 / 3),
                     means=((-1.5, -0.8), (1.5, -0.8), (0.0, 1.6)),
                     stds=((0.3, 0.3), (0.3, 0.3), (0.3, 0.3))),
    # A skewed population: a heavy core and a tail of ever smaller, wider components.
    "skewed": dict(weights=(0.6, 0.25, 0.15),
                   means=((-0.8, 0.0), (0.6, 0.3), (2.0, 0.8)),
                   stds=((0.35, 0.35), (0.5, 0.45), (0.7, 0.6))),
    # Five clusters on a ring, unequal weights (a case no default was tuned on).
    "ring": dict(weights=(0.3, 0.25, 0.2, 0.15, 0.1),
                 means=tuple((2.0 * np.cos(a), 2.0 * np.sin(a))
                             for a in np.linspace(0.0, 2 * np.pi, 5, endpoint=False)),
                 stds=((0.25, 0.35), (0.3, 0.3), (0.35, 0.25), (0.3, 0.3), (0.25, 0.25))),
}


@fill_generator_docs
class DiffusingMixtureTruth(SnapshotTruth):
    """Ground truth of :func:`make_diffusing_mixture`: a Gaussian mixture that diffuses.

    With t₀ = ``times[0]``, the marginal is

        q_t = Σₖ wₖ N(μₖ + (t − t₀)·b, Σₖ + σ²(t − t₀) I),

    the law of particles moving by dX = b dt + σ dW from the mixture at t₀. The
    gradient field that carries these marginals deterministically is

        v(x, t) = b − (σ²/2) ∇ₓ log q_t(x),

    the gradient of φ = ⟨b, x⟩ − (σ²/2) log q_t (the probability-flow ODE):
    each cluster spreads from its own centre, so the field is far from affine.

    Parameters
    ----------
    times : array-like of shape (n_times,)
        Strictly increasing observation times.
    weights : array-like of shape (n_components,)
        Positive component weights (normalised to sum to 1).
    means : array-like of shape (n_components, n_features)
        Component means at ``times[0]``.
    covariances : array-like of shape (n_components, n_features, n_features)
        Symmetric positive definite component covariances at ``times[0]``.
    diffusion : float, default=1.0
        σ, the noise level of the diffusion (≥ 0).
    drift : array-like of shape (n_features,), default=None
        b, a constant drift of every particle; None: no drift.

    Attributes
    ----------
    times : ndarray of shape (n_times,)
        Observation times.
    n_features : int
        Dimension of the space.

    Examples
    --------
    >>> from sklearn_am.datasets import DiffusingMixtureTruth
    >>> truth = DiffusingMixtureTruth([0.0, 1.0], weights=[1.0], means=[[0.0, 0.0]],
    ...                               covariances=[[[1.0, 0.0], [0.0, 1.0]]])
    >>> truth.velocity([[2.0, 0.0]], 1.0)  # one component: x / (2 (1 + t))
    array([[0.5, 0. ]])
    """

    def __init__(self, times, weights, means, covariances, diffusion=1.0, drift=None):
        means = np.atleast_2d(np.asarray(means, dtype=np.float64))
        super().__init__(times, means.shape[1])
        weights = np.asarray(weights, dtype=np.float64)
        covariances = np.asarray(covariances, dtype=np.float64)
        d, k = self.n_features, len(means)
        if weights.shape != (k,) or np.any(weights <= 0):
            raise ValueError(f"weights must hold {k} positive values; got {weights.tolist()}.")
        if covariances.shape != (k, d, d):
            raise ValueError(f"covariances must have shape {(k, d, d)}; got "
                             f"{covariances.shape}.")
        if np.any(np.linalg.eigvalsh(0.5 * (covariances + covariances.transpose(0, 2, 1)))
                  <= 0):
            raise ValueError("covariances must be positive definite.")
        drift = np.zeros(d) if drift is None else np.asarray(drift, dtype=np.float64)
        if drift.shape != (d,):
            raise ValueError(f"drift must have shape ({d},); got {drift.shape}.")
        self.weights = weights / weights.sum()
        self.means = means
        self.covariances = covariances
        self.diffusion = float(diffusion)
        self.drift = drift

    def _components(self, t):
        """Means (k, d) and covariances (k, d, d) of the components at time ``t``."""
        elapsed = float(t) - self.times[0]
        eye = np.eye(self.n_features)
        return (self.means + elapsed * self.drift,
                self.covariances + self.diffusion**2 * elapsed * eye)

    def _grad_log_q(self, X, t):
        """∇ₓ log q_t at rows X, all at the scalar time ``t``: shape (n, d)."""
        means, covs = self._components(t)
        inv = np.linalg.inv(covs)  # (k, d, d)
        diff = X[:, None, :] - means[None]  # (n, k, d)
        prec_diff = np.einsum("kij,nkj->nki", inv, diff)
        _, logdet = np.linalg.slogdet(covs)
        log_comp = (np.log(self.weights) - 0.5 * logdet
                    - 0.5 * np.einsum("nki,nki->nk", diff, prec_diff))
        resp = np.exp(log_comp - logsumexp(log_comp, axis=1, keepdims=True))
        return -np.einsum("nk,nki->ni", resp, prec_diff), log_comp

    def _by_time(self, X, t, fn):
        out = np.empty((X.shape[0],) + fn(X[:1], t[0]).shape[1:])
        for value in np.unique(t):
            rows = t == value
            out[rows] = fn(X[rows], value)
        return out

    def _velocity(self, X, t):
        half = 0.5 * self.diffusion**2
        return self._by_time(X, t, lambda x, s: self.drift - half * self._grad_log_q(x, s)[0])

    def _potential(self, X, t):
        half = 0.5 * self.diffusion**2

        def phi(x, s):
            log_comp = self._grad_log_q(x, s)[1]
            log_q = logsumexp(log_comp, axis=1) - 0.5 * self.n_features * np.log(2 * np.pi)
            return x @ self.drift - half * log_q

        return self._by_time(X, t, phi)

    def _sample_at(self, n, t, rng):
        """Exact draws of the marginal at ``t``: the mixture at that time."""
        means, covs = self._components(t)
        component = rng.choice(len(self.weights), size=n, p=self.weights)
        chol = np.linalg.cholesky(covs)
        z = rng.standard_normal((n, self.n_features))
        return means[component] + np.einsum("nij,nj->ni", chol[component], z)

    def _sample_initial(self, n, rng):
        return self._sample_at(n, self.times[0], rng)

    def _flow(self, X, t, t_start):
        """The probability-flow ODE dx/dt = v(x, t), by fixed-step RK4."""
        span = t - t_start
        if span == 0:
            return X.copy()
        n_steps = max(1, int(np.ceil(abs(span) * _FLOW_STEPS_PER_UNIT_TIME)))
        h = span / n_steps

        def v(x, s):
            return self._velocity(x, np.full(len(x), s))

        s = t_start
        for _ in range(n_steps):
            k1 = v(X, s)
            k2 = v(X + 0.5 * h * k1, s + 0.5 * h)
            k3 = v(X + 0.5 * h * k2, s + 0.5 * h)
            k4 = v(X + h * k3, s + h)
            X = X + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
            s += h
        return X


@validate_params(
    {**_COMMON_CONSTRAINTS, "mixture": [StrOptions(set(MIXTURES))],
     "diffusion": [Interval(Real, 0, None, closed="left")],
     "drift": [None, "array-like"]},
    prefer_skip_nested_validation=True,
)
@fill_generator_docs
def make_diffusing_mixture(
    n_samples=1200,
    *,
    mixture="clusters",
    times=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    diffusion=1.0,
    drift=None,
    random_state=None,
    shuffle=True,
    return_truth=False,
):
    """Snapshots of a 2-D Gaussian mixture whose components diffuse (not Gaussian, slow).

    Particles of a mixture move by dX = b dt + σ dW, so every component keeps its
    centre (moved by the drift b) and spreads by σ²t (see
    :class:`DiffusingMixtureTruth`). The population's overall mean and covariance
    move on straight lines in time, exactly as those of a diffusing Gaussian do, but
    the gradient field −(σ²/2)∇log q_t + b pushes each cluster out from its own
    centre: a field that no affine map describes. With the default sizes (six
    snapshots on [0, 1], σ = 1) consecutive snapshots differ little.

    Parameters
    ----------
    {{n_samples}}
    mixture : {"clusters", "skewed", "ring"}, default="clusters"
        The population at ``times[0]``: ``"clusters"``, three equal, well separated
        clusters; ``"skewed"``, a heavy core with a tail of smaller, wider
        components (a skewed population); ``"ring"``, five unequal clusters on a
        circle of radius 2.
    times : array-like of float, default=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
        Strictly increasing observation times.
    diffusion : float, default=1.0
        σ, the noise level of the particles.
    drift : array-like of shape (2,), default=None
        b, a constant drift of every particle; None: none.
    {{random_state}}
    {{shuffle}}
    {{return_truth::class:`DiffusingMixtureTruth`}}

    Returns
    -------
    {{returns:DiffusingMixtureTruth}}

    Examples
    --------
    >>> from sklearn_am.datasets import make_diffusing_mixture
    >>> X, t, truth = make_diffusing_mixture(n_samples=500, random_state=0,
    ...                                      return_truth=True)
    >>> X.shape, truth.velocity(X[:3], 0.5).shape
    ((3000, 2), (3, 2))
    """
    spec = MIXTURES[mixture]
    covariances = [np.diag(np.square(s)) for s in spec["stds"]]
    truth = DiffusingMixtureTruth(_check_times(times), spec["weights"], spec["means"],
                                  covariances, diffusion=diffusion, drift=drift)
    return snapshots_of(truth, n_samples, random_state, shuffle, return_truth)
