"""A Gaussian base field for slowly changing snapshots (plain AM).

When snapshots change little between observations, a network fitted by AM alone gets
the *affine* part of the field wrong: that part is a difference of neighbouring
snapshots' moments, and those differences are mostly sampling noise (measured in
issue 19: on the diffusing Gaussian the affine part held 0.08–0.65 of the relative
error, the rest ≤ 0.23). This module fits the snapshots' means and
covariances by low-degree polynomials in τ (least squares on the moments themselves,
sharing strength across every snapshot) and gives the gradient field of the Gaussian
path with those moments,

    v₀(x, τ) = μ'(τ) + A(τ)(x − μ(τ)),   Σ(τ)A + AΣ(τ) = Σ'(τ) − σ²I,

the gradient of s₀ = ⟨μ', x⟩ + ½(x − μ)ᵀA(x − μ) (σ: the noise of entropic AM, 0 for
plain AM; a Gaussian path's Fokker–Planck equation). The network then learns a residual r
on top of s₀ by the same AM objective, with a penalty λ·∫E‖∇ₓr‖² dt that shrinks it
towards the Gaussian field: a prior, not a constraint (the data still bend the field
where they move away from Gaussian).
"""

from typing import NamedTuple

import numpy as np
import torch
from scipy import stats
from torch import nn

from ..networks import Potential

__all__ = ["GaussianBase", "GaussianMoments", "ResidualOnBase", "looks_gaussian", "mardia_z",
           "moment_fit", "moments_fit_linearly", "on_base", "stored_moments"]

#: Degree in τ of the polynomials fitted to the snapshots' means and covariances.
MOMENT_DEGREE = 1
#: λ of the residual penalty λ·∫E‖∇ₓr‖² dt (model units). Measured on
#: ``make_diffusing_gaussian`` (6 draws): λ = 1 leaves the residual free to refit the
#: noise on 2 of 6 draws (worst error 0.59, 0.18); λ = 10 keeps every draw at the
#: floor of the snapshots' moments.
RESIDUAL_PENALTY = 10.0
#: λ where the snapshots are not Gaussian (``looks_gaussian``) and the potential is
#: smooth in time, trained by quadrature over the observed snapshots (``_time_basis``):
#: no path pairs there, so no pairing noise for the penalty to hold back, and a lighter
#: one lets the non-Gaussian part of the field through. Measured on
#: ``make_diffusing_mixture`` (``benchmarks/results/slow.md``, relative velocity error
#: at t = .1 … .9): λ = 0.1 reaches 0.02–0.15 at mid times but lets the residual fit
#: the noise near the last snapshot (ring, 3 draws: 1.0 / 1.7 / 3.2 at t = .9; the
#: quadrature's error is a systematic one, the same on held-out rows, so early
#: stopping cannot see it); λ = 1 is below the previous default (the Gaussian field,
#: λ = 10 on paths) at most times of every draw and its worst over t lower on every
#: draw. On Gaussian snapshots both are too light (the diffusing Gaussian's draw 1:
#: 2.9 at t = .95 with λ = 0.1, 0.044 with λ = 10), which is why Gaussian snapshots
#: keep the path form.
SMOOTH_RESIDUAL_PENALTY = 1.0
#: Family-wise level of the test that the snapshots are Gaussian (``looks_gaussian``):
#: Mardia's skewness and kurtosis of every snapshot, Bonferroni over the 2·K tests.
#: Measured: 20 draws of ``make_diffusing_gaussian`` (1200 rows × 6) reach at most
#: |z| = 3.3 against the threshold 3.9; every mixture of ``make_diffusing_mixture``
#: 13–15 (5 draws each), and the skewed one at 200 rows per snapshot 5.0–7.1.
GAUSSIAN_TEST_LEVEL = 1e-3
#: Rows per snapshot the test uses at most (evenly spaced): its cost is quadratic in them.
GAUSSIAN_TEST_ROWS = 2000
#: The base is used only where the snapshots' means lie on the fitted polynomials within
#: their sampling noise: the χ² statistic Σₖ rₖᵀ(Σₖ/nₖ)⁻¹rₖ of the residuals rₖ must not
#: exceed its degrees of freedom by more than this many standard deviations (√(2·dof)).
#: A population carried along a curve (``make_orbit`` forced onto paths: χ² = 268 000 for
#: 98 degrees of freedom; relative velocity error 0.68 with a straight-line base, 0.001
#: without) fails it by orders of magnitude; 40 draws of the diffusing Gaussian gave
#: χ² ≤ 24.1 for 8 (median 9.2), under the threshold of 8 + 6·4 = 32.
MOMENT_FIT_SIGMAS = 6.0
#: Smallest eigenvalue of a fitted covariance, relative to its largest: a straight-line
#: fit extrapolated beyond the snapshots can lose definiteness.
MIN_RELATIVE_EIGENVALUE = 1e-4


