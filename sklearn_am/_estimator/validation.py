"""Checks of user input shared by the estimators: times, time grids, layer sizes.

Every message names the argument that was wrong and says how to fix it.
"""

import re
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np

__all__ = [
    "check_hidden_layer_sizes", "check_numeric_columns", "check_positive_int",
    "check_within_reach", "naming",
]

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


#: Column names quoted in full by :func:`check_numeric_columns`; the rest are counted.
SHOWN_COLUMNS = 5

#: dtype kinds that always convert to float: bool, integers, floats, complex,
#: datetimes and timedeltas (as scikit-learn converts them).
_NUMERIC_KINDS = frozenset("biufcmM")


def check_numeric_columns(X, name="X"):
    """Refuse a data frame with columns that cannot be read as numbers.

    scikit-learn's own check stops at the first bad value with "could not
    convert string to float", naming neither the column nor the fix. This one
    names every such column (the first few, then a count) and says how to encode
    them. Only objects with ``dtypes`` and ``iloc`` (pandas data frames, which are
    not imported) are looked at; anything else passes unchanged, to be checked
    by scikit-learn.

    A column passes when its dtype is numeric or bool, or when its values all
    convert to floats (an object or string column of numbers, a categorical
    column with numeric categories), as they do in scikit-learn's validation.

    Parameters
    ----------
    X : object
        The table given by the user.
    name : str, default="X"
        The argument's name, used in the message.

    Raises
    ------
    ValueError
        If some columns hold text (or other values that are not numbers).
    """
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "iloc") or not hasattr(X, "columns"):
        return
    bad = []
    for position, dtype in enumerate(getattr(dtypes, "values", dtypes)):
        if getattr(dtype, "kind", None) in _NUMERIC_KINDS:
            continue
        try:
            np.asarray(X.iloc[:, position], dtype=np.float64)
        except (TypeError, ValueError):
            bad.append(f"{X.columns[position]!r} ({dtype})")
    if not bad:
        return
    shown = ", ".join(bad[:SHOWN_COLUMNS])
    more = f" and {len(bad) - SHOWN_COLUMNS} more" if len(bad) > SHOWN_COLUMNS else ""
    columns = "column" if len(bad) == 1 else "columns"
    raise ValueError(
        f"{name} has {len(bad)} {columns} that are not numbers: {shown}{more}. The "
        "estimator learns from numeric features only: drop these columns or encode "
        "them as numbers, e.g. with sklearn.preprocessing.OneHotEncoder or "
        "OrdinalEncoder in a sklearn.compose.ColumnTransformer before this estimator."
    )


def check_within_reach(X, units, name="X"):
    """Refuse rows farther than ``MAX_MODEL_COORDINATE`` data scales from the centre.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated points, in the user's units.
    units : Units
        The fitted units. With a scalar ``units.scale`` every coordinate is held
        to the same reach; with one scale per feature (an array of shape
        (n_features,)) each feature is held to its own, and the message names the
        feature that exceeds its reach the most.
    name : str, default="X"
        The argument's name, used in the message.

    Raises
    ------
    ValueError
        If some coordinate is farther than its reach from the centre.
    """
    scale = np.asarray(units.scale, dtype=np.float64)
    if scale.ndim == 0:
        reach = MAX_MODEL_COORDINATE * float(scale)
        for block in _centred_blocks(X, units.center):
            farthest = float(block.max(initial=0.0))
            if farthest > reach:
                raise ValueError(
                    f"{name} has values {farthest:.3g} away from the centre of the fitted "
                    f"data, more than {MAX_MODEL_COORDINATE:g} times its scale "
                    f"({float(scale):.3g}): the learnt dynamics mean nothing there. Check "
                    f"the units of {name} (they must be those used in fit)."
                )
        return
    farthest = np.zeros(scale.shape)
    for block in _centred_blocks(X, units.center):
        farthest = np.fmax(farthest, np.fmax.reduce(block, axis=0, initial=0.0))
    ratio = farthest / scale
    feature, n_far = int(np.argmax(ratio)), int(np.sum(ratio > MAX_MODEL_COORDINATE))
    if n_far:
        raise ValueError(
            f"{name} has values {farthest[feature]:.3g} away from the centre of the fitted "
            f"data in feature {feature}, more than {MAX_MODEL_COORDINATE:g} times that "
            f"feature's scale ({scale[feature]:.3g}); {n_far} feature(s) are that far: "
            f"the learnt model means nothing there. Check the units of {name} (they "
            "must be those used in fit)."
        )


def _centred_blocks(X, center, rows=65_536):
    """|X − center| in float64, by blocks of ``rows`` rows (no full-size copy)."""
    for start in range(0, X.shape[0], rows):
        yield np.abs(np.asarray(X[start : start + rows], dtype=np.float64) - center)


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
