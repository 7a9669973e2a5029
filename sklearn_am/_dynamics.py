"""Kinds of dynamics: what differs between Action Matching estimators.

A dynamics object owns everything that depends on *what moves the population*;
:class:`Dynamics` lists the contract every kind implements:

- ``population(X, times, sample_weight, name)``: the rows to fit on and the
  per-time masses (a dynamics that cannot use ``sample_weight`` refuses it here);
- ``bind(units, masses)``: its parameters resolved against the data (model units);
- ``fitted_attributes(units)``: what the estimator exposes about it after ``fit``;
- ``initial_mass()``: the total mass at the earliest fitted time;
- ``interpolations``: the interpolation names its estimator accepts (the
  estimator's constraint is built from it);
- ``policy(snapshots, interpolation, smooth_time=True)``: every data-driven choice
  of a fit, as one :class:`FitPolicy` value (the interpolation, the estimator of
  the objective, what early stopping scores, the Gaussian base field's moments or
  None, its line test included, and the degree in time of a potential smooth in
  time or None); pure, nothing is stored;
- ``loss(potential, batch, generator, objective)``: the objective on one batch;
- ``base_moments(snapshots)``: the moments of a Gaussian base field, for a policy
  that asks for one (``_gaussian_base``);
- ``sampler(snapshots, interpolation, rng, n_draws, higher_order=False)``: the path
  and coupling between snapshots (``higher_order``: quadrature weights for a
  potential polynomial in time);
- ``velocity(potential, x, tau)``: the velocity of a point, what ``velocity``,
  the displays and ``anndata`` report;
- ``field(potential)``: the right-hand side of the pushed state;
- ``push(potential, x, tau_from, tau_to, ...)``: how points move (ODE, SDE, or ODE
  with log-weights), returning a :class:`Pushed`.

Three kinds ship: :class:`Transport` (dx/dt = ∇s), :class:`NoisyTransport`
(dX = ∇s dt + σ_t dW) and :class:`GrowingTransport` (dx/dt = ∇s with growth
d log w/dt = λ·s). The estimator builds one from its parameters, in one place
(``_make_dynamics``); the base class runs fit, units, training and inference
against this interface. Everything here works in model units and holds only
floats, strings and NumPy arrays.
"""

import abc
import warnings
from numbers import Real
from typing import NamedTuple, Optional

import numpy as np
import torch

from ._numerics.losses import (EXACT_LAPLACIAN_MAX_FEATURES_TRAINING, action_loss, am_integrand,
                      eam_integrand, regression_loss, resolve_laplacian, uam_integrand,
                      uam_regression_loss)
from ._numerics.solvers import get_solver, integrate
from ._sampling.gaussian_base import (SMOOTH_RESIDUAL_PENALTY, GaussianMoments, looks_gaussian,
                                      moment_fit, moments_fit_linearly)
from ._sampling.paths import INTERPOLATIONS, UnbalancedInterpolationSampler, make_sampler
from ._sampling.time_basis import time_degree
from ._sampling.weights import weighted_snapshots

__all__ = ["Dynamics", "FitPolicy", "GrowingTransport", "NoisyTransport", "Pushed",
           "Transport"]

