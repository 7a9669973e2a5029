"""The one training loop shared by every Action Matching estimator.

It knows nothing of the objective beyond ``loss_fn(potential, batch) -> scalar``
and nothing of the data beyond ``sampler.draw(batch_size, generator) -> Batch``.
No host synchronisation happens inside the loop but for the divergence check every
printed loss.
"""

import math
import warnings
from contextlib import contextmanager, nullcontext
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


class TrainingInterruptedWarning(ConvergenceWarning):
    """Training was interrupted by the user (Ctrl-C); the partially trained model is kept.

    Callers that run several fits in a row (the imputer's refit rounds) stop at it.
    """


class TrainResult(NamedTuple):
    """What a training run did."""

    curve: list  # the loss of every completed finite step
    diverged_at: Optional[int]  # 0-based step of the first non-finite loss or weights
    bad_loss: Optional[float]  # the loss at that step (possibly finite: then the update diverged)
    stopped: bool = False  # a hook or early stopping ended training before max_iter
    validation: tuple = ()  # (step, validation loss) at every check, model units
    best_step: Optional[int] = None  # the step whose weights were kept (early stopping)
    interrupted: bool = False  # the user pressed Ctrl-C (KeyboardInterrupt) during training


#: Steps between two early-stopping checks, and the decay of the weight average
#: (what the checks score and what training returns), for every estimator.
VALIDATION_EVERY = 50
AVERAGING_DECAY = 0.99

#: Steps between two host checks for divergence (the check itself runs every step,
#: on the device, without synchronising).
DIVERGENCE_CHECK_EVERY = 25


class Averaging:
    """Exponential moving average of the weights, the model that is evaluated and kept.

    The decay is warmed up as min(decay, (1 + k)/(10 + k)) at step k, so early
    averages are not dominated by the initial weights.
    """

    def __init__(self, module, decay):
        params = [p for p in module.parameters() if p.requires_grad]
        self.module = module
        self.params = params
        self.decay = decay
        self.average = [p.detach().clone() for p in params]

    def update(self, step):
        decay = min(self.decay, (1.0 + step) / (10.0 + step))
        with torch.no_grad():
            torch._foreach_lerp_(self.average, [p.detach() for p in self.params], 1.0 - decay)

    @contextmanager
    def swapped_in(self):
        """The averaged weights in the module for the duration of the block."""
        with torch.no_grad():
            current = [p.detach().clone() for p in self.params]
            for p, a in zip(self.params, self.average):
                p.copy_(a)
        try:
            yield
        finally:
            with torch.no_grad():
                for p, c in zip(self.params, current):
                    p.copy_(c)


class EarlyStopping:
    """A held-out loss every ``every`` steps; stop after ``patience`` checks without gain.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(potential)`` → scalar tensor: the loss on fixed held-out draws.
    every : int
        Steps between checks.
    patience : int
        Checks without an improvement larger than ``tol`` before stopping.
    tol : float
        The improvement that counts, in the loss's (model) units.
    """

    def __init__(self, loss_fn, every, patience, tol):
        self.loss_fn = loss_fn
        self.every = every
        self.patience = patience
        self.tol = tol
        self.history = []
        self.best = (math.inf, None, None)  # (loss, weights, step)
        self._without_gain = 0

    def due(self, step, last):
        return (step + 1) % self.every == 0 or last

    def check(self, step, potential, params):
        """Score the weights now in ``potential``; True when it is time to stop."""
        with torch.enable_grad():
            value = float(self.loss_fn(potential).detach())
        self.history.append((step + 1, value))
        if not math.isfinite(value):
            return False  # divergence is the loop's business
        if value < self.best[0] - self.tol:
            self.best = (value, [p.detach().clone() for p in params], step + 1)
            self._without_gain = 0
        else:
            self._without_gain += 1
        return self._without_gain >= self.patience


class DivergenceGuard:
    """Keeps, on the device, the last weights that gave a finite loss.

    ``record(step, loss)`` runs every step without a host synchronisation;
    ``diverged()`` synchronises (the loop asks every ``DIVERGENCE_CHECK_EVERY``
    steps); ``first_bad(losses)`` and ``restore()`` settle the outcome after the loop.
    """

    def __init__(self, params, device):
        self.params = params
        self.last_finite = [p.detach().clone() for p in params]
        self.healthy = torch.ones((), dtype=torch.bool, device=device)
        self.first_bad_step = torch.full((), -1, dtype=torch.long, device=device)

    def record(self, step, loss):
        """Before the update of ``step``: keep the weights that gave ``loss`` if it is finite."""
        with torch.no_grad():
            ok = torch.isfinite(loss)
            self.first_bad_step = torch.where(self.healthy & ~ok, step, self.first_bad_step)
            self.healthy = self.healthy & ok
            for kept, p in zip(self.last_finite, self.params):
                kept.copy_(torch.where(self.healthy, p, kept))

    def diverged(self):
        return not bool(self.healthy)

    def first_bad(self, n_steps):
        """0-based step of the first non-finite loss, or of the last update if it left
        non-finite weights after a finite loss; -1 if training stayed finite."""
        bad = int(self.first_bad_step)
        if bad < 0 and n_steps and not all(bool(p.isfinite().all()) for p in self.params):
            bad = n_steps - 1
        return bad

    def restore(self):
        with torch.no_grad():
            for kept, p in zip(self.last_finite, self.params):
                p.copy_(kept)


