"""What a fitted snapshot estimator answers: pushes, velocities, potentials, samples, scores.

:class:`SnapshotInferenceMixin` holds the public methods every Action Matching
estimator shares after ``fit``, written against its fitted state (units, network,
bound dynamics). Inputs are validated, converted to model units and processed in
chunks of ``INFERENCE_CHUNK`` rows, so memory beyond inputs and outputs stays flat.

Return contract (all estimators)
--------------------------------
``push(X, t_from, t_to)`` returns the pushed points ``X_to``; with
``return_weights=True`` it also returns each point's growth factor (ones where mass
is conserved), and with ``return_path=True`` (or ``t_eval``) the states along the
way and their times, always in the order ``X_to, weights, path, path_times``.
``sample(n_samples, t)`` returns ``X`` like ``KernelDensity.sample``; with
``return_weights=True`` also the mass each point carries.
"""

import math
import warnings
from numbers import Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._numerics.device import INFERENCE_CHUNK, MAX_SEED, explain_out_of_memory, module_on, \
    resolve_device, to_numpy, to_tensor
from .._numerics.noise import RowNoise, row_keys
from .._sampling.units import Units
from ..utils._docstring import fill_shared_docs
from .fitting import HELD_OUT_POINTS, fixed_loss, held_out_sampler, scored_loss
from .validation import _as_real, _check_t_eval, _check_times, check_numeric_columns, \
    check_positive_int, check_within_reach, naming

__all__ = ["SnapshotInferenceMixin", "push_in_chunks"]

#: Distinct times of ``score``'s snapshots closer than this fraction of the fitted span
#: are refused (float32 model time; an interval of length 0 has infinite path velocity).
MIN_TIME_STEP = 1e-6
#: Rows per snapshot ``score`` uses at most (evenly spaced, so deterministic):
#: its memory then stays flat in the number of rows.
SCORE_ROWS_PER_TIME = 32_768
#: How far beyond the fitted time range a time may lie, in fitted spans: pushes
#: and evaluations farther out raise ``ValueError`` (extrapolation that far is
#: meaningless, and a push's work grows with its span).
EXTRAPOLATION_SPANS = 1.0
_CHUNK_ADVICE = (f"the size of the network (inference runs {INFERENCE_CHUNK} rows at a time; "
                 "the batch_size of training does not matter here)")


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
class SnapshotInferenceMixin:
    """The fitted estimators' public methods; see the module docstring."""

    @property
    def _units(self):
        return Units(self.x_center_, self.x_scale_, self.time_origin_, self.time_scale_)

    def _check_X(self, X):
        check_is_fitted(self)
        with naming("X"):
            check_numeric_columns(X)
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
                check_random_state(random_state).randint(MAX_SEED)
            noise = RowNoise(row_keys(X, seed))
        device = resolve_device(self.device)
        X_to, weights, path, times = push_in_chunks(
            dynamics, module_on(self.potential_, device), X, tau_from, tau_to,
            options=options, device=device, to_model=units.to_model,
            from_model=units.from_model, noise=noise, return_path=return_path,
            t_eval=tau_eval, return_weights=return_weights, name=type(self).__name__)
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

    def velocity(self, X, t):
        """The learnt velocity ∇ₓs(x, t), in the units of X per unit of time.

        {{velocity_doc}}
        """
        X = self._check_X(X)
        tau = self._row_times(t, X.shape[0])
        return self._evaluate(X, tau, self._dynamics.velocity, self._units.velocity)

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
        check_positive_int(n_samples, "n_samples")
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
        steps = np.diff(units.to_tau(np.unique(times)))
        if steps.min() < MIN_TIME_STEP:
            raise ValueError(
                f"y holds distinct times closer than {MIN_TIME_STEP:g} of the fitted time "
                f"span ({units.span:g}): the model's float32 time cannot tell them apart. "
                "Round the times or merge those snapshots."
            )
        rows, masses = dynamics.population(X, times, None, type(self).__name__)
        rows = _at_most_per_time(times, rows, SCORE_ROWS_PER_TIME)
        device = resolve_device(self.device)
        sampler = held_out_sampler(dynamics, X, times, rows, masses, units, device,
                                   self.interpolation_, getattr(self, "time_degree_", None))
        loss = fixed_loss(scored_loss(dynamics, self.objective_), sampler, HELD_OUT_POINTS,
                          device)
        with torch.enable_grad():
            value = float(loss(module_on(self.potential_, device)).detach())
        return -value * units.action


def push_in_chunks(dynamics, potential, X, tau_from, tau_to, *, options, device, to_model,
                   from_model, noise=None, return_path=False, t_eval=None,
                   return_weights=False, chunk=INFERENCE_CHUNK, name="push"):
    """Rows of X pushed by ``dynamics.push`` from τ_from to τ_to, ``chunk`` rows at a time.

    The one loop of every push (the snapshot estimators' ``push``/``transform``/
    ``sample`` and the density's ``sample``): memory beyond inputs and outputs stays
    flat in the number of rows.

    Parameters
    ----------
    dynamics : Dynamics
    potential : torch.nn.Module
        The network, on ``device``.
    X : ndarray of shape (n, d)
        Rows in the caller's units; ``to_model`` maps a chunk to model units and
        ``from_model`` maps pushed states back.
    tau_from, tau_to : float
        Model times.
    options : dict
        Solver options (``_solvers.integrate``).
    noise : RowNoise or None
        Per-row noise of stochastic dynamics, handed out chunk by chunk.
    chunk : int, default=INFERENCE_CHUNK
    name : str
        The estimator's name, for out-of-memory advice.

    Returns
    -------
    X_to : ndarray like X
    weights : ndarray of shape (n,) or None
        Growth factors (ones where mass is conserved); None unless ``return_weights``.
    path : ndarray of shape (n_times, n, d) or None
        Only with ``return_path``.
    path_times : list of float or None
        Model times of ``path``.
    """
    n = len(X)
    X_to = np.empty_like(X)
    weights = np.ones(n, dtype=X.dtype) if return_weights else None
    path = times = None
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        x = to_tensor(to_model(X[start:stop]), device)
        with explain_out_of_memory(name, "push", _CHUNK_ADVICE):
            out = dynamics.push(
                potential, x, tau_from, tau_to, options=options, return_path=return_path,
                t_eval=t_eval, noise=None if noise is None else noise.take(len(x)),
            )
        X_to[start:stop] = from_model(to_numpy(out.x, np.float64))
        if return_weights and out.log_weights is not None:
            weights[start:stop] = np.exp(to_numpy(out.log_weights, np.float64))
        if return_path:
            chunk_path = to_numpy(out.path, np.float64)
            if path is None:
                path = np.empty((chunk_path.shape[0], *X.shape), dtype=X.dtype)
            path[:, start:stop] = from_model(chunk_path)
            times = out.path_times
    return X_to, weights, path, times


def _potential_of(net, x, t):
    return net(x, t)

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