#: ``sigma="auto"``: σ·√T = AUTO_SIGMA_FRACTION·a, i.e. diffusion over the whole
#: fitted time span T spreads points by this fraction of the data's scale a.
AUTO_SIGMA_FRACTION = 0.1
#: Points at which a callable ``sigma`` is tabulated over the fitted time range.
SIGMA_GRID_POINTS = 1025
#: Interpolation "auto" takes quadrature (the observed snapshots only) from this many
#: distinct times up, when the median relative step between consecutive snapshots
#: (Bures–Wasserstein distance over spread, ``_snapshots.relative_steps``) is at most
#: ``DENSE_RELATIVE_STEP`` (or when snapshots are too small to have a covariance,
#: e.g. one row per time): there minibatch-OT pairing is mostly noise (small
#: displacements next to the spacing between samples); otherwise paths.
#: Measured: benchmarks/results/tta.md ("How the defaults were chosen", docs/user_guide/objective.rst).
DENSE_SNAPSHOTS = 10
DENSE_RELATIVE_STEP = 0.35
#: Snapshots whose median relative step (``_snapshots.relative_steps``) is at most this
#: change slowly: a path's pairs are then mostly pairing noise, which the path
#: regression form fits faithfully, so plain AM trains on the action form there and
#: early stopping scores it at the held-out snapshots themselves (quadrature).
#: Measured on ``make_diffusing_gaussian`` (step 0.09), 3 seeds, worst relative
#: velocity error over t: regression 0.26 / 5.7 / 0.20, action with path validation
#: 0.21 / 2.0 / 0.30, action with quadrature validation 0.21 / 0.88 / 0.16; the real
#: datasets' steps are 0.6–1.0 and keep the regression form.
SLOW_RELATIVE_STEP = 0.2
#: Unbalanced coupling of uAM's paths: KL marginal penalty ρ = UNBALANCED_RHO / λ' and
#: entropic blur ε (model units, squared-Euclidean cost). Growth by a factor r costs
#: (log r)²/λ' in the action where ρ·(KL + KL) costs about ρ(log r)²/4, hence 4/λ'.
#: Measured on the gene network with division (3 seeds, mean W1, path regression):
#: ρ·λ' = 1: 0.045, 3: 0.030, 4: 0.030, 10: 0.031, 30: 0.041, 100: 0.057 (balanced-OT
#: paths: 0.091); ε = 0.005 as 0.02.
UNBALANCED_RHO = 4.0
UNBALANCED_EPS = 0.02
#: The Monte Carlo estimators of the objective (``_losses``): path regression needs
#: a path velocity in the batch; the action form works on any batch.
OBJECTIVES = ("regression", "action")


class FitPolicy(NamedTuple):
    """The data-driven choices of one fit (what :meth:`Dynamics.policy` returns)."""

    interpolation: str  # the path the training batches are drawn on ("auto" resolved)
    objective: str  # the estimator of the objective: "regression" or "action"
    validation_interpolation: str  # the path early stopping's held-out draws lie on
    #: The moments of the Gaussian base field the network learns a residual on (None:
    #: no base). Compare policies with ``choices()``: arrays do not compare with ==.
    base: Optional[GaussianMoments] = None
    #: The degree in τ of a potential made polynomial in time (``_time_basis``), whose
    #: quadrature takes interpolatory weights; None: the network as it is.
    time_degree: Optional[int] = None

    def choices(self):
        """(interpolation, objective, validation interpolation, whether a base field,
        degree in time)."""
        return (self.interpolation, self.objective, self.validation_interpolation,
                self.base is not None, self.time_degree)


class Pushed(NamedTuple):
    """Points pushed from τ_from to τ_to, in model units."""

    x: torch.Tensor  # (n, d)
    log_weights: Optional[torch.Tensor]  # (n,): log growth factors; None if mass is conserved
    path: Optional[torch.Tensor]  # (n_times, n, d), only when a path was asked for
    path_times: Optional[list]  # model times of ``path``


def _slow(snapshots):
    """Whether snapshots change slowly (``SLOW_RELATIVE_STEP``) and are large enough for
    a covariance each."""
    n_features = snapshots.X_host.shape[1]
    return bool(np.min(snapshots.counts) >= n_features + 2
                and np.median(snapshots.relative_steps) <= SLOW_RELATIVE_STEP)


def _dense(snapshots):
    """Whether snapshots are dense enough for quadrature (the rule of ``DENSE_SNAPSHOTS``)."""
    n_features = snapshots.X_host.shape[1]
    tiny = np.median(snapshots.counts) < n_features + 2  # no covariance per snapshot
    return snapshots.n_times >= DENSE_SNAPSHOTS and (
        tiny or np.median(snapshots.relative_steps) <= DENSE_RELATIVE_STEP)


