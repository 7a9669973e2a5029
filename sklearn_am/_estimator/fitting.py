"""One fit preparation for every engine, and one place that names the fitted attributes.

A fit of a snapshot estimator, whatever runs its loop (``BaseActionMatching._fit``,
the skorch engine), goes through the same steps:

1. :func:`prepare_fit`: the rows to fit on (the dynamics' population, a held-out
   share per snapshot), the model units, the bound dynamics, the training
   snapshots, the data-driven choices (:meth:`Dynamics.policy`), the sampler, the
   rows kept for ``sample`` and the held-out loss of early stopping, as one
   :class:`PreparedFit`;
2. a training loop;
3. :func:`fitted_attributes`: (prepared fit, network, training result) → the fitted
   attributes. A new fitted attribute is added there, once.

The held-out losses (early stopping, ``score``, the skorch engine's validation,
the density estimator's early stopping) are :func:`fixed_loss` on fixed draws.
"""

import math
from typing import Callable, NamedTuple, Optional

import numpy as np
import torch

from .._dynamics import Dynamics, FitPolicy
from .._numerics.device import MAX_SEED, torch_generator
from .._numerics.training import VALIDATION_EVERY, EarlyStopping, validation_attributes
from .._sampling.gaussian_base import GaussianMoments
from .._sampling.snapshots import Snapshots
from .._sampling.units import Units
from .potential_param import assemble_network
from .progress import end_fit, fit_potential

__all__ = ["PreparedFit", "WarmStart", "fitted_attributes", "fixed_loss", "held_out_sampler",
           "is_warm_start",
           "prepare_fit", "scored_loss", "train_and_store", "validation_split"]

#: Rows of the earliest snapshot kept after fit for ``sample``.
MAX_SOURCE_SAMPLES = 10_000
#: Points per interval of every fixed held-out draw: early stopping's checks, the
#: skorch engine's validation and ``score``.
HELD_OUT_POINTS = 2048
#: Seed of those draws (common random numbers across models and checks).
HELD_OUT_SEED = 0
#: A held-out share is taken only when every snapshot (the density estimator's
#: table is one snapshot) has at least this many rows; with fewer, no early stopping.
MIN_ROWS_FOR_VALIDATION = 20


class WarmStart(NamedTuple):
    """What a warm-started fit keeps from the earlier one (see :func:`is_warm_start`)."""

    units: Units  # the model units, so the network's inputs mean what they meant
    moments: Optional[GaussianMoments] = None  # the base field its network was trained on
    time_degree: Optional[int] = None  # its degree in time, where it is smooth in time


class PreparedFit(NamedTuple):
    """Everything a training loop needs, and what the fit exposes besides the network."""

    units: Units  # model units, from the training rows (kept under warm start)
    dynamics: Dynamics  # bound to the data
    policy: FitPolicy  # interpolation, estimator of the objective, validation path
    snapshots: Snapshots  # training rows, model units, on the device
    sampler: object  # ``draw(batch_size, generator) -> Batch``
    device: torch.device
    generator_seed: int  # of the training loop's torch generator
    potential_seed: Optional[int]  # of a fresh network's weights (None: warm start)
    validation: Optional[Callable]  # ``loss(potential)`` on fixed held-out draws, or None
    source_samples: np.ndarray  # rows of the earliest time, user units (for ``sample``)
    moments: Optional[GaussianMoments]  # the base field: the policy's, or the warm start's

    def network(self, potential):
        """The network to train: ``potential``, made smooth in time and put on the
        Gaussian base field where the policy says so (a fresh fit; a warm start keeps
        its network as it is)."""
        if self.potential_seed is None:
            return potential
        return assemble_network(potential, self.moments, self.policy.time_degree).to(
            self.device)

    def loss_fn(self, generator):
        """``loss(potential, batch)`` of the training loop."""
        loss = scored_loss(self.dynamics, self.policy.objective)
        return lambda net, batch: loss(net, batch, generator)


def is_warm_start(estimator):
    """Whether ``fit`` continues the current network: ``warm_start`` on a fitted estimator.

    The one place this is decided; a warm start keeps the units, the network (with
    any base field it was trained on) and the loss curve of the earlier fit.
    """
    return bool(estimator.warm_start) and hasattr(estimator, "potential_")


