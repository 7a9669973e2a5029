"""Scalar potentials s(x, t) and their derivatives.

Every potential is a :class:`torch.nn.Module` with one small interface:

- ``forward(x, t)`` returns s(x, t), shape ``(n,)``, for ``x`` of shape ``(n, d)``
  and ``t`` of shape ``(n,)``;
- ``derivatives(x, t, create_graph=True)`` returns ``(s, grad_x, dt)``: s, ∇ₓs of
  shape ``(n, d)`` and ∂ₜs of shape ``(n,)``;
- ``velocity(x, t)`` returns ∇ₓs without a graph, for integrating the ODE.

:class:`Potential` implements ``derivatives`` with one
``torch.autograd.grad(s.sum(), (x, t), create_graph=True)`` (the authors' way), so a
new network only writes ``forward``. :class:`MLPPotential` overrides it with explicit
derivatives: ∇ₓs and ∂ₜs written as ordinary forward computations (manual
back-propagation through the layers). The training loss is then first-order in
autograd's eyes, which is faster and needs no autograd at inference; the test suite
checks both against :func:`torch.func.grad`.

Your own network plugs in through the estimators' ``potential`` parameter: any
module with ``forward(x, t) -> (n,)`` (derivatives by autograd, see
:class:`AutogradPotential`), or a :class:`Potential` subclass with faster exact
``derivatives``. :class:`ResidualMLPPotential` and :class:`ICNNPotential` (convex
in x) are worked examples.

No training code lives here.
"""

import math

import torch
from torch import nn

from .utils._docstring import doc_filler

__all__ = [
    "ACTIVATIONS",
    "AutogradPotential",
    "ICNNPotential",
    "MLPPotential",
    "Potential",
    "ResidualMLPPotential",
    "as_potential",
]

_fill_docs = doc_filler({
    "x_t": """\
x : Tensor of shape (n, d)
    Points.
t : Tensor of shape (n,)
    One time per point.""",
    "forward": """\
Parameters
----------
{{x_t}}

Returns
-------
s : Tensor of shape (n,)""",
    "derivatives": """\
Parameters
----------
{{x_t}}
create_graph : bool, default=True
    Keep the graph so that the result can be differentiated again
    (training, Laplacians). ``False`` for inference.

Returns
-------
s : Tensor of shape (n,)
grad_x : Tensor of shape (n, d)
dt : Tensor of shape (n,)""",
})


def _silu_prime(z):
    sig = torch.sigmoid(z)
    return sig * (1.0 + z * (1.0 - sig))


def _tanh_prime(z):
    return 1.0 - torch.tanh(z).square()


#: Smooth activations with their derivatives. ReLU is left out on purpose: its
#: gradient is piecewise constant, so ∇s is discontinuous and ∂ₜs vanishes almost
#: everywhere, which fits the action badly.
ACTIVATIONS = {
    "silu": (nn.functional.silu, _silu_prime),
    "tanh": (torch.tanh, _tanh_prime),
    "softplus": (nn.functional.softplus, torch.sigmoid),
}


@_fill_docs
class Potential(nn.Module):
    """Base class of scalar potentials s(x, t) with autograd derivatives.

    Subclasses implement ``forward(x, t) -> s``; they may override
    :meth:`derivatives` with a faster exact implementation.
    """

    def derivatives(self, x, t, create_graph=True):
        """Return s, ∇ₓs and ∂ₜs at ``(x, t)``.

        {{derivatives}}
        """
        with torch.enable_grad():
            if not x.requires_grad:
                x = x.detach().requires_grad_(True)
            if not t.requires_grad:
                t = t.detach().requires_grad_(True)
            s = self(x, t)
            # materialize_grads: a potential that ignores t (or x) has zero derivative.
            grad_x, dt = torch.autograd.grad(
                s.sum(), (x, t), create_graph=create_graph, materialize_grads=True
            )
        if not create_graph:
            s = s.detach()
        return s, grad_x, dt

    def velocity(self, x, t):
        """∇ₓs(x, t) with no graph kept, for ODE integration.

        Parameters
        ----------
        {{x_t}}

        Returns
        -------
        grad_x : Tensor of shape (n, d)
        """
        return self.derivatives(x, t, create_graph=False)[1]


