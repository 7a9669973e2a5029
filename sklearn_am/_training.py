"""The one training loop shared by every Action Matching estimator.

It knows nothing of the objective beyond ``loss_fn(potential, batch) -> scalar``
and nothing of the data beyond ``sampler.draw(batch_size, generator) -> Batch``.
No host synchronisation happens inside the loop but for the divergence check every
printed loss.
"""

import math
import warnings
from typing import NamedTuple, Optional

import torch
from sklearn.exceptions import ConvergenceWarning

__all__ = ["train"]

#: Gradient clipping threshold (global L2 norm), as in the authors' code.
MAX_GRAD_NORM = 1.0
#: Fraction of the steps spent in linear learning-rate warm-up.
WARMUP_FRACTION = 0.02
#: Final learning rate as a fraction of the initial one (cosine decay).
FINAL_LR_FRACTION = 0.01


def _lr_factor(step, n_steps):
    """Linear warm-up then cosine decay from 1 to ``FINAL_LR_FRACTION``."""
    warmup = max(1, int(WARMUP_FRACTION * n_steps))
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, n_steps - warmup)
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return FINAL_LR_FRACTION + (1.0 - FINAL_LR_FRACTION) * cosine


class TrainResult(NamedTuple):
    """What a training run did."""

    curve: list  # the loss of every completed finite step
    diverged_at: Optional[int]  # 0-based step of the first non-finite loss or weights
    bad_loss: Optional[float]  # the loss at that step (possibly finite: then the update diverged)
    stopped: bool = False  # a hook asked to stop before max_iter


#: Steps between two host checks for divergence (the check itself runs every step,
#: on the device, without synchronising).
DIVERGENCE_CHECK_EVERY = 25


def train(potential, sampler, loss_fn, *, max_iter, batch_size, learning_rate, generator,
          hooks=(), name="ActionMatching"):
    """Minimise ``loss_fn`` with Adam, warm-up + cosine decay and gradient clipping.

    Every step checks its loss on the device and keeps there the last weights that
    gave a finite loss. At the first non-finite loss (seen at the next host check,
    every ``DIVERGENCE_CHECK_EVERY`` steps), or if the last update leaves
    non-finite weights, training stops and the module gets those weights back.

    Parameters
    ----------
    potential : torch.nn.Module
        Trained in place (on whatever device it lives on).
    sampler : InterpolationSampler or QuadratureSampler
    loss_fn : callable
        ``loss_fn(potential, batch)`` → scalar tensor.
    max_iter : int
        Optimiser steps.
    batch_size : int
        Interior points per step (and boundary points per end).
    learning_rate : float
        Peak learning rate.
    generator : torch.Generator
        Source of every random draw of the loop.
    hooks : sequence of step hooks, default=()
        Objects with ``begin(step)`` and ``end(step, loss) -> bool`` (see
        ``_progress``), called around every step; ``end`` returning True stops
        training after that step, keeping the model.
    name : str
        Estimator name for messages.

    Returns
    -------
    TrainResult
    """
    params = [p for p in potential.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _lr_factor(step, max_iter)
    )
    device = params[0].device if params else torch.device("cpu")
    last_finite = [p.detach().clone() for p in params]
    healthy = torch.ones((), dtype=torch.bool, device=device)
    first_bad = torch.full((), -1, dtype=torch.long, device=device)
    losses = []
    stopped = False
    potential.train()
    try:
        for step in range(max_iter):
            for hook in hooks:
                hook.begin(step)
            batch = sampler.draw(batch_size, generator)
            loss = loss_fn(potential, batch)
            with torch.no_grad():  # keep the weights that gave this loss, if it is finite
                ok = torch.isfinite(loss)
                first_bad = torch.where(healthy & ~ok, step, first_bad)
                healthy = healthy & ok
                for kept, p in zip(last_finite, params):
                    kept.copy_(torch.where(healthy, p, kept))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
            optimizer.step()
            scheduler.step()
            losses.append(loss.detach())
            if (step + 1) % DIVERGENCE_CHECK_EVERY == 0 and not bool(healthy):
                break
            if any([hook.end(step, loss) for hook in hooks]):  # every hook sees every step
                stopped = True
                break
    except KeyboardInterrupt:
        warnings.warn(
            f"Training interrupted by the user after {len(losses)} steps; "
            "the partially trained model is kept.",
            ConvergenceWarning,
        )
    finally:
        potential.eval()
    bad = int(first_bad)
    if bad < 0 and losses and not all(bool(p.isfinite().all()) for p in params):
        bad = len(losses) - 1  # the last update, after a finite loss, broke the weights
    if bad >= 0:
        with torch.no_grad():
            for kept, p in zip(last_finite, params):
                p.copy_(kept)
        losses = losses[: bad + 1]
    curve = torch.stack(losses).cpu().tolist() if losses else []
    if bad < 0:
        return TrainResult(curve, None, None, stopped)
    return TrainResult(curve[:bad], bad, curve[bad], stopped)