def train_and_store(estimator, X, y, potential, sampler, loss_fn, *, generator, fitted, warm,
                    validation=None, score_scale=1.0):
    """The tail of every ``fit``: train, then set every fitted attribute at once.

    Trains ``potential`` (``_progress.fit_potential``: the estimator's budget, hooks
    and weight average), with early stopping on ``validation`` where given; then
    ``fitted`` gains the network, the loss curve and step count (continued from the
    earlier fit under a warm start) and the validation scores (× ``score_scale``:
    user units), all of it is set on ``estimator``, and the fit task ends
    (``_progress.end_fit``, which raises if training diverged).

    Returns
    -------
    TrainResult
    """
    previous = (estimator.loss_curve_, estimator.n_iter_) if warm else ([], 0)
    early = None if validation is None else EarlyStopping(
        validation, every=VALIDATION_EVERY, patience=estimator.n_iter_no_change,
        tol=estimator.tol)
    result = fit_potential(estimator, X, y, potential, sampler, loss_fn, generator=generator,
                           fitted=fitted, previous=previous, early_stopping=early)
    fitted.update(potential_=potential.to("cpu"), loss_curve_=previous[0] + result.curve,
                  n_iter_=previous[1] + len(result.curve),
                  **validation_attributes(result, previous[1], score_scale))
    for attribute, value in fitted.items():
        setattr(estimator, attribute, value)
    end_fit(estimator, X, y, result)
    return result


def validation_split(times, rows, fraction, rng, min_rows=MIN_ROWS_FOR_VALIDATION):
    """(training rows, held-out rows) of every time; held-out None without a split.

    ``fraction`` of the rows of every time (rounded up, at least one left for
    training) are held out, in a random order from ``rng``. No split (and no draw
    from ``rng``) when ``fraction`` is None, when a snapshot has fewer than
    ``min_rows`` rows, or when fewer than 2 times would have held-out rows.

    Parameters
    ----------
    times : ndarray of shape (n_samples,)
    rows : ndarray of int or None
        The rows to split (repeats allowed); None: every row once.
    fraction : float or None
    rng : numpy.random.RandomState
    min_rows : int, default=MIN_ROWS_FOR_VALIDATION
    """
    if fraction is None:
        return rows, None
    rows = np.arange(len(times)) if rows is None else rows
    t = times[rows]
    values, counts = np.unique(t, return_counts=True)
    if counts.min() < min_rows:
        return rows, None
    train, valid = [], []
    for value in values:
        mine = rows[t == value][rng.permutation(np.count_nonzero(t == value))]
        n_valid = min(math.ceil(fraction * len(mine)), len(mine) - 1)
        valid.append(mine[:n_valid])
        train.append(mine[n_valid:])
    if len(values) > 1 and sum(len(v) > 0 for v in valid) < 2:
        return rows, None
    return np.concatenate(train), np.concatenate(valid)


def relative_masses(masses):
    """Masses relative to the first time's (None stays None: balanced)."""
    return None if masses is None else masses / masses[0]


def held_out_sampler(dynamics, X, times, rows, masses, units, device, interpolation,
                     time_degree=None):
    """The sampler of fixed held-out draws from ``rows`` of X (seeded by ``HELD_OUT_SEED``);
    quadrature takes interpolatory weights for a potential smooth in time
    (``time_degree`` not None)."""
    snapshots = Snapshots.from_data(X, times, units, device, rows=rows,
                                    masses=relative_masses(masses))
    return dynamics.sampler(snapshots, interpolation, np.random.RandomState(HELD_OUT_SEED),
                            HELD_OUT_POINTS, higher_order=time_degree is not None)


def fixed_loss(loss, sampler, n_points, device, seed=HELD_OUT_SEED):
    """``potential -> loss(potential, batch, generator)`` on one fixed draw of ``sampler``.

    The draw and the loss's own randomness come from ``seed``, so every model is
    scored on the same points: common random numbers across models and checks.
    """
    batch = sampler.draw(n_points, torch_generator(seed, device))
    return lambda potential: loss(potential, batch, torch_generator(seed, device))


