"""skorch's steps on batches of the snapshot sampler (a mixin of ``ActionMatchingNet``).

skorch's loop asks the net for an iterator, then for a loss per batch; the AM loss
needs the potential's derivatives, not outputs, so the steps hand the batch to the
criterion and keep gradients on during validation and evaluation.
"""

from collections.abc import Mapping

import torch
from skorch.dataset import unpack_data

from ._draws import Draws


class SamplerSteps:
    """The ``NeuralNet`` hooks that run skorch's loop on sampler draws (``draws_``)."""

    def get_iterator(self, dataset, training=False):
        """The batches of ``dataset``: sampler draws as they are, other data through skorch.

        Parameters
        ----------
        dataset : torch Dataset
            The draws built by :meth:`get_split_datasets`, or any dataset
            (e.g. for ``forward``).
        training : bool, default=False
            Whether ``iterator_train`` or ``iterator_valid`` serves other data.

        Returns
        -------
        iterator : iterable of batches
        """
        if isinstance(dataset, Draws):
            return dataset
        return super().get_iterator(dataset, training=training)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The Action Matching loss of the batch ``X`` (model units).

        Parameters
        ----------
        y_pred : None
            Unused: the loss needs the potential's derivatives, not outputs.
        y_true : None
            Unused.
        X : Batch
            A batch of the snapshot sampler.
        training : bool, default=False
            Whether the batch is a training one (it selects the random stream
            of the loss's own draws).

        Returns
        -------
        loss : Tensor of shape ()
        """
        draws = (getattr(self, "draws_", None) or {}).get("train" if training else "valid")
        generator = None if draws is None else draws.generator
        return self.criterion_(self.module_, X, generator=generator)

    def train_step_single(self, batch, **fit_params):
        """One gradient computation on a batch of the sampler.

        Parameters
        ----------
        batch : Batch
            Drawn by the snapshot sampler.
        **fit_params : dict
            Unused.

        Returns
        -------
        step : dict
            ``{"loss": loss, "y_pred": None}``.
        """
        self._set_training(True)
        loss = self.get_loss(None, None, X=batch, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": None}

    def validation_step(self, batch, **fit_params):
        """The loss on a fixed held-out batch, with gradients enabled for the derivatives.

        Parameters
        ----------
        batch : Batch
            A fixed draw from the held-out snapshots.
        **fit_params : dict
            Unused.

        Returns
        -------
        step : dict
            ``{"loss": loss, "y_pred": None}``.
        """
        self._set_training(False)
        with torch.enable_grad():
            loss = self.get_loss(None, None, X=batch, training=False)
        return {"loss": loss.detach(), "y_pred": None}

    def evaluation_step(self, batch, training=False):
        """∇ₓs on a batch ``{"x": x, "t": tau}`` (model units), with gradients enabled.

        Parameters
        ----------
        batch : tuple
            ``(Xi, yi)`` from a skorch ``Dataset`` whose X is a dict with
            keys ``"x"`` (points) and ``"t"`` (times), or a pair ``(x, t)``.
        training : bool, default=False
            Whether to put the module in training mode.

        Returns
        -------
        grad_x : Tensor of shape (n, n_features)
        """
        self.check_is_fitted()
        Xi, yi = unpack_data(batch)
        x, t = (Xi["x"], Xi["t"]) if isinstance(Xi, Mapping) else (Xi, yi)
        self._set_training(training)
        parameter = next(self.module_.parameters())
        x = torch.as_tensor(x, device=parameter.device, dtype=parameter.dtype)
        t = torch.as_tensor(t, device=parameter.device, dtype=parameter.dtype).reshape(-1)
        with torch.enable_grad():
            return self.module_.velocity(x, t)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Drop the training data and random streams (they do not belong in pickles).

        Parameters
        ----------
        net : ActionMatchingNet
            This net.
        X : array-like, default=None
            The training data (unused).
        y : array-like, default=None
            The times (unused).
        **kwargs : dict
            Unused.
        """
        self.draws_ = None

    def __getstate__(self):
        state = super().__getstate__()
        # Training data and random streams stay out of pickles (a CUDA generator would
        # not even unpickle without CUDA); fit rebuilds them.
        state["draws_"] = None
        return state
