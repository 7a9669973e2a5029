"""What ``ActionMatchingNet.fit`` does before skorch's loop: the estimators' preparation."""

import numpy as np
from sklearn.utils import check_random_state

from .._estimator.base import BaseActionMatching
from .._estimator.fitting import WarmStart
from .._estimator.fitting import prepare_fit as prepare_estimator_fit
from .._estimator.potential_param import check_potential
from .._numerics.device import MAX_SEED, torch_generator
from ._draws import Draws, held_out_draws
from ._mirror import checked_estimator
from ._split import split_rows


def prepare_fit(net, X, y, sample_weight=None):
    """Validate, split, then :func:`sklearn_am._estimator.fitting.prepare_fit`: the draws of a fit.

    The estimators' preparation, with the rows split first by the net's
    ``train_split`` (the estimators hold out a share per snapshot themselves).
    It sets the fitted state of ``net.criterion_`` and binds it to the dynamics
    and the estimator of the objective; the units are kept from an earlier fit
    (``criterion_.fitted``).

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
    check_potential(net.module_, X.shape[1])  # the estimators' check of potential=
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    _, split_seed, train_seed = net._seeds()
    train, valid = split_rows(net, X, times, weights, split_seed)
    dynamics = estimator._make_dynamics()
    # The masses come from every row: holding out a share of each time must not
    # read as growth.
    _, masses = dynamics.population(X, times, weights, name)
    X_train, t_train, w_train = train
    if masses is not None:
        masses = masses[np.searchsorted(np.unique(times), np.unique(t_train))]
    if warm and X_train.shape[1] != len(net.units_.center):
        raise ValueError(f"X has {X_train.shape[1]} features, but {name} was fitted "
                         f"with {len(net.units_.center)}.")
    steps, batch_size = net.steps_per_epoch, net.batch_size
    prepared = prepare_estimator_fit(
        dynamics, X_train, t_train, interpolation=estimator.interpolation,
        rng=np.random.RandomState(train_seed), device=net._device(),
        n_draws=steps * batch_size * net.max_epochs, name=name, sample_weight=w_train,
        masses=masses, warm_start=WarmStart(net.units_) if warm else None,
        smooth_time=False,  # the net trains its module_ as it is
    )
    draws = {
        "train": Draws(prepared.sampler, steps, batch_size,
                       torch_generator(prepared.generator_seed, prepared.device)),
        "valid": None if valid is None else
        held_out_draws(valid, prepared, name),
    }
    criterion._set_state(
        prepared.units, times=prepared.units.from_tau(prepared.snapshots.times),
        masses=np.empty(0) if masses is None else masses,
        source_samples=prepared.source_samples,
        noise_seed=check_random_state(net.random_state).randint(MAX_SEED),
        interpolation=prepared.policy.interpolation, objective=prepared.policy.objective,
    )
    criterion.bind(prepared.dynamics, prepared.policy.objective)
    return draws
