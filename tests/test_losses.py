"""Tests of sklearn_am._numerics.losses: batched objectives vs slow per-sample references."""

import math

import pytest
import torch
from numpy.testing import assert_allclose
from torch.func import grad, hessian

from sklearn_am._numerics.losses import (
    Batch,
    action_loss,
    am_integrand,
    eam_integrand,
    laplacian_exact,
    laplacian_hutchinson,
    uam_integrand,
)
from sklearn_am.networks import MLPPotential, Potential

D = 3

# torch.func.hessian goes through torch.jit internally in this torch version.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


def _net(seed=0):
    generator = torch.Generator().manual_seed(seed)
    net = MLPPotential(D, (8, 8), "tanh", generator=generator).to(torch.float64)
    with torch.no_grad():
        net.out.weight.normal_(generator=generator)
        net.out.bias.normal_(generator=generator)
    return net


def _batch(seed=0, n=10, m=7):
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64)

    def rand(*shape):
        return torch.rand(*shape, generator=generator, dtype=torch.float64)

    return Batch(
        x_start=randn(m, D), t_start=torch.zeros(m, dtype=torch.float64), w_start=rand(m),
        x_end=randn(m, D), t_end=torch.ones(m, dtype=torch.float64), w_end=rand(m),
        x=randn(n, D), t=rand(n), w=rand(n),
    )


def _s_single(net):
    def s(xi, ti):
        return net(xi.unsqueeze(0), ti.unsqueeze(0)).squeeze(0)

    return s


def _slow_loss(net, batch, extra):
    """Σ w₀ s(x₀) − Σ w₁ s(x₁) + Σ w·(½‖∇s‖² + ∂ₜs + extra), one sample at a time.

    ``extra(i, s, hess)`` gets the sample's index, its s and a callable for ∇²ₓs.
    """
    s = _s_single(net)
    total = torch.zeros((), dtype=torch.float64)
    for xi, ti, wi in zip(batch.x_start, batch.t_start, batch.w_start):
        total = total + wi * s(xi, ti)
    for xi, ti, wi in zip(batch.x_end, batch.t_end, batch.w_end):
        total = total - wi * s(xi, ti)
    for i, (xi, ti, wi) in enumerate(zip(batch.x, batch.t, batch.w)):
        gx, gt = grad(s, argnums=(0, 1))(xi, ti)
        value = 0.5 * gx.square().sum() + gt + extra(i, s(xi, ti), lambda: hessian(s)(xi, ti))
        total = total + wi * value
    return total


def test_am_loss_matches_per_sample_reference():
    net, batch = _net(), _batch()
    fast = action_loss(net, batch, am_integrand)
    slow = _slow_loss(net, batch, lambda i, s, hess: 0.0)
    assert_allclose(fast.item(), slow.item(), rtol=1e-10)


@pytest.mark.parametrize("sigma_is_tensor", [False, True])
def test_eam_loss_exact_laplacian_matches_per_sample_reference(sigma_is_tensor):
    net, batch = _net(), _batch()
    sigma = torch.linspace(0.2, 0.9, len(batch.t), dtype=torch.float64) if sigma_is_tensor \
        else 0.7
    fast = action_loss(net, batch, eam_integrand, sigma_t=sigma, laplacian="exact")

    def extra(i, s, hess):
        sigma_i = sigma[i] if sigma_is_tensor else sigma
        return 0.5 * sigma_i**2 * torch.trace(hess())

    slow = _slow_loss(net, batch, extra)
    assert_allclose(fast.item(), slow.item(), rtol=1e-10)


def test_eam_loss_hutchinson_matches_reference_with_same_probes():
    net, batch = _net(), _batch()
    sigma = 0.5
    fast = action_loss(net, batch, eam_integrand, sigma_t=sigma, laplacian="hutchinson",
                       generator=torch.Generator().manual_seed(4))
    # The same Rademacher probes, redrawn from the same seed.
    probes = 2.0 * torch.randint(0, 2, batch.x.shape,
                                 generator=torch.Generator().manual_seed(4)).double() - 1.0

    def extra(i, s, hess):
        return 0.5 * sigma**2 * probes[i] @ hess() @ probes[i]

    slow = _slow_loss(net, batch, extra)
    assert_allclose(fast.item(), slow.item(), rtol=1e-10)