class Dynamics(abc.ABC):
    """The contract of a kind of dynamics (see the module docstring)."""

    #: Whether pushes need per-row noise (then they run forwards only).
    stochastic = False
    #: The interpolation ``"auto"`` picks for sparse snapshots.
    sparse_interpolation = "ot"
    #: The interpolations this kind trains on (``"auto"`` aside); the estimator's
    #: ``interpolation`` constraint is built from it.
    interpolations = frozenset(INTERPOLATIONS) - {"bridge"}

    @abc.abstractmethod
    def population(self, X, times, sample_weight, name):
        """The rows of X to fit on (None: all, once) and the per-time masses (None: balanced)."""

    @abc.abstractmethod
    def bind(self, units, masses=None):
        """Resolve parameters against the data; returns ``self``."""

    @abc.abstractmethod
    def fitted_attributes(self, units):
        """Fitted attributes (user units) the estimator exposes about the dynamics."""

    @abc.abstractmethod
    def initial_mass(self):
        """Total mass at the earliest fitted time (1: a probability distribution)."""

    @abc.abstractmethod
    def policy(self, snapshots, interpolation, smooth_time=True):
        """The :class:`FitPolicy` of a fit on ``snapshots`` with the ``interpolation``
        parameter; ``smooth_time=False`` for an engine that trains the network as it is
        (no potential polynomial in time)."""

    @abc.abstractmethod
    def loss(self, potential, batch, generator, objective="action"):
        """The objective on one batch, by the estimator ``objective``."""

    @abc.abstractmethod
    def sampler(self, snapshots, interpolation, rng, n_draws, higher_order=False):
        """Batches from the snapshots along the named interpolation."""

    @abc.abstractmethod
    def velocity(self, potential, x, tau):
        """The velocity of points ``x`` at model times ``tau`` (detached)."""

    @abc.abstractmethod
    def field(self, potential):
        """The right-hand side f(state, τ) of the pushed state."""

    @abc.abstractmethod
    def push(self, potential, x, tau_from, tau_to, *, options, return_path=False,
             t_eval=None, noise=None):
        """Move ``x`` from τ_from to τ_to; returns a :class:`Pushed`."""

    def base_moments(self, snapshots):
        """The ``GaussianMoments`` of the base field, for a dynamics whose policy asks for
        one (``FitPolicy.base``); a policy that never does need not implement it."""
        raise NotImplementedError(f"{type(self).__name__} has no Gaussian base field.")

    def _base_if_linear(self, snapshots):
        """The base field's moments, or None where they curve in time (the χ² line test
        of ``_gaussian_base.moments_fit_linearly``: a straight-line base would mislead)."""
        moments = self.base_moments(snapshots)
        return moments if moments_fit_linearly(snapshots, moments) else None

    @staticmethod
    def smooth_degree(snapshots, interpolation, smooth_time=True):
        """The degree in time of the potential (``FitPolicy.time_degree``): quadrature on
        sparse snapshots fixes it between them only through its smoothness in time
        (``_time_basis.time_degree``); None otherwise, or without ``smooth_time``."""
        smooth = interpolation == "quadrature" and smooth_time and not _dense(snapshots)
        return time_degree(snapshots.n_times) if smooth else None

    def resolved_interpolation(self, snapshots, interpolation, smooth_time=True):
        """``interpolation`` with ``"auto"`` resolved: quadrature on dense snapshots
        (``DENSE_SNAPSHOTS``), ``sparse_interpolation`` otherwise. Quadrature forced on
        sparse snapshots warns (once per fit: each policy resolves once), unless they
        change slowly and the potential is smooth in time (``smooth_time``)."""
        if interpolation == "quadrature" and not _dense(snapshots) and not (
                smooth_time and _slow(snapshots)):
            tiny = np.median(snapshots.counts) < snapshots.X_host.shape[1] + 2
            step = "" if tiny else f" (here {np.median(snapshots.relative_steps):.3g})"
            warnings.warn(
                f'interpolation="quadrature" on sparse snapshots ({snapshots.n_times} '
                "times): quadrature sees only the observed snapshots, so between them "
                "only the potential's smoothness in time constrains it and the learnt "
                "field can be far off. It needs dense snapshots (at least "
                f"{DENSE_SNAPSHOTS} distinct times, with a median relative step between "
                "consecutive snapshots (Wasserstein distance over spread) of at most "
                f"{DENSE_RELATIVE_STEP:g}{step} unless they are too small to have a "
                "covariance) or slowly changing ones (median relative step at most "
                f"{SLOW_RELATIVE_STEP:g}). Pass interpolation=\"auto\" (it picks "
                f'"{self.sparse_interpolation}" here) or a path interpolation such as '
                '"ot" or "independent".',
                UserWarning, stacklevel=2,
            )
        if interpolation != "auto":
            return interpolation
        return "quadrature" if _dense(snapshots) else self.sparse_interpolation


