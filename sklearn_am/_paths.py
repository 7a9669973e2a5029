"""Probability paths between snapshots, and the samplers that turn snapshots into batches.

The AM objective integrates over q_t for every t in [t_0, t_K], but the data are
snapshots at t_0 < … < t_K. A *path* fills the gaps:

- :class:`LinearPath`: x_λ = (1−λ)a + λb for a pair (a, b) of consecutive snapshots;
  with exact-OT pairs this is McCann's displacement interpolation (the W2 geodesic).
- :class:`BrownianBridgePath`: adds σ·√(λ(1−λ)Δt)·ε, the Schrödinger-bridge path
  between entropic-OT pairs, for noisy dynamics.

Two samplers produce :class:`~sklearn_am._losses.Batch` objects on the device:

- :class:`InterpolationSampler` draws times uniformly over the whole range with a
  low-discrepancy sequence, finds each time's interval, and interpolates a pair
  drawn from that interval's coupling;
- :class:`QuadratureSampler` uses the observed snapshots only, with trapezoid
  weights in time (right when snapshots are dense).

Both draw the boundary terms from the first and last snapshot.
"""

import functools
import math

import numpy as np
import torch

from ._couplings import entropic_reg, pair_pool, unbalanced_pool
from ._losses import Batch
from ._units import CHUNK_ROWS

__all__ = [
    "INTERPOLATIONS",
    "BrownianBridgePath",
    "Path",
    "InterpolationSampler",
    "LinearPath",
    "QuadratureSampler",
    "Snapshots",
    "UnbalancedInterpolationSampler",
    "low_discrepancy_uniform",
    "make_sampler",
    "relative_steps",
]

#: Fractional part of √2: the step of the authors' additive-recurrence sequence.
_GOLDEN_STEP = math.sqrt(2.0) % 1.0

#: Up to this many intervals between snapshots, a batch holds ``batch_size`` points
#: per interval; beyond, this many times ``batch_size`` over the whole time range.
FULL_BATCH_INTERVALS = 4

#: Quadrature batches hold at most this many times ``batch_size`` points.
QUADRATURE_BATCH_FACTOR = 2

#: Pool size per interval, in multiples of the larger snapshot of the interval...
_POOL_OVERSAMPLING = 4
#: ...and at most this many pairs, so that building the pool (one exact-OT solve
#: per 512 pairs, about 50 ms each on a CPU core) stays bounded on large data.
_POOL_MAX_PAIRS = 32_768


def low_discrepancy_uniform(n, generator, device):
    """n stratified uniforms u_i = (u_0 + √2·i) mod 1 with a random u_0.

    Lower variance than i.i.d. uniforms for integrals over time; each batch is a
    fresh, randomly shifted copy of the same lattice.
    """
    u0 = torch.rand(1, generator=generator, device=device, dtype=torch.float64)
    steps = torch.arange(n, device=device, dtype=torch.float64) * _GOLDEN_STEP
    return torch.remainder(u0 + steps, 1.0)


class Path:
    """A conditional path x_λ between the two ends of a pair: a at λ = 0, b at λ = 1.

    One interface for every path of the library, between consecutive snapshots
    (:class:`LinearPath`, :class:`BrownianBridgePath`) and from noise to data
    (``_generative.LinearNoisePath``, ``VPNoisePath``): x_λ = ``mean(a, b, λ)``
    plus ``std(λ, Δt)`` times a standard normal, with path velocity
    ``velocity(a, b, λ, Δt)`` where the path has a single one (None otherwise).
    Shapes: ``a``, ``b`` (n, d); ``lam``, ``dt`` (n,) or scalars.
    """

    #: Whether ``velocity`` gives ẋ (then the path regression form applies).
    has_velocity = True

    def mean(self, a, b, lam):
        """The mean of x_λ given the pair."""
        raise NotImplementedError

    def std(self, lam, dt):
        """The standard deviation of x_λ given the pair: zero unless overridden."""
        return torch.zeros_like(lam)

    def sample(self, a, b, lam, dt, generator=None):
        """A point on the path for each pair (the mean, where the path is deterministic)."""
        return self.mean(a, b, lam)

    def velocity(self, a, b, lam, dt):
        """The path velocity ẋ_λ per unit of time (None where there is no single one)."""
        raise NotImplementedError