def test_uam_loss_matches_per_sample_reference():
    net, batch = _net(), _batch()
    fast = action_loss(net, batch, uam_integrand, growth_scale=0.3)
    slow = _slow_loss(net, batch, lambda i, s, hess: 0.5 * 0.3 * s**2)
    assert_allclose(fast.item(), slow.item(), rtol=1e-10)


def test_laplacian_exact_is_trace_of_hessian():
    net = _net(1)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(6, D, generator=generator, dtype=torch.float64).requires_grad_(True)
    t = torch.rand(6, generator=generator, dtype=torch.float64)
    _, grad_x, _ = net.derivatives(x, t)
    lap = laplacian_exact(grad_x, x)
    s = _s_single(net)
    expected = torch.stack([torch.trace(hessian(s)(xi, ti)) for xi, ti in zip(x, t)])
    assert_allclose(lap.detach(), expected.detach(), rtol=1e-10, atol=1e-12)


class _DiagonalQuadratic(Potential):
    """s(x, t) = ½(1 + t)·Σ aᵢxᵢ²: Hessian diag((1 + t)a), Laplacian (1 + t)·Σ aᵢ."""

    def __init__(self, a):
        super().__init__()
        self.a = torch.as_tensor(a, dtype=torch.float64)

    def forward(self, x, t):
        return 0.5 * (1.0 + t) * (self.a * x.square()).sum(dim=-1)


@pytest.mark.parametrize("laplacian", [laplacian_exact, laplacian_hutchinson])
def test_laplacians_exact_on_diagonal_hessian(laplacian):
    """εᵀHε = Σ Hᵢᵢ εᵢ² = tr H for a Rademacher ε when H is diagonal."""
    a = [0.5, -2.0, 3.0]
    potential = _DiagonalQuadratic(a)
    x = torch.randn(20, 3, dtype=torch.float64).requires_grad_(True)
    t = torch.rand(20, dtype=torch.float64)
    _, grad_x, _ = potential.derivatives(x, t)
    lap = laplacian(grad_x, x, generator=torch.Generator().manual_seed(0))
    assert_allclose(lap.detach(), (1.0 + t) * sum(a), rtol=1e-12)


def test_laplacians_share_a_signature():
    net = _net(2)
    x = torch.randn(4, D, dtype=torch.float64).requires_grad_(True)
    _, grad_x, _ = net.derivatives(x, torch.rand(4, dtype=torch.float64))
    generator = torch.Generator().manual_seed(0)
    for fn in (laplacian_exact, laplacian_hutchinson):
        assert fn(grad_x, x, generator=generator).shape == (4,)


def test_laplacian_hutchinson_is_unbiased():
    """Mean of εᵀ(∇²s)ε over many probes → tr ∇²s, within its Monte Carlo error."""
    net = _net(3)
    n_points, n_probes = 4, 3000
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randn(n_points, D, generator=generator, dtype=torch.float64)
    t0 = torch.rand(n_points, generator=generator, dtype=torch.float64)
    x = x0.repeat(n_probes, 1).requires_grad_(True)
    t = t0.repeat(n_probes)
    _, grad_x, _ = net.derivatives(x, t)
    estimates = laplacian_hutchinson(grad_x, x, generator=generator).detach()
    estimates = estimates.reshape(n_probes, n_points)
    exact = laplacian_exact(grad_x, x).detach()[:n_points]
    mean, std = estimates.mean(0), estimates.std(0)
    assert torch.all(std > 1e-6)  # the MLP Hessian is not diagonal: single probes vary
    assert torch.all((mean - exact).abs() < 5.0 * std / math.sqrt(n_probes))
    assert_allclose(mean, exact, rtol=0.05, atol=0.05 * exact.abs().max().item())


class _Linear(Potential):
    """s(x, t) = β·c·x."""

    def __init__(self, c):
        super().__init__()
        self.c = torch.as_tensor(c, dtype=torch.float64)

    def forward(self, x, t):
        return x @ self.c + 0.0 * t


class _Radial(Potential):
    """s(x, t) = ½a‖x‖²."""

    def __init__(self, a):
        super().__init__()
        self.a = a

    def forward(self, x, t):
        return 0.5 * self.a * x.square().sum(dim=-1)