@_fill_docs
class MLPPotential(Potential):
    """A multi-layer perceptron s(x, t) on the concatenated input ``[x, t]``.

    Parameters
    ----------
    n_features : int
        Dimension d of x.
    hidden_layer_sizes : tuple of int, default=(256, 256, 256)
        Width of each hidden layer.
    activation : {"silu", "tanh", "softplus"}, default="silu"
        Smooth activation of the hidden layers.
    generator : torch.Generator, default=None
        Random generator for the initial weights, for reproducible fits.

    Notes
    -----
    The output layer starts at zero, so ∇s = 0 and the initial flow does not move
    points; hidden layers use PyTorch's default (Kaiming-uniform) initialisation
    drawn from ``generator``.
    """

    def __init__(
        self,
        n_features,
        hidden_layer_sizes=(256, 256, 256),
        activation="silu",
        generator=None,
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation={activation!r} is not one of {sorted(ACTIVATIONS)}."
            )
        self.n_features = int(n_features)
        self.activation = activation
        sizes = [self.n_features + 1, *map(int, hidden_layer_sizes)]
        self.hidden = nn.ModuleList(
            nn.Linear(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:])
        )
        self.out = nn.Linear(sizes[-1], 1)
        self.reset_parameters(generator)

    @torch.no_grad()
    def reset_parameters(self, generator=None):
        """Draw the hidden weights from ``generator``; zero the output layer.

        Parameters
        ----------
        generator : torch.Generator, default=None
            Source of the random hidden weights (PyTorch's default when None).
        """
        for layer in self.hidden:
            bound = 1.0 / math.sqrt(layer.in_features)
            # Kaiming-uniform with a = sqrt(5), as nn.Linear does, but seeded.
            layer.weight.uniform_(-bound, bound, generator=generator)
            layer.bias.uniform_(-bound, bound, generator=generator)
        self.out.weight.zero_()
        self.out.bias.zero_()

    def _hidden_pre_activations(self, x, t):
        """Forward pass keeping every pre-activation z_l (for the derivatives)."""
        act, _ = ACTIVATIONS[self.activation]
        h = torch.cat([x, t.unsqueeze(-1)], dim=-1)
        pre_activations = []
        for layer in self.hidden:
            z = layer(h)
            pre_activations.append(z)
            h = act(z)
        return h, pre_activations

    def forward(self, x, t):
        """s(x, t).

        {{forward}}
        """
        h, _ = self._hidden_pre_activations(x, t)
        return self.out(h).squeeze(-1)

    def derivatives(self, x, t, create_graph=True):
        """Return s, ∇ₓs and ∂ₜs by explicit back-propagation through the layers.

        {{derivatives}}

        Notes
        -----
        With ``g_L = w_out`` and ``g_{l-1} = (g_l ⊙ σ'(z_l)) W_l``, the input
        gradient is ``g_0 = [∇ₓs, ∂ₜs]``. Written as forward operations, so
        autograd differentiates it once more for training (no double backward).
        """
        with torch.set_grad_enabled(create_graph and torch.is_grad_enabled()):
            _, act_prime = ACTIVATIONS[self.activation]
            h, pre_activations = self._hidden_pre_activations(x, t)
            s = self.out(h).squeeze(-1)
            g = self.out.weight.expand(x.shape[0], -1)
            for layer, z in zip(reversed(self.hidden), reversed(pre_activations)):
                g = (g * act_prime(z)) @ layer.weight
            return s, g[:, : self.n_features], g[:, self.n_features]


@_fill_docs
class AutogradPotential(Potential):
    """Any module with ``forward(x, t) -> s`` as a :class:`Potential` (autograd derivatives).

    Parameters
    ----------
    module : torch.nn.Module
        A network whose ``forward(x, t)`` returns s(x, t), shape (n,), for x of
        shape (n, d) and t of shape (n,).
    """

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x, t):
        """s(x, t) from the wrapped module.

        {{forward}}
        """
        return self.module(x, t)


