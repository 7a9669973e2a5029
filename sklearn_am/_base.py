"""BaseActionMatching: what every Action Matching estimator shares.

It owns parameter validation, the model's units (:mod:`sklearn_am._units`), the one
call to the training loop, and the public methods (push, transform, velocity,
potential, sample, score). Everything that depends on the kind of dynamics lives in
a dynamics object (:mod:`sklearn_am._dynamics`) that the estimator builds from its
parameters in one hook, ``_make_dynamics``; a second hook, ``_solver_options``,
says how pushes are integrated. Nothing else is overridden.

Return contract (all estimators)
--------------------------------
``push(X, t_from, t_to)`` returns the pushed points ``X_to``; with
``return_weights=True`` it also returns each point's growth factor (ones where mass
is conserved), and with ``return_path=True`` (or ``t_eval``) the states along the
way and their times, always in the order ``X_to, weights, path, path_times``.
``sample(n_samples, t)`` returns ``X`` like ``KernelDensity.sample``; with
``return_weights=True`` also the mass each point carries.
"""

import copy
import inspect
import math
import threading
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._device import (
    explain_out_of_memory,
    module_on,
    resolve_device,
    to_numpy,
    to_tensor,
    torch_generator,
)
from ._dynamics import Transport
from ._noise import RowNoise, row_keys
from ._paths import INTERPOLATIONS, Snapshots, relative_steps
from ._persistence import VERSION_KEY, check_version, module_arrays, restore_module
from ._progress import ProgressReport, SklearnCallbacks
from ._solvers import ODE_SOLVERS
from ._training import Averaging, EarlyStopping, train
from ._units import Units
from ._version import __version__
from ._validation import (
    _as_real,
    _check_t_eval,
    _check_times,
    check_hidden_layer_sizes,
    check_within_reach,
    naming,
)
from .networks import ACTIVATIONS, MLPPotential, as_potential
from .utils._docstring import fill_shared_docs
from .utils._sklearn import CallbackSupportMixin, Interval, StrOptions, _fit_context

#: Interpolation "auto" takes quadrature (the observed snapshots only) from this many
#: distinct times up, when the median relative step between consecutive snapshots
#: (Bures–Wasserstein distance over spread, ``_paths.relative_steps``) is at most
#: ``DENSE_RELATIVE_STEP`` (or when snapshots are too small to have a covariance,
#: e.g. one row per time): there minibatch-OT pairing is mostly noise (small
#: displacements next to the spacing between samples); otherwise paths ("ot").
#: Measured: benchmarks/results/tta.md ("How the defaults were chosen", README).
DENSE_SNAPSHOTS = 10
DENSE_RELATIVE_STEP = 0.35
#: Rows of the earliest snapshot kept after fit for :meth:`sample`.
MAX_SOURCE_SAMPLES = 10_000
#: Points per interval of the (deterministic) Monte Carlo estimate behind ``score``.
SCORE_POINTS = 2048
#: Points per interval of the fixed held-out draws scored by early stopping, the
#: steps between two checks, and the decay of the weight average that is checked.
VALIDATION_POINTS = 2048
VALIDATION_EVERY = 50
#: Early stopping is skipped unless every snapshot has at least this many rows.
MIN_ROWS_FOR_VALIDATION = 20
AVERAGING_DECAY = 0.99
#: Rows per snapshot ``score`` uses at most (evenly spaced, so deterministic):
#: its memory then stays flat in the number of rows.
SCORE_ROWS_PER_TIME = 32_768
#: Seed of the fixed draws behind ``score`` (common random numbers across models).
SCORE_SEED = 0
#: How far beyond the fitted time range a time may lie, in fitted spans: pushes
#: and evaluations farther out raise ``ValueError`` (extrapolation that far is
#: meaningless, and a push's work grows with its span).
EXTRAPOLATION_SPANS = 1.0
#: Upper bound of ``n_steps``: with the extrapolation limit, a push never takes
#: more than 3 × this many fixed steps.
MAX_N_STEPS = 100_000
#: Rows pushed through the network at once at inference: memory beyond inputs and
#: outputs stays flat in the number of rows.
INFERENCE_CHUNK = 16_384
_CHUNK_ADVICE = (f"the size of the network (inference runs {INFERENCE_CHUNK} rows at a time; "
                 "the batch_size of training does not matter here)")
