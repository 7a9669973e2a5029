"""ActionMatchingDensity: learn a path from noise to one table, sample rows, score them."""

from numbers import Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._constraints import TRAINING_CONSTRAINTS
from ._device import INFERENCE_CHUNK, MAX_SEED, explain_out_of_memory, module_on, \
    resolve_device, to_numpy, to_tensor, torch_generator
from ._dynamics import Transport
from ._fitting import HELD_OUT_POINTS, fixed_loss, scored_loss, validation_split
from ._generative import GENERATIVE_PATHS, NoiseDataSampler, make_noise_path
from ._losses import EXACT_LAPLACIAN_MAX_FEATURES_INFERENCE, get_laplacian, laplacian_probes, \
    resolve_laplacian
from ._noise import row_keys
from ._potential_param import PotentialParamsMixin, store_potential_params
from ._progress import end_fit, fit_potential
from ._solvers import integrate
from ._training import VALIDATION_EVERY, EarlyStopping, validation_attributes
from ._units import Units
from ._validation import check_hidden_layer_sizes, check_numeric_columns, check_positive_int, naming
from .utils._docstring import fill_shared_docs
from .utils._sklearn import CallbackSupportMixin, Interval, StrOptions, _fit_context

__all__ = ["ActionMatchingDensity"]

#: Fixed Rademacher probes per row of Hutchinson's Laplacian in ``score_samples``.
HUTCHINSON_PROBES = 4
#: Points of early stopping's fixed held-out draw. The path from noise to the data is
#: one interval that carries all of the loss's variance, so it gets the points of two
#: snapshot intervals.
DENSITY_HELD_OUT_POINTS = 2 * HELD_OUT_POINTS
#: Rows pushed at once by ``sample`` and ``score_samples``: the log-density field keeps
#: a graph per row for its Laplacian (a backward pass per feature or probe), so a
#: quarter of the snapshot estimators' chunk keeps the same memory.
DENSITY_CHUNK = INFERENCE_CHUNK // 4
_LOG_2PI = float(np.log(2 * np.pi))