class LinearPath(Path):
    """x_λ = (1−λ)·a + λ·b (deterministic interpolation)."""

    def mean(self, a, b, lam):
        """(1−λ)·a + λ·b for ``a``, ``b`` of shape (n, d) and ``lam`` of shape (n,)."""
        lam = lam.unsqueeze(-1)
        return (1.0 - lam) * a + lam * b

    def velocity(self, a, b, lam, dt):
        """The path velocity ẋ = (b − a)/Δt."""
        return (b - a) / dt.unsqueeze(-1)


class BrownianBridgePath(LinearPath):
    """x_λ = (1−λ)·a + λ·b + σ·√(λ(1−λ)Δt)·ε: a Brownian bridge of noise σ.

    Parameters
    ----------
    sigma : float
        Noise level σ of dX = v dt + σ dW, in the model's units.
    """

    has_velocity = False

    def __init__(self, sigma):
        self.sigma = float(sigma)

    def std(self, lam, dt):
        """σ·√(λ(1−λ)Δt), the bridge's standard deviation at fraction λ of an interval Δt."""
        return self.sigma * torch.sqrt(lam * (1.0 - lam) * dt)

    def sample(self, a, b, lam, dt, generator=None):
        noise = torch.randn(a.shape, generator=generator, device=a.device, dtype=a.dtype)
        return self.mean(a, b, lam) + self.std(lam, dt).unsqueeze(-1) * noise

    def velocity(self, a, b, lam, dt):
        """None: a bridge's drift depends on the point, and eAM uses the action form."""
        return None


class Snapshots:
    """Snapshots of a population, sorted by time, held on a device.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Points, in the model's units.
    t : ndarray of shape (n_samples,)
        Time of each row, in the model's units.
    device : torch.device
    masses : ndarray of shape (n_times,), default=None
        Total mass at each time (unbalanced dynamics); all ones when None.
    dtype : torch.dtype, default=torch.float32
    """

    def __init__(self, X, t, device, masses=None, dtype=torch.float32):
        t = np.asarray(t, dtype=np.float64)
        if np.all(np.diff(t) >= 0):  # already sorted (from_data): no copy of X
            t_sorted, self.X_host = t, np.asarray(X)
        else:
            order = np.argsort(t, kind="stable")
            t_sorted, self.X_host = t[order], np.asarray(X)[order]
        self.times, first_rows, self.counts = np.unique(
            t_sorted, return_index=True, return_counts=True
        )
        self.offsets = first_rows
        # On the CPU a float32 X_host is shared with the tensor, not copied.
        self.x = torch.as_tensor(self.X_host, dtype=dtype, device=device)
        self.device = device
        self.dtype = dtype
        masses = np.ones(len(self.times)) if masses is None else np.asarray(masses, float)
        self.masses = torch.as_tensor(masses, dtype=dtype, device=device)
        self.knots = torch.as_tensor(self.times, dtype=torch.float64, device=device)
        self._offsets = torch.as_tensor(self.offsets, device=device)
        self._counts = torch.as_tensor(self.counts, device=device)

    @classmethod
    def from_data(cls, X, times, units, device, *, rows=None, masses=None):
        """Snapshots of the user's rows in model units, with one float32 copy of the data.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Rows in the user's units (not copied).
        times : ndarray of shape (n_samples,)
            Time of each row, in the user's units.
        units : Units
        device : torch.device
        rows : ndarray of int, default=None
            Which rows of ``X`` to use, repeats allowed (default: all, once).
        masses : ndarray of shape (n_times,), default=None
            Total mass at each time.
        """
        t = times if rows is None else times[rows]
        order = np.argsort(t, kind="stable")
        index = order if rows is None else rows[order]
        x = np.empty((len(index), X.shape[1]), dtype=np.float32)
        for a in range(0, len(index), CHUNK_ROWS):
            x[a : a + CHUNK_ROWS] = units.to_model(X[index[a : a + CHUNK_ROWS]])
        return cls(x, units.to_tau(t[order]), device, masses=masses)

    @property
    def n_times(self):
        return len(self.times)

    @property
    def span(self):
        return float(self.times[-1] - self.times[0])

    @functools.cached_property
    def relative_steps(self):
        """:func:`relative_steps` of these snapshots, computed once (the interpolation
        rule and the choice of the objective's estimator both read it)."""
        return relative_steps(self)

    def snapshot(self, k):
        """Rows of snapshot k, on the host."""
        return self.X_host[self.offsets[k] : self.offsets[k] + self.counts[k]]

    def draw_rows(self, k, generator):
        """One uniformly drawn global row index per entry of the index tensor k."""
        u = torch.rand(k.shape, generator=generator, device=self.device, dtype=torch.float64)
        return self._offsets[k] + (u * self._counts[k]).long().clamp_max(self._counts[k] - 1)

    def boundary(self, batch_size, generator):
        """Boundary samples: rows of the first and last snapshot with weights mass/n."""
        ends = []
        for k in (0, self.n_times - 1):
            index = torch.full((batch_size,), k, device=self.device)
            rows = self.draw_rows(index, generator)
            t = torch.full((batch_size,), self.times[k], device=self.device, dtype=self.dtype)
            w = self.masses[k].expand(batch_size) / batch_size
            ends.append((self.x[rows], t, w))
        return ends