class Transport(Dynamics):
    """dx/dt = ∇ₓs(x, t): the continuity equation ∂ₜq = −∇·(q∇s) (plain AM).

    Parameters
    ----------
    objective : {"auto", "regression", "action"}, default="auto"
        The Monte Carlo estimator of the objective on path batches (``_losses``):
        ``"auto"`` follows the rule of :meth:`policy`.
    """

    def __init__(self, objective="auto"):
        self.objective = objective

    def population(self, X, times, sample_weight, name):
        if sample_weight is not None:
            raise TypeError(f"{name} does not take sample_weight: its dynamics conserve "
                            "mass. UnbalancedActionMatching takes sample_weight.")
        return None, None

    def bind(self, units, masses=None):
        return self

    def fitted_attributes(self, units):
        return {}

    def initial_mass(self):
        return 1.0

    def policy(self, snapshots, interpolation, smooth_time=True):
        """The interpolation (``"auto"`` resolved), the estimator, what validation scores.

        Path regression, unless the snapshots change slowly (median relative step
        at most ``SLOW_RELATIVE_STEP``, snapshots large enough for a covariance):
        then the action form, validated at the held-out snapshots (quadrature), and
        the network learns a residual on the Gaussian field of the snapshots' moments
        fitted across time (``_gaussian_base``), unless they fail its line test. On
        Gaussian snapshots (``_gaussian_base.looks_gaussian``) that residual is held
        close (``RESIDUAL_PENALTY``) on paths. On snapshots that are not Gaussian,
        with ``interpolation="auto"``, the potential is made smooth in time (a
        polynomial in τ, ``_time_basis``) and trained by quadrature over the observed
        snapshots, with no path pairs and their pairing noise, and the residual
        penalised lightly (``SMOOTH_RESIDUAL_PENALTY``): the field is the snapshots'
        own, not the best affine one. Quadrature batches have no path velocity: the
        action form; on sparse snapshots its potential is smooth in time.
        """
        asked = interpolation
        interpolation = self.resolved_interpolation(snapshots, interpolation, smooth_time)
        slow = _slow(snapshots) and self.objective == "auto"
        base = self._base_if_linear(snapshots) if slow else None
        if (smooth_time and asked == "auto" and base is not None
                and not looks_gaussian(snapshots)):
            return FitPolicy("quadrature", "action", "quadrature",
                             base=base._replace(residual_penalty=SMOOTH_RESIDUAL_PENALTY),
                             time_degree=time_degree(snapshots.n_times))
        if interpolation == "quadrature":
            return FitPolicy(interpolation, "action", interpolation,
                             time_degree=self.smooth_degree(snapshots, interpolation,
                                                            smooth_time))
        if self.objective != "auto":
            return FitPolicy(interpolation, self.objective, interpolation)
        if slow:
            return FitPolicy(interpolation, "action", "quadrature", base=base)
        return FitPolicy(interpolation, "regression", interpolation)

    def base_moments(self, snapshots):
        """The moments of the Gaussian base field (``_gaussian_base``) of these snapshots."""
        return moment_fit(snapshots)

    def loss(self, potential, batch, generator, objective="action"):
        """The AM objective on one batch: path regression where the batch has path
        velocities and ``objective`` says so, the action form otherwise."""
        if batch.v is not None and objective == "regression":
            return regression_loss(potential, batch)
        # A network trained on a base field (``_gaussian_base``) pays for its residual.
        penalised = getattr(potential, "penalised_integrand", None)
        if penalised is not None and potential.training:
            return action_loss(potential, batch, lambda net, x, t: penalised(x, t))
        return action_loss(potential, batch, am_integrand)

    def sampler(self, snapshots, interpolation, rng, n_draws, higher_order=False):
        return make_sampler(interpolation, snapshots, rng=rng, n_draws=n_draws,
                            higher_order=higher_order)

    def velocity(self, potential, x, tau):
        """∇ₓs(x, τ)."""
        return potential.velocity(x, tau)

    def field(self, potential):
        return lambda x, tau: self.velocity(potential, x, tau)

    def push(self, potential, x, tau_from, tau_to, *, options, return_path=False,
             t_eval=None, noise=None):
        """Integrate the field from τ_from to τ_to with the solver ``options``."""
        out = integrate(self.field(potential), x, tau_from, tau_to, t_eval=t_eval,
                        return_path=return_path, noise=noise, **options)
        if return_path:
            return Pushed(out[0], None, out[1], out[2])
        return Pushed(out, None, None, None)