class GaussianMoments(NamedTuple):
    """Polynomial coefficients, in increasing powers of τ, of the fitted moments."""

    mean_coef: np.ndarray  # (degree + 1, d)
    cov_coef: np.ndarray  # (degree + 1, d, d)
    noise_variance: float = 0.0  # σ² of the dynamics' noise (entropic AM), model units
    #: λ of the residual's penalty (a fit stored before it had one used this value).
    residual_penalty: float = RESIDUAL_PENALTY


def moment_fit(snapshots, degree=MOMENT_DEGREE, noise_variance=0.0):
    """Means and covariances of the snapshots fitted by polynomials of τ (least squares).

    Parameters
    ----------
    snapshots : Snapshots
        In model units; each needs at least 2 rows.
    degree : int, default=MOMENT_DEGREE
        At most the number of snapshots minus one.
    noise_variance : float, default=0.0
        σ² of dX = v dt + σ dW (constant σ, model units): the drift of a Gaussian path
        then solves ΣA + AΣ = Σ' − σ²I.

    Returns
    -------
    GaussianMoments
    """
    times = snapshots.times
    parts = [np.asarray(snapshots.snapshot(k), dtype=np.float64)
             for k in range(snapshots.n_times)]
    d = parts[0].shape[1]
    means = np.array([x.mean(axis=0) for x in parts])
    covs = np.array([np.cov(x, rowvar=False).reshape(d, d) for x in parts])
    degree = min(int(degree), snapshots.n_times - 1)
    V = np.vander(times, degree + 1, increasing=True)
    mean_coef = np.linalg.lstsq(V, means, rcond=None)[0]
    cov_coef = np.linalg.lstsq(V, covs.reshape(len(times), -1), rcond=None)[0]
    return GaussianMoments(mean_coef, cov_coef.reshape(degree + 1, d, d), float(noise_variance))


def moments_fit_linearly(snapshots, moments):
    """Whether the snapshots' means lie on the fitted polynomials within sampling noise.

    The χ² statistic of the mean residuals, each weighted by the inverse covariance of
    its snapshot's mean (Σₖ/nₖ), against its degrees of freedom d·(K − degree − 1):
    at most ``MOMENT_FIT_SIGMAS`` standard deviations above them.
    """
    degree = moments.mean_coef.shape[0] - 1
    dof = snapshots.X_host.shape[1] * (snapshots.n_times - degree - 1)
    if dof <= 0:
        return True  # as many snapshots as coefficients: nothing to test
    V = np.vander(snapshots.times, degree + 1, increasing=True)
    fitted = V @ moments.mean_coef
    chi2 = 0.0
    for k in range(snapshots.n_times):
        x = np.asarray(snapshots.snapshot(k), dtype=np.float64)
        cov = np.atleast_2d(np.cov(x, rowvar=False)) / len(x)
        r = x.mean(axis=0) - fitted[k]
        chi2 += float(r @ np.linalg.lstsq(cov, r, rcond=None)[0])
    return chi2 <= dof + MOMENT_FIT_SIGMAS * np.sqrt(2.0 * dof)


def mardia_z(x):
    """|z| of Mardia's multivariate skewness and kurtosis of the rows x: (skew, kurt).

    Skewness n·b₁,d/6 is χ² with d(d+1)(d+2)/6 degrees of freedom under normality,
    turned into a z score by the Wilson–Hilferty transform; kurtosis b₂,d is normal
    with mean d(d+2) and variance 8d(d+2)/n.
    """
    n, d = x.shape
    y = x - x.mean(axis=0)
    cov = y.T @ y / n
    evals, U = np.linalg.eigh(cov)
    w = (y @ U) / np.sqrt(np.maximum(evals, MIN_RELATIVE_EIGENVALUE * evals[-1]))
    G = w @ w.T
    k = d * (d + 1) * (d + 2) / 6
    chi2 = n * float((G**3).sum()) / n**2 / 6
    skew = ((chi2 / k) ** (1 / 3) - (1 - 2 / (9 * k))) / np.sqrt(2 / (9 * k))
    kurt = (float((np.diag(G) ** 2).mean()) - d * (d + 2)) / np.sqrt(8 * d * (d + 2) / n)
    return abs(skew), abs(kurt)


def looks_gaussian(snapshots):
    """Whether every snapshot passes Mardia's tests of normality (``mardia_z``) at the
    family-wise level ``GAUSSIAN_TEST_LEVEL`` (Bonferroni over 2 tests per snapshot)."""
    threshold = float(stats.norm.isf(GAUSSIAN_TEST_LEVEL / (2 * 2 * snapshots.n_times)))
    for k in range(snapshots.n_times):
        x = np.asarray(snapshots.snapshot(k), dtype=np.float64)
        rows = np.unique(np.linspace(0, len(x) - 1, GAUSSIAN_TEST_ROWS).astype(int))
        if max(mardia_z(x[rows])) > threshold:
            return False
    return True


