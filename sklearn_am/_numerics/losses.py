"""The Action Matching objectives, as pure functions of a potential and a batch.

All three objectives share one shape (Neklyudov et al., 2023, eqs. 8, 14, 17):

    L(s) = E_{q_t0}[s(x, t0)] − E_{q_t1}[s(x, t1)] + ∫ E_{q_t}[ integrand ] dt

and differ only in the integrand:

    AM  (continuity equation)     ½‖∇ₓs‖² + ∂ₜs
    eAM (Fokker–Planck, noise σ)  ½‖∇ₓs‖² + ∂ₜs + (σ_t²/2)·Δₓs
    uAM (growth g = λ·s)          ½‖∇ₓs‖² + ∂ₜs + (λ/2)·s²

For uAM the expectations are taken against unnormalised measures (mass), which
the batch carries in its weights. Nothing here sees an estimator.
"""

from typing import NamedTuple, Optional

import torch

__all__ = [
    "LAPLACIANS",
    "laplacian_probes",
    "resolve_laplacian",
    "Batch",
    "action_loss",
    "am_integrand",
    "eam_integrand",
    "get_laplacian",
    "laplacian_exact",
    "laplacian_hutchinson",
    "regression_loss",
    "uam_integrand",
    "uam_regression_loss",
]


class Batch(NamedTuple):
    """One Monte Carlo estimate's worth of points, in the model's units.

    The boundary terms use ``x_start`` at ``t_start`` and ``x_end`` at ``t_end``;
    the time integral uses points ``x`` at times ``t`` with quadrature weights
    ``w`` (so that ``sum(w * f(x, t))`` estimates ∫ E_{q_t}[f] dt).
    """

    x_start: torch.Tensor  # (m0, d)
    t_start: torch.Tensor  # (m0,)
    w_start: torch.Tensor  # (m0,)  sums to the mass at t_start (1 when balanced)
    x_end: torch.Tensor  # (m1, d)
    t_end: torch.Tensor  # (m1,)
    w_end: torch.Tensor  # (m1,)
    x: torch.Tensor  # (n, d)
    t: torch.Tensor  # (n,)
    w: torch.Tensor  # (n,)
    v: Optional[torch.Tensor] = None  # (n, d) path velocity ẋ at x; None off paths
    g: Optional[torch.Tensor] = None  # (n,) growth rate d log w/dt along the path; None if none


def am_integrand(potential, x, t):
    """½‖∇ₓs‖² + ∂ₜs: the integrand of plain Action Matching."""
    _, grad_x, dt = potential.derivatives(x, t)
    return 0.5 * grad_x.square().sum(dim=-1) + dt


def laplacian_exact(grad_x, x, generator=None):
    """Δₓs as the trace of the Hessian, one backward pass per dimension.

    Parameters
    ----------
    grad_x : Tensor of shape (n, d)
        ∇ₓs, computed from ``x`` with a graph.
    x : Tensor of shape (n, d)
        The points, with ``requires_grad=True``.
    generator : ignored
        Present so that both Laplacians share one signature.
    """
    trace = torch.zeros_like(grad_x[:, 0])
    for i in range(grad_x.shape[1]):
        (row,) = torch.autograd.grad(grad_x[:, i].sum(), x, create_graph=True)
        trace = trace + row[:, i]
    return trace


def laplacian_probes(grad_x, x, probes, create_graph=True):
    """Hutchinson's estimate of Δₓs with given probes: the mean of εₖᵀ(∇²s)εₖ.

    ``grad_x`` and ``x`` as for :func:`laplacian_exact`; ``probes`` of shape
    (n, k, d) holds k probes per point (Rademacher: unbiased); ``create_graph``
    keeps the graph for training (False at inference).
    """
    total = 0.0
    for k in range(probes.shape[1]):
        (hvp,) = torch.autograd.grad((grad_x * probes[:, k]).sum(), x,
                                     create_graph=create_graph, retain_graph=True)
        total = total + (hvp * probes[:, k]).sum(dim=-1)
    return total / probes.shape[1]


def laplacian_hutchinson(grad_x, x, generator=None):
    """Unbiased estimate εᵀ(∇²s)ε of Δₓs with one Rademacher probe ε per point.

    The authors' choice: one Hessian-vector product, ∇ₓ⟨∇ₓs, ε⟩, per batch.
    """
    probe = torch.randint(
        0, 2, grad_x.shape, generator=generator, device=grad_x.device
    ).to(grad_x.dtype)
    probe = 2.0 * probe - 1.0
    return laplacian_probes(grad_x, x, probe.unsqueeze(1))


#: Name → Laplacian estimator; both share the signature ``(grad_x, x, generator)``.
LAPLACIANS = {"exact": laplacian_exact, "hutchinson": laplacian_hutchinson}
#: ``laplacian="auto"`` takes the exact Hessian trace up to this many features and
#: Hutchinson's estimate above. Training (eAM) differentiates the trace once more
#: every step, so it switches earlier than inference (``score_samples``), which
#: takes one backward pass per feature and none after it.
EXACT_LAPLACIAN_MAX_FEATURES_TRAINING = 10
EXACT_LAPLACIAN_MAX_FEATURES_INFERENCE = 16