class InterpolationSampler:
    """Batches on paths between consecutive snapshots.

    Parameters
    ----------
    snapshots : Snapshots
    coupling : {"independent", "exact", "sinkhorn"}
        How a point of snapshot k is paired with one of snapshot k+1.
    path : LinearPath or BrownianBridgePath
    n_draws : int
        How many points per interval training will draw in all (steps ×
        ``batch_size``). Each interval's
        pool holds the pairs its share of those draws needs, but at most
        ``_POOL_OVERSAMPLING`` times its larger snapshot and ``_POOL_MAX_PAIRS``
        (pairs are reused with fresh interpolation times beyond that).
    rng : numpy.random.RandomState
        For building the pools (transport solves run on the host).
    reg : callable, default=None
        ``reg(dt)``: the entropic regularisation for an interval of length dt.
    """

    def __init__(self, snapshots, coupling, path, n_draws, rng, reg=None):
        self.snapshots = snapshots
        self.path = path
        self.coupling = coupling
        snaps = snapshots
        dt = np.diff(snaps.times)
        self._dt = torch.as_tensor(dt, dtype=torch.float64, device=snaps.device)
        if coupling == "independent":
            return
        pool_a, pool_b, sizes = [], [], []
        for k in range(snaps.n_times - 1):
            n_a, n_b = snaps.counts[k], snaps.counts[k + 1]
            share = 1.0 if len(dt) <= FULL_BATCH_INTERVALS else \
                FULL_BATCH_INTERVALS * dt[k] / snaps.span
            expected = int(np.ceil(n_draws * share)) + 1
            n_pairs = min(expected, _POOL_OVERSAMPLING * max(n_a, n_b), _POOL_MAX_PAIRS)
            ia, ib = pair_pool(
                n_a, n_b, n_pairs, rng, method=coupling,
                points=(snaps.snapshot(k), snaps.snapshot(k + 1)),
                reg=None if reg is None else reg(dt[k]),
            )
            pool_a.append(ia + snaps.offsets[k])
            pool_b.append(ib + snaps.offsets[k + 1])
            sizes.append(len(ia))
        device = snaps.device
        self._pool_a = torch.as_tensor(np.concatenate(pool_a), device=device)
        self._pool_b = torch.as_tensor(np.concatenate(pool_b), device=device)
        self._index_pools(sizes, device)

    def _index_pools(self, sizes, device):
        """Where each interval's pairs start in the concatenated pool, and how many."""
        self._pool_sizes = torch.as_tensor(sizes, device=device)
        self._pool_offsets = torch.as_tensor(np.concatenate([[0], np.cumsum(sizes)[:-1]]),
                                             device=device)

    def _pairs(self, k, generator):
        """Row indices (a, b) of one pair per entry of ``k``, and their pool indices
        (None for independent pairs)."""
        snaps = self.snapshots
        if self.coupling == "independent":
            return snaps.draw_rows(k, generator), snaps.draw_rows(k + 1, generator), None
        u = torch.rand(k.shape, generator=generator, device=snaps.device, dtype=torch.float64)
        j = self._pool_offsets[k] + (u * self._pool_sizes[k]).long().clamp_max(
            self._pool_sizes[k] - 1
        )
        return self._pool_a[j], self._pool_b[j], j

    def _times(self, batch_size, generator):
        """(interval k, fraction λ, time τ, quadrature weight) of every interior point.

        With at most ``FULL_BATCH_INTERVALS`` intervals every interval gets
        ``batch_size`` points at stratified (low-discrepancy) fractions λ; with more,
        ``FULL_BATCH_INTERVALS × batch_size`` points spread over the whole time range.
        """
        snaps = self.snapshots
        n_int = snaps.n_times - 1
        if n_int <= FULL_BATCH_INTERVALS:
            k = torch.arange(n_int, device=snaps.device).repeat_interleave(batch_size)
            shift = torch.rand(n_int, generator=generator, device=snaps.device,
                               dtype=torch.float64)
            steps = torch.arange(batch_size, device=snaps.device, dtype=torch.float64)
            lam = torch.remainder(shift.repeat_interleave(batch_size) + _GOLDEN_STEP
                                  * steps.repeat(n_int), 1.0)
            tau = snaps.knots[k] + lam * self._dt[k]
            return k, lam, tau, self._dt[k] / batch_size
        total = FULL_BATCH_INTERVALS * batch_size
        tau = snaps.knots[0] + snaps.span * low_discrepancy_uniform(total, generator,
                                                                    snaps.device)
        k = (torch.searchsorted(snaps.knots, tau, right=True) - 1).clamp(0, n_int - 1)
        lam = ((tau - snaps.knots[k]) / self._dt[k]).clamp(0.0, 1.0)
        return k, lam, tau, torch.full_like(lam, snaps.span / total)

    def _mass(self, k, lam, j):
        """The mass along each path, geometric between the snapshots' masses (exact for
        a constant growth rate), and the paths' growth rates (None: not known)."""
        masses = self.snapshots.masses
        return masses[k] ** (1.0 - lam) * masses[k + 1] ** lam, None

    def draw(self, batch_size, generator):
        """A :class:`~sklearn_am._losses.Batch`: interior points on the paths of pairs
        (times as :meth:`_times` says), and the two boundary snapshots."""
        snaps = self.snapshots
        k, lam, tau, quadrature = self._times(batch_size, generator)
        ia, ib, j = self._pairs(k, generator)
        lam_x, dt = lam.to(snaps.dtype), self._dt[k].to(snaps.dtype)
        a, b = snaps.x[ia], snaps.x[ib]
        x = self.path.sample(a, b, lam_x, dt, generator)
        mass, growth = self._mass(k, lam_x, j)
        w = mass * quadrature.to(snaps.dtype)
        (x0, t0, w0), (x1, t1, w1) = snaps.boundary(batch_size, generator)
        return Batch(x0, t0, w0, x1, t1, w1, x, tau.to(snaps.dtype), w,
                     self.path.velocity(a, b, lam_x, dt), growth)


