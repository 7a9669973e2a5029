"""Action Matching as a skorch ``NeuralNet``: the library's sampler and loss, skorch's loop.

:class:`ActionMatchingNet` trains any potential module s(x, t) (a
:class:`~sklearn_am.networks.Potential`) with the snapshot sampler and the Action
Matching loss of the estimators, inside skorch's training loop, so that skorch's
callbacks (``Checkpoint``, ``EarlyStopping`` on ``valid_loss``, ``LRScheduler``,
``ProgressBar``, loggers), ``history`` and ``save_params`` apply. An epoch is
``steps_per_epoch`` draws from the sampler; validation scores the loss on fixed draws
from held-out rows of every snapshot (:class:`SnapshotSplit`).

The estimators (``sklearn_am.ActionMatchingRegressor`` and friends) never import
this module; it needs the optional extra: ``pip install "sklearn-am[skorch]"``.
"""

# The private modules (one job each):
# - _split: SnapshotSplit, and turning a split's datasets back into rows;
# - _criterion: ActionMatchingCriterion, the loss and the fitted state as buffers;
# - _draws: the iterable datasets of sampler draws that skorch's loop consumes;
# - _prepare: what fit does before the loop (the estimators' preamble);
# - _steps: skorch's steps on sampler batches (a mixin of the net);
# - _mirror: the estimator a net mirrors (parameters checked, fitted attributes);
# - _net: ActionMatchingNet.
try:
    from ._criterion import ActionMatchingCriterion
    from . import _mirror
    from ._net import ActionMatchingNet
    from ._split import SnapshotSplit

    DYNAMICS = _mirror.DYNAMICS  # a public name of the former module
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    if (getattr(exc, "name", None) or "").split(".")[0] != "skorch":
        raise
    raise ImportError(
        "sklearn_am.skorch needs skorch, an optional dependency: "
        'pip install "sklearn-am[skorch]" (or pip install skorch).'
    ) from exc

__all__ = ["ActionMatchingCriterion", "ActionMatchingNet", "SnapshotSplit"]