class NoisyTransport(Transport):
    """dX = ∇ₓs dt + σ_t dW: the Fokker–Planck equation (entropic AM).

    Parameters
    ----------
    sigma : "auto", float, callable or array-like of shape (n_knots, 2)
        The noise schedule in the user's units (see ``EntropicActionMatching``).
    laplacian : {"auto", "exact", "hutchinson"}
        How the Δₓs of the loss is computed.
    """

    stochastic = True
    sparse_interpolation = "bridge"
    interpolations = frozenset(INTERPOLATIONS)  # the Brownian bridge is for noise

    def __init__(self, sigma="auto", laplacian="auto"):
        super().__init__()
        self.sigma = sigma
        self.laplacian = laplacian

    def bind(self, units, masses=None):
        self.schedule = _sigma_schedule(self.sigma, units)  # (time, σ) in user units
        if callable(self.sigma):  # tabulated: keep the table, not the callable (pickling)
            self.sigma = self.schedule
        self.tau_knots = units.to_tau(self.schedule[:, 0])
        # σ' = σ·√T/a: a Wiener process in t has √T times the spread of one in τ.
        self.sigma_knots = self.schedule[:, 1] * np.sqrt(units.span) / units.scale
        self.laplacian_ = resolve_laplacian(self.laplacian, len(units.center),
                                            EXACT_LAPLACIAN_MAX_FEATURES_TRAINING)
        return self

    def fitted_attributes(self, units):
        return {"sigma_schedule_": self.schedule, "laplacian_": self.laplacian_}

    def sigma_at(self, tau):
        """σ' at model time(s) ``tau`` (floats), held constant beyond the knots."""
        return np.interp(tau, self.tau_knots, self.sigma_knots)

    def _sigma_tensor(self, tau):
        """σ' at a tensor of model times: a float when σ is constant."""
        values = self.sigma_knots
        if np.all(values == values[0]):
            return float(values[0])
        xp = torch.as_tensor(self.tau_knots, dtype=tau.dtype, device=tau.device)
        fp = torch.as_tensor(values, dtype=tau.dtype, device=tau.device)
        idx = torch.searchsorted(xp, tau.detach().contiguous()).clamp(1, len(xp) - 1)
        lo, hi = xp[idx - 1], xp[idx]
        frac = ((tau.detach() - lo) / (hi - lo)).clamp(0.0, 1.0)
        return fp[idx - 1] + frac * (fp[idx] - fp[idx - 1])

    def sigma_bar(self):
        """√(mean σ'²) over the fitted range: the constant σ of the bridge path."""
        if len(self.tau_knots) == 1:
            return float(self.sigma_knots[0])
        grid = np.linspace(0.0, 1.0, SIGMA_GRID_POINTS)
        return float(np.sqrt(np.mean(self.sigma_at(grid) ** 2)))

    @property
    def noiseless(self):
        """Whether σ ≡ 0 (bound): then this is plain transport, with its estimator."""
        return bool(np.all(self.sigma_knots == 0))

    def policy(self, snapshots, interpolation, smooth_time=True):
        """The action form (bridges have no single path velocity), with the Gaussian base
        field on slowly changing snapshots where σ is constant (and the moments pass
        the line test); where σ ≡ 0 this is plain transport, with its policy.
        Quadrature on sparse snapshots makes the potential smooth in time."""
        if self.noiseless:
            return super().policy(snapshots, interpolation, smooth_time)
        interpolation = self.resolved_interpolation(snapshots, interpolation, smooth_time)
        constant = bool(np.all(self.sigma_knots == self.sigma_knots[0]))
        base = self._base_if_linear(snapshots) if constant and _slow(snapshots) else None
        return FitPolicy(interpolation, "action", interpolation, base=base,
                         time_degree=self.smooth_degree(snapshots, interpolation, smooth_time))

    def base_moments(self, snapshots):
        """Moments of the Gaussian base field, whose drift accounts for the noise σ²."""
        return moment_fit(snapshots, noise_variance=float(self.sigma_knots[0]) ** 2)

    def loss(self, potential, batch, generator, objective="action"):
        """The eAM objective (plain AM, with its estimator, where σ ≡ 0)."""
        if self.noiseless:
            return super().loss(potential, batch, generator, objective)
        integrand = eam_integrand
        if getattr(potential, "residual_penalty", None) is not None and potential.training:
            integrand = _penalised_eam_integrand  # a network on a base field pays for it
        return action_loss(
            potential, batch, integrand, sigma_t=self._sigma_tensor(batch.t),
            laplacian=self.laplacian_, generator=generator,
        )

    def sampler(self, snapshots, interpolation, rng, n_draws, higher_order=False):
        return make_sampler(interpolation, snapshots, rng=rng, n_draws=n_draws,
                            sigma=self.sigma_bar(), higher_order=higher_order)

    def push(self, potential, x, tau_from, tau_to, *, options, return_path=False,
             t_eval=None, noise=None):
        """Simulate the SDE with the training σ_t; ``noise`` draws one step's normals."""
        if not get_solver(options["method"]).stochastic:
            raise ValueError(f"solver {options['method']!r} is not an SDE scheme.")
        return super().push(
            potential, x, tau_from, tau_to, options={**options, "diffusion": self.sigma_at},
            return_path=return_path, t_eval=t_eval, noise=noise,
        )


