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

No training code lives here.
"""

import math

import torch
from torch import nn

from .utils._docstring import doc_filler

__all__ = ["ACTIVATIONS", "MLPPotential", "Potential"]

_fill_docs = doc_filler({
    "x_t": """\
x : Tensor of shape (n, d)
    Points.
t : Tensor of shape (n,)
    One time per point.""",
    "derivatives": """\
Parameters
----------
x : Tensor of shape (n, d)
    Points.
t : Tensor of shape (n,)
    One time per point.
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

        Parameters
        ----------
        {{x_t}}

        Returns
        -------
        s : Tensor of shape (n,)
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
