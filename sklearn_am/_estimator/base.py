"""BaseActionMatching: what every Action Matching estimator shares.

It owns parameter validation, the model's units (:mod:`sklearn_am._sampling.units`), the one
call to the training loop, and the transformer API; the other fitted methods come
from :mod:`sklearn_am._estimator.inference` (with the return contract of ``push`` and
``sample``), the ``potential`` parameter from :mod:`sklearn_am._estimator.potential_param`.
Everything that depends on the kind of dynamics lives in a dynamics object
(:mod:`sklearn_am._dynamics`) that the estimator builds from its parameters in one
hook, ``_make_dynamics``; a second hook, ``_solver_options``, says how pushes are
integrated. Nothing else is overridden, except ``fit`` in
:class:`~sklearn_am.UnbalancedActionMatching`: it adds ``sample_weight`` and calls ``_fit``.
"""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import validate_data

from .._dynamics import Transport
from .._numerics.device import MAX_SEED, resolve_device, torch_generator
from .._sampling.gaussian_base import stored_moments
from ..utils._docstring import fill_shared_docs
from ..utils._sklearn import CallbackSupportMixin, StrOptions, _fit_context
from .constraints import TRAINING_CONSTRAINTS
from .fitting import WarmStart, check_finite_outputs, fitted_attributes, is_warm_start, \
    prepare_fit, train_and_store
from .inference import SnapshotInferenceMixin, _deterministic
from .potential_param import PotentialParamsMixin, store_potential_params
from .validation import _check_times, check_hidden_layer_sizes, check_numeric_columns, \
    naming

@fill_shared_docs
class BaseActionMatching(SnapshotInferenceMixin, PotentialParamsMixin, CallbackSupportMixin,
                         OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Base class of Action Matching estimators. Not for direct use."""

    _parameter_constraints: dict = {
        **TRAINING_CONSTRAINTS,
        "interpolation": [StrOptions(set(Transport.interpolations) | {"auto"})],
        "source_time": [Real, None],
        "target_time": [Real, None],
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
        """The one fitting procedure: data → prepared fit (``_fitting``) → training → attributes."""
        warm = is_warm_start(self)
        X, times = self._validate_fit_data(X, y, reset=not warm)
        name = type(self).__name__
        hidden_layer_sizes = check_hidden_layer_sizes(self.hidden_layer_sizes)
        rng = check_random_state(self.random_state)
        # A warm start keeps its units and network, and with it the base field it was
        # trained on.
        warm_start = WarmStart(self._units, stored_moments(getattr(self, "gaussian_base_", None)),
                               getattr(self, "time_degree_", None)) if warm else None
        prepared = prepare_fit(
            self._make_dynamics(), X, times, interpolation=self.interpolation, rng=rng,
            device=resolve_device(self.device), n_draws=self.max_iter * self.batch_size,
            name=name, sample_weight=sample_weight,
            validation_fraction=self.validation_fraction if self.early_stopping else None,
            warm_start=warm_start,
        )
        potential = prepared.network(self._starting_potential(
            X.shape[1], hidden_layer_sizes, prepared.potential_seed, prepared.device))
        generator = torch_generator(prepared.generator_seed, prepared.device)
        noise_seed = None
        if prepared.dynamics.stochastic:  # the default noise of pushes
            noise_seed = int(check_random_state(self.random_state).randint(MAX_SEED))
        # Every fitted attribute but the network's is known before training; all are
        # set at the end, and only there.
        fitted = fitted_attributes(
            prepared.units, prepared.dynamics, prepared.policy,
            times=prepared.units.from_tau(prepared.snapshots.times),
            source_samples=prepared.source_samples, device=prepared.device,
            hidden_layer_sizes=hidden_layer_sizes, noise_seed=noise_seed,
            moments=prepared.moments)
        train_and_store(self, X, y, potential, prepared.sampler, prepared.loss_fn(generator),
                        generator=generator, fitted=fitted, warm=warm,
                        validation=prepared.validation, score_scale=prepared.units.action)
        check_finite_outputs(name, self.potential_, prepared.snapshots)
        return self

    def _validate_fit_data(self, X, y, reset):
        with naming("X", "y"):
            check_numeric_columns(X)
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
