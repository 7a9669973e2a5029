"""What ``ActionMatchingNet.fit`` does before skorch's loop: the estimators' preamble."""

import numpy as np
from sklearn.utils import check_random_state

from .._base import MAX_SOURCE_SAMPLES, BaseActionMatching
from .._inference import _relative
from .._device import MAX_SEED, torch_generator
from .._paths import Snapshots
from .._units import Units
from ._criterion import INTERPOLATION_NAMES
from ._draws import Draws, held_out_draws
from ._mirror import checked_estimator
from ._split import split_rows


def prepare_fit(net, X, y, sample_weight=None):
    """Validate, split, fit the units, bind the dynamics; the training and validation draws.

    What ``BaseActionMatching._fit`` does before its loop, by the same calls,
    with ``net`` in the estimator's place. It sets the fitted state of
    ``net.criterion_`` and binds it to the dynamics; the units are kept from an
    earlier fit (``criterion_.fitted``).

    Returns
    -------
    draws : dict
        ``{"train": Draws, "valid": Draws or None}``.
    """
    estimator, criterion = checked_estimator(net), net.criterion_
    name, warm = type(net).__name__, criterion.fitted
    if y is None:
        raise ValueError(f"{name}.fit(X, y) needs y, the observation time of each row.")
    X, times = BaseActionMatching._validate_fit_data(net, X, y, reset=not warm)
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    _, split_seed, train_seed = net._seeds()
    train, valid = split_rows(net, X, times, weights, split_seed)
    dynamics = estimator._make_dynamics()
    # The masses come from every row: holding out a share of each time must not
    # read as growth.
    _, masses = dynamics.population(X, times, weights, name)
    rows, _ = dynamics.population(*train, name)
    X_train, t_train = train[:2]
    if masses is not None:
        masses = masses[np.searchsorted(np.unique(times), np.unique(t_train))]
    units = net.units_ if warm else Units.from_data(X_train, t_train, rows)
    if X_train.shape[1] != len(units.center):
        raise ValueError(f"X has {X_train.shape[1]} features, but {name} was fitted "
                         f"with {len(units.center)}.")
    dynamics.bind(units, masses)
    device = net._device()
    snapshots = Snapshots.from_data(X_train, t_train, units, device, rows=rows,
                                    masses=_relative(masses))
    interpolation = estimator._resolved_interpolation(dynamics, snapshots)
    rng = np.random.RandomState(train_seed)
    steps, batch_size = net.steps_per_epoch, net.batch_size
    sampler = dynamics.sampler(snapshots, interpolation, rng,
                               n_draws=steps * batch_size * net.max_epochs)
    draws = {
        "train": Draws(sampler, steps, batch_size, torch_generator(train_seed, device)),
        "valid": None if valid is None else
        held_out_draws(valid, dynamics, units, interpolation, device, batch_size, name),
    }
    first = snapshots.snapshot(0)
    keep = np.sort(rng.permutation(len(first))[:MAX_SOURCE_SAMPLES])
    criterion._set_state(
        units, times=units.from_tau(snapshots.times),
        masses=np.empty(0) if masses is None else masses,
        source_samples=units.from_model(first[keep]),
        noise_seed=check_random_state(net.random_state).randint(MAX_SEED),
        interpolation=INTERPOLATION_NAMES.index(interpolation),
    )
    criterion.dynamics = dynamics
    return draws
