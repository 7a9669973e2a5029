"""Paths from a Gaussian prior to the data, the batches that train a density model,
and the conditional sampler that inpaints rows.

Generative Action Matching (Neklyudov et al., 2023, §5) builds a path of
distributions q_τ from the prior q_0 = N(0, I) to the (slightly smoothed) data
q_1 by sampling a conditional q_τ(x_τ | x) for data rows x, and learns the
gradient field ∇s that moves q_τ along it. Model time τ runs from the prior
(τ = 0) to the data (τ = 1); the data are standardised first.

- :class:`LinearNoisePath`: x_τ = τ·x + (1 − (1 − b)τ)·ε, the straight line from
  noise ε to the data smoothed by a Gaussian of width b (``bandwidth``);
- :class:`VPNoisePath`: x_τ = α_τ·x + σ_τ·ε with α_τ = sin(πτ/2) and
  σ_τ² = 1 − (1 − b²)·α_τ², a variance-preserving diffusion path;
- :class:`SampledPath`: any user function that samples q_τ(x_τ | x);
- :func:`make_noise_path` and ``GENERATIVE_PATHS``: the path of a ``path`` parameter.

The two Gaussian paths also give the noise posterior E[ε | x_τ] from a field's
velocity, and declare the last τ where it is defined (``conditional_end``: the
VP path's is singular at τ = 1, so its draws end at ``1 − CONDITIONAL_END_MARGIN``).

:class:`NoiseDataSampler` turns data rows into :class:`~sklearn_am._numerics.losses.Batch`
objects: with a path velocity ẋ_τ where the path has one (then the loss is the
path regression of ``_losses.regression_loss``), without where only samples are
known (then the action form). Noise pairs with data independently or by exact OT
within each batch.

:func:`conditional_sample` draws the unknown entries of rows given the known ones
along a Gaussian path (replacement, a churned Euler–Maruyama, Langevin steps and
denoising at the path's conditional end); ``ActionMatchingDensity.sample_conditional``
runs it.
"""

import math

import numpy as np
import torch

from .._numerics.losses import Batch
from .._numerics.solvers import Euler, EulerMaruyama
from .couplings import transport_plan
from .paths import Path, low_discrepancy_uniform

__all__ = [
    "CONDITIONAL_END_MARGIN",
    "GENERATIVE_PATHS",
    "LinearNoisePath",
    "NoiseDataSampler",
    "SampledPath",
    "VPNoisePath",
    "make_noise_path",
]


#: How far before τ = 1 a path whose noise posterior is singular at τ = 1 ends its
#: conditional draws: the VP path's ȧσ − aσ̇ vanishes at τ = 1 (float32 gives ~1e-7
#: there, so E[ε | x_1] comes out ~1e6 too large); at τ = 0.98 it is ≈ 0.49 for the
#: default bandwidth 0.1, and a_τ = 0.9995, so the path has all but reached the data.
CONDITIONAL_END_MARGIN = 0.02


class _GaussianNoisePath(Path):
    """x_τ = a_τ·x + σ_τ·ε: a data row scaled by a_τ plus Gaussian noise of width σ_τ.

    Subclasses give :meth:`coefficients` and :attr:`conditional_end`; from the
    coefficients follow the sample, the path velocity and, from a field's velocity
    at x_τ, the posterior mean of the noise (what the stochastic and conditional
    samplers need).
    """

    @property
    def conditional_end(self):
        """The last τ at which the noise posterior (:meth:`posterior_noise`) is defined
        and well conditioned: conditional draws end, and are denoised, there."""
        raise NotImplementedError

    def coefficients(self, tau):
        """(a_τ, σ_τ, ȧ_τ, σ̇_τ) for ``tau`` of shape (n,) or a scalar tensor."""
        raise NotImplementedError

    def mean(self, eps, x, tau):
        a, sigma, _, _ = self.coefficients(tau)
        return a.unsqueeze(-1) * x + sigma.unsqueeze(-1) * eps

    def velocity(self, eps, x, tau, dt=1.0):
        _, _, da, dsigma = self.coefficients(tau)
        return da.unsqueeze(-1) * x + dsigma.unsqueeze(-1) * eps

    def posterior_noise(self, x_tau, velocity, tau):
        """E[ε | x_τ] from the marginal velocity v̄ = E[ȧx + σ̇ε | x_τ] at x_τ.

        x_τ = a·E[x | x_τ] + σ·E[ε | x_τ] and v̄ = ȧ·E[x | x_τ] + σ̇·E[ε | x_τ] solve
        to E[ε | x_τ] = (ȧ·x_τ − a·v̄)/(ȧσ − aσ̇) wherever ȧσ ≠ aσ̇ (for the linear
        path always: the denominator is 1). So the score is −E[ε | x_τ]/σ_τ.
        """
        a, sigma, da, dsigma = (c.unsqueeze(-1) for c in self.coefficients(tau))
        return (da * x_tau - a * velocity) / (da * sigma - a * dsigma)


