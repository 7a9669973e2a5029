"""Tests of sklearn_am.networks: explicit derivatives against torch.func and autograd."""

import pytest
import torch
from numpy.testing import assert_allclose
from torch.func import grad, vmap

from sklearn_am._numerics.losses import Batch, action_loss, am_integrand
from sklearn_am.networks import ACTIVATIONS, MLPPotential, Potential

N_FEATURES = 3


def _random_potential(activation, seed=0, dtype=torch.float64):
    """An MLP with a random (non-zero) output layer, so every derivative is non-trivial."""
    generator = torch.Generator().manual_seed(seed)
    net = MLPPotential(N_FEATURES, (8, 7), activation, generator=generator).to(dtype)
    with torch.no_grad():
        net.out.weight.normal_(generator=generator)
        net.out.bias.normal_(generator=generator)
    return net


class _AutogradMLP(MLPPotential):
    """The same network with the generic double-backward derivatives."""

    derivatives = Potential.derivatives


def _points(n=11, seed=1, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, N_FEATURES, generator=generator, dtype=dtype)
    t = torch.rand(n, generator=generator, dtype=dtype)
    return x, t


def _oracle(net, x, t):
    """Per-sample ∇ₓs and ∂ₜs by torch.func: vmap(grad(s, argnums=(0, 1)))."""

    def s_single(xi, ti):
        return net(xi.unsqueeze(0), ti.unsqueeze(0)).squeeze(0)

    return vmap(grad(s_single, argnums=(0, 1)))(x, t)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_explicit_derivatives_match_torch_func(activation):
    net = _random_potential(activation)
    x, t = _points()
    s, grad_x, dt = net.derivatives(x, t)
    ref_x, ref_t = _oracle(net, x, t)
    assert_allclose(s.detach(), net(x, t).detach(), rtol=1e-12)
    assert_allclose(grad_x.detach(), ref_x.detach(), rtol=1e-10, atol=1e-12)
    assert_allclose(dt.detach(), ref_t.detach(), rtol=1e-10, atol=1e-12)
    # Not a vacuous comparison: the derivatives are far from zero.
    assert grad_x.abs().max() > 1e-2 and dt.abs().max() > 1e-3


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_explicit_derivatives_match_generic_autograd(activation):
    net = _random_potential(activation)
    x, t = _points()
    explicit = net.derivatives(x, t)
    generic = Potential.derivatives(net, x, t)
    for a, b in zip(explicit, generic):
        assert_allclose(a.detach(), b.detach(), rtol=1e-10, atol=1e-12)


def _batch(dtype=torch.float64):
    generator = torch.Generator().manual_seed(3)
    n, m = 13, 9

    def draw(*shape):
        return torch.randn(*shape, generator=generator, dtype=dtype)

    return Batch(
        x_start=draw(m, N_FEATURES), t_start=torch.zeros(m, dtype=dtype),
        w_start=torch.full((m,), 1.0 / m, dtype=dtype),
        x_end=draw(m, N_FEATURES) + 1.0, t_end=torch.ones(m, dtype=dtype),
        w_end=torch.full((m,), 1.0 / m, dtype=dtype),
        x=draw(n, N_FEATURES), t=torch.rand(n, generator=generator, dtype=dtype),
        w=torch.full((n,), 1.0 / n, dtype=dtype),
    )


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_parameter_gradients_explicit_equal_double_backward(activation):
    """Training differentiates the loss w.r.t. the weights: both routes must agree."""
    explicit = _random_potential(activation)
    generic = _AutogradMLP(N_FEATURES, (8, 7), activation).to(torch.float64)
    generic.load_state_dict(explicit.state_dict())
    batch = _batch()
    grads = []
    for net in (explicit, generic):
        net.zero_grad()
        loss = action_loss(net, batch, am_integrand)
        loss.backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    for g_explicit, g_generic in zip(*grads):
        assert_allclose(g_explicit, g_generic, rtol=1e-9, atol=1e-12)
    # The hidden layers get gradient (the loss depends on them through ∇s and ∂ₜs).
    assert grads[0][0].abs().max() > 1e-6


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_zero_output_layer_means_no_motion_at_init(activation):
    net = MLPPotential(N_FEATURES, (16, 16), activation, generator=torch.Generator().manual_seed(0))
    x, t = _points(dtype=torch.float32)
    s, grad_x, dt = net.derivatives(x, t)
    assert torch.count_nonzero(s) == 0
    assert torch.count_nonzero(grad_x) == 0
    assert torch.count_nonzero(dt) == 0
    assert torch.count_nonzero(net.velocity(x, t)) == 0
    # The hidden layers are not zero: only the output layer is.
    assert net.hidden[0].weight.abs().max() > 0


def test_seeded_generator_gives_identical_weights():
    def build(seed):
        return MLPPotential(2, (16, 8), generator=torch.Generator().manual_seed(seed))

    a, b, c = build(5), build(5), build(6)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.hidden[0].weight, c.hidden[0].weight)


@pytest.mark.parametrize("cls", [MLPPotential, _AutogradMLP])
def test_velocity_has_no_graph(cls):
    net = cls(N_FEATURES, (8,), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        net.out.weight.fill_(1.0)
    x, t = _points(dtype=torch.float32)
    v = net.velocity(x, t)
    assert v.shape == x.shape
    assert not v.requires_grad and v.grad_fn is None
    _, grad_x, _ = net.derivatives(x, t)
    assert_allclose(v, grad_x.detach(), rtol=1e-6)
    # Inference-time derivatives carry no graph either.
    for out in net.derivatives(x, t, create_graph=False)[:2]:
        assert out.grad_fn is None


def test_invalid_activation_raises_naming_it():
    with pytest.raises(ValueError, match="relu"):
        MLPPotential(2, (4,), activation="relu")


def test_generic_potential_that_ignores_time():
    """A user potential may ignore t: ∂ₜs is then zero, not an autograd error."""

    class Quadratic(Potential):
        def forward(self, x, t):
            return 0.5 * x.square().sum(dim=-1)

    x, t = _points()
    s, grad_x, dt = Quadratic().derivatives(x, t)
    assert_allclose(grad_x.detach(), x)
    assert_allclose(dt.detach(), torch.zeros_like(t))
    assert_allclose(s.detach(), 0.5 * (x**2).sum(1))
