"""Paths from a Gaussian prior to the data, and the batches that train a density model.

Generative Action Matching (Neklyudov et al., 2023, §5) builds a path of
distributions q_τ from the prior q_0 = N(0, I) to the (slightly smoothed) data
q_1 by sampling a conditional q_τ(x_τ | x) for data rows x, and learns the
gradient field ∇s that moves q_τ along it. Model time τ runs from the prior
(τ = 0) to the data (τ = 1); the data are standardised first.

- :class:`LinearNoisePath`: x_τ = τ·x + (1 − (1 − b)τ)·ε, the straight line from
  noise ε to the data smoothed by a Gaussian of width b (``bandwidth``);
- :class:`VPNoisePath`: x_τ = α_τ·x + σ_τ·ε with α_τ = sin(πτ/2) and
  σ_τ² = 1 − (1 − b²)·α_τ², a variance-preserving diffusion path;
- :class:`SampledPath`: any user function that samples q_τ(x_τ | x).

:class:`NoiseDataSampler` turns data rows into :class:`~sklearn_am._losses.Batch`
objects: with a path velocity ẋ_τ where the path has one (then the loss is the
path regression of ``_losses.regression_loss``), without where only samples are
known (then the action form). Noise pairs with data independently or by exact OT
within each batch.
"""

import math

import numpy as np
import torch

from ._couplings import plan
from ._losses import Batch
from ._paths import Path, low_discrepancy_uniform

__all__ = [
    "GENERATIVE_PATHS",
    "LinearNoisePath",
    "NoiseDataSampler",
    "SampledPath",
    "VPNoisePath",
    "make_noise_path",
]


class LinearNoisePath(Path):
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

    def mean(self, eps, x, tau):
        tau = tau.unsqueeze(-1)
        return tau * x + (1.0 - (1.0 - self.bandwidth) * tau) * eps

    def velocity(self, eps, x, tau, dt=1.0):
        return x - (1.0 - self.bandwidth) * eps


class VPNoisePath(Path):
    """x_τ = sin(πτ/2)·x + σ_τ·ε with σ_τ² = 1 − (1 − b²)·sin²(πτ/2) (variance preserving),
    from noise ε (the pair's first end) to the data row x (its second end).

    Parameters
    ----------
    bandwidth : float
        b ≥ 0, the noise left at τ = 1 (standardised units).
    """

    def __init__(self, bandwidth):
        self.bandwidth = float(bandwidth)

    def _alpha(self, tau):
        return torch.sin(0.5 * math.pi * tau), 0.5 * math.pi * torch.cos(0.5 * math.pi * tau)

    def mean(self, eps, x, tau):
        alpha, _ = self._alpha(tau)
        sigma = torch.sqrt(1.0 - (1.0 - self.bandwidth**2) * alpha**2)
        return alpha.unsqueeze(-1) * x + sigma.unsqueeze(-1) * eps

    def velocity(self, eps, x, tau, dt=1.0):
        alpha, dalpha = self._alpha(tau)
        sigma = torch.sqrt(1.0 - (1.0 - self.bandwidth**2) * alpha**2)
        dsigma = -(1.0 - self.bandwidth**2) * alpha * dalpha / sigma
        return dalpha.unsqueeze(-1) * x + dsigma.unsqueeze(-1) * eps


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
        """A :class:`~sklearn_am._losses.Batch` of ``batch_size`` points of the path."""
        n, d = self.data.shape
        rows = (torch.rand(batch_size, generator=generator, device=self.data.device,
                           dtype=torch.float64) * n).long().clamp_max(n - 1)
        x = self.data[rows]
        eps = self._noise((batch_size, d), generator)
        if self.coupling == "ot":  # an exact plan between equal sizes: a permutation
            partner = plan(eps.cpu().double().numpy(), x.cpu().double().numpy()).argmax(axis=1)
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
