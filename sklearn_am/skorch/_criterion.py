"""ActionMatchingCriterion: the loss of a net, and the fitted state as buffers."""

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from torch import nn

from .._dynamics import OBJECTIVES
from .._paths import INTERPOLATIONS
from .._units import Units

#: What the criterion keeps of a fit (float64 buffers, so ``save_params`` persists it):
#: the model units (the fields of ``Units``), then the snapshot state, and the
#: interpolation used (its index in ``INTERPOLATION_NAMES``: "auto" resolved) and the
#: estimator of the objective (its index in ``OBJECTIVE_NAMES``).
_STATE = (*Units._fields, "times", "masses", "source_samples", "noise_seed", "interpolation",
          "objective")
INTERPOLATION_NAMES = tuple(sorted(INTERPOLATIONS))
OBJECTIVE_NAMES = OBJECTIVES


class ActionMatchingCriterion(nn.Module):
    """The Action Matching loss of an :class:`ActionMatchingNet`, and what it was fitted to.

    Its buffers hold the fitted state that turns the module's model units into
    the user's: the units (centre, scale, time origin and span), the snapshot
    times, the masses (unbalanced dynamics), rows of the first snapshot (for
    ``sample``) and the noise seed. So ``save_params(f_criterion=...)`` and
    skorch's ``Checkpoint`` (which saves the criterion by default) persist them
    with the weights, and ``load_params`` restores a usable net. The loss itself
    is the bound dynamics' ``loss(potential, batch, generator, objective)``.
    """

    def __init__(self):
        super().__init__()
        self.dynamics = None
        self.loss_objective = None
        for name in _STATE:
            self.register_buffer(name, torch.empty(0, dtype=torch.float64))

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

    def _set_state(self, units, **arrays):
        """Store ``units`` (a ``Units``) and the other arrays of ``_STATE``."""
        for name, value in {**units._asdict(), **arrays}.items():
            device = getattr(self, name).device
            setattr(self, name, torch.as_tensor(np.asarray(value, dtype=np.float64),
                                                device=device))

    def _state(self):
        return {name: getattr(self, name).detach().cpu().numpy() for name in _STATE}

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The buffers' shapes depend on the data: take the saved ones.
        for name in _STATE:
            saved = state_dict.get(prefix + name)
            if saved is not None:
                self._buffers[name] = torch.empty_like(saved, device=self._buffers[name].device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def units_of(state):
    """The ``Units`` stored in a criterion's ``_state()``."""
    center, *scalars = (state[name] for name in Units._fields)
    return Units(center, *(float(value) for value in scalars))
