"""Weighted snapshots: sample weights turned into rows, and the mass at each time.

The fitted model of an unbalanced estimator depends on the data only through the
weighted population at each time: rows are put in a canonical order, rows of zero
weight dropped, and integer weights applied by repeating rows (so fitting with
integer ``sample_weight`` is exactly fitting with repeated rows). Fractional
weights, or integer ones that would repeat the data more than
``MAX_EXPANSION_FACTOR``-fold, are applied by systematic resampling of each
snapshot to its number of rows of positive weight; the masses always use the
exact sums of weights.
"""

import numpy as np

__all__ = ["weighted_snapshots"]

#: Integer sample weights are applied by repeating rows while the repeated data
#: stay below this many times the number of rows (and 10 million rows); beyond,
#: and for fractional weights, by systematic resampling.
MAX_EXPANSION_FACTOR = 100
MAX_EXPANDED_ROWS = 10_000_000


def weighted_snapshots(X, times, sample_weight, name):
    """The rows to fit on and the mass at each time of a weighted population.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    times : ndarray of shape (n_samples,)
    sample_weight : array-like of shape (n_samples,) or None
        Non-negative mass of each row (None: one per row).
    name : str
        The estimator's name, for messages.

    Returns
    -------
    rows : ndarray of int64
        Indices into ``X`` in canonical order (time, then the row's values), each
        repeated or resampled by weight; rows of zero weight do not appear.
    masses : ndarray of shape (n_times,)
        The sum of weights at each distinct time.
    """
    weights = _check_weights(sample_weight, X.shape[0])
    kept = np.flatnonzero(weights > 0)
    distinct = np.unique(times[kept])
    if len(distinct) < 2:
        raise ValueError(
            f"sample_weight is zero on every row of all but {len(distinct)} distinct "
            f"time(s); {name} needs rows of positive weight at 2 or more times."
        )
    # Canonical order (time, then the row's values): the fit then depends on the
    # weighted population only, not on how its rows were ordered.
    X_kept = X if len(kept) == len(X) else X[kept]  # no copy in the usual case
    order = kept[np.lexsort((*X_kept.T[::-1], times[kept]))]
    times, weights = times[order], weights[order]
    masses = np.array([weights[times == t].sum() for t in distinct])
    integer = np.all(weights == np.round(weights))
    if integer and weights.sum() <= min(MAX_EXPANSION_FACTOR * len(weights), MAX_EXPANDED_ROWS):
        repeats = weights.astype(np.int64)
    else:
        repeats = np.concatenate([
            _systematic_counts(weights[times == t], np.count_nonzero(times == t))
            for t in distinct
        ])
    return np.repeat(order, repeats), masses


def _check_weights(sample_weight, n_samples):
    """``sample_weight`` as finite non-negative float64 of length n_samples (ones if None)."""
    if sample_weight is None:
        return np.ones(n_samples)
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sample_weight must be numeric: {exc}") from exc
    if weights.ndim == 0:
        weights = np.full(n_samples, float(weights))
    if weights.ndim != 1 or weights.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), one weight per row of X; "
            f"got shape {weights.shape}."
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("sample_weight must be finite and non-negative.")
    return weights


def _systematic_counts(weights, n_draws):
    """How often each row is drawn by systematic resampling of n_draws rows ∝ weights.

    Draw j takes the row whose cumulative-weight interval holds (j + ½)/n_draws of
    the total: every row is drawn ⌊n·w/W⌋ or ⌈n·w/W⌉ times, deterministically.
    """
    edges = np.cumsum(weights) / weights.sum()
    positions = (np.arange(n_draws) + 0.5) / n_draws
    rows = np.minimum(np.searchsorted(edges, positions, side="right"), len(weights) - 1)
    return np.bincount(rows, minlength=len(weights))
