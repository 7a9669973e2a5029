"""The iterable datasets of sampler draws that skorch's loop consumes as batches."""


import numpy as np
import torch

from .._estimator.fitting import HELD_OUT_POINTS, HELD_OUT_SEED, held_out_sampler
from .._numerics.device import torch_generator


class Draws(torch.utils.data.IterableDataset):
    """An epoch of batches from a snapshot sampler: fresh draws, or fixed ones.

    Its length is the number of interior points per pass (so that skorch's
    ``ProgressBar`` counts ``n_batches`` batches of ``batch_size``). ``generator``
    is also the loss's; for fixed draws it is reseeded at every pass, so the
    validation loss of a model is a deterministic number.
    """

    def __init__(self, sampler, n_batches, batch_size, generator, fixed_seed=None):
        self.sampler, self.n_batches, self.batch_size = sampler, n_batches, batch_size
        self.generator, self.fixed_seed = generator, fixed_seed
        self.batches = None
        if fixed_seed is not None:
            self.batches = [sampler.draw(batch_size, generator) for _ in range(n_batches)]

    def __iter__(self):
        if self.batches is not None:
            self.generator.manual_seed(self.fixed_seed)
            yield from self.batches
            return
        for _ in range(self.n_batches):
            yield self.sampler.draw(self.batch_size, self.generator)

    def __len__(self):
        return self.n_batches * self.batch_size


def held_out_draws(valid, prepared, name):
    """Fixed batches from the held-out rows ``valid = (X, times, weights)``.

    Drawn as the estimators' early stopping and ``score`` draw them
    (:func:`sklearn_am._estimator.fitting.held_out_sampler`), on the path the fit's
    :class:`~sklearn_am._dynamics.FitPolicy` scores, in one batch; ``name`` is
    the net's, for messages.
    """
    X_valid, t_valid, weights = valid
    if len(np.unique(t_valid)) < 2:
        raise ValueError(
            "The validation rows cover fewer than 2 distinct times, so the AM loss "
            "cannot be scored on them; hold out more rows (SnapshotSplit) or pass "
            "train_split=None."
        )
    dynamics = prepared.dynamics
    rows, masses = dynamics.population(X_valid, t_valid, weights, name)
    sampler = held_out_sampler(dynamics, X_valid, t_valid, rows, masses, prepared.units,
                               prepared.device, prepared.policy.validation_interpolation)
    # One batch of score's size: exactly the points score draws.
    return Draws(sampler, 1, HELD_OUT_POINTS, torch_generator(HELD_OUT_SEED, prepared.device),
                 fixed_seed=HELD_OUT_SEED)
