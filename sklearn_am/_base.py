"""BaseActionMatching: what every Action Matching estimator shares.

It owns parameter validation, the conversion between the user's units and the
model's, the one call to the training loop, and the public methods (push,
transform, velocity, potential, sample, score). Subclasses fill in hooks:

- ``_loss(potential, batch, generator)``: the objective (AM, eAM, uAM);
- ``_path()`` and ``_coupling()``: how snapshots are interpolated;
- ``_integrate(...)``: how points are pushed (ODE, SDE, weighted ODE).

Model units
-----------
Points are centred and divided by one scalar scale a (isotropic, so gradient
fields stay gradient fields); times are mapped to τ = (t − t_first)/T, T the fitted
time span. If s' is the potential learnt in these units, the potential in the
user's units is s = (a²/T)·s' and the velocity is ∇ₓs = (a/T)·∇s'. The learning
problem is then the same for every dataset's scale, so defaults carry over.
"""

import copy
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._device import module_on, resolve_device, to_numpy, to_tensor, torch_generator
from ._training import train
from .losses import action_loss, am_integrand
from .networks import ACTIVATIONS, MLPPotential
from .paths import InterpolationSampler, LinearPath, QuadratureSampler, Snapshots
from .solvers import SOLVERS, integrate
from .utils._sklearn import Interval, StrOptions, _fit_context

#: Interpolation "auto" switches from OT interpolation to quadrature at this many
#: distinct times: dense snapshots make minibatch-OT pairing biased (small
#: displacements next to the spacing between samples), sparse ones need paths.
DENSE_SNAPSHOTS = 20
#: Rows of the earliest snapshot kept after fit for :meth:`sample`.
MAX_SOURCE_SAMPLES = 10_000
#: Interior points of the (deterministic) Monte Carlo estimate behind ``score``.
SCORE_POINTS = 8192
#: Seed of the fixed draws behind ``score`` (common random numbers across models).
SCORE_SEED = 0
#: Rows pushed through the network at once at inference.
INFERENCE_CHUNK = 65_536

_INTERPOLATIONS = {"ot": "exact", "independent": "independent"}