class GrowingTransport(Transport):
    """dx/dt = ∇ₓs with growth g = λ·s: ∂ₜq = −∇·(q∇s) + g·q (unbalanced AM).

    Parameters
    ----------
    growth_scale : float
        λ' in model units: the price of growth relative to motion.
    """

    def __init__(self, growth_scale=1.0):
        super().__init__(objective="action")
        self.growth_scale = growth_scale

    def population(self, X, times, sample_weight, name):
        """Row indices repeated or resampled by weight, and the mass at each time."""
        return weighted_snapshots(X, times, sample_weight, name)

    def bind(self, units, masses=None):
        self.masses = np.asarray(masses, dtype=np.float64)
        return self

    def fitted_attributes(self, units):
        # λ in user units: g = λ·s = λ'·s'/T with s = (a²/T)·s', so λ = λ'/a².
        return {"growth_scale_": float(self.growth_scale) / units.scale**2,
                "masses_": self.masses}

    def initial_mass(self):
        """The observed mass at the earliest time (rows, or the sum of their weights)."""
        return float(self.masses[0])

    def policy(self, snapshots, interpolation, smooth_time=True):
        """Path regression on unbalanced-OT paths (``"ot"``: every path knows its growth
        rate), the action form on the other interpolations; quadrature on sparse
        snapshots makes the potential smooth in time."""
        interpolation = self.resolved_interpolation(snapshots, interpolation, smooth_time)
        objective = "regression" if interpolation == "ot" else "action"
        return FitPolicy(interpolation, objective, interpolation,
                         time_degree=self.smooth_degree(snapshots, interpolation, smooth_time))

    def loss(self, potential, batch, generator, objective="action"):
        """The uAM objective (masses carried by the batch's weights): path regression
        of motion and growth where the batch has both path rates and ``objective`` says
        so, the action form otherwise."""
        if objective == "regression" and batch.v is not None and batch.g is not None:
            return uam_regression_loss(potential, batch, growth_scale=self.growth_scale)
        return action_loss(potential, batch, uam_integrand, growth_scale=self.growth_scale)

    def sampler(self, snapshots, interpolation, rng, n_draws, higher_order=False):
        """For ``"ot"``, paths between the pairs of an unbalanced-OT coupling: mass is
        created or lost where the snapshots gain or lose it, not carried across."""
        if interpolation == "ot":
            return UnbalancedInterpolationSampler(
                snapshots, n_draws, rng, rho=UNBALANCED_RHO / float(self.growth_scale),
                eps=UNBALANCED_EPS)
        return super().sampler(snapshots, interpolation, rng, n_draws, higher_order)

    @staticmethod
    def join(x, log_w):
        """The pushed state z = (x, log w) of points ``x`` (n, d) and log-weights (n,)."""
        return torch.cat([x, log_w.unsqueeze(-1)], dim=-1)

    @staticmethod
    def split(z):
        """(x, log w) of a state (or a path of states) made by :meth:`join`."""
        return z[..., :-1], z[..., -1]

    def field(self, potential):
        """f(z, τ) of the joint state z = (x, log w): (v, λ'·s')."""
        lam = float(self.growth_scale)

        def f(z, tau):
            x, _ = self.split(z)
            with torch.no_grad():
                s = potential(x, tau)
            return self.join(self.velocity(potential, x, tau), lam * s)

        return f

    def push(self, potential, x, tau_from, tau_to, *, options, return_path=False,
             t_eval=None, noise=None):
        """Push (x, log w) jointly from log w = 0."""
        z0 = self.join(x, torch.zeros_like(x[:, 0]))
        out = super().push(potential, z0, tau_from, tau_to, options=options,
                           return_path=return_path, t_eval=t_eval)
        x1, log_w = self.split(out.x)
        path = None if out.path is None else self.split(out.path)[0]
        return Pushed(x1, log_w, path, out.path_times)