class UnbalancedInterpolationSampler(InterpolationSampler):
    """Straight paths between the pairs of an unbalanced coupling, with mass per path.

    Each interval's pairs come from :func:`~sklearn_am._couplings.unbalanced_pool`: a
    sharp plan between the marginals (p, q) of a KL-unbalanced OT plan. A pair (i, j)
    carries a mass that changes geometrically from a_i/p_i to b_j/q_j (times the
    plan's mass), so the paths' marginals are the snapshots at both ends and their
    growth rate γ = log((b_j/q_j)/(a_i/p_i))/Δt is local: mass is created where the
    snapshots gain it, not carried across from elsewhere.

    Parameters
    ----------
    snapshots : Snapshots
        With their masses (relative to the first time's).
    n_draws, rng
        As for :class:`InterpolationSampler`.
    rho : float
        KL penalty of the marginals (model units of the squared-Euclidean cost).
    eps : float
        Entropic blur of the unbalanced plan.
    """

    def __init__(self, snapshots, n_draws, rng, rho, eps):
        self.snapshots = snaps = snapshots
        self.path = LinearPath()
        self.coupling = "unbalanced"
        dt = np.diff(snaps.times)
        self._dt = torch.as_tensor(dt, dtype=torch.float64, device=snaps.device)
        masses = snaps.masses.cpu().numpy().astype(np.float64)
        pools = []
        for k in range(snaps.n_times - 1):
            n_a, n_b = snaps.counts[k], snaps.counts[k + 1]
            n_pairs = min(int(n_draws) + 1, _POOL_OVERSAMPLING * max(n_a, n_b), _POOL_MAX_PAIRS)
            pools.append(unbalanced_pool(snaps.snapshot(k), snaps.snapshot(k + 1), masses[k],
                                         masses[k + 1], n_pairs, rng, rho=rho, eps=eps))
        device, dtype = snaps.device, snaps.dtype
        sizes = [len(pool.idx_a) for pool in pools]
        self._pool_a = torch.as_tensor(np.concatenate(
            [pool.idx_a + snaps.offsets[k] for k, pool in enumerate(pools)]), device=device)
        self._pool_b = torch.as_tensor(np.concatenate(
            [pool.idx_b + snaps.offsets[k + 1] for k, pool in enumerate(pools)]), device=device)
        self._log_a = torch.as_tensor(np.concatenate([pool.log_a for pool in pools]),
                                      dtype=dtype, device=device)
        self._log_b = torch.as_tensor(np.concatenate([pool.log_b for pool in pools]),
                                      dtype=dtype, device=device)
        self._log_totals = torch.as_tensor(np.log([pool.mass for pool in pools]), dtype=dtype,
                                           device=device)
        self._index_pools(sizes, device)

    def _mass(self, k, lam, j):
        log_a, log_b = self._log_a[j], self._log_b[j]
        mass = torch.exp(self._log_totals[k] + (1.0 - lam) * log_a + lam * log_b)
        return mass, (log_b - log_a) / self._dt[k].to(lam.dtype)


