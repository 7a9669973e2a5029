"""Potentials smooth in time, and quadrature in time over the observed snapshots.

Between sparse snapshots nothing in the quadrature form of the objective constrains a
free network's dependence on time. A potential that is a polynomial of degree p in τ,

    s(x, τ) = Σⱼ ℓⱼ(τ) h(x, τⱼ),

with ℓⱼ the Lagrange basis of p + 1 Chebyshev–Lobatto nodes τⱼ of [0, 1] and h any
network, is fixed between the snapshots by its values at the nodes; the time integral
of the objective then takes interpolatory weights ωₖ over the observed times (exact
for polynomials of the highest degree non-negative weights allow), sharing strength
across every snapshot as higher-order Action Matching does (Berman et al., 2024).
"""

import numpy as np
import torch

from ..networks import Potential

__all__ = ["TimePolynomial", "chebyshev_lobatto", "interpolatory_weights", "smooth_in_time",
           "time_degree", "trapezoid_weights"]

#: Highest degree in τ of a potential fitted by quadrature on sparse snapshots: the
#: integrand ½‖∇ₓs‖² + ∂ₜs then has degree 2p, which the weights over the observed
#: times integrate exactly while 2p ≤ n_times − 1. Measured on
#: ``make_diffusing_mixture`` (clusters, six snapshots): p = 3 > 5/2 lets the
#: potential oscillate between the snapshots (relative velocity error 0.91 / 0.15 /
#: 1.4 / 0.16 / 2.6 at t = .1 … .9); p = 2: 0.11 / 0.11 / 0.10 / 0.19 / 0.27.
MAX_TIME_DEGREE = 2
#: Largest violation of an exactness condition a quadrature rule may have.
_EXACT = 1e-9


def time_degree(n_times):
    """The degree in τ of a potential fitted by quadrature on ``n_times`` sparse
    snapshots: the highest the weights integrate exactly (``MAX_TIME_DEGREE``)."""
    return int(min(MAX_TIME_DEGREE, (n_times - 1) // 2))


def smooth_in_time(network, degree):
    """``network`` made a polynomial of ``degree`` in τ (:class:`TimePolynomial`);
    None: as is."""
    return network if degree is None else TimePolynomial(network, degree)


def chebyshev_lobatto(degree):
    """The degree + 1 Chebyshev–Lobatto nodes of [0, 1], increasing."""
    if degree == 0:
        return np.array([0.5])
    return 0.5 - 0.5 * np.cos(np.pi * np.arange(degree + 1) / degree)


def trapezoid_weights(times):
    """The trapezoid rule's weights at increasing ``times``: Σₖ ωₖ f(tₖ) ≈ ∫ f."""
    dt = np.diff(times)
    omega = np.zeros(len(times))
    omega[:-1] += dt / 2
    omega[1:] += dt / 2
    return omega


def interpolatory_weights(times):
    """Non-negative weights ωₖ at ``times`` (in [0, 1]), exact for polynomials of the
    highest degree for which the weights nearest the trapezoid rule's are
    non-negative.

    Returns
    -------
    weights : ndarray of shape (n_times,)
    degree : int
    """
    times = np.asarray(times, dtype=np.float64)
    trapezoid = trapezoid_weights(times)
    trapezoid /= trapezoid.sum()
    best = (trapezoid, 1 if len(times) > 1 else 0)
    for degree in range(2, len(times)):
        # Legendre polynomials of 2τ − 1: ∫₀¹ Pᵢ = 1 for i = 0, else 0.
        V = np.polynomial.legendre.legvander(2 * times - 1, degree).T
        target = np.zeros(degree + 1)
        target[0] = 1.0
        w = trapezoid + V.T @ np.linalg.lstsq(V @ V.T, target - V @ trapezoid, rcond=None)[0]
        if np.any(w < 0) or np.abs(V @ w - target).max() > _EXACT:
            break
        best = (w, degree)
    return best


class TimePolynomial(Potential):
    """s(x, τ) = Σⱼ ℓⱼ(τ) h(x, τⱼ): the network ``net`` made a polynomial in τ.

    τ is clamped to [0, 1] (the fitted range) in the basis, so the potential is held
    at its end values beyond it. The network is evaluated at the p + 1 nodes in one
    call (p + 1 times the rows).

    Parameters
    ----------
    net : Potential
        h(x, τ); its own derivatives are used (exact where it has them).
    degree : int
        p, the degree in τ.
    """

    def __init__(self, net, degree):
        super().__init__()
        self.net = net
        self.degree = int(degree)
        nodes = chebyshev_lobatto(self.degree)
        self.register_buffer("nodes", torch.as_tensor(nodes, dtype=torch.float32))
        diff = nodes[:, None] - nodes[None, :]
        np.fill_diagonal(diff, 1.0)
        self.register_buffer("bary", torch.as_tensor(1.0 / diff.prod(axis=1),
                                                     dtype=torch.float64))

    def _basis(self, t):
        """ℓⱼ(τ) and ℓⱼ'(τ) (zero beyond [0, 1]), shape (n, p + 1) each; ℓⱼ is
        differentiable in t (autograd agrees with ℓⱼ')."""
        tau = t.to(torch.float64).clamp(0.0, 1.0)
        nodes = self.nodes.to(torch.float64)
        p1 = len(nodes)
        if p1 == 1:
            one = torch.ones_like(tau)[:, None]
            return one.to(t.dtype), torch.zeros_like(one).to(t.dtype)
        # ℓⱼ(τ) = bⱼ·Πₘ≠ⱼ (τ − τₘ), bⱼ = 1/Πₘ≠ⱼ (τⱼ − τₘ), and its derivative.
        d = tau[:, None] - nodes[None, :]  # (n, p+1)
        ell, dell = [], []
        for j in range(p1):
            others = [m for m in range(p1) if m != j]
            factors = d[:, others]
            ell.append(factors.prod(dim=1) * self.bary[j])
            deriv = torch.zeros_like(tau)
            for i in range(len(others)):
                rest = [m for m in range(len(others)) if m != i]
                deriv = deriv + factors[:, rest].prod(dim=1)
            dell.append(deriv * self.bary[j])
        inside = ((t >= 0) & (t <= 1)).to(torch.float64)[:, None]
        return torch.stack(ell, 1).to(t.dtype), (torch.stack(dell, 1) * inside).to(t.dtype)

    def _at_nodes(self, x, fn):
        """``fn`` at every row of x and every node, in one call (node-major rows)."""
        n, p1 = x.shape[0], len(self.nodes)
        xs = x.repeat(p1, 1)
        ts = self.nodes.to(x.dtype).repeat_interleave(n)
        return fn(xs, ts), n, p1

    def forward(self, x, t):
        s, n, p1 = self._at_nodes(x, self.net)
        ell, _ = self._basis(t)
        return (s.reshape(p1, n).T * ell).sum(1)

    def derivatives(self, x, t, create_graph=True):
        """s, ∇ₓs = Σⱼ ℓⱼ∇ₓh(·, τⱼ) and ∂ₜs = Σⱼ ℓⱼ'h(·, τⱼ)."""
        (s, g, _), n, p1 = self._at_nodes(
            x, lambda a, b: self.net.derivatives(a, b, create_graph=create_graph))
        ell, dell = self._basis(t.detach())
        s = s.reshape(p1, n).T
        g = g.reshape(p1, n, -1)
        return ((s * ell).sum(1), torch.einsum("nj,jnd->nd", ell, g), (s * dell).sum(1))