def _penalised_eam_integrand(net, x, t, **kwargs):
    """The eAM integrand plus the residual penalty of a network on a base field."""
    return eam_integrand(net, x, t, **kwargs) + net.residual_penalty(x, t)


def _sigma_schedule(sigma, units):
    """``sigma`` as validated (time, σ) knots in the user's units."""
    t_first, t_last = units.origin, units.origin + units.span
    if isinstance(sigma, str):  # "auto", the only string the constraints allow
        value = AUTO_SIGMA_FRACTION * units.scale / np.sqrt(units.span)
        return np.array([[t_first, value], [t_last, value]])
    if isinstance(sigma, Real) and not isinstance(sigma, bool):
        return np.array([[t_first, float(sigma)], [t_last, float(sigma)]])
    if callable(sigma):
        grid = np.linspace(t_first, t_last, SIGMA_GRID_POINTS)
        try:
            values = np.array([float(sigma(float(t))) for t in grid])
        except (TypeError, ValueError) as exc:
            raise ValueError(
                "sigma, a callable, must map one time (a float) to one noise level "
                f"(a float); calling it failed: {exc}"
            ) from exc
        knots, what = np.column_stack([grid, values]), "sigma(t)"
    else:
        knots = np.asarray(sigma, dtype=np.float64)
        if knots.ndim != 2 or knots.shape[1] != 2 or len(knots) < 1:
            raise ValueError(
                "sigma, given as an array, must hold (time, sigma) rows, shape "
                f"(n_knots, 2); got shape {knots.shape}."
            )
        if np.any(np.diff(knots[:, 0]) <= 0) or not np.all(np.isfinite(knots[:, 0])):
            raise ValueError(
                "sigma, given as (time, sigma) knots, needs finite, strictly increasing "
                f"times; got {knots[:, 0].tolist()}."
            )
        what = "sigma's knots"
    if not np.all(np.isfinite(knots[:, 1])) or np.any(knots[:, 1] < 0):
        raise ValueError(f"{what} must be finite and >= 0; got a value "
                         f"{knots[:, 1][~(knots[:, 1] >= 0)][:1].tolist()}.")
    return knots
