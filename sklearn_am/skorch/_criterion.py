"""ActionMatchingCriterion: the loss of a net, and the fitted state as buffers."""

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from torch import nn

from .._sampling.units import Units

#: What the criterion keeps of a fit as float64 buffers (so ``save_params`` persists
#: it): the model units (the fields of ``Units``), then the snapshot state.
_STATE = (*Units._fields, "times", "masses", "source_samples", "noise_seed")
#: What it keeps as names, UTF-8 bytes in uint8 buffers: the interpolation used
#: ("auto" resolved) and the estimator of the objective. Names, not positions in a
#: list, so that a name added to the library does not relabel saved criteria.
_NAMES = ("interpolation", "objective")
#: Criteria saved before the names were stored hold float64 indices into these
#: tuples (the sorted interpolations and the objectives of then), frozen here.
_LEGACY_NAMES = {"interpolation": ("bridge", "independent", "ot", "quadrature"),
                 "objective": ("regression", "action")}
#: A criterion saved before the objective was stored trained path regression.
_LEGACY_DEFAULTS = {"objective": "regression"}


class ActionMatchingCriterion(nn.Module):
    """The Action Matching loss of an :class:`ActionMatchingNet`, and what it was fitted to.

    Its buffers hold the fitted state that turns the module's model units into
    the user's: the units (centre, scale, time origin and span), the snapshot
    times, the masses (unbalanced dynamics), rows of the first snapshot (for
    ``sample``) and the noise seed, and, by name (UTF-8 bytes), the
    interpolation and the estimator of the objective used. So
    ``save_params(f_criterion=...)`` and skorch's ``Checkpoint`` (which saves
    the criterion by default) persist them with the weights, and
    ``load_params`` restores a usable net. The loss itself
    is the bound dynamics' ``loss(potential, batch, generator, objective)``.
    """

    def __init__(self):
        super().__init__()
        self.dynamics = None
        self.loss_objective = None
        for name in _STATE:
            self.register_buffer(name, torch.empty(0, dtype=torch.float64))
        for name in _NAMES:
            self.register_buffer(name, torch.empty(0, dtype=torch.uint8))

    def forward(self, potential, batch, generator=None):
        """The loss of ``potential`` on one batch (model units).

        Parameters
        ----------
        potential : Potential
            The network s(x, t).
        batch : Batch
            Boundary and interior points drawn by the snapshot sampler.
        generator : torch.Generator, default=None
            Source of the loss's own random draws (Hutchinson probes).

        Returns
        -------
        loss : Tensor of shape ()
        """
        if self.dynamics is None:
            raise NotFittedError("The criterion is not bound to data yet; call fit.")
        return self.dynamics.loss(potential, batch, generator, self.loss_objective)

    def bind(self, dynamics, objective):
        """Compute the loss of ``dynamics`` by the estimator ``objective`` from now on.

        Parameters
        ----------
        dynamics : sklearn_am._dynamics.Dynamics
            Bound to the data.
        objective : {"regression", "action"}
            The Monte Carlo estimator of the objective.
        """
        self.dynamics, self.loss_objective = dynamics, objective

    @property
    def fitted(self):
        """Whether the buffers hold a fit (units and times)."""
        return self.center.numel() > 0

    def _set_state(self, units, *, interpolation, objective, **arrays):
        """Store ``units`` (a ``Units``), the other arrays of ``_STATE`` and the names
        of ``_NAMES``."""
        for name, value in {**units._asdict(), **arrays}.items():
            self._store(name, np.asarray(value, dtype=np.float64))
        for name, value in {"interpolation": interpolation, "objective": objective}.items():
            self._store(name, np.frombuffer(value.encode("utf-8"), dtype=np.uint8).copy())

    def _store(self, name, array):
        device = getattr(self, name).device
        setattr(self, name, torch.as_tensor(array, device=device))

    def _state(self):
        """The arrays of ``_STATE`` and the names of ``_NAMES`` (NumPy arrays, strings)."""
        state = {name: getattr(self, name).detach().cpu().numpy() for name in _STATE}
        for name in _NAMES:
            state[name] = _decoded(name, getattr(self, name).detach().cpu())
        return state

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The buffers' shapes depend on the data, and an earlier version's names were
        # float64 indices: take the saved shapes and dtypes.
        for name in (*_STATE, *_NAMES):
            saved = state_dict.get(prefix + name)
            if saved is not None:
                self._buffers[name] = torch.empty_like(saved, device=self._buffers[name].device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def _decoded(name, value):
    """The name stored in buffer ``name``: UTF-8 bytes, or an earlier version's index."""
    if value.dtype == torch.uint8:
        if value.numel():
            return bytes(value.tolist()).decode("utf-8")
        return _LEGACY_DEFAULTS.get(name)
    if value.numel() == 0:
        return _LEGACY_DEFAULTS.get(name)
    return _LEGACY_NAMES[name][int(value.reshape(-1)[0])]


def units_of(state):
    """The ``Units`` stored in a criterion's ``_state()``."""
    center, *scalars = (state[name] for name in Units._fields)
    return Units(center, *(float(value) for value in scalars))
