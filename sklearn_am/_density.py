"""ActionMatchingDensity: learn a path from noise to one table, sample rows, score them."""

from numbers import Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._dynamics import Transport
from ._estimator.constraints import TRAINING_CONSTRAINTS
from ._estimator.fitting import HELD_OUT_POINTS, fixed_loss, is_warm_start, scored_loss, \
    train_and_store, validation_split
from ._estimator.inference import push_in_chunks
from ._estimator.potential_param import PotentialParamsMixin, store_potential_params
from ._estimator.validation import check_hidden_layer_sizes, check_numeric_columns, \
    check_positive_int, check_within_reach, naming
from ._numerics.device import INFERENCE_CHUNK, MAX_SEED, explain_out_of_memory, module_on, \
    resolve_device, to_numpy, to_tensor, torch_generator
from ._numerics.losses import EXACT_LAPLACIAN_MAX_FEATURES_INFERENCE, get_laplacian, \
    laplacian_probes, resolve_laplacian
from ._numerics.noise import RowNoise, row_keys, row_signs
from ._numerics.solvers import integrate
from ._sampling.noise_paths import GENERATIVE_PATHS, NoiseDataSampler, SampledPath, \
    conditional_sample, make_noise_path
from ._sampling.units import Units
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
    mean_ : ndarray of shape (`n_features_in_`,)
        Mean of the training data.
    scale_ : ndarray of shape (`n_features_in_`,)
        Standard deviation of the training data (1 for constant features).
    n_iter_ : int
        Optimiser steps run.
    loss_curve_ : list of shape (`n_iter_`,)
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
        warm = is_warm_start(self)
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
        # A warm start keeps the path it was trained on.
        path_spec = self._path_spec_ if warm else (self.path, float(self.bandwidth))
        path = make_noise_path(*path_spec)
        sampler = NoiseDataSampler(to_tensor(data[train_rows], device), path, self.coupling)
        generator = torch_generator(rng.randint(MAX_SEED), device)
        potential = self._starting_potential(X.shape[1], hidden_layer_sizes,
                                             None if warm else rng.randint(MAX_SEED), device)
        # A gradient flow; built-in paths carry their velocity (path regression).
        loss = scored_loss(Transport(), "regression")
        fitted = {
            "mean_": units.center, "scale_": units.scale, "_path_spec_": path_spec,
            "hidden_layer_sizes_": hidden_layer_sizes, "device_": str(device),
            "laplacian_": resolve_laplacian(self.laplacian, X.shape[1],
                                            EXACT_LAPLACIAN_MAX_FEATURES_INFERENCE),
        }
        validation = None
        if held_out is not None:
            checker = NoiseDataSampler(to_tensor(data[np.sort(held_out)], device), path,
                                       self.coupling)
            validation = fixed_loss(loss, checker, DENSITY_HELD_OUT_POINTS, device)
        train_and_store(self, X, y, potential, sampler,
                        lambda net, batch: loss(net, batch, generator), generator=generator,
                        fitted=fitted, warm=warm, validation=validation)
        return self

    @property
    def _units(self):
        """Standardisation as :class:`~sklearn_am._sampling.units.Units` (one scale per feature)."""
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
        x1, _, _, _ = push_in_chunks(
            Transport(), module_on(self.potential_, device), z, 0.0, 1.0,
            options=self._options(), device=device, to_model=_identity,
            from_model=self._units.from_model, chunk=DENSITY_CHUNK, name=type(self).__name__)
        return x1

    def sample_conditional(self, X, *, n_steps=50, churn=1.0, langevin_steps=20,
                           random_state=None):
        """Draw the missing entries (NaN) of each row given the row's observed entries.

        Inpainting along the learnt path: the observed entries ride their own
        noised path while the missing ones start from N(0, I) and follow the field
        (stochastically with ``churn``), then take ``langevin_steps`` Langevin steps
        at the path's end and are denoised there (the bandwidth's blur removed). A
        row's draw is one sample of the model's conditional law given its observed
        entries; a row with no observed entry is a draw from the model. Used by
        :class:`~sklearn_am.ActionMatchingImputer`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with missing entries marked by NaN.
        n_steps : int, default=50
            Euler–Maruyama steps over the path.
        churn : float, default=1.0
            Noise η of the sampler's stochastic differential equation (same
            marginals as the field's flow; 0: the ODE).
        langevin_steps : int, default=20
            Langevin steps at the path's end on the missing entries (score read off
            the learnt field, step b²/2 for bandwidth b).
        random_state : int, RandomState instance or None, default=None
            An int is the seed of the rows' noise streams: the same int gives the
            same draws on every call, and each row's draw depends on the row alone
            (its observed values and which are missing).

        Returns
        -------
        X_drawn : ndarray of shape (n_samples, n_features)
            X (float64) with every NaN replaced by its draw; observed entries are
            returned exactly.

        Raises
        ------
        ValueError
            If the density's path is a callable (only the built-in paths know their
            coefficients), or a row is far outside the fitted data.
        FloatingPointError
            If a draw is not finite.
        """
        check_is_fitted(self)
        n_steps = check_positive_int(n_steps, "n_steps")
        langevin_steps = int(langevin_steps)
        if langevin_steps < 0 or not (isinstance(churn, Real) and churn >= 0):
            raise ValueError(f"langevin_steps and churn must be >= 0; got {langevin_steps} "
                             f"and {churn!r}.")
        path = make_noise_path(*self._path_spec_)
        if isinstance(path, SampledPath):
            raise ValueError(
                f"sample_conditional needs a built-in path ('linear' or 'vp'); this density "
                f"was fitted on the callable path {self._path_spec_[0]!r}, of which only "
                "samples are known. Refit it with path='linear' or path='vp'."
            )
        with naming("X"):
            check_numeric_columns(X)
            X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                              ensure_all_finite="allow-nan")
        known = ~np.isnan(X)
        units = self._units
        check_within_reach(np.where(known, X, units.center), units)
        seed = random_state if isinstance(random_state, (int, np.integer)) and \
            not isinstance(random_state, bool) else \
            check_random_state(random_state).randint(MAX_SEED)
        standardised = np.where(known, units.to_model(np.where(known, X, 0.0)), 0.0)
        keys = row_keys(np.concatenate([standardised, known], axis=1), seed)
        device = resolve_device(self.device)
        net = module_on(self.potential_, device)
        out = np.array(X, dtype=np.float64)
        todo = np.flatnonzero(~known.all(axis=1))
        noise = RowNoise(keys[todo])  # handed out in the order of ``todo``
        for start in range(0, len(todo), INFERENCE_CHUNK):
            rows = todo[start : start + INFERENCE_CHUNK]
            x = to_tensor(standardised[rows], device)
            with explain_out_of_memory(type(self).__name__, "sample_conditional",
                                       "the size of the network"):
                drawn = conditional_sample(
                    net.velocity, path, x, torch.as_tensor(known[rows], device=device),
                    noise.take(len(rows)), n_steps, churn, langevin_steps=langevin_steps)
            out[rows] = np.where(known[rows], X[rows],
                                 units.from_model(to_numpy(drawn, np.float64)))
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
        check_within_reach(X, self._units)
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
                parts.append(to_tensor(row_signs(keys[start:stop], HUTCHINSON_PROBES * d),
                                       device))
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


def _identity(x):
    return x


def _standardising_units(X):
    """Centre on the mean, scale each feature by its standard deviation (1 if constant).

    Values so large that the moments overflow (|x| near 1e300) are divided by the
    column's largest magnitude first, so such a table is standardised too.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        mean = X.mean(axis=0, dtype=np.float64)
        scale = X.std(axis=0, dtype=np.float64)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale))):
        magnitude = np.max(np.abs(X), axis=0).astype(np.float64)
        magnitude = np.where(magnitude > 0, magnitude, 1.0)
        unit = X / magnitude
        mean = magnitude * unit.mean(axis=0, dtype=np.float64)
        scale = magnitude * unit.std(axis=0, dtype=np.float64)
    return Units(mean, np.where(scale > 0, scale, 1.0), 0.0, 1.0)
