"""BaseActionMatching: what every Action Matching estimator shares.

It owns parameter validation, the model's units (:mod:`sklearn_am._units`), the one
call to the training loop, and the transformer API; the other fitted methods come
from :mod:`sklearn_am._inference` (with the return contract of ``push`` and
``sample``), the ``potential`` parameter from :mod:`sklearn_am._potential_param`.
Everything that depends on the kind of dynamics lives in a dynamics object
(:mod:`sklearn_am._dynamics`) that the estimator builds from its parameters in one
hook, ``_make_dynamics``; a second hook, ``_solver_options``, says how pushes are
integrated. Nothing else is overridden.
"""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import validate_data

from ._device import MAX_SEED, resolve_device, torch_generator
from ._dynamics import Transport
from ._inference import SnapshotInferenceMixin, _deterministic, _relative
from ._paths import INTERPOLATIONS, Snapshots
from ._potential_param import PotentialParamsMixin, store_potential_params
from ._progress import end_fit, fit_potential
from ._solvers import ODE_SOLVERS
from ._training import VALIDATION_EVERY, EarlyStopping, validation_attributes
from ._units import Units
from ._validation import _check_times, check_hidden_layer_sizes, naming
from .networks import ACTIVATIONS
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
#: Points per interval of the fixed held-out draws scored by early stopping (the
#: steps between checks and the weight average: ``_training``).
VALIDATION_POINTS = 2048
#: Early stopping is skipped unless every snapshot has at least this many rows.
MIN_ROWS_FOR_VALIDATION = 20
#: Upper bound of ``n_steps``: with the extrapolation limit, a push never takes
#: more than 3 × this many fixed steps.
MAX_N_STEPS = 100_000


@fill_shared_docs
class BaseActionMatching(SnapshotInferenceMixin, PotentialParamsMixin, CallbackSupportMixin,
                         OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
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
        store_potential_params(self, potential__params)

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
        generator = torch_generator(rng.randint(MAX_SEED), device)
        potential = self._starting_potential(X.shape[1], hidden_layer_sizes, rng, device, warm)
        interpolation = self._resolved_interpolation(dynamics, snapshots)
        validation_interpolation = dynamics.choose_objective(snapshots, interpolation)
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
            fitted["noise_seed_"] = int(check_random_state(self.random_state).randint(MAX_SEED))
        previous = (self.loss_curve_, self.n_iter_) if warm else ([], 0)
        early = None
        if held_out is not None:
            checker = self._fixed_loss(dynamics, X, times, held_out, masses, units, device,
                                       validation_interpolation, VALIDATION_POINTS)
            early = EarlyStopping(checker, every=VALIDATION_EVERY,
                                  patience=self.n_iter_no_change, tol=self.tol)
        result = fit_potential(self, X, y, potential, sampler,
                               lambda net, batch: dynamics.loss(net, batch, generator),
                               generator=generator, fitted=fitted, previous=previous,
                               early_stopping=early)
        fitted.update(potential_=potential.to("cpu"),
                      loss_curve_=previous[0] + result.curve,
                      n_iter_=previous[1] + len(result.curve),
                      **validation_attributes(result, previous[1], units.action))
        for attribute, value in fitted.items():
            setattr(self, attribute, value)
        end_fit(self, X, y, result)
        _check_finite_outputs(name, self.potential_, snapshots)
        return self

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
            tiny or np.median(snapshots.relative_steps) <= DENSE_RELATIVE_STEP)
        return "quadrature" if dense else dynamics.sparse_interpolation

    # ------------------------------------------------------- transformer API
    # Defined here, not in the inference mixin: scikit-learn wraps ``transform`` for
    # ``set_output`` only in the class that defines it.
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


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