class LinearNoisePath(_GaussianNoisePath):
    """x_τ = τ·x + (1 − (1 − b)·τ)·ε: noise ε (the pair's first end) at τ = 0, the
    data row x (its second end) blurred by b at τ = 1.

    The straight line from ε to the blurred point x + b·ε, as :class:`LinearPath`
    is between two snapshot rows; time runs over one unit (Δt is 1).

    Parameters
    ----------
    bandwidth : float
        b ≥ 0, the standard deviation of the Gaussian that smooths the data at
        τ = 1 (in standardised units): the model's density is that of the data
        convolved with N(0, b²I), as a kernel density estimate's is.
    """

    def __init__(self, bandwidth):
        self.bandwidth = float(bandwidth)

    @property
    def conditional_end(self):
        """1: ȧσ − aσ̇ is 1 at every τ, so the posterior is defined at the data end,
        unless b = 0 leaves no noise there (then ``1 − CONDITIONAL_END_MARGIN``)."""
        return 1.0 if self.bandwidth > 0 else 1.0 - CONDITIONAL_END_MARGIN

    def coefficients(self, tau):
        shrink = 1.0 - self.bandwidth
        return tau, 1.0 - shrink * tau, torch.ones_like(tau), torch.full_like(tau, -shrink)


class VPNoisePath(_GaussianNoisePath):
    """x_τ = sin(πτ/2)·x + σ_τ·ε with σ_τ² = 1 − (1 − b²)·sin²(πτ/2) (variance preserving),
    from noise ε (the pair's first end) to the data row x (its second end).

    Parameters
    ----------
    bandwidth : float
        b ≥ 0, the noise left at τ = 1 (standardised units).
    """

    def __init__(self, bandwidth):
        self.bandwidth = float(bandwidth)

    @property
    def conditional_end(self):
        """``1 − CONDITIONAL_END_MARGIN``: at τ = 1 the path stops moving (ȧ = σ̇ = 0), so
        its velocity says nothing of the noise and the posterior is undefined."""
        return 1.0 - CONDITIONAL_END_MARGIN

    def coefficients(self, tau):
        alpha = torch.sin(0.5 * math.pi * tau)
        dalpha = 0.5 * math.pi * torch.cos(0.5 * math.pi * tau)
        sigma = torch.sqrt(1.0 - (1.0 - self.bandwidth**2) * alpha**2)
        dsigma = -(1.0 - self.bandwidth**2) * alpha * dalpha / sigma
        return alpha, sigma, dalpha, dsigma