def train(potential, sampler, loss_fn, *, max_iter, batch_size, learning_rate, generator,
          hooks=(), averaging=None, early_stopping=None, name="ActionMatching"):
    """Minimise ``loss_fn`` with Adam, warm-up + cosine decay and gradient clipping.

    Every step checks its loss on the device and keeps there the last weights that
    gave a finite loss (:class:`DivergenceGuard`). At the first non-finite loss (seen
    at the next host check, every ``DIVERGENCE_CHECK_EVERY`` steps), or if the last
    update leaves non-finite weights, training stops and the module gets those
    weights back. Otherwise the module ends with the weights :func:`_kept_weights`
    names.

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
    averaging : Averaging, default=None
        A moving average of ``potential``'s weights, updated every step: what
        early stopping scores and what training returns (None: the weights).
    early_stopping : EarlyStopping, default=None
        Held-out checks; the best checked weights are returned, unless a hook
        stopped training (then the model as it stands is kept).
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
    guard = DivergenceGuard(params, device)
    losses = []
    stopped = by_hook = interrupted = False
    potential.train()
    try:
        for step in range(max_iter):
            for hook in hooks:
                hook.begin(step)
            batch = sampler.draw(batch_size, generator)
            loss = loss_fn(potential, batch)
            guard.record(step, loss)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
            optimizer.step()
            scheduler.step()
            losses.append(loss.detach())
            if averaging is not None:
                averaging.update(step)
            if (step + 1) % DIVERGENCE_CHECK_EVERY == 0 and guard.diverged():
                break
            if any([hook.end(step, loss) for hook in hooks]):  # every hook sees every step
                stopped = by_hook = True
                break
            if early_stopping is not None and early_stopping.due(step, step + 1 == max_iter):
                with averaging.swapped_in() if averaging is not None else nullcontext():
                    if early_stopping.check(step, potential, params):
                        stopped = True
                        break
    except KeyboardInterrupt:
        interrupted = True
        warnings.warn(
            f"Training interrupted by the user after {len(losses)} steps; "
            "the partially trained model is kept.",
            TrainingInterruptedWarning,
        )
    finally:
        potential.eval()
    bad = guard.first_bad(len(losses))
    if bad >= 0:
        guard.restore()
        losses = losses[: bad + 1]
    curve = torch.stack(losses).cpu().tolist() if losses else []
    checks = tuple(early_stopping.history) if early_stopping is not None else ()
    if bad >= 0:
        return TrainResult(curve[:bad], bad, curve[bad], stopped, checks,
                           interrupted=interrupted)
    kept, best_step = _kept_weights(averaging, early_stopping, by_hook)
    if kept is not None:
        with torch.no_grad():
            for p, k in zip(params, kept):
                p.copy_(k)
    return TrainResult(curve, None, None, stopped, checks, best_step, interrupted)


def _kept_weights(averaging, early_stopping, by_hook):
    """(weights to keep or None for the current ones, step of the best check or None).

    The best checked weights of early stopping, unless a hook stopped training;
    else the weight average; else the weights as they stand.
    """
    if early_stopping is not None and early_stopping.best[1] is not None and not by_hook:
        return early_stopping.best[1], early_stopping.best[2]
    if averaging is not None:
        return averaging.average, None
    return None, None


def validation_attributes(result, steps_before=0, scale=1.0):
    """``validation_scores_`` (−held-out loss × ``scale``, greater is better),
    ``validation_steps_`` and ``best_validation_score_`` of a training run (all None
    without checks); ``steps_before`` counts the steps of an earlier warm-started fit."""
    if not result.validation:
        return {"validation_scores_": None, "validation_steps_": None,
                "best_validation_score_": None}
    scores = [-loss * scale for _, loss in result.validation]
    return {"validation_scores_": scores,
            "validation_steps_": [steps_before + step for step, _ in result.validation],
            "best_validation_score_": max(scores)}


def divergence_message(name, result, learning_rate):
    step, loss = result.diverged_at + 1, result.bad_loss
    what = (f"the loss became {loss}" if not math.isfinite(loss)
            else f"the update after a loss of {loss:.4g} made the weights non-finite")
    return (
        f"{name}: training diverged at step {step} ({what}). The model keeps the weights "
        f"of step {step - 1}, the last with a finite loss. Lower "
        f"learning_rate_init (now {learning_rate:g}) or scale the features (e.g. with "
        "StandardScaler)."
    )