def _polynomial(coef, t, order):
    """Σₖ coef[k]·dᵒʳᵈᵉʳ/dtᵒʳᵈᵉʳ τᵏ at every t: shape (n, *coef.shape[1:])."""
    terms = []
    for k in range(coef.shape[0]):
        if k < order:
            terms.append(torch.zeros_like(t))
        else:
            factor = float(np.prod(np.arange(k - order + 1, k + 1))) if order else 1.0
            terms.append(factor * t ** (k - order))
    return torch.einsum("nk,k...->n...", torch.stack(terms, dim=-1), coef)


class GaussianBase(nn.Module):
    """s₀(x, τ) of the Gaussian path with polynomial moments; no trainable weights.

    Parameters
    ----------
    moments : GaussianMoments
    """

    def __init__(self, moments):
        super().__init__()
        self.register_buffer("mean_coef", torch.as_tensor(moments.mean_coef,
                                                          dtype=torch.float32))
        self.register_buffer("cov_coef", torch.as_tensor(moments.cov_coef, dtype=torch.float32))
        self.register_buffer("noise_variance", torch.tensor(float(moments.noise_variance)))

    def derivatives(self, x, t, create_graph=False):
        """s₀, ∇ₓs₀ = μ' + A(x − μ) and ∂ₜs₀, in closed form. Differentiable in x (a
        Laplacian by autograd sees tr A); nothing is trainable."""
        t = t.detach()
        mu, dmu, ddmu = (_polynomial(self.mean_coef, t, k) for k in range(3))
        S, dS, ddS = (_polynomial(self.cov_coef, t, k) for k in range(3))
        S, dS, ddS = (0.5 * (M + M.transpose(1, 2)) for M in (S, dS, ddS))
        evals, U = torch.linalg.eigh(S)
        evals = torch.maximum(evals, MIN_RELATIVE_EIGENVALUE * evals[:, -1:].clamp_min(1e-12))
        Ut = U.transpose(1, 2)
        denominator = evals[:, :, None] + evals[:, None, :]

        def lyapunov(R):  # the A with S A + A S = R, in S's eigenbasis
            return U @ ((Ut @ R @ U) / denominator) @ Ut

        eye = torch.eye(S.shape[-1], dtype=S.dtype, device=S.device)
        A = lyapunov(dS - self.noise_variance.to(S.dtype) * eye)
        dA = lyapunov(ddS - dS @ A - A @ dS)  # d/dτ of S A + A S = S'
        y = x - mu
        Ay = torch.einsum("nij,nj->ni", A, y)
        s = (dmu * x).sum(-1) + 0.5 * (y * Ay).sum(-1)
        grad = dmu + Ay
        dt = (ddmu * x).sum(-1) + 0.5 * torch.einsum("ni,nij,nj->n", y, dA, y) \
            - (dmu * Ay).sum(-1)
        return s, grad, dt

    def forward(self, x, t):
        return self.derivatives(x, t)[0]


class ResidualOnBase(Potential):
    """s = s₀ (:class:`GaussianBase`, fixed) + r (the network, trained).

    Parameters
    ----------
    base : GaussianBase
    net : Potential
        The residual r; its own derivatives are used (exact where it has them).
    """

    def __init__(self, base, net, penalty=RESIDUAL_PENALTY):
        super().__init__()
        self.base = base
        self.net = net
        self.penalty = float(penalty)

    def forward(self, x, t):
        return self.base(x, t) + self.net(x, t)

    def derivatives(self, x, t, create_graph=True):
        s0, g0, d0 = self.base.derivatives(x, t)
        s, g, dt = self.net.derivatives(x, t, create_graph=create_graph)
        return s0 + s, g0 + g, d0 + dt

    def penalised_integrand(self, x, t):
        """½‖∇ₓs‖² + ∂ₜs + λ‖∇ₓr‖²: the AM integrand with the residual's penalty
        λ = ``penalty``, from one pass through the network."""
        s0, g0, d0 = self.base.derivatives(x, t)
        _, g, dt = self.net.derivatives(x, t)
        return (0.5 * (g0 + g).square().sum(dim=-1) + d0 + dt
                + self.penalty * g.square().sum(dim=-1))

    def residual_penalty(self, x, t):
        """λ‖∇ₓr‖² at each point (λ = ``penalty``), for integrands of their own."""
        return self.penalty * self.net.derivatives(x, t)[1].square().sum(dim=-1)


def stored_moments(stored):
    """The :class:`GaussianMoments` of a fitted ``gaussian_base_`` dict (None stays None)."""
    return None if stored is None else GaussianMoments(**stored)


def on_base(network, moments):
    """``network`` as a residual on the Gaussian base field of ``moments`` (None: as is).

    Called by ``_potential_param.assemble_network``, the one place a fit's network is
    assembled.
    """
    if moments is None:
        return network
    return ResidualOnBase(GaussianBase(moments), network, moments.residual_penalty)