class BaseActionMatching(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Base class of Action Matching estimators. Not for direct use."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "interpolation": [StrOptions({"ot", "independent", "quadrature", "auto"})],
        "solver": [StrOptions(set(SOLVERS))],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
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
        hidden_layer_sizes=(128, 128, 128),
        activation="silu",
        max_iter=2000,
        batch_size=256,
        learning_rate_init=1e-3,
        interpolation="ot",
        solver="rk4",
        n_steps=100,
        solver_tol=1e-5,
        device="auto",
        random_state=None,
        verbose=0,
        source_time=None,
        target_time=None,
        warm_start=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
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

    # ------------------------------------------------------------------ hooks
    def _loss(self, potential, batch, generator):
        """The objective on one batch (plain AM here)."""
        return action_loss(potential, batch, am_integrand)

    def _path(self, interpolation):
        """The path between paired snapshot points, in model units."""
        return LinearPath()

    def _coupling(self, interpolation):
        """The pairing method for an interpolation name, and ``reg(dt)`` (None: unregularised)."""
        return _INTERPOLATIONS[interpolation], None

    def _snapshot_masses(self, X, times, sample_weight):
        """The rows, times and per-time masses to train on (balanced: masses None)."""
        if sample_weight is not None:
            raise TypeError(f"{type(self).__name__} does not take sample_weight.")
        return X, times, None

    def _set_dynamics(self):
        """Fix fitted parameters of the dynamics; called by ``_fit`` after the units."""

    def _integrate(self, potential, x, tau_from, tau_to, *, return_path, t_eval,
                   random_state):
        """Push model-unit points ``x`` (a tensor) from τ_from to τ_to by the ODE."""
        n_steps = max(1, int(np.ceil(self.n_steps * abs(tau_to - tau_from))))

        def field(z, tau):
            return potential.velocity(z, torch.full_like(z[:, 0], tau))

        return integrate(
            field, x, tau_from, tau_to, method=self.solver, n_steps=n_steps,
            t_eval=t_eval, rtol=self.solver_tol, atol=self.solver_tol,
            return_path=return_path,
        )

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

    def _fit(self, X, y, masses=None, sample_weight=None):
        warm = self.warm_start and hasattr(self, "potential_")
        X, times = self._validate_fit_data(X, y, reset=not warm)
        if masses is None:
            X, times, masses = self._snapshot_masses(X, times, sample_weight)
        self._validate_hidden_layer_sizes()
        rng = check_random_state(self.random_state)
        device = resolve_device(self.device)
        if not warm:
            self._set_units(X, times)
        self._set_dynamics()
        x_model, tau = self._to_model(X), self._to_model_time(times)
        snapshots = Snapshots(x_model, tau, device, masses=masses)
        generator = torch_generator(rng.randint(np.iinfo(np.int32).max), device)
        if warm:
            potential = copy.deepcopy(self.potential_)
        else:
            init = torch_generator(rng.randint(np.iinfo(np.int32).max), "cpu")
            potential = MLPPotential(
                X.shape[1], self.hidden_layer_sizes_, self.activation, generator=init
            )
        potential.to(device)
        self.interpolation_ = self._resolve_interpolation(snapshots.n_times)
        sampler = self._sampler(snapshots, rng, n_draws=self.max_iter * self.batch_size)
        curve = train(
            potential,
            sampler,
            lambda net, batch: self._loss(net, batch, generator),
            max_iter=self.max_iter,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate_init,
            generator=generator,
            verbose=self.verbose,
            name=type(self).__name__,
        )
        self.potential_ = potential.to("cpu")
        self.times_ = snapshots.times * self.time_scale_ + self.time_origin_
        self.loss_curve_ = (self.loss_curve_ if warm else []) + curve
        self.n_iter_ = (self.n_iter_ if warm else 0) + len(curve)
        self.device_ = str(device)
        first = snapshots.snapshot(0)
        keep = rng.permutation(len(first))[:MAX_SOURCE_SAMPLES]
        self.source_samples_ = self._from_model(first[np.sort(keep)])
        return self

    def _validate_fit_data(self, X, y, reset):
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

    def _validate_hidden_layer_sizes(self):
        sizes = np.ravel(np.asarray(self.hidden_layer_sizes, dtype=object))
        if sizes.size == 0 or not all(
            isinstance(v, Integral) and not isinstance(v, bool) and v > 0 for v in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be a positive int or a non-empty sequence of "
                f"positive ints, got {self.hidden_layer_sizes!r}."
            )
        if np.ndim(self.hidden_layer_sizes) == 0:
            self.hidden_layer_sizes_ = (int(self.hidden_layer_sizes),)
        else:
            self.hidden_layer_sizes_ = tuple(int(v) for v in sizes)

    def _resolve_interpolation(self, n_times):
        if self.interpolation == "auto":
            return "quadrature" if n_times >= DENSE_SNAPSHOTS else "ot"
        return self.interpolation

    def _sampler(self, snapshots, rng, n_draws):
        if self.interpolation_ == "quadrature":
            return QuadratureSampler(snapshots)
        coupling, reg = self._coupling(self.interpolation_)
        return InterpolationSampler(
            snapshots, coupling, self._path(self.interpolation_), n_draws, rng, reg=reg
        )

    # ------------------------------------------------------------ units
    def _set_units(self, X, times):
        self.x_center_ = X.mean(axis=0).astype(np.float64)
        scale = float(np.sqrt(np.mean(X.astype(np.float64).var(axis=0))))
        self.x_scale_ = scale if scale > 0 else 1.0
        self.time_origin_ = float(times.min())
        self.time_scale_ = float(times.max() - times.min())

    def _to_model(self, X):
        return (np.asarray(X, dtype=np.float64) - self.x_center_) / self.x_scale_

    def _from_model(self, x):
        return np.asarray(x, dtype=np.float64) * self.x_scale_ + self.x_center_

    def _to_model_time(self, t):
        return (np.asarray(t, dtype=np.float64) - self.time_origin_) / self.time_scale_

    # ------------------------------------------------------------ inference
    def _check_X(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=[np.float64, np.float32])

    def _model_tensor(self, X, device):
        return to_tensor(self._to_model(X), device)

    def _check_time(self, t, name):
        if not isinstance(t, Real) or isinstance(t, bool) or not np.isfinite(t):
            raise TypeError(f"{name} must be a finite real number, got {t!r}.")
        low, high = self.times_[0], self.times_[-1]
        span = high - low
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
            return np.full(n_rows, self._to_model_time(self._check_time(_as_real(t, name), name)))
        t = _check_times(t, n_rows, name=name)
        for value in (t.min(), t.max()):
            self._check_time(float(value), name)
        return self._to_model_time(t)

    def push(self, X, t_from, t_to, return_path=False, t_eval=None):
        """Push points observed at ``t_from`` to ``t_to`` along dx/dt = ∇ₓs(x, t).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at time ``t_from``.
        t_from, t_to : float
            Start and end time, inside the fitted range (else a warning);
            ``t_to < t_from`` integrates backwards.
        return_path : bool, default=False
            Also return the intermediate states.
        t_eval : array-like of float, default=None
            Times of the returned path (monotone from ``t_from`` to ``t_to``);
            default: the solver's steps. Implies ``return_path=True``.

        Returns
        -------
        X_to : ndarray of shape (n_samples, n_features)
            The points at ``t_to``, in the dtype of ``X``.
        path : ndarray of shape (n_times, n_samples, n_features)
            States along the way, ``path[-1]`` equal to ``X_to``. Only with
            ``return_path`` or ``t_eval``.
        path_times : ndarray of shape (n_times,)
            The time of each state of ``path``. Only with ``return_path`` or
            ``t_eval``.
        """
        X = self._check_X(X)
        return self._push(X, t_from, t_to, return_path=return_path, t_eval=t_eval)

    def _push(self, X, t_from, t_to, *, return_path=False, t_eval=None, random_state=None):
        t_from = self._check_time(_as_real(t_from, "t_from"), "t_from")
        t_to = self._check_time(_as_real(t_to, "t_to"), "t_to")
        tau_eval, requested = None, None
        if t_eval is not None:
            grid, requested = _check_t_eval(t_eval, t_from, t_to)
            tau_eval = self._to_model_time(grid)
            return_path = True
        tau_from, tau_to = self._to_model_time(t_from), self._to_model_time(t_to)
        device = resolve_device(self.device)
        potential = module_on(self.potential_, device)
        finals, paths, times = [], [], None
        for start in range(0, max(len(X), 1), INFERENCE_CHUNK):
            x = self._model_tensor(X[start : start + INFERENCE_CHUNK], device)
            out = self._integrate(
                potential, x, float(tau_from), float(tau_to), return_path=return_path,
                t_eval=None if tau_eval is None else list(tau_eval),
                random_state=random_state,
            )
            if return_path:
                final, path, times = out
                paths.append(self._from_model(to_numpy(path, np.float64)))
            else:
                final = out
            finals.append(self._from_model(to_numpy(final, np.float64)))
        X_to = np.concatenate(finals).astype(X.dtype, copy=False)
        if not return_path:
            return X_to
        path = np.concatenate(paths, axis=1).astype(X.dtype, copy=False)
        path_times = np.asarray(times, dtype=np.float64) * self.time_scale_ + self.time_origin_
        if requested is not None:
            path, path_times = path[requested], path_times[requested]
        return X_to, path, path_times

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

    def inverse_transform(self, X):
        """Push X backwards, from ``target_time`` to ``source_time``.

        The ODE is time-reversible, so this undoes :meth:`transform` up to the
        solver's error.

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

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        t : float or array-like of shape (n_samples,)
            One time for all rows, or one per row.

        Returns
        -------
        V : ndarray of shape (n_samples, n_features)
        """
        X = self._check_X(X)
        tau = self._row_times(t, X.shape[0])
        grad = self._evaluate(X, tau, lambda net, x, s: net.velocity(x, s))
        return (grad * (self.x_scale_ / self.time_scale_)).astype(X.dtype, copy=False)

    def potential(self, X, t):
        """The learnt potential s(x, t) (defined up to a function of t alone).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        t : float or array-like of shape (n_samples,)
            One time for all rows, or one per row.

        Returns
        -------
        s : ndarray of shape (n_samples,)
        """
        X = self._check_X(X)
        tau = self._row_times(t, X.shape[0])
        with torch.no_grad():
            s = self._evaluate(X, tau, lambda net, x, t_: net(x, t_))
        return (s * (self.x_scale_**2 / self.time_scale_)).astype(X.dtype, copy=False)

    def _evaluate(self, X, tau, fn):
        device = resolve_device(self.device)
        net = module_on(self.potential_, device)
        out = []
        for start in range(0, max(len(X), 1), INFERENCE_CHUNK):
            stop = start + INFERENCE_CHUNK
            x = self._model_tensor(X[start:stop], device)
            t = torch.as_tensor(tau[start:stop], dtype=torch.float32, device=device)
            out.append(to_numpy(fn(net, x, t), np.float64))
        return np.concatenate(out)

    def sample(self, n_samples=1, t=None, random_state=None):
        """Draw points of the earliest snapshot and push them to time ``t``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of points.
        t : float, default=None
            Target time; default ``target_time`` (the latest fitted time).
        random_state : int, RandomState instance or None, default=None
            Which stored points are drawn (and, for stochastic dynamics, the noise).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}.")
        rng = check_random_state(random_state)
        t = self._default_times()[1] if t is None else t
        rows = rng.randint(len(self.source_samples_), size=n_samples)
        return self._push(
            self.source_samples_[rows], self.times_[0], t, random_state=rng
        )

    def score(self, X, y):
        """Minus the Action Matching loss of the snapshots (X, y); greater is better.

        The loss is estimated from fixed draws (the same for every model), so a
        fitted model always gets the same score on the same data; it is expressed
        in the user's units, so models fitted on different folds compare.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Observation times, at least 2 distinct values.

        Returns
        -------
        score : float
        """
        X = self._check_X(X)
        times = _check_times(y, X.shape[0])
        if len(np.unique(times)) < 2:
            raise ValueError(
                "score needs snapshots at 2 or more distinct times in y; got one."
            )
        device = resolve_device(self.device)
        potential = module_on(self.potential_, device)
        snapshots = Snapshots(self._to_model(X), self._to_model_time(times), device,
                              masses=self._score_masses(X, times))
        sampler = self._sampler(snapshots, np.random.RandomState(SCORE_SEED), SCORE_POINTS)
        generator = torch_generator(SCORE_SEED, device)
        batch = sampler.draw(SCORE_POINTS, generator)
        loss = float(self._loss(potential, batch, generator).detach())
        return -loss * self.x_scale_**2 / self.time_scale_

    def _score_masses(self, X, times):
        return None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _as_real(value, name):
    if isinstance(value, (np.generic, np.ndarray)) and np.ndim(value) == 0:
        value = value.item()
    if not isinstance(value, Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    return float(value)


def _check_times(y, n_samples, name="y"):
    """Observation times as a finite float64 vector of length ``n_samples``."""
    label = f"{name} (the observation times)"
    try:
        arr = np.asarray(y)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise TypeError(f"{label} could not be read as an array: {exc}") from exc
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{label} must be 1-D with one time per row; got shape {arr.shape}.")
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{label} must be numeric (e.g. days as floats); got values of dtype "
                f"{arr.dtype} such as {arr.ravel()[:1]!r}. Convert them to numbers first."
            ) from exc
    arr = arr.astype(np.float64)
    if arr.shape[0] != n_samples:
        raise ValueError(
            f"{label} has {arr.shape[0]} entries but X has {n_samples} rows; give one "
            "time per row."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{label} contains NaN or infinity; every row needs a finite time.")
    return arr


def _check_t_eval(t_eval, t_from, t_to):
    """The solver's output grid [t_from, *t_eval, t_to] and which entries were asked for."""
    t_eval = np.asarray(t_eval, dtype=np.float64).ravel()
    if t_eval.size < 1 or not np.all(np.isfinite(t_eval)):
        raise ValueError("t_eval must be a non-empty sequence of finite times.")
    direction = np.sign(t_to - t_from) or 1.0
    low, high = min(t_from, t_to), max(t_from, t_to)
    span = high - low
    if np.any(np.diff(t_eval) * direction < 0) or t_eval.min() < low - 1e-9 * span or \
            t_eval.max() > high + 1e-9 * span:
        raise ValueError(
            f"t_eval must run monotonically from t_from={t_from:g} to t_to={t_to:g} "
            f"and stay between them; got {t_eval.tolist()}."
        )
    grid = [t_from, *t_eval.tolist(), t_to]
    requested = np.arange(1, len(grid) - 1)
    return np.asarray(grid), requested
