"""Hooks the training loop calls around every step: callbacks and progress.

The loop (``_training.train``) knows one small interface, a *step hook*::

    hook.begin(step)                 # before step ``step`` (0-based)
    hook.end(step, loss) -> bool     # after it; True asks the loop to stop

Two kinds ship: :class:`SklearnCallbacks` forwards every step to scikit-learn's
callback API (``sklearn.callback``, scikit-learn ≥ 1.9: ``ProgressBar``,
``ScoringMonitor``, your own), as one subtask per optimiser step of the fit task;
:class:`ProgressReport` draws a progress bar when ``verbose > 0`` (tqdm or rich when
installed, plain lines otherwise). Neither synchronises with the device more than
once per report.

:func:`fit_potential` runs the loop for an estimator's ``fit`` with those hooks (and
the weight average), :func:`end_fit` closes the fit task and reports divergence.
"""

import copy
import sys
import time

from .._numerics.device import explain_out_of_memory
from .._numerics.training import AVERAGING_DECAY, Averaging, divergence_message, train

__all__ = ["ProgressReport", "SklearnCallbacks", "end_fit", "fit_potential", "step_hooks"]

#: Plain-text progress prints this many lines per fit.
PLAIN_LINES = 10
#: The bar's loss is refreshed (one host synchronisation) this many times per fit.
BAR_UPDATES = 100


class SklearnCallbacks:
    """Step hook that runs each optimiser step as a subtask of the fit's callback context.

    Parameters
    ----------
    context : sklearn.callback.CallbackContext
        The root context of the estimator's fit.
    estimator : estimator instance
        The estimator being fitted.
    reconstruction : callable
        ``reconstruction(step)`` returns the fitted attributes of the model as it
        stands after ``step`` (only called when a callback asks for
        ``fitted_estimator``).
    """

    def __init__(self, context, estimator, reconstruction):
        self.context = context
        self.estimator = estimator
        self.reconstruction = reconstruction
        self._step = None

    def begin(self, step):
        self._step = self.context.subcontext(task_name="step")
        self._step.call_on_fit_task_begin(estimator=self.estimator)

    def end(self, step, loss):
        return bool(self._step.call_on_fit_task_end(
            estimator=self.estimator,
            reconstruction_attributes=lambda: self.reconstruction(step),
        ))


class ProgressReport:
    """Step hook drawing a progress bar of the fit: tqdm, else rich, else plain lines.

    Parameters
    ----------
    name : str
        The estimator's name.
    total : int
        Number of steps.
    stream : file-like, default=None
        Where plain lines and bars go (default ``sys.stderr`` for bars,
        ``sys.stdout`` for plain lines).
    backend : {"auto", "tqdm", "rich", "plain"}, default="auto"
        Which display to use; ``"auto"`` takes the first one installed.
    """

    def __init__(self, name, total, stream=None, backend="auto"):
        self.name = name
        self.total = total
        self.backend = _pick_backend(backend)
        self.stream = stream
        self._every = max(1, total // (PLAIN_LINES if self.backend == "plain" else BAR_UPDATES))
        self._start = time.perf_counter()
        self._bar = None
        if self.backend == "tqdm":
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=name, unit="step", file=stream or sys.stderr)
        elif self.backend == "rich":
            from rich.console import Console
            from rich.progress import Progress

            console = Console(file=stream or sys.stderr)
            self._bar = Progress(console=console, transient=False)
            self._bar.start()
            self._task = self._bar.add_task(name, total=total)

    def begin(self, step):
        pass

    def end(self, step, loss):
        done = step + 1
        if done % self._every and done != self.total:
            return False
        value = float(loss.detach())  # one host synchronisation per report
        if self.backend == "tqdm":
            self._bar.set_postfix(loss=f"{value:.4g}", refresh=False)
            self._bar.update(done - self._bar.n)
        elif self.backend == "rich":
            self._bar.update(self._task, completed=done,
                             description=f"{self.name} loss {value:.4g}")
        else:
            print(f"[{self.name}] step {done}/{self.total}  loss {value:.5g}  "
                  f"({time.perf_counter() - self._start:.1f} s)", file=self.stream or sys.stdout)
        return False

    def close(self):
        """Finish the bar (call once after training)."""
        if self.backend == "tqdm":
            self._bar.close()
        elif self.backend == "rich":
            self._bar.stop()


def _pick_backend(backend):
    if backend != "auto":
        return backend
    for candidate in ("tqdm", "rich"):
        try:
            __import__(candidate)
        except ImportError:
            continue
        return candidate
    return "plain"


def step_hooks(estimator, X, y, fitted, averaging, previous):
    """The training loop's step hooks for ``estimator``: its callbacks, and a progress bar.

    With scikit-learn ≥ 1.9 this opens the estimator's callback context (the fit
    task, one subtask per step); ``fitted`` holds the fitted attributes known
    before training, ``averaging`` the weight average (what a stopped fit keeps),
    ``previous`` the (loss curve, steps) of an earlier warm-started fit.
    """
    hooks = []
    if hasattr(estimator, "_init_callback_context"):  # scikit-learn >= 1.9
        context = estimator._init_callback_context(max_subtasks=estimator.max_iter)
        context.call_on_fit_task_begin(estimator=estimator, X=X, y=y)
        if getattr(estimator, "_skl_callbacks", None):

            def reconstruction(step):  # the model as it stands, for fitted_estimator
                with averaging.swapped_in():  # the averaged weights: what would be kept
                    network = copy.deepcopy(averaging.module).to("cpu").eval()
                return {**fitted, "potential_": network, "n_iter_": previous[1] + step + 1}

            hooks.append(SklearnCallbacks(context, estimator, reconstruction))
    if estimator.verbose:
        hooks.append(ProgressReport(type(estimator).__name__, estimator.max_iter))
    return hooks


def fit_potential(estimator, X, y, potential, sampler, loss_fn, *, generator, fitted,
                  previous=([], 0), early_stopping=None):
    """Train ``potential`` for ``estimator.fit``: its step budget, batch size and
    learning rate, a weight average, its step hooks (callbacks, progress bar) and an
    out-of-memory message naming ``batch_size``. Returns the ``TrainResult``.

    ``fitted`` and ``previous`` are as for :func:`step_hooks`.
    """
    name = type(estimator).__name__
    averaging = Averaging(potential, AVERAGING_DECAY)
    hooks = step_hooks(estimator, X, y, fitted, averaging, previous)
    with explain_out_of_memory(name, "fit", f"batch_size (now {estimator.batch_size})"):
        try:
            return train(potential, sampler, loss_fn, max_iter=estimator.max_iter,
                         batch_size=estimator.batch_size,
                         learning_rate=estimator.learning_rate_init, generator=generator,
                         hooks=hooks, averaging=averaging, early_stopping=early_stopping,
                         name=name)
        finally:
            for hook in hooks:
                getattr(hook, "close", lambda: None)()


def end_fit(estimator, X, y, result):
    """After the fitted attributes are set: end the callbacks' fit task, then raise
    ``FloatingPointError`` if training diverged (the model keeps its last finite weights)."""
    if hasattr(estimator, "_callback_fit_ctx"):
        estimator._callback_fit_ctx.call_on_fit_task_end(
            estimator=estimator, X=X, y=y, reconstruction_attributes={})
    if result.diverged_at is not None:
        raise FloatingPointError(divergence_message(type(estimator).__name__, result,
                                                    estimator.learning_rate_init))