def _translating_gaussian_batch(m0, c, n, seed=0):
    """q_t = N(m0 + c·t, I) on [0, 1]: boundary samples and stratified interior times."""
    generator = torch.Generator().manual_seed(seed)
    d = len(m0)

    def normal(mean, k):
        return mean + torch.randn(k, d, generator=generator, dtype=torch.float64)

    t = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    mean_t = m0 + t.unsqueeze(-1) * c
    w = torch.full((n,), 1.0 / n, dtype=torch.float64)
    return Batch(
        x_start=normal(m0, n), t_start=torch.zeros(n, dtype=torch.float64), w_start=w,
        x_end=normal(m0 + c, n), t_end=torch.ones(n, dtype=torch.float64), w_end=w,
        x=normal(mean_t, n), t=t, w=w,
    )


def test_am_loss_quadratic_potential_closed_form():
    """s = ½a‖x‖², q_t = N(m0 + ct, I) in d dims:

    L = ½a(‖m0‖² + d) − ½a(‖m0 + c‖² + d) + ½a²(‖m0‖² + m0·c + ‖c‖²/3 + d).
    """
    m0 = torch.tensor([1.0, -0.5], dtype=torch.float64)
    c = torch.tensor([0.5, 1.0], dtype=torch.float64)
    a, d = 0.7, 2
    closed = (0.5 * a * (m0 @ m0 + d) - 0.5 * a * ((m0 + c) @ (m0 + c) + d)
              + 0.5 * a**2 * (m0 @ m0 + m0 @ c + c @ c / 3 + d)).item()
    batch = _translating_gaussian_batch(m0, c, n=200_000)
    estimate = action_loss(_Radial(a), batch, am_integrand).item()
    assert abs(closed) > 0.1
    assert_allclose(estimate, closed, rtol=0.03)


def test_true_potential_has_lowest_loss():
    """For q_t = N(m0 + ct, I), s* = c·x; L(β c·x) = ‖c‖²(½β² − β), least at β = 1."""
    m0 = torch.tensor([0.3, -1.0], dtype=torch.float64)
    c = torch.tensor([1.5, 0.5], dtype=torch.float64)
    batch = _translating_gaussian_batch(m0, c, n=20_000, seed=1)
    losses = {beta: action_loss(_Linear(beta * c), batch, am_integrand).item()
              for beta in (0.5, 1.0, 1.5)}
    assert losses[1.0] < losses[0.5] and losses[1.0] < losses[1.5]
    for beta, value in losses.items():
        assert_allclose(value, (c @ c).item() * (0.5 * beta**2 - beta), atol=0.05)


def test_regression_form_equals_action_form_up_to_a_constant():
    """Along straight paths between pairs (a, b), for ANY potential,

        E[s(a, 0)] − E[s(b, 1)] + ∫ E[½‖∇s‖² + ∂ₜs] dt = ½ ∫ E‖∇s − ẋ‖² dt − ½ ∫ E‖ẋ‖² dt

    (the path-regression form, :func:`sklearn_am._numerics.losses.regression_loss`). Checked
    with Gauss–Legendre nodes in time, so the two sides agree
    to quadrature accuracy for several random networks.
    """
    from numpy.polynomial.legendre import leggauss

    from sklearn_am._numerics.losses import regression_loss

    gen = torch.Generator().manual_seed(0)
    n_pairs, d = 40, 2
    a = torch.randn(n_pairs, d, generator=gen, dtype=torch.float64)
    b = a + torch.tensor([1.5, -0.5], dtype=torch.float64) + 0.3 * torch.randn(
        n_pairs, d, generator=gen, dtype=torch.float64)
    nodes, weights = leggauss(32)
    lam = torch.as_tensor((nodes + 1) / 2)
    w_lam = torch.as_tensor(weights / 2)
    x = (a[None] + lam[:, None, None] * (b - a)[None]).reshape(-1, d)
    t = lam.repeat_interleave(n_pairs)
    w = (w_lam[:, None] / n_pairs).expand(-1, n_pairs).reshape(-1)
    v = (b - a).repeat(len(lam), 1)
    ends = torch.full((n_pairs,), 1.0 / n_pairs, dtype=torch.float64)
    batch = Batch(a, torch.zeros(n_pairs, dtype=torch.float64), ends,
                  b, torch.ones(n_pairs, dtype=torch.float64), ends, x, t, w, v)
    constant = 0.5 * (w * v.square().sum(dim=1)).sum().item()
    for seed in range(3):
        torch.manual_seed(seed)
        net = MLPPotential(d, (16, 16)).double()
        for p in net.parameters():
            torch.nn.init.normal_(p, std=0.5)
        action = action_loss(net, batch, am_integrand).item()
        regression = regression_loss(net, batch).item()
        assert_allclose(action, regression - constant, rtol=1e-8, atol=1e-8)
