"""Checks of user input shared by the estimators: times, time grids, layer sizes.

Every message names the argument that was wrong and says how to fix it.
"""

import re
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np

__all__ = ["check_hidden_layer_sizes", "check_positive_int", "check_within_reach", "naming"]

#: Points farther than this many data scales from the data's centre are refused:
#: the learnt field means nothing there, and float32 arithmetic overflows.
MAX_MODEL_COORDINATE = 1e6


@contextmanager
def naming(*names):
    """Re-raise ``ValueError``/``TypeError`` prefixed by the argument name(s), unless named.

    scikit-learn's input validation says what is wrong but not always which
    argument; messages that already name one of ``names`` pass unchanged.
    """
    try:
        yield
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if any(re.search(rf"\b{re.escape(name)}\b", message) for name in names):
            raise
        raise type(exc)(f"{' or '.join(names)}: {message}") from exc


def check_within_reach(X, units, name="X"):
    """Refuse rows farther than ``MAX_MODEL_COORDINATE`` data scales from the centre
    (one scale, or one per feature)."""
    scale = np.asarray(units.scale, dtype=np.float64)
    reach = MAX_MODEL_COORDINATE * scale
    for start in range(0, X.shape[0], 65_536):
        block = np.abs(np.asarray(X[start : start + 65_536], dtype=np.float64) - units.center)
        ratio = block / reach
        if ratio.size and float(ratio.max()) > 1.0:
            column = int(np.unravel_index(np.argmax(ratio), ratio.shape)[-1])
            farthest = float(block[..., column].max())
            where = "" if scale.ndim == 0 else f" (feature {column})"
            scale_j = float(scale) if scale.ndim == 0 else float(scale[column])
            raise ValueError(
                f"{name} has values{where} {farthest:.3g} away from the centre of the fitted "
                f"data, more than {MAX_MODEL_COORDINATE:g} times its scale ({scale_j:.3g}): "
                f"the learnt model means nothing there. Check the units of {name} (they "
                "must be those used in fit)."
            )


def check_positive_int(value, name):
    """``value`` as an int, or ``ValueError`` naming ``name`` unless it is an int ≥ 1."""
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return int(value)


def check_hidden_layer_sizes(hidden_layer_sizes):
    """``hidden_layer_sizes`` (an int or a sequence of ints) as a tuple of positive ints."""
    sizes = np.ravel(np.asarray(hidden_layer_sizes, dtype=object))
    if sizes.size == 0 or not all(
        isinstance(v, Integral) and not isinstance(v, bool) and v > 0 for v in sizes
    ):
        raise ValueError(
            "hidden_layer_sizes must be a positive int or a non-empty sequence of "
            f"positive ints, got {hidden_layer_sizes!r}."
        )
    return tuple(int(v) for v in sizes)


def _as_real(value, name):
    if isinstance(value, (np.generic, np.ndarray)) and np.ndim(value) == 0:
        value = value.item()
    if not isinstance(value, Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    return float(value)


def _check_times(y, n_samples, name="y"):
    """Observation times as a finite float64 vector of length ``n_samples``."""
    label = f"{name} (the observation times)"
    try:
        arr = np.asarray(y)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise TypeError(f"{label} could not be read as an array: {exc}") from exc
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{label} must be 1-D with one time per row; got shape {arr.shape}.")
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{label} must be numeric (e.g. days as floats); got values of dtype "
                f"{arr.dtype} such as {arr.ravel()[:1]!r}. Convert them to numbers first."
            ) from exc
    arr = arr.astype(np.float64)
    if arr.shape[0] != n_samples:
        raise ValueError(
            f"{label} has {arr.shape[0]} entries but X has {n_samples} rows; give one "
            "time per row."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{label} contains NaN or infinity; every row needs a finite time.")
    return arr


def _check_t_eval(t_eval, t_from, t_to):
    """The solver's output grid [t_from, *t_eval, t_to] and which entries were asked for."""
    t_eval = np.asarray(t_eval, dtype=np.float64).ravel()
    if t_eval.size < 1 or not np.all(np.isfinite(t_eval)):
        raise ValueError("t_eval must be a non-empty sequence of finite times.")
    direction = np.sign(t_to - t_from) or 1.0
    low, high = min(t_from, t_to), max(t_from, t_to)
    span = high - low
    if np.any(np.diff(t_eval) * direction < 0) or t_eval.min() < low - 1e-9 * span or \
            t_eval.max() > high + 1e-9 * span:
        raise ValueError(
            f"t_eval must run monotonically from t_from={t_from:g} to t_to={t_to:g} "
            f"and stay between them; got {t_eval.tolist()}."
        )
    grid = [t_from, *t_eval.tolist(), t_to]
    requested = np.arange(1, len(grid) - 1)
    return np.asarray(grid), requested