class SampledPath(Path):
    """A user's sampler of q_τ(x_τ | x): only samples, so the action form trains on it.

    Parameters
    ----------
    function : callable
        ``function(X, t, random_state) -> X_t``: ``X`` of shape (n, d) holds
        standardised data rows, ``t`` of shape (n,) model times in [0, 1],
        ``random_state`` a ``numpy.random.Generator``; it returns one draw of
        q_t(· | x) per row, shape (n, d). At t = 0 it must return N(0, I) draws
        (the prior sampling and densities start from), and at t = 1 draws close
        to the data.
    """

    has_velocity = False

    def __init__(self, function):
        self.function = function

    def velocity(self, eps, x, tau, dt=1.0):
        """None: only samples are known."""
        return None

    def sample_numpy(self, X, t, rng):
        out = np.asarray(self.function(X, t, rng), dtype=np.float64)
        if out.shape != X.shape or not np.all(np.isfinite(out)):
            found = "non-finite values" if out.shape == X.shape else f"shape {out.shape}"
            raise ValueError(
                f"path, a callable, must return finite draws of shape {X.shape} (one per "
                f"row of X); got {found}."
            )
        return out


#: Built-in paths by name.
GENERATIVE_PATHS = {"linear": LinearNoisePath, "vp": VPNoisePath}


def make_noise_path(path, bandwidth):
    """The path object for a ``path`` parameter: a name or a callable sampler."""
    if callable(path):
        return SampledPath(path)
    try:
        return GENERATIVE_PATHS[path](bandwidth)
    except KeyError:
        raise ValueError(
            f"Unknown path {path!r}; choose one of {sorted(GENERATIVE_PATHS)} or pass a "
            "callable path(X, t, random_state)."
        ) from None


class NoiseDataSampler:
    """Batches on a path from N(0, I) (τ = 0) to data rows (τ = 1).

    Parameters
    ----------
    data : Tensor of shape (n, d)
        Standardised data rows, on the training device.
    path : LinearNoisePath, VPNoisePath or SampledPath
    coupling : {"independent", "ot"}
        Noise and data rows of a batch paired at random, or by exact optimal
        transport within the batch (straighter paths; one transport solve per
        step on the host).
    """

    def __init__(self, data, path, coupling):
        self.data = data
        self.path = path
        self.coupling = coupling

    def _noise(self, shape, generator):
        return torch.randn(shape, generator=generator, device=self.data.device,
                           dtype=self.data.dtype)

    def draw(self, batch_size, generator):
        """A :class:`~sklearn_am._numerics.losses.Batch` of ``batch_size`` points of the path."""
        n, d = self.data.shape
        rows = (torch.rand(batch_size, generator=generator, device=self.data.device,
                           dtype=torch.float64) * n).long().clamp_max(n - 1)
        x = self.data[rows]
        eps = self._noise((batch_size, d), generator)
        if self.coupling == "ot":  # an exact plan between equal sizes: a permutation
            partner = transport_plan(eps.cpu().double().numpy(),
                                     x.cpu().double().numpy()).argmax(axis=1)
            x = x[torch.as_tensor(partner, device=x.device)]
        tau = low_discrepancy_uniform(batch_size, generator, self.data.device).to(x.dtype)
        w = torch.full((batch_size,), 1.0 / batch_size, dtype=x.dtype, device=x.device)
        ends = torch.ones_like(tau)
        prior = self._noise((batch_size, d), generator)
        if self.path.has_velocity:
            x_tau = self.path.sample(eps, x, tau, 1.0)
            x_end = self.path.sample(self._noise((batch_size, d), generator), x, ends, 1.0)
            velocity = self.path.velocity(eps, x, tau, 1.0)
        else:  # the user's sampler, on the host, seeded from the batch's generator
            seed = int(torch.randint(2**31 - 1, (1,), generator=generator,
                                     device=self.data.device))
            rng = np.random.default_rng(seed)
            host = x.detach().cpu().double().numpy()
            x_tau = torch.as_tensor(self.path.sample_numpy(host, tau.cpu().double().numpy(), rng),
                                    dtype=x.dtype, device=x.device)
            x_end = torch.as_tensor(self.path.sample_numpy(host, np.ones(batch_size), rng),
                                    dtype=x.dtype, device=x.device)
            velocity = None
        return Batch(prior, torch.zeros_like(tau), w, x_end, ends, w, x_tau, tau, w, velocity)