@fill_shared_docs
class ActionMatchingDensity(PotentialParamsMixin, CallbackSupportMixin, DensityMixin,
                            BaseEstimator):
    """Density estimation and sampling by generative Action Matching.

    A path of distributions q_τ runs from the prior q_0 = N(0, I) to the
    standardised data blurred by a Gaussian of width ``bandwidth`` (q_1), by
    sampling q_τ(x_τ | x) for data rows x; Action Matching learns the gradient
    field ∇s that moves q_τ along it (Neklyudov et al., ICML 2023, "Generative
    Modeling with Action Matching"). ``sample`` draws N(0, I) and integrates
    dx/dτ = ∇s from τ = 0 to 1; ``score_samples`` integrates a row back to τ = 0
    and applies the instantaneous change of variables,

        log q_1(x) = log N(x_0; 0, I) − ∫₀¹ Δₓs(x_τ, τ) dτ,

    so it returns the model's log-density of every row (in the units of X). Use
    it like :class:`~sklearn.neighbors.KernelDensity`: ``score`` is the total
    log-likelihood, so ``GridSearchCV`` tunes ``bandwidth`` without a scorer.

    Parameters
    ----------
    path : {"linear", "vp"} or callable, default="linear"
        The conditional path q_τ(x_τ | x) from noise ε to a data row x:

        - ``"linear"``: x_τ = τ·x + (1 − (1 − b)τ)·ε, straight lines (their
          velocity x − (1 − b)ε is the regression target);
        - ``"vp"``: x_τ = α_τ·x + σ_τ·ε with α_τ = sin(πτ/2) and
          σ_τ² = 1 − (1 − b²)α_τ², the variance-preserving diffusion path;
        - a callable ``path(X, t, random_state) -> X_t`` drawing one sample of
          q_t(· | x) per standardised row (``random_state``: a NumPy
          Generator); it must give N(0, I) draws at t = 0. Only samples are
          known, so the action form of the loss trains on it.
    coupling : {"independent", "ot"}, default="independent"
        How noise and data rows of a batch are paired on the built-in paths: at
        random, or by exact optimal transport within each batch (straighter
        paths; one small transport solve per step).
    bandwidth : float, default=0.1
        Width b of the Gaussian that blurs the standardised data at τ = 1: the
        model estimates the data's density convolved with N(0, b²I), as a kernel
        density estimate does. Smaller values follow the data more closely and
        need more data.
    {{training:max_iter=8000;batch_size=256;early_stopping=True}}
    solver : {"dopri5", "adams", "rk4", "heun", "euler"}, default="dopri5"
        ODE integrator of ``sample`` and ``score_samples`` (adaptive by
        default, with error control per row).
    n_steps : int, default=31
        Steps of a fixed-step solver over τ ∈ [0, 1]; the first step of
        ``"dopri5"`` is 1/n_steps.
    solver_tol : float, default=1e-5
        Relative and absolute tolerance of ``"dopri5"`` (standardised units and
        nats).
    laplacian : {"auto", "exact", "hutchinson"}, default="auto"
        The Δₓs of ``score_samples``: ``"exact"`` (one backward pass per
        feature), ``"hutchinson"`` (4 fixed Rademacher probes per row, seeded by
        the row: deterministic), ``"auto"``: exact up to 16 features.
    {{device}}
    {{random_state}}
    verbose : int, default=0
        Show a progress bar with the training loss during ``fit`` when > 0.
    warm_start : bool, default=False
        When True, ``fit`` continues training the current potential.
    **potential__params : dict
        ``potential__<name>=value`` arguments of a ``potential`` class.

    Attributes
    ----------
    potential_ : torch.nn.Module
        The trained network s'(x', τ) on standardised data, on the CPU.
    mean_ : ndarray of shape (n_features_in_,)
        Mean of the training data.
    scale_ : ndarray of shape (n_features_in_,)
        Standard deviation of the training data (1 for constant features).
    n_iter_ : int
        Optimiser steps run.
    loss_curve_ : list of shape (n_iter_,)
        Training loss at each step.
    {{validation_scores_}}
    {{validation_steps_}}
    {{best_validation_score_}}
    laplacian_ : str
        The Laplacian of ``score_samples`` (``"auto"`` resolved).
    {{n_features_in_}}
    {{feature_names_in_}}
    {{hidden_layer_sizes_}}
    {{device_}}

    See Also
    --------
    sklearn.neighbors.KernelDensity : Kernel density estimation.
    sklearn.mixture.GaussianMixture : A mixture of Gaussians.

    {{references}}

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am import ActionMatchingDensity
    >>> X = np.random.RandomState(0).normal(size=(500, 2)) * [1.0, 3.0]
    >>> density = ActionMatchingDensity(hidden_layer_sizes=(32, 32), max_iter=300,
    ...                                 random_state=0).fit(X)
    >>> density.sample(4, random_state=0).shape
    (4, 2)
    >>> log_density = density.score_samples(X[:3])
    >>> log_density.shape
    (3,)
    """

    _parameter_constraints: dict = {
        "path": [StrOptions(set(GENERATIVE_PATHS)), callable],
        "coupling": [StrOptions({"independent", "ot"})],
        "bandwidth": [Interval(Real, 0, 1, closed="both")],
        **TRAINING_CONSTRAINTS,
        "laplacian": [StrOptions({"auto", "exact", "hutchinson"})],
    }

    def __init__(
        self,
        *,
        path="linear",
        coupling="independent",
        bandwidth=0.1,
        potential=None,
        hidden_layer_sizes=(128, 128, 128),
        activation="silu",
        max_iter=8000,
        batch_size=256,
        learning_rate_init=1e-3,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        tol=1e-4,
        solver="dopri5",
        n_steps=31,
        solver_tol=1e-5,
        laplacian="auto",
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        **potential__params,
    ):
        self.path = path
        self.coupling = coupling
        self.bandwidth = bandwidth
        self.potential = potential
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.solver = solver
        self.n_steps = n_steps
        self.solver_tol = solver_tol
        self.laplacian = laplacian
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        store_potential_params(self, potential__params)

    # -------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the path's field from the rows of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows whose density is learnt.
        y : None
            Ignored; present for scikit-learn's API.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        warm = self.warm_start and hasattr(self, "potential_")
        with naming("X"):
            check_numeric_columns(X)
            X = validate_data(self, X, reset=not warm, dtype=[np.float64, np.float32],
                              ensure_min_samples=2)
        rng = check_random_state(self.random_state)
        device = resolve_device(self.device)
        hidden_layer_sizes = check_hidden_layer_sizes(self.hidden_layer_sizes)
        units = self._units if warm else _standardising_units(X)
        data = units.to_model(X).astype(np.float32)
        train_rows, held_out = validation_split(
            np.zeros(len(data)), None, self.validation_fraction if self.early_stopping else None,
            rng)
        train_rows = np.arange(len(data)) if held_out is None else np.sort(train_rows)
        path = make_noise_path(self.path, self.bandwidth)
        sampler = NoiseDataSampler(to_tensor(data[train_rows], device), path, self.coupling)
        generator = torch_generator(rng.randint(MAX_SEED), device)
        potential = self._starting_potential(X.shape[1], hidden_layer_sizes,
                                             None if warm else rng.randint(MAX_SEED), device)
        # A gradient flow; built-in paths carry their velocity (path regression).
        loss = scored_loss(Transport(), "regression")
        fitted = {
            "mean_": units.center, "scale_": units.scale,
            "hidden_layer_sizes_": hidden_layer_sizes, "device_": str(device),
            "laplacian_": resolve_laplacian(self.laplacian, X.shape[1],
                                            EXACT_LAPLACIAN_MAX_FEATURES_INFERENCE),
        }
        early = None
        if held_out is not None:
            checker = NoiseDataSampler(to_tensor(data[np.sort(held_out)], device), path,
                                       self.coupling)
            early = EarlyStopping(fixed_loss(loss, checker, DENSITY_HELD_OUT_POINTS, device),
                                  every=VALIDATION_EVERY, patience=self.n_iter_no_change,
                                  tol=self.tol)
        previous = (self.loss_curve_, self.n_iter_) if warm else ([], 0)
        result = fit_potential(self, X, y, potential, sampler,
                               lambda net, batch: loss(net, batch, generator),
                               generator=generator, fitted=fitted, previous=previous,
                               early_stopping=early)
        fitted.update(
            potential_=potential.to("cpu"), loss_curve_=previous[0] + result.curve,
            n_iter_=previous[1] + len(result.curve),
            **validation_attributes(result, previous[1]),
        )
        for attribute, value in fitted.items():
            setattr(self, attribute, value)
        end_fit(self, X, y, result)
        return self

    @property
    def _units(self):
        """Standardisation as :class:`~sklearn_am._units.Units` (one scale per feature)."""
        return Units(self.mean_, self.scale_, 0.0, 1.0)

    # ------------------------------------------------------------ inference
    def _options(self):
        return {"method": self.solver, "n_steps": self.n_steps, "rtol": self.solver_tol,
                "atol": self.solver_tol}

    def sample(self, n_samples=1, random_state=None):
        """New rows: N(0, I) draws pushed along the learnt field from τ = 0 to 1.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows.
        random_state : int, RandomState instance or None, default=None
            Seeds the prior draws.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The generated rows, in the units of the training data.
        """
        check_is_fitted(self)
        check_positive_int(n_samples, "n_samples")
        rng = check_random_state(random_state)
        z = rng.standard_normal((n_samples, self.n_features_in_))
        device = resolve_device(self.device)
        net = module_on(self.potential_, device)
        out = np.empty((n_samples, self.n_features_in_))
        for start in range(0, n_samples, DENSITY_CHUNK):
            x = to_tensor(z[start : start + DENSITY_CHUNK], device)
            x1 = integrate(net.velocity, x, 0.0, 1.0, **self._options())
            out[start : start + len(x)] = self._units.from_model(to_numpy(x1, np.float64))
        return out

    def score_samples(self, X):
        """The model's log-density of each row (in the units of X).

        Integrates (x, ℓ) back from τ = 1 to 0 with dx/dτ = ∇ₓs and dℓ/dτ = −Δₓs,
        with error control per row; log q(x) = log N(x_0; 0, I) − ℓ(0) − Σ log
        ``scale_`` (the standardisation).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            Natural logarithm of the density at each row.
        """
        check_is_fitted(self)
        with naming("X"):
            check_numeric_columns(X)
            X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        device = resolve_device(self.device)
        net = module_on(self.potential_, device)
        d = self.n_features_in_
        standardised = self._units.to_model(X)
        keys = row_keys(standardised, 0) if self.laplacian_ == "hutchinson" else None
        field = _log_density_field(net, d, self.laplacian_)
        out = np.empty(len(X))
        for start in range(0, len(X), DENSITY_CHUNK):
            stop = min(start + DENSITY_CHUNK, len(X))
            x = to_tensor(standardised[start:stop], device)
            # State (x, ℓ, probes): the probes ride along unchanged, so every row keeps
            # its own through the per-row adaptive steps.
            parts = [x, torch.zeros_like(x[:, :1])]
            if keys is not None:
                parts.append(_rademacher(keys[start:stop], d, device))
            with explain_out_of_memory(type(self).__name__, "score_samples", "n_features"):
                z0 = to_numpy(integrate(field, torch.cat(parts, dim=1), 1.0, 0.0,
                                        **self._options()), np.float64)
            x0, integral = z0[:, :d], z0[:, d]
            log_prior = -0.5 * (np.sum(x0**2, axis=1) + d * _LOG_2PI)
            out[start:stop] = log_prior - integral
        return out - np.sum(np.log(self.scale_))

    def score(self, X, y=None):
        """Total log-likelihood of the rows of X under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y : None
            Ignored; present for scikit-learn's API.

        Returns
        -------
        log_likelihood : float
            The sum of :meth:`score_samples`.
        """
        return float(np.sum(self.score_samples(X)))