class QuadratureSampler:
    """Batches at the observed snapshots only, with trapezoid weights in time.

    The time integral becomes Σ_k ω_k E_{q_{t_k}}[·] with trapezoid weights ω_k;
    each batch draws snapshots in proportion to ω_k (systematic sampling) and rows
    uniformly inside them. Right for dense snapshots, where interpolating between
    close snapshots with minibatch OT is biased.
    """

    def __init__(self, snapshots):
        self.snapshots = snapshots
        dt = np.diff(snapshots.times)
        omega = np.zeros(snapshots.n_times)
        omega[:-1] += dt / 2
        omega[1:] += dt / 2
        self._cdf = torch.as_tensor(np.cumsum(omega) / omega.sum(), device=snapshots.device)

    def draw(self, batch_size, generator):
        """A :class:`~sklearn_am._losses.Batch` of observed points.

        ``batch_size`` per interval between snapshots, as for paths, but at most
        ``QUADRATURE_BATCH_FACTOR × batch_size`` in all (dense snapshots have many
        intervals, and each point here is a whole snapshot's sample).
        """
        snaps = self.snapshots
        total = min(batch_size * (snaps.n_times - 1), QUADRATURE_BATCH_FACTOR * batch_size)
        u = low_discrepancy_uniform(total, generator, snaps.device)
        k = torch.searchsorted(self._cdf, u, right=True).clamp_max(snaps.n_times - 1)
        rows = snaps.draw_rows(k, generator)
        t = snaps.knots[k].to(snaps.dtype)
        w = snaps.masses[k] * (snaps.span / total)
        (x0, t0, w0), (x1, t1, w1) = snaps.boundary(batch_size, generator)
        return Batch(x0, t0, w0, x1, t1, w1, snaps.x[rows], t, w)