def conditional_sample(velocity, path, x, known, noise, n_steps, churn=1.0,
                       langevin_steps=0, langevin_size=0.5):
    """Draws of the unknown entries of rows given their known ones, along the learnt path.

    The known entries ride their own path, x_τ = a_τ·x + σ_τ·ε with fresh noise at
    every step (the replacement of diffusion inpainting; RePaint draws them the same
    way), while the unknown ones start from N(0, I) and follow the field. With
    ``churn`` η > 0 the unknown entries move by the stochastic differential equation
    with the same marginals as the field's flow,

        dx = (v̄ + η·σ̇_τ·E[ε | x_τ]) dτ + √(−2η·σ_τ·σ̇_τ) dW,

    whose noise lets them forget a start that disagrees with the known entries (the
    score is −E[ε | x_τ]/σ_τ; η = 0 is the field's ODE). Euler–Maruyama (Euler for
    η = 0, ``_solvers``) over ``n_steps`` equal steps from τ = 0 to the path's
    ``conditional_end`` τ_e (1 where the noise posterior is defined at the data end);
    at τ_e the draw is denoised to E[x | x_τe] = (x_τe − σ·E[ε | x_τe])/a, which
    removes the bandwidth's blur.

    Parameters
    ----------
    velocity : callable
        ``velocity(x, tau) -> (n, d)``, the learnt field ∇s.
    path : LinearNoisePath or VPNoisePath
    x : Tensor of shape (n, d)
        Standardised rows; their unknown entries are ignored.
    known : Tensor of bool, shape (n, d)
    noise : callable
        ``noise(x)`` → standard normals like ``x``, a new draw at every call
        (per-row streams, so a row's draw does not depend on the other rows).
    n_steps : int
    churn : float, default=1.0
    langevin_steps : int, default=0
        Langevin steps at τ_e on the unknown entries (the known ones re-noised at
        every step), with the score −E[ε | x]/σ_τe, before denoising.
    langevin_size : float, default=0.5
        Their step, as a multiple of σ_τe².

    Returns
    -------
    Tensor of shape (n, d)
        ``x`` with its unknown entries drawn.

    Raises
    ------
    FloatingPointError
        If a draw is not finite (a field that diverges on these rows).
    """
    n = len(x)
    taus = torch.linspace(0.0, 1.0, n_steps + 1, dtype=x.dtype, device=x.device)
    if path.conditional_end < 1.0:
        taus = taus * path.conditional_end
    solver = EulerMaruyama() if churn > 0 else Euler()

    def drift(state, tau):
        v = velocity(state, tau)
        if churn > 0:
            _, _, _, dsigma = (c.unsqueeze(-1) for c in path.coefficients(tau))
            v = v + churn * dsigma * path.posterior_noise(state, v, tau)
        return v

    state = noise(x)
    for k in range(n_steps):
        tau = taus[k].expand(n)
        h = (taus[k + 1] - taus[k]).expand(n)
        state = torch.where(known, path.mean(noise(x), x, tau), state)
        dw = None
        if churn > 0:
            _, sigma, _, dsigma = (c.unsqueeze(-1) for c in path.coefficients(tau))
            spread = torch.sqrt(torch.clamp(-2.0 * churn * sigma * dsigma * h[:1], min=0.0))
            dw = spread * noise(x)
        state = solver.step(drift, tau, h, state, dw).x
    end = taus[-1].expand(n)
    a_end, sigma_end, _, _ = (c.unsqueeze(-1) for c in path.coefficients(end))
    delta = langevin_size * sigma_end**2
    for _ in range(langevin_steps):
        state = torch.where(known, path.mean(noise(x), x, end), state)
        score = -path.posterior_noise(state, velocity(state, end), end) / sigma_end
        state = state + delta * score + torch.sqrt(2 * delta) * noise(x)
    eps = path.posterior_noise(state, velocity(state, end), end)
    state = torch.where(known, x, (state - sigma_end * eps) / a_end)
    if not bool(torch.isfinite(state).all()):
        raise FloatingPointError(
            "The conditional draws are not finite: the learnt field diverges on these "
            "rows. Refit the density (more iterations, a smaller learning_rate_init) or "
            "check that the rows are in the units of the training data."
        )
    return state