def _rademacher(keys, n_features, device):
    """``HUTCHINSON_PROBES`` fixed ±1 probes per row from the row's key: (n, k·d)."""
    counters = np.arange(HUTCHINSON_PROBES * n_features, dtype=np.uint64)
    with np.errstate(over="ignore"):
        mixed = (keys[:, None] ^ (counters[None, :] * np.uint64(0x9E3779B97F4A7C15)))
        mixed = (mixed ^ (mixed >> np.uint64(29))) * np.uint64(0xBF58476D1CE4E5B9)
    bits = (mixed >> np.uint64(32)) & np.uint64(1)
    return torch.as_tensor(2.0 * bits.astype(np.float32) - 1.0, device=device)


def _log_density_field(net, n_features, laplacian):
    """f(z, τ) for z = (x, ℓ[, probes]): (∇ₓs, −Δₓs[, 0]), detached after each call."""
    d = n_features

    def field(z, tau):
        with torch.enable_grad():
            x = z[:, :d].detach().requires_grad_(True)
            _, grad, _ = net.derivatives(x, tau, create_graph=True)
            if laplacian == "exact":
                lap = get_laplacian("exact")(grad, x)
            else:
                probes = z[:, d + 1 :].reshape(len(z), HUTCHINSON_PROBES, d)
                lap = laplacian_probes(grad, x, probes, create_graph=False)
        rates = [grad.detach(), -lap.detach().unsqueeze(-1)]
        if laplacian != "exact":
            rates.append(torch.zeros_like(z[:, d + 1 :]))
        return torch.cat(rates, dim=1)

    return field


def _standardising_units(X):
    """Centre on the mean, scale each feature by its standard deviation (1 if constant)."""
    mean = X.mean(axis=0, dtype=np.float64)
    scale = X.std(axis=0, dtype=np.float64)
    return Units(mean, np.where(scale > 0, scale, 1.0), 0.0, 1.0)