@_fill_docs
class ResidualMLPPotential(Potential):
    """A residual MLP s(x, t): blocks h ← h + W₂·σ(W₁·σ(h)) on an embedding of [x, t].

    Deeper than :class:`MLPPotential` at the same cost per layer, and easy to
    train deep. Derivatives by autograd. An example of a custom potential:
    pass the class as ``potential=ResidualMLPPotential`` to an estimator, with
    ``potential__width=...`` and ``potential__n_blocks=...``.

    Parameters
    ----------
    n_features : int
        Dimension d of x (an estimator passes it for you).
    width : int, default=128
        Width of the residual stream.
    n_blocks : int, default=3
        Number of residual blocks.
    activation : {"silu", "tanh", "softplus"}, default="silu"
        Smooth activation.
    """

    def __init__(self, n_features, width=128, n_blocks=3, activation="silu"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r} is not one of {sorted(ACTIVATIONS)}.")
        self.activation = activation
        self.embed = nn.Linear(int(n_features) + 1, int(width))
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(width, width), nn.Linear(width, width))
            for _ in range(int(n_blocks))
        )
        self.out = nn.Linear(int(width), 1)
        nn.init.zeros_(self.out.weight)  # ∇s = 0 at the start: nothing moves before fit
        nn.init.zeros_(self.out.bias)

    def forward(self, x, t):
        """s(x, t).

        {{forward}}
        """
        act, _ = ACTIVATIONS[self.activation]
        h = self.embed(torch.cat([x, t.unsqueeze(-1)], dim=-1))
        for first, second in self.blocks:
            h = h + second(act(first(act(h))))
        return self.out(act(h)).squeeze(-1)


@_fill_docs
class ICNNPotential(Potential):
    """An input-convex potential: s(·, t) is convex in x for every t (Amos et al., 2017).

    Layers z₁ = softplus(A₀[x, t]), z_{k+1} = softplus(W_k z_k + A_k[x, t]) with
    W_k ≥ 0 (a softplus of free weights), and s = w·z_L + a·[x, t] + (ε/2)‖x‖²
    with w ≥ 0: a non-negative combination of convex functions of x, so ∇ₓs is
    the gradient of a convex function, a monotone map (the map Brenier's theorem
    asks of optimal transport). Derivatives by autograd.

    Parameters
    ----------
    n_features : int
        Dimension d of x (an estimator passes it for you).
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Widths of the convex layers.
    strong_convexity : float, default=0.0
        ε ≥ 0: adds (ε/2)‖x‖², making s strongly convex.
    """

    def __init__(self, n_features, hidden_layer_sizes=(64, 64), strong_convexity=0.0):
        super().__init__()
        sizes = [int(v) for v in hidden_layer_sizes]
        if not sizes or min(sizes) < 1 or strong_convexity < 0:
            raise ValueError("hidden_layer_sizes must be positive ints and "
                             "strong_convexity >= 0.")
        d = int(n_features) + 1
        self.strong_convexity = float(strong_convexity)
        self.direct = nn.ModuleList(nn.Linear(d, n) for n in sizes)
        self.convex = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(sizes, sizes[1:]))
        with torch.no_grad():  # softplus(W) ≈ 1/fan_in: activations stay O(1) with depth
            for layer in self.convex:
                layer.weight.uniform_(0.5, 1.5).div_(layer.in_features).expm1_().log_()
        # Output weights softplus(head)/width: s starts as the mean of the last layer.
        self.head = nn.Parameter(torch.full((sizes[-1],), math.log(math.expm1(1.0))))
        self.linear = nn.Linear(d, 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x, t):
        """s(x, t), convex in x.

        {{forward}}
        """
        softplus = nn.functional.softplus
        xt = torch.cat([x, t.unsqueeze(-1)], dim=-1)
        z = softplus(self.direct[0](xt))
        for direct, convex in zip(self.direct[1:], self.convex):
            z = softplus(nn.functional.linear(z, softplus(convex.weight)) + direct(xt))
        s = z @ softplus(self.head) / len(self.head) + self.linear(xt).squeeze(-1)
        return s + 0.5 * self.strong_convexity * x.square().sum(dim=-1)


def as_potential(module):
    """``module`` itself if it has ``derivatives`` and ``velocity``, else wrapped for autograd.

    Parameters
    ----------
    module : torch.nn.Module
        A network with ``forward(x, t) -> (n,)``.

    Returns
    -------
    potential : Potential or module
        Something with ``forward``, ``derivatives`` and ``velocity``.
    """
    if callable(getattr(module, "derivatives", None)) and callable(getattr(module, "velocity",
                                                                           None)):
        return module
    return AutogradPotential(module)