def prepare_fit(dynamics, X, times, *, interpolation, rng, device, n_draws, name,
                sample_weight=None, masses=None, validation_fraction=None, warm_start=None,
                smooth_time=True):
    """Step 1 of the module docstring: validated data in, a :class:`PreparedFit` out.

    Parameters
    ----------
    dynamics : Dynamics
        Unbound; bound here.
    X : ndarray of shape (n_samples, n_features)
        Validated rows of every snapshot (user units).
    times : ndarray of shape (n_samples,)
        Their times.
    interpolation : str
        The ``interpolation`` parameter (``"auto"`` resolved by the dynamics' policy).
    rng : numpy.random.RandomState
        Every draw of the preparation: the split, the loop's and the network's
        seeds, the sampler's pools, the rows kept for ``sample``, in this order.
    device : torch.device
    n_draws : int
        Interior points the loop will draw at most (sizes the sampler's pools).
    name : str
        The estimator's name, for messages.
    sample_weight : ndarray of shape (n_samples,), default=None
        Passed to the dynamics' population (which refuses it where it does not apply).
    masses : ndarray of shape (n_times,), default=None
        The per-time masses, when the caller knows them from more rows than X
        (the skorch engine's validation rows); default: the population's.
    validation_fraction : float, default=None
        Held-out share per snapshot for early stopping; None: no held-out rows.
    warm_start : WarmStart, default=None
        What an earlier fit leaves (its units, base field and degree in time); then
        no network seed is drawn and the network stays as it was: the policy's base
        field is not used and its degree in time is the earlier fit's.
    smooth_time : bool, default=True
        Whether the policy may make the potential smooth in time (False for an
        engine that trains the network it is given as it is).
    """
    population, population_masses = dynamics.population(X, times, sample_weight, name)
    masses = population_masses if masses is None else masses
    rows, held_out = validation_split(times, population, validation_fraction, rng)
    warm = warm_start is not None
    units = warm_start.units if warm else Units.from_data(X, times, rows)
    dynamics.bind(units, masses)  # masses from every row: held-out rows are no deaths
    snapshots = Snapshots.from_data(X, times, units, device, rows=rows,
                                    masses=relative_masses(masses))
    generator_seed = int(rng.randint(MAX_SEED))
    potential_seed = None if warm else int(rng.randint(MAX_SEED))
    if warm:  # the network is the earlier fit's: smooth in time where that one was
        smooth_time = warm_start.time_degree is not None
    policy = dynamics.policy(snapshots, interpolation, smooth_time)
    if warm and policy.time_degree is not None:
        policy = policy._replace(time_degree=warm_start.time_degree)
    sampler = dynamics.sampler(snapshots, policy.interpolation, rng, n_draws=n_draws,
                               higher_order=policy.time_degree is not None)
    # Rows of the earliest time, held-out ones included, as observed (for ``sample``).
    first = np.arange(len(times)) if population is None else population
    first = first[times[first] == times.min()]
    keep = np.sort(rng.permutation(len(first))[:MAX_SOURCE_SAMPLES])
    validation = None
    if held_out is not None:
        checker = held_out_sampler(dynamics, X, times, held_out, masses, units, device,
                                   policy.validation_interpolation, policy.time_degree)
        validation = fixed_loss(scored_loss(dynamics, policy.objective), checker,
                                HELD_OUT_POINTS, device)
    moments = warm_start.moments if warm else policy.base
    return PreparedFit(units, dynamics, policy, snapshots, sampler, device, generator_seed,
                       potential_seed, validation,
                       np.asarray(X[first[keep]], dtype=np.float64), moments)


def scored_loss(dynamics, objective):
    """``loss(potential, batch, generator)`` of ``dynamics`` by the estimator ``objective``."""
    return lambda net, batch, generator: dynamics.loss(net, batch, generator, objective)


def fitted_attributes(units, dynamics, policy, *, times, source_samples, device,
                      hidden_layer_sizes, noise_seed=None, moments=None, training=None):
    """Every fitted attribute of a snapshot estimator, in one dict.

    Parameters
    ----------
    units, dynamics, policy
        From the :class:`PreparedFit` (or a stored fit: the skorch engine's criterion).
    times : ndarray of shape (n_times,)
        Fitted times, user units.
    source_samples : ndarray of shape (n_kept, n_features)
    device : torch.device or str
        Where the fit ran.
    hidden_layer_sizes : tuple of int or None
    noise_seed : int, default=None
        Default seed of stochastic pushes (stochastic dynamics only).
    moments : GaussianMoments, default=None
        Of the Gaussian base field the network was trained on, if any.
    training : dict, default=None
        ``potential_``, ``loss_curve_``, ``n_iter_`` and the validation attributes
        (``_training.validation_attributes``); None before training.
    """
    attributes = {
        "x_center_": units.center, "x_scale_": units.scale,
        "time_origin_": units.origin, "time_scale_": units.span,
        "hidden_layer_sizes_": hidden_layer_sizes, "interpolation_": policy.interpolation,
        "objective_": policy.objective, "times_": np.asarray(times, dtype=np.float64),
        "device_": str(device), "source_samples_": source_samples, "_dynamics": dynamics,
        "gaussian_base_": None if moments is None else dict(moments._asdict()),
        "time_degree_": policy.time_degree,
        **dynamics.fitted_attributes(units),
    }
    if dynamics.stochastic:
        attributes["noise_seed_"] = int(noise_seed)
    return {**attributes, **(training or {})}


#: Training rows at which a fitted network is checked for finite outputs.
_OUTPUT_CHECK_ROWS = 2048


def check_finite_outputs(name, potential, snapshots):
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