def resolve_laplacian(laplacian, n_features, max_exact):
    """``laplacian`` with ``"auto"`` resolved: exact up to ``max_exact`` features."""
    if laplacian != "auto":
        return laplacian
    return "exact" if n_features <= max_exact else "hutchinson"


def get_laplacian(name):
    """The Laplacian estimator registered as ``name``; unknown names raise ``ValueError``."""
    try:
        return LAPLACIANS[name]
    except KeyError:
        raise ValueError(
            f"Unknown laplacian {name!r}; choose one of {sorted(LAPLACIANS)}."
        ) from None


def eam_integrand(potential, x, t, *, sigma_t, laplacian="hutchinson", generator=None):
    """½‖∇ₓs‖² + ∂ₜs + (σ_t²/2)·Δₓs: the integrand of entropic Action Matching.

    ``sigma_t`` is a tensor of shape (n,) (σ at each point's time) or a float;
    ``laplacian`` a name in :data:`LAPLACIANS`.
    """
    laplacian_fn = get_laplacian(laplacian)
    x = x.detach().requires_grad_(True)
    _, grad_x, dt = potential.derivatives(x, t)
    lap = laplacian_fn(grad_x, x, generator=generator)
    return 0.5 * grad_x.square().sum(dim=-1) + dt + 0.5 * sigma_t**2 * lap


def uam_integrand(potential, x, t, *, growth_scale):
    """½‖∇ₓs‖² + ∂ₜs + (λ/2)·s²: the integrand of unbalanced Action Matching.

    The growth rate is g = λ·s, so mass grows where s > 0 and shrinks where s < 0.
    """
    s, grad_x, dt = potential.derivatives(x, t)
    return 0.5 * grad_x.square().sum(dim=-1) + dt + 0.5 * growth_scale * s.square()


def action_loss(potential, batch, integrand=am_integrand, **integrand_kwargs):
    """L(s) = E_{q_t0}[s(x, t0)] − E_{q_t1}[s(x, t1)] + ∫ E_{q_t}[integrand] dt.

    Parameters
    ----------
    potential : Potential
        The network s(x, t).
    batch : Batch
        Boundary samples and weighted interior samples.
    integrand : callable, default=am_integrand
        One of :func:`am_integrand`, :func:`eam_integrand`, :func:`uam_integrand`.
    **integrand_kwargs
        Passed to ``integrand`` (``sigma_t``, ``laplacian``, ``growth_scale``...).

    Returns
    -------
    loss : Tensor of shape ()
        Unbounded below; equals the action gap minus a constant.
    """
    boundary = (batch.w_start * potential(batch.x_start, batch.t_start)).sum() - (
        batch.w_end * potential(batch.x_end, batch.t_end)
    ).sum()
    interior = (batch.w * integrand(potential, batch.x, batch.t, **integrand_kwargs)).sum()
    return boundary + interior


def uam_regression_loss(potential, batch, *, growth_scale):
    """½ ∫ E_w[‖∇ₓs − ẋ‖² + (λs − γ)²/λ] dt: the uAM objective along weighted paths.

    Along paths x_t whose mass w_t changes at rate γ = d log w/dt (``batch.g``),
    d/dt[w·s(x_t, t)] = w·(∂ₜs + ⟨∇ₓs, ẋ⟩ + γ·s); telescoping the boundary terms
    turns :func:`action_loss` with :func:`uam_integrand` into a regression of ∇ₓs
    onto ẋ and of the growth rate λ·s onto γ, weighted by the mass along the paths
    (the same minimiser, up to a constant, with lower variance).
    """
    s, grad_x, _ = potential.derivatives(batch.x, batch.t)
    motion = 0.5 * (grad_x - batch.v).square().sum(dim=-1)
    growth = 0.5 * (growth_scale * s - batch.g).square() / growth_scale
    return (batch.w * (motion + growth)).sum()


def regression_loss(potential, batch):
    """½ ∫ E‖∇ₓs(x_t, t) − ẋ_t‖² dt: the AM objective along paths, up to a constant.

    Along interpolation paths x_t between paired snapshot points, with path
    velocity ẋ_t (``batch.v``), d/dt s(x_t, t) = ∂ₜs + ⟨∇ₓs, ẋ_t⟩; telescoping the
    boundary terms over the intervals turns :func:`action_loss` with
    :func:`am_integrand` into this regression of ∇ₓs onto ẋ_t (the identity is
    checked to 1e-8 in ``tests/test_losses.py``): the same objective and minimiser
    for the same coupling, with lower variance and no ∂ₜs or boundary evaluations
    (``benchmarks/results/ablation.md``: mouse, mean W1 0.076 against 0.143 with
    the action form). Paths only: ``batch.v`` must be set.
    """
    _, grad_x, _ = potential.derivatives(batch.x, batch.t)
    return (batch.w * 0.5 * (grad_x - batch.v).square().sum(dim=-1)).sum()