# --------------------------------------------------------------- interpolations
def _ot(snapshots, rng, n_draws, sigma):
    return InterpolationSampler(snapshots, "exact", LinearPath(), n_draws, rng)


def _independent(snapshots, rng, n_draws, sigma):
    return InterpolationSampler(snapshots, "independent", LinearPath(), n_draws, rng)


def _bridge(snapshots, rng, n_draws, sigma):
    if sigma == 0:  # a bridge without noise is the straight line between exact-OT pairs
        return _ot(snapshots, rng, n_draws, sigma)
    return InterpolationSampler(
        snapshots, "sinkhorn", BrownianBridgePath(sigma), n_draws, rng,
        reg=lambda dt: entropic_reg(sigma, dt),
    )


def _quadrature(snapshots, rng, n_draws, sigma):
    return QuadratureSampler(snapshots)


#: Interpolation name → sampler factory (a coupling of consecutive snapshots and a
#: path between paired points, or the observed snapshots only).
INTERPOLATIONS = {
    "ot": _ot,  # exact-OT pairs, straight lines: McCann's interpolation
    "independent": _independent,  # random pairs, straight lines
    "bridge": _bridge,  # entropic-OT pairs (reg 2σ²Δt), Brownian bridges of noise σ
    "quadrature": _quadrature,  # the snapshots themselves, trapezoid weights in time
}


def make_sampler(interpolation, snapshots, *, rng, n_draws, sigma=0.0):
    """The batch sampler of an interpolation name.

    Parameters
    ----------
    interpolation : str
        A name in :data:`INTERPOLATIONS`; unknown names raise ``ValueError``.
    snapshots : Snapshots
    rng : numpy.random.RandomState
        For building OT pair pools (on the host).
    n_draws : int
        Interior points training will draw in all (sizes the pair pools).
    sigma : float, default=0.0
        Noise level of ``"bridge"`` paths, in model units.

    Returns
    -------
    InterpolationSampler or QuadratureSampler
    """
    try:
        factory = INTERPOLATIONS[interpolation]
    except KeyError:
        raise ValueError(
            f"Unknown interpolation {interpolation!r}; choose one of {sorted(INTERPOLATIONS)}."
        ) from None
    return factory(snapshots, rng, n_draws, sigma)


def relative_steps(snapshots):
    """How far each snapshot is from the next, relative to its spread.

    For each pair of consecutive snapshots, the 2-Wasserstein distance between
    Gaussians with their means and covariances (the Bures–Wasserstein distance),
    divided by the root mean of their total variances √((tr S_k + tr S_{k+1})/2).
    Small values mean the population barely changes between observations.

    Returns
    -------
    steps : ndarray of shape (n_times - 1,)
    """
    moments = []
    for k in range(snapshots.n_times):
        X = np.asarray(snapshots.snapshot(k), dtype=np.float64)
        cov = np.cov(X, rowvar=False).reshape(X.shape[1], X.shape[1]) if len(X) > 1 else \
            np.zeros((X.shape[1], X.shape[1]))
        moments.append((X.mean(axis=0), cov))
    steps = []
    for (m0, s0), (m1, s1) in zip(moments[:-1], moments[1:]):
        root0 = _psd_sqrt(s0)
        cross = _psd_sqrt(root0 @ s1 @ root0)
        w2_squared = np.sum((m0 - m1) ** 2) + np.trace(s0) + np.trace(s1) - 2 * np.trace(cross)
        spread = np.sqrt(max((np.trace(s0) + np.trace(s1)) / 2, 1e-300))
        steps.append(np.sqrt(max(w2_squared, 0.0)) / spread)
    return np.asarray(steps)


def _psd_sqrt(S):
    values, vectors = np.linalg.eigh((S + S.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
