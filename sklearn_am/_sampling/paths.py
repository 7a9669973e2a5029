"""Probability paths between snapshots, and the samplers that turn snapshots into batches.

The AM objective integrates over q_t for every t in [t_0, t_K], but the data are
snapshots at t_0 < … < t_K. A *path* fills the gaps:

- :class:`LinearPath`: x_λ = (1−λ)a + λb for a pair (a, b) of consecutive snapshots;
  with exact-OT pairs this is McCann's displacement interpolation (the W2 geodesic).
- :class:`BrownianBridgePath`: adds σ·√(λ(1−λ)Δt)·ε, the Schrödinger-bridge path
  between entropic-OT pairs, for noisy dynamics.

Two samplers produce :class:`~sklearn_am._numerics.losses.Batch` objects on the device:

- :class:`InterpolationSampler` draws times uniformly over the whole range with a
  low-discrepancy sequence, finds each time's interval, and interpolates a pair
  drawn from that interval's coupling;
- :class:`QuadratureSampler` uses the observed snapshots only, with trapezoid
  weights in time (right when snapshots are dense).

Both draw the boundary terms from the first and last snapshot, of a
:class:`~sklearn_am._sampling.snapshots.Snapshots` container; :func:`make_sampler` and
``INTERPOLATIONS`` give the sampler of an ``interpolation`` name.
"""

import math

import numpy as np
import torch

from .._numerics.losses import Batch
from .couplings import entropic_reg, pair_pool, unbalanced_pool
from .time_basis import interpolatory_weights, trapezoid_weights

__all__ = [
    "INTERPOLATIONS",
    "BrownianBridgePath",
    "Path",
    "InterpolationSampler",
    "LinearPath",
    "QuadratureSampler",
    "UnbalancedInterpolationSampler",
    "low_discrepancy_uniform",
    "make_sampler",
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
        """A :class:`~sklearn_am._numerics.losses.Batch`: interior points on the paths of pairs
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

    Each interval's pairs come from :func:`~sklearn_am._sampling.couplings.unbalanced_pool`: a
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
    """Batches at the observed snapshots only, with quadrature weights in time.

    The time integral becomes Σ_k ω_k E_{q_{t_k}}[·] with trapezoid weights ω_k, or
    with ``higher_order`` the non-negative interpolatory weights of the highest
    degree (``_time_basis.interpolatory_weights``: for a potential polynomial in
    time); each batch draws snapshots in proportion to ω_k (systematic sampling) and
    rows uniformly inside them. Right for dense snapshots, where interpolating
    between close snapshots with minibatch OT is biased, and for slowly changing
    ones with a potential smooth in time.
    """

    def __init__(self, snapshots, higher_order=False):
        self.snapshots = snapshots
        if higher_order:
            omega = interpolatory_weights(snapshots.times)[0]
        else:
            omega = trapezoid_weights(snapshots.times)
        self._cdf = torch.as_tensor(np.cumsum(omega) / omega.sum(), device=snapshots.device)

    def draw(self, batch_size, generator):
        """A :class:`~sklearn_am._numerics.losses.Batch` of observed points.

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


def _quadrature(snapshots, rng, n_draws, sigma, higher_order=False):
    return QuadratureSampler(snapshots, higher_order)


#: Interpolation name → sampler factory (a coupling of consecutive snapshots and a
#: path between paired points, or the observed snapshots only).
INTERPOLATIONS = {
    "ot": _ot,  # exact-OT pairs, straight lines: McCann's interpolation
    "independent": _independent,  # random pairs, straight lines
    "bridge": _bridge,  # entropic-OT pairs (reg 2σ²Δt), Brownian bridges of noise σ
    "quadrature": _quadrature,  # the snapshots themselves, trapezoid weights in time
}


def make_sampler(interpolation, snapshots, *, rng, n_draws, sigma=0.0, higher_order=False):
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
    higher_order : bool, default=False
        ``"quadrature"`` with interpolatory weights (a potential polynomial in time).

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
    if interpolation == "quadrature":
        return factory(snapshots, rng, n_draws, sigma, higher_order)
    return factory(snapshots, rng, n_draws, sigma)