_MAX_SEED = np.iinfo(np.int32).max


def _deterministic(estimator):
    """``available_if`` check of ``inverse_transform``: only ODE dynamics invert."""
    if estimator._make_dynamics().stochastic:
        raise AttributeError(
            f"{type(estimator).__name__} has no inverse_transform: its dynamics are "
            "stochastic (an SDE), which has no inverse map; integrating backwards would "
            "need the score ∇log q_t, which entropic Action Matching does not learn."
        )
    return True


@fill_shared_docs
class BaseActionMatching(CallbackSupportMixin, OneToOneFeatureMixin, TransformerMixin,
                         BaseEstimator):
    """Base class of Action Matching estimators. Not for direct use."""

    _parameter_constraints: dict = {
        "potential": [None, callable],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "interpolation": [StrOptions(set(INTERPOLATIONS) - {"bridge"} | {"auto"})],
        "solver": [StrOptions(set(ODE_SOLVERS))],
        "n_steps": [Interval(Integral, 1, MAX_N_STEPS, closed="both")],
        "solver_tol": [Interval(Real, 0, None, closed="neither")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "source_time": [Real, None],
        "target_time": [Real, None],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        *,
        potential=None,
        hidden_layer_sizes=(128, 128, 128),
        activation="silu",
        max_iter=3000,
        batch_size=256,
        learning_rate_init=1e-3,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        tol=1e-4,
        interpolation="auto",
        solver="adams",
        n_steps=31,
        solver_tol=1e-4,
        device="auto",
        random_state=None,
        verbose=0,
        source_time=None,
        target_time=None,
        warm_start=False,
        **potential__params,
    ):
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
        self.interpolation = interpolation
        self.solver = solver
        self.n_steps = n_steps
        self.solver_tol = solver_tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.source_time = source_time
        self.target_time = target_time
        self.warm_start = warm_start
        _store_potential_params(self, potential__params)

    # ------------------------------------------------- potential__<name> routing
    def get_params(self, deep=True):
        """Parameters of this estimator, with the ``potential__<name>`` arguments.

        Parameters
        ----------
        deep : bool, default=True
            Ignored beyond scikit-learn's meaning (no sub-estimators here).

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep)
        params.update(self._potential_params())
        return params

    def set_params(self, **params):
        """Set parameters, ``potential__<name>`` ones included (skorch's convention).

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            The estimator.
        """
        routed = {k: params.pop(k) for k in list(params) if k.startswith(POTENTIAL_PREFIX)}
        for key, value in routed.items():
            setattr(self, key, value)
        return super().set_params(**params)

    def _potential_params(self):
        return {k: v for k, v in vars(self).items() if k.startswith(POTENTIAL_PREFIX)}

    # ------------------------------------------------------------------ hooks
    def _make_dynamics(self):
        """The dynamics this estimator's parameters describe (not yet bound to data)."""
        return Transport()

    def _solver_options(self):
        """How pushes are integrated: keyword arguments of ``_solvers.integrate``."""
        return {"method": self.solver, "n_steps": self.n_steps, "rtol": self.solver_tol,
                "atol": self.solver_tol}

    # -------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Learn the potential s(x, t) from snapshots.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observed points (cells, particles...) from every snapshot.
        y : array-like of shape (n_samples,)
            Observation time of each row (numeric, at least 2 distinct values).
            Named ``y`` for scikit-learn; it plays the role of t.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y)

    def _fit(self, X, y, sample_weight=None):
        """The one fitting procedure: data → units → dynamics → training → attributes."""
        warm = self.warm_start and hasattr(self, "potential_")
        X, times = self._validate_fit_data(X, y, reset=not warm)
        name = type(self).__name__
        dynamics = self._make_dynamics()
        population, masses = dynamics.population(X, times, sample_weight, name)
        hidden_layer_sizes = check_hidden_layer_sizes(self.hidden_layer_sizes)
        rng = check_random_state(self.random_state)
        device = resolve_device(self.device)
        rows, held_out = self._validation_split(times, population, rng)
        units = self._units if warm else Units.from_data(X, times, rows)
        dynamics.bind(units, masses)  # masses from every row: held-out rows are no deaths
        snapshots = Snapshots.from_data(X, times, units, device, rows=rows,
                                        masses=_relative(masses))
        generator = torch_generator(rng.randint(_MAX_SEED), device)
        if warm:
            potential = copy.deepcopy(self.potential_)
        else:
            init = torch_generator(rng.randint(_MAX_SEED), "cpu")
            potential = self._build_potential(X.shape[1], hidden_layer_sizes, init)
        potential.to(device)
        interpolation = self._resolved_interpolation(dynamics, snapshots)
        sampler = dynamics.sampler(snapshots, interpolation, rng,
                                   n_draws=self.max_iter * self.batch_size)
        # Rows of the earliest time, held-out ones included, as observed (for ``sample``).
        first = np.arange(len(times)) if population is None else population
        first = first[times[first] == times.min()]
        keep = np.sort(rng.permutation(len(first))[:MAX_SOURCE_SAMPLES])
        # Every fitted attribute but the network's is known before training; all are
        # set at the end, and only there.
        fitted = {
            "x_center_": units.center, "x_scale_": units.scale,
            "time_origin_": units.origin, "time_scale_": units.span,
            "hidden_layer_sizes_": hidden_layer_sizes, "interpolation_": interpolation,
            "times_": units.from_tau(snapshots.times), "device_": str(device),
            "source_samples_": np.asarray(X[first[keep]], dtype=np.float64),
            "_dynamics": dynamics,
            **dynamics.fitted_attributes(units),
        }
        if dynamics.stochastic:
            fitted["noise_seed_"] = int(check_random_state(self.random_state).randint(_MAX_SEED))
        previous = (self.loss_curve_, self.n_iter_) if warm else ([], 0)
        averaging = Averaging(potential, AVERAGING_DECAY)
        hooks = self._step_hooks(X, y, fitted, averaging, previous)
        early = None
        if held_out is not None:
            checker = self._fixed_loss(dynamics, X, times, held_out, masses, units, device,
                                       interpolation, VALIDATION_POINTS)
            early = EarlyStopping(checker, every=VALIDATION_EVERY,
                                  patience=self.n_iter_no_change, tol=self.tol)
        with explain_out_of_memory(name, "fit", f"batch_size (now {self.batch_size})"):
            try:
                result = train(
                    potential,
                    sampler,
                    lambda net, batch: dynamics.loss(net, batch, generator),
                    max_iter=self.max_iter,
                    batch_size=self.batch_size,
                    learning_rate=self.learning_rate_init,
                    generator=generator,
                    hooks=hooks,
                    averaging=averaging,
                    early_stopping=early,
                    name=name,
                )
            finally:
                for hook in hooks:
                    getattr(hook, "close", lambda: None)()
        fitted.update(potential_=potential.to("cpu"),
                      loss_curve_=previous[0] + result.curve,
                      n_iter_=previous[1] + len(result.curve),
                      **self._validation_attributes(result, units, previous[1]))
        for attribute, value in fitted.items():
            setattr(self, attribute, value)
        if hasattr(self, "_callback_fit_ctx"):
            self._callback_fit_ctx.call_on_fit_task_end(
                estimator=self, X=X, y=y, reconstruction_attributes={})
        if result.diverged_at is not None:
            raise FloatingPointError(_divergence_message(name, result, self.learning_rate_init))
        _check_finite_outputs(name, self.potential_, snapshots)
        return self

    def _step_hooks(self, X, y, fitted, averaging, previous):
        """The training loop's step hooks: scikit-learn callbacks, and a progress bar."""
        hooks = []
        if hasattr(self, "_init_callback_context"):  # scikit-learn >= 1.9
            context = self._init_callback_context(max_subtasks=self.max_iter)
            context.call_on_fit_task_begin(estimator=self, X=X, y=y)
            if getattr(self, "_skl_callbacks", None):

                def reconstruction(step):  # the model as it stands, for fitted_estimator
                    with averaging.swapped_in():  # the averaged weights: what would be kept
                        network = copy.deepcopy(averaging.module).to("cpu").eval()
                    return {**fitted, "potential_": network, "n_iter_": previous[1] + step + 1}

                hooks.append(SklearnCallbacks(context, self, reconstruction))
        if self.verbose:
            hooks.append(ProgressReport(type(self).__name__, self.max_iter))
        return hooks

    def _validate_fit_data(self, X, y, reset):
        with naming("X", "y"):
            X, y = validate_data(
                self, X, y, reset=reset, dtype=[np.float64, np.float32],
                ensure_min_samples=2, y_numeric=False,
            )
        times = _check_times(y, X.shape[0])
        if len(np.unique(times)) < 2:
            raise ValueError(
                f"y (the observation times) has a single distinct value ({times[0]:g}); "
                f"{type(self).__name__} needs snapshots at 2 or more distinct times."
            )
        return X, times

    def _resolved_interpolation(self, dynamics, snapshots):
        """``interpolation``, with ``"auto"`` resolved by the rule of the docstring."""
        if self.interpolation != "auto":
            return self.interpolation
        n_features = snapshots.X_host.shape[1]
        tiny = np.median(snapshots.counts) < n_features + 2  # no covariance per snapshot
        dense = snapshots.n_times >= DENSE_SNAPSHOTS and (
            tiny or np.median(relative_steps(snapshots)) <= DENSE_RELATIVE_STEP)
        return "quadrature" if dense else dynamics.sparse_interpolation

    def _build_potential(self, n_features, hidden_layer_sizes, generator=None):
        """A fresh potential network for ``n_features`` (weights drawn from ``generator``).

        ``potential=None`` gives the built-in MLP; a module class is instantiated
        with the ``potential__<name>`` arguments (and ``n_features`` when its
        ``__init__`` takes it and it is not given); a module instance is copied.
        Modules without exact ``derivatives`` get autograd ones.
        """
        spec, kwargs = self.potential, {k[len(POTENTIAL_PREFIX):]: v
                                        for k, v in self._potential_params().items()}
        if spec is None:
            if kwargs:
                raise ValueError(
                    f"{sorted(self._potential_params())} given with potential=None; the "
                    "built-in MLP takes hidden_layer_sizes and activation. Pass a module "
                    "class as potential to use potential__<name> arguments."
                )
            return MLPPotential(n_features, hidden_layer_sizes, self.activation,
                                generator=generator)
        if isinstance(spec, torch.nn.Module):
            if kwargs:
                raise ValueError(
                    f"{sorted(self._potential_params())} apply to a potential class, but "
                    f"potential is an instance of {type(spec).__name__}; pass the class, or "
                    "configure the instance yourself."
                )
            module = copy.deepcopy(spec)
        elif isinstance(spec, type) and issubclass(spec, torch.nn.Module):
            module = _instantiate(spec, kwargs, n_features, generator)
        else:
            raise TypeError(
                f"potential must be None, a torch.nn.Module subclass or an instance of "
                f"one; got {spec!r}."
            )
        return _checked_potential(as_potential(module), n_features)

    @property
    def _units(self):
        return Units(self.x_center_, self.x_scale_, self.time_origin_, self.time_scale_)

    # ------------------------------------------------------------ inference
    def _check_X(self, X):
        check_is_fitted(self)
        with naming("X"):
            X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        check_within_reach(X, self._units)
        return X

    def _check_time(self, t, name):
        if not isinstance(t, Real) or isinstance(t, bool) or not np.isfinite(t):
            raise TypeError(f"{name} must be a finite real number, got {t!r}.")
        low, high = self.times_[0], self.times_[-1]
        span = high - low
        reach = EXTRAPOLATION_SPANS * span
        if t < low - reach or t > high + reach:
            raise ValueError(
                f"{name}={t:g} is far outside the fitted time range [{low:g}, {high:g}]: "
                f"the learnt dynamics are extrapolated at most {EXTRAPOLATION_SPANS:g} "
                f"fitted span ({span:g}) beyond either end, i.e. within "
                f"[{low - reach:g}, {high + reach:g}]. Are the times in other units than "
                "at fit (e.g. seconds instead of days)?"
            )
        if t < low - 1e-9 * span or t > high + 1e-9 * span:
            warnings.warn(
                f"{name}={t:g} lies outside the fitted time range [{low:g}, {high:g}]; "
                "the learnt field is extrapolated there.",
                UserWarning,
            )
        return float(t)

    def _row_times(self, t, n_rows, name="t"):
        """``t`` as one time per row (model units), from a scalar or a 1-D array."""
        if np.ndim(t) == 0:
            t = self._check_time(_as_real(t, name), name)
            return np.full(n_rows, self._units.to_tau(t))
        t = _check_times(t, n_rows, name=name)
        for value in (t.min(), t.max()):
            self._check_time(float(value), name)
        return self._units.to_tau(t)

    def push(self, X, t_from, t_to, *, return_path=False, t_eval=None, return_weights=False,
             random_state=None):
        """Push points observed at ``t_from`` to ``t_to`` along the learnt dynamics.

        Deterministic dynamics integrate dx/dt = ∇ₓs(x, t) (with the growth of
        log-weights, d log w/dt = g, where mass changes); stochastic ones simulate
        dX = ∇ₓs dt + σ_t dW forwards in time.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at time ``t_from``.
        t_from, t_to : float
            Start and end time, inside the fitted range (else a warning);
            ``t_to < t_from`` integrates backwards (deterministic dynamics only).
        return_path : bool, default=False
            Also return the intermediate states.
        t_eval : array-like of float, default=None
            Times of the returned path (monotone from ``t_from`` to ``t_to``);
            default: the solver's steps. Implies ``return_path=True``.
        return_weights : bool, default=False
            Also return each point's growth factor w = exp(∫ g dt): the mass a
            point of mass 1 at ``t_from`` has at ``t_to`` (all ones where mass is
            conserved).
        random_state : int, RandomState instance or None, default=None
            Seed of the noise of stochastic dynamics; None uses ``noise_seed_``,
            so repeated calls give the same paths. Ignored by deterministic ones.

        Returns
        -------
        X_to : ndarray of shape (n_samples, n_features)
            The points at ``t_to``, in the dtype of ``X``.
        weights : ndarray of shape (n_samples,)
            Growth factors; only with ``return_weights``.
        path : ndarray of shape (n_times, n_samples, n_features)
            States along the way, ``path[-1]`` equal to ``X_to``. Only with
            ``return_path`` or ``t_eval``.
        path_times : ndarray of shape (n_times,)
            The time of each state of ``path``. Only with ``return_path`` or
            ``t_eval``.
        """
        X = self._check_X(X)
        return self._push(X, t_from, t_to, return_path=return_path, t_eval=t_eval,
                          return_weights=return_weights, random_state=random_state)

    def _push(self, X, t_from, t_to, *, return_path=False, t_eval=None, return_weights=False,
              random_state=None):
        t_from = self._check_time(_as_real(t_from, "t_from"), "t_from")
        t_to = self._check_time(_as_real(t_to, "t_to"), "t_to")
        dynamics, units = self._dynamics, self._units
        if dynamics.stochastic and t_to < t_from:
            raise ValueError(
                f"t_to={t_to:g} is before t_from={t_from:g}: {type(self).__name__} "
                "simulates the SDE forwards in time only (running it backwards would "
                "need the score ∇log q_t, which is not learnt)."
            )
        tau_eval, requested = None, None
        if t_eval is not None:
            grid, requested = _check_t_eval(t_eval, t_from, t_to)
            tau_eval = [float(v) for v in units.to_tau(grid)]
            return_path = True
        tau_from, tau_to = float(units.to_tau(t_from)), float(units.to_tau(t_to))
        options = self._solver_options()
        options["n_steps"] = max(1, math.ceil(options["n_steps"] * abs(tau_to - tau_from)))
        noise = None
        if dynamics.stochastic:
            seed = self.noise_seed_ if random_state is None else \
                check_random_state(random_state).randint(_MAX_SEED)
            noise = RowNoise(row_keys(X, seed))
        device = resolve_device(self.device)
        potential = module_on(self.potential_, device)
        n = len(X)
        X_to = np.empty_like(X)
        weights = np.ones(n, dtype=X.dtype) if return_weights else None
        path = times = None
        for start in range(0, n, INFERENCE_CHUNK):
            stop = min(start + INFERENCE_CHUNK, n)
            x = to_tensor(units.to_model(X[start:stop]), device)
            with explain_out_of_memory(type(self).__name__, "push", _CHUNK_ADVICE):
                out = dynamics.push(
                    potential, x, tau_from, tau_to, options=options, return_path=return_path,
                    t_eval=tau_eval, noise=None if noise is None else noise.take(len(x)),
                )
            X_to[start:stop] = units.from_model(to_numpy(out.x, np.float64))
            if return_weights and out.log_weights is not None:
                weights[start:stop] = np.exp(to_numpy(out.log_weights, np.float64))
            if return_path:
                chunk_path = to_numpy(out.path, np.float64)
                if path is None:
                    path = np.empty((chunk_path.shape[0], *X.shape), dtype=X.dtype)
                path[:, start:stop] = units.from_model(chunk_path)
                times = out.path_times
        result = [X_to]
        if return_weights:
            result.append(weights)
        if return_path:
            path_times = units.from_tau(times)
            if times[0] == tau_from:  # the first state is the input itself, not a round trip
                path[0] = X
            if requested is not None:
                path, path_times = path[requested], path_times[requested]
            result += [path, path_times]
        return result[0] if len(result) == 1 else tuple(result)

    def _default_times(self):
        check_is_fitted(self)
        source = self.times_[0] if self.source_time is None else self.source_time
        target = self.times_[-1] if self.target_time is None else self.target_time
        return source, target

    def transform(self, X):
        """Push X from ``source_time`` to ``target_time``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at ``source_time`` (default: the earliest fitted time).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            The points at ``target_time`` (default: the latest fitted time).
        """
        source, target = self._default_times()
        return self._push(self._check_X(X), source, target)

    @available_if(_deterministic)
    def inverse_transform(self, X):
        """Push X backwards, from ``target_time`` to ``source_time``.

        The ODE is time-reversible, so this undoes :meth:`transform` up to the
        solver's error. Not available for stochastic dynamics.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at ``target_time``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The points at ``source_time``.
        """
        source, target = self._default_times()
        return self._push(self._check_X(X), target, source)

    def velocity(self, X, t):
        """The learnt velocity ∇ₓs(x, t), in the units of X per unit of time.

        {{velocity_doc}}
        """
        X = self._check_X(X)
        tau = self._row_times(t, X.shape[0])
        return self._evaluate(X, tau, _velocity_of, self._units.velocity)

    def scalar_potential(self, X, t):
        """The learnt scalar potential s(x, t) (defined up to a function of t alone).

        (The method is not named ``potential``: that is the parameter choosing
        the network.)

        Parameters
        ----------
        {{X_t}}

        Returns
        -------
        s : ndarray of shape (n_samples,)
            The potential at each point, in units of X² per unit of time.
        """
        X = self._check_X(X)
        tau = self._row_times(t, X.shape[0])
        with torch.no_grad():
            return self._evaluate(X, tau, _potential_of, self._units.action)

    def _evaluate(self, X, tau, fn, scale):
        """``fn(net, x, t) * scale`` over chunks of rows, into an array of X's dtype."""
        device = resolve_device(self.device)
        net = module_on(self.potential_, device)
        units = self._units
        out = None
        for start in range(0, len(X), INFERENCE_CHUNK):
            stop = min(start + INFERENCE_CHUNK, len(X))
            x = to_tensor(units.to_model(X[start:stop]), device)
            t = torch.as_tensor(tau[start:stop], dtype=torch.float32, device=device)
            with explain_out_of_memory(type(self).__name__, "inference", _CHUNK_ADVICE):
                values = to_numpy(fn(net, x, t), np.float64) * scale
            if out is None:
                out = np.empty((len(X), *values.shape[1:]), dtype=X.dtype)
            out[start:stop] = values
        return out  # validation guarantees at least one row

    def sample(self, n_samples=1, t=None, random_state=None, return_weights=False):
        """Draw points of the earliest snapshot and push them to time ``t``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of points.
        t : float, default=None
            Target time; default ``target_time`` (the latest fitted time).
        random_state : int, RandomState instance or None, default=None
            Which stored points are drawn (and, for stochastic dynamics, the noise).
        return_weights : bool, default=False
            Also return the mass each point carries at ``t``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The sampled points.
        weights : ndarray of shape (n_samples,)
            Only with ``return_weights``: each point's mass. They sum to the
            predicted total mass at ``t``: 1 where mass is conserved, and in the
            units of ``masses_`` (rows, or sums of ``sample_weight``) for
            unbalanced dynamics.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}.")
        rng = check_random_state(random_state)
        t = self._default_times()[1] if t is None else t
        rows = rng.randint(len(self.source_samples_), size=n_samples)
        out = self._push(self.source_samples_[rows], self.times_[0], t, random_state=rng,
                         return_weights=return_weights)
        if not return_weights:
            return out
        X, growth = out
        return X, growth * (self._dynamics.initial_mass() / n_samples)

    def score(self, X, y):
        """Minus the Action Matching loss of the snapshots (X, y); greater is better.

        The loss is estimated from fixed draws (the same for every model), so a
        fitted model always gets the same score on the same data; it is expressed
        in the user's units, so models fitted on different folds compare.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observed points.
        y : array-like of shape (n_samples,)
            Observation times, at least 2 distinct values.

        Returns
        -------
        score : float
            Minus the loss; greater is better.
        """
        X = self._check_X(X)
        times = _check_times(y, X.shape[0])
        if len(np.unique(times)) < 2:
            raise ValueError(
                "score needs snapshots at 2 or more distinct times in y; got one."
            )
        dynamics, units = self._dynamics, self._units
        rows, masses = dynamics.population(X, times, None, type(self).__name__)
        rows = _at_most_per_time(times, rows, SCORE_ROWS_PER_TIME)
        device = resolve_device(self.device)
        loss = self._fixed_loss(dynamics, X, times, rows, masses, units, device,
                                self.interpolation_, SCORE_POINTS)
        with torch.enable_grad():
            value = float(loss(module_on(self.potential_, device)).detach())
        return -value * units.action

    def _fixed_loss(self, dynamics, X, times, rows, masses, units, device, interpolation,
                    n_points):
        """``loss(potential)`` on fixed draws from ``rows`` of X (``score``, validation).

        The draws (pairs, times, noise) come from fixed seeds, so every model is
        scored on the same points: common random numbers across models and checks.
        """
        snapshots = Snapshots.from_data(X, times, units, device, rows=rows,
                                        masses=_relative(masses))
        sampler = dynamics.sampler(snapshots, interpolation, np.random.RandomState(SCORE_SEED),
                                   n_points)
        batch = sampler.draw(n_points, torch_generator(SCORE_SEED, device))

        def loss(potential):
            return dynamics.loss(potential, batch, torch_generator(SCORE_SEED, device))

        return loss

    def _validation_split(self, times, rows, rng):
        """(training rows, held-out rows) for early stopping; held-out None without it.

        ``validation_fraction`` of the rows of every time (rounded up, at least one
        left for training) are held out. Early stopping needs every snapshot to
        have ``MIN_ROWS_FOR_VALIDATION`` rows or more; with fewer it is skipped.
        """
        if not self.early_stopping:
            return rows, None
        rows = np.arange(len(times)) if rows is None else rows
        t = times[rows]
        if np.unique(t, return_counts=True)[1].min() < MIN_ROWS_FOR_VALIDATION:
            return rows, None  # too few rows to hold any out: no early stopping
        train, valid = [], []
        for value in np.unique(t):
            mine = rows[t == value][rng.permutation(np.count_nonzero(t == value))]
            n_valid = min(math.ceil(self.validation_fraction * len(mine)), len(mine) - 1)
            valid.append(mine[:n_valid])
            train.append(mine[n_valid:])
        if sum(len(v) > 0 for v in valid) < 2:
            return rows, None
        return np.concatenate(train), np.concatenate(valid)

    def _validation_attributes(self, result, units, steps_before):
        """``validation_scores_`` (−held-out loss in the user's units, greater is better)."""
        if not result.validation:
            return {"validation_scores_": None, "validation_steps_": None,
                    "best_validation_score_": None}
        scores = [-loss * units.action for _, loss in result.validation]
        return {"validation_scores_": scores,
                "validation_steps_": [steps_before + step for step, _ in result.validation],
                "best_validation_score_": max(scores)}

    def __getstate__(self):
        """The state with the network as NumPy arrays (see ``_persistence``)."""
        state = dict(super().__getstate__())  # object.__getstate__ is the live __dict__
        state[VERSION_KEY] = __version__
        if "potential_" in state:
            state["potential_"] = module_arrays(state["potential_"])
        return state

    def __setstate__(self, state):
        state = dict(state)
        check_version(state, type(self).__name__)
        super().__setstate__(state)
        if isinstance(self.__dict__.get("potential_"), dict):
            network = self._build_potential(self.n_features_in_, self.hidden_layer_sizes_)
            self.potential_ = restore_module(network, self.potential_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _divergence_message(name, result, learning_rate):
    step, loss = result.diverged_at + 1, result.bad_loss
    what = (f"the loss became {loss}" if not math.isfinite(loss)
            else f"the update after a loss of {loss:.4g} made the weights non-finite")
    return (
        f"{name}: training diverged at step {step} ({what}). The model keeps the weights "
        f"of step {step - 1}, the last with a finite loss. Lower "
        f"learning_rate_init (now {learning_rate:g}) or scale the features (e.g. with "
        "StandardScaler)."
    )


#: Training rows at which a fitted network is checked for finite outputs.
_OUTPUT_CHECK_ROWS = 2048


def _check_finite_outputs(name, potential, snapshots):
    """Raise ``FloatingPointError`` if the network is non-finite on training points."""
    rows = np.unique(np.linspace(0, len(snapshots.X_host) - 1, _OUTPUT_CHECK_ROWS).astype(int))
    tau = np.repeat(snapshots.times, snapshots.counts)[rows]
    x = torch.as_tensor(snapshots.X_host[rows], dtype=torch.float32)
    s, grad, _ = potential.derivatives(x, torch.as_tensor(tau, dtype=torch.float32),
                                       create_graph=False)
    if not (torch.isfinite(s).all() and torch.isfinite(grad).all()):
        raise FloatingPointError(
            f"{name}: the trained network gives non-finite values on the training data "
            "although its weights are finite (an overflow). Lower learning_rate_init or "
            "scale the features (e.g. with StandardScaler), then fit again."
        )


#: Prefix of the keyword arguments routed to a potential class (skorch's convention).
POTENTIAL_PREFIX = "potential__"
#: Serialises seeded construction of user modules (it borrows torch's global RNG).
_GLOBAL_RNG_LOCK = threading.Lock()


def _store_potential_params(estimator, params):
    for key, value in params.items():
        if not key.startswith(POTENTIAL_PREFIX) or key == POTENTIAL_PREFIX:
            raise TypeError(
                f"{type(estimator).__name__}.__init__() got an unexpected keyword argument "
                f"{key!r}; only potential__<name> arguments are routed to the potential."
            )
        setattr(estimator, key, value)


def _instantiate(cls, kwargs, n_features, generator):
    """``cls(**kwargs)`` (+ ``n_features``), its initial weights drawn from ``generator``."""
    accepted = inspect.signature(cls).parameters
    if "n_features" in accepted and "n_features" not in kwargs:
        kwargs = {**kwargs, "n_features": n_features}
    seed = None if generator is None else int(
        torch.randint(_MAX_SEED, (1,), generator=generator, device=generator.device))
    try:
        if seed is None:
            return cls(**kwargs)
        # torch.nn layers draw their initial weights from torch's global generator:
        # seed a private fork of it, restored afterwards (locked against other threads).
        with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return cls(**kwargs)
    except TypeError as exc:
        raise TypeError(
            f"potential={cls.__name__} could not be built from "
            f"{ {POTENTIAL_PREFIX + k: v for k, v in kwargs.items()} }: {exc}. Give its "
            "__init__ arguments as potential__<name>=value."
        ) from exc


def _checked_potential(module, n_features):
    """``module`` after checking that ``forward(x, t)`` returns one value per row."""
    probe_x = torch.zeros(2, n_features)
    with torch.no_grad():
        try:
            out = module(probe_x, torch.zeros(2))
        except Exception as exc:
            raise ValueError(
                f"potential: calling {type(module).__name__}(x, t) with x of shape "
                f"(2, {n_features}) and t of shape (2,) failed: {exc}"
            ) from exc
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2,):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"potential: {type(module).__name__}(x, t) must return one value per row, a "
            f"tensor of shape (n,); got {shape} for n = 2 (squeeze a trailing axis)."
        )
    return module


def _velocity_of(net, x, t):
    return net.velocity(x, t)


def _potential_of(net, x, t):
    return net(x, t)


def _relative(masses):
    """Masses relative to the first time's (None stays None: balanced)."""
    return None if masses is None else masses / masses[0]


def _at_most_per_time(times, rows, limit):
    """``rows`` (None: all) thinned to at most ``limit`` evenly spaced rows per time."""
    if rows is None:
        if np.unique(times, return_counts=True)[1].max() <= limit:
            return None  # nothing to thin: no index array at all
        rows = np.arange(len(times))
    t = times[rows]
    kept = []
    for value in np.unique(t):
        mine = rows[t == value]
        if len(mine) > limit:
            mine = mine[np.linspace(0, len(mine) - 1, limit).astype(np.int64)]
        kept.append(mine)
    return np.concatenate(kept)
