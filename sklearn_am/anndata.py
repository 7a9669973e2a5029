"""AnnData in; velocities, growth rates and predicted cells out (scanpy style).

An optional extra: ``pip install "sklearn-am[sc]"`` (anndata and scanpy). This
module imports anndata only when one of its functions runs, so
``import sklearn_am`` never needs it.

Three lines for a scanpy user (PCA in ``adata.obsm["X_pca"]``, a time label
per cell in ``adata.obs["day"]``)::

    import sklearn_am.anndata as sam
    am = sam.fit(adata, time_key="day")        # writes adata.obsm["velocity_pca"]
    scv.pl.velocity_embedding_stream(adata, basis="pca")   # or CellRank's VelocityKernel

What is written, with ``key_added="velocity"`` (the default) and ``basis="X_pca"``:

- ``adata.obsm["velocity_pca"]``: each cell's velocity at its own time (a basis
  ``"X"`` writes ``adata.layers["velocity"]``, scVelo's gene-space key);
- ``adata.obs["velocity_growth"]``: each cell's growth rate, 1/time
  (estimators with a ``growth`` method: ``UnbalancedActionMatching``);
- ``adata.uns["velocity_params"]``: what was fitted (estimator, parameters,
  times, basis, time labels, library version), h5ad-writable, with scVelo's
  ``"embeddings"`` entry so its plots use these velocities as they are.

:func:`push` writes each cell's predicted position at another time next to its
coordinates (``adata.obsm["X_pca_t4"]`` for time 4) and, for estimators with
growth, its weight (``adata.obs["X_pca_t4_weight"]``).

Times
-----
``adata.obs[time_key]`` becomes one number per cell by this rule (see
:func:`obs_times`):

1. ``time_map`` given: each label's number is looked up in it.
2. Numeric column, or categorical with numeric categories: the numbers.
3. Otherwise (strings, categorical strings): the first number in each label,
   with "." as decimal point: ``"day 2"`` → 2, ``"D4"`` → 4, ``"E12.5"`` → 12.5,
   ``"day2_rep1"`` → 2, ``"-1"`` and ``"day -1"`` → -1 (a minus counts at the
   start of the label or after a space; ``"day-1"`` → 1). A unit written right
   after the number (``"8h"``, ``"2 days"``, ``"12.5 dpf"``) is kept as written
   when the labels use one unit; when they mix hours, days and weeks (``"0d"``,
   ``"8h"``, ``"1d"``), every label must carry one and all are converted to
   days (h/24, w×7). A label without a number raises ``ValueError`` naming the
   column; pass ``time_map`` or a numeric column then.
"""

import numbers
import re
import warnings
from collections.abc import Mapping

import numpy as np

from ._am import ActionMatchingRegressor
from ._version import __version__
from .utils._docstring import doc_filler

__all__ = ["fit", "velocity", "push", "obs_times"]

_INSTALL = 'pip install "sklearn-am[sc]"'

#: The first number in a label; a minus is a sign only at the start or after a space.
_NUMBER = re.compile(
    r"(?P<sign>(?:^|(?<=\s))-)?(?P<value>\d+(?:\.\d+)?|\.\d+)(?:\s*(?P<unit>[A-Za-z]+))?"
)
#: Unit words recognised right after the number, and their length in days.
_UNITS = {
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours", "hpf", "hpi", "hpa"), ("h", 1 / 24)),
    **dict.fromkeys(("d", "day", "days", "dpf", "dpi", "dpa"), ("d", 1.0)),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), ("w", 7.0)),
}


#: Parameter descriptions shared by the public functions.
_fill_docs = doc_filler({
    "reading": """\
time_key : str
    Column of ``adata.obs`` holding each cell's time: numbers, or labels such
    as ``"day 2"`` read by the rule of :func:`obs_times`.
basis : str, default="X_pca"
    Key of ``adata.obsm`` holding the coordinates (``"pca"`` also finds
    ``"X_pca"``), or ``"X"`` for ``adata.X``.
layer : str, default=None
    With ``basis="X"``: read ``adata.layers[layer]`` instead of ``adata.X``.
time_map : dict, default=None
    Explicit time of each label of ``adata.obs[time_key]``, e.g.
    ``{"early": 0, "late": 1}``; overrides the label rule.""",
    "fitted": """\
adata : anndata.AnnData
    The cells.
estimator : estimator instance
    A fitted Action Matching estimator, fitted on the same basis.""",
    "copy": """\
copy : bool, default=False
    Write to a copy of ``adata`` and return it, leaving ``adata`` untouched.

Returns
-------
adata : anndata.AnnData or None
    The annotated copy with ``copy=True``, else None.""",
})


# ---------------------------------------------------------------- public API
@_fill_docs
def fit(adata, estimator=None, *, time_key, basis="X_pca", layer=None, time_map=None,
        key_added="velocity", copy=False):
    """Fit an estimator on the cells of ``adata`` and write their velocities.

    The coordinates are ``adata.obsm[basis]`` (or ``adata.X`` / a layer), the
    observation times ``adata.obs[time_key]`` read by the rule of
    :func:`obs_times`. After fitting, :func:`velocity` writes every cell's
    velocity at its own time, growth rates where the estimator has them, and
    a record of the fit.

    Parameters
    ----------
    adata : anndata.AnnData
        The cells, from 2 or more time points.
    estimator : estimator instance, default=None
        An unfitted ``ActionMatchingRegressor``, ``EntropicActionMatching`` or
        ``UnbalancedActionMatching`` (fitted in place); None uses
        ``ActionMatchingRegressor()``.
    {{reading}}
    key_added : str, default="velocity"
        Prefix of every key written (scVelo's ``vkey``): velocities to
        ``adata.obsm[f"{key_added}_{name}"]`` (``name`` = ``basis`` without
        ``"X_"``; ``adata.layers[key_added]`` for ``basis="X"``), growth rates to
        ``adata.obs[f"{key_added}_growth"]``, the record to
        ``adata.uns[f"{key_added}_params"]``. scVelo's own ``scv.tl.velocity``
        writes the same keys; pass another prefix (``"am"``) to keep both.
    copy : bool, default=False
        Write to a copy of ``adata`` and return it, leaving ``adata`` untouched.

    Returns
    -------
    estimator : estimator instance
        The fitted estimator.
    adata : anndata.AnnData
        The annotated copy; only with ``copy=True``, as ``(estimator, adata)``.

    Examples
    --------
    >>> import sklearn_am.anndata as sam  # doctest: +SKIP
    >>> am = sam.fit(adata, time_key="day")  # doctest: +SKIP
    >>> adata.obsm["velocity_pca"].shape  # doctest: +SKIP
    (10998, 2)
    """
    cells = _Cells(adata, time_key, basis, layer, time_map)
    distinct = np.unique(cells.times)
    if len(distinct) < 2:
        raise ValueError(
            f"{cells.time_source} holds a single time ({distinct[0]:g}) for all "
            f"{len(cells.times)} cells; action matching learns from snapshots at 2 or "
            "more times. Include cells from other time points, or pass as time_key the "
            "column that holds each cell's time."
        )
    estimator = ActionMatchingRegressor() if estimator is None else estimator
    estimator.fit(cells.X, cells.times)
    annotated = _write_velocity(adata, estimator, cells, key_added, copy)
    return (estimator, annotated) if copy else estimator


@_fill_docs
def velocity(adata, estimator, *, time_key, basis="X_pca", layer=None, time_map=None,
             key_added="velocity", copy=False):
    """Write a fitted estimator's velocity (and growth) of every cell at its own time.

    Use it for cells the estimator was not fitted on (a held-out day, new
    cells); :func:`fit` calls it on the cells it fitted.

    Parameters
    ----------
    {{fitted}}
    {{reading}}
    key_added : str, default="velocity"
        Prefix of the keys written; see :func:`fit`.
    {{copy}}
    """
    cells = _Cells(adata, time_key, basis, layer, time_map)
    cells.check_fitted_on(estimator)
    return _write_velocity(adata, estimator, cells, key_added, copy)


def _write_velocity(adata, estimator, cells, key_added, copy):
    """The body of :func:`velocity`, on coordinates and times already read."""
    target = adata.copy() if copy else adata
    V = estimator.velocity(cells.X, cells.times)
    if cells.name is None:
        target.layers[key_added] = V
    else:
        target.obsm[f"{key_added}_{cells.name}"] = V
    if hasattr(estimator, "growth"):
        target.obs[f"{key_added}_growth"] = estimator.growth(cells.X, cells.times)
    target.uns[f"{key_added}_params"] = _record(estimator, cells)
    return target if copy else None


@_fill_docs
def push(adata, estimator, t_to, *, time_key, basis="X_pca", layer=None, time_map=None,
         key_added=None, random_state=None, copy=False):
    """Write every cell's predicted position at time ``t_to``.

    Each cell starts at its own time (``adata.obs[time_key]``) and is pushed
    along the learnt dynamics to ``t_to``, forwards or backwards. Stochastic
    dynamics (``EntropicActionMatching``) run forwards only: cells observed
    after ``t_to`` get NaN, with a warning.

    Parameters
    ----------
    {{fitted}}
    t_to : float or str
        Target time, a number or a label of ``adata.obs[time_key]`` (``"day 4"``).
    {{reading}}
    key_added : str, default=None
        Where the positions go: ``adata.obsm[key_added]`` (``adata.layers`` for
        ``basis="X"``); default ``f"{basis}_t{t_to:g}"``, e.g. ``"X_pca_t4"``, a
        basis scanpy can plot (``sc.pl.embedding(adata, basis="X_pca_t4")``).
        Estimators with growth also write each cell's weight (its growth
        factor) to ``adata.obs[f"{key_added}_weight"]``.
    random_state : int, RandomState instance or None, default=None
        Seed of the noise of stochastic dynamics (see the estimator's ``push``).
    {{copy}}
    """
    cells = _Cells(adata, time_key, basis, layer, time_map)
    cells.check_fitted_on(estimator)
    t_to = cells.time_of(t_to)
    forwards_only = not hasattr(estimator, "inverse_transform")
    X_to = np.full(cells.X.shape, np.nan, dtype=np.float64)
    weights = np.full(len(X_to), np.nan)
    for t_from in np.unique(cells.times):
        rows = cells.times == t_from
        if forwards_only and t_from > t_to:
            continue
        if t_from == t_to:
            X_to[rows], weights[rows] = cells.X[rows], 1.0
            continue
        X_to[rows], weights[rows] = estimator.push(
            cells.X[rows], float(t_from), t_to, return_weights=True, random_state=random_state)
    skipped = np.isnan(weights)
    if skipped.any():
        warnings.warn(
            f"{type(estimator).__name__} simulates forwards in time only: the "
            f"{skipped.sum()} cells observed after t_to={t_to:g} get NaN positions. "
            f"Push them with a deterministic estimator, or subset adata to cells with "
            f"time <= {t_to:g}.",
            UserWarning,
        )
    target = adata.copy() if copy else adata
    if key_added is None:
        key_added = f"{cells.key}_t{t_to:g}"
    X_to = X_to.astype(cells.X.dtype, copy=False)
    (target.layers if cells.name is None else target.obsm)[key_added] = X_to
    if hasattr(estimator, "growth"):
        target.obs[f"{key_added}_weight"] = weights
    return target if copy else None


def obs_times(adata, time_key, *, time_map=None):
    """Each cell's time, as a number, from the column ``adata.obs[time_key]``.

    The rule (also in the module docstring): with ``time_map``, each label's
    number is looked up there; a numeric column (or categorical with numeric
    categories) is taken as is; otherwise each label gives its first number
    (``"day 2"`` → 2, ``"D4"`` → 4, ``"E12.5"`` → 12.5; a minus counts at the
    start of the label or after a space). Units right after the number are
    kept as written if all labels use one unit, and converted to days when
    they mix hours, days and weeks (``"8h"`` → 1/3, ``"1d"`` → 1).

    Parameters
    ----------
    adata : anndata.AnnData
        The cells.
    time_key : str
        Column of ``adata.obs`` holding each cell's time.
    time_map : dict, default=None
        Explicit time of each label, e.g. ``{"early": 0, "late": 1}``.

    Returns
    -------
    times : ndarray of shape (n_obs,)
        Each cell's time, float64.
    """
    _check_adata(adata)
    return _TimeColumn(adata, time_key, time_map).times


# ----------------------------------------------------------------- internals
def _anndata():
    try:
        import anndata
    except ImportError as exc:
        raise ImportError(
            f"sklearn_am.anndata needs the anndata package; install it with {_INSTALL}."
        ) from exc
    return anndata


def _check_adata(adata):
    if not isinstance(adata, _anndata().AnnData):
        raise TypeError(
            f"adata must be an anndata.AnnData, got {type(adata).__name__}. For arrays, "
            "call the estimator itself: estimator.fit(X, t)."
        )


class _TimeColumn:
    """``adata.obs[time_key]`` read as one number per cell (the rule of :func:`obs_times`).

    Attributes: ``times`` (per cell), ``labels`` and ``values`` (each distinct
    label and its number; None for numeric columns without ``time_map``),
    ``source`` (how messages name the column) and ``time_map``.
    """

    def __init__(self, adata, time_key, time_map):
        self.source = f"adata.obs[{time_key!r}]"
        self.time_map = time_map
        if time_key not in adata.obs.columns:
            raise KeyError(
                f"time_key={time_key!r} is not a column of adata.obs (columns: "
                f"{list(adata.obs.columns)}); pass as time_key the column that holds "
                "each cell's time (numbers or labels such as 'day 2')."
            )
        import pandas as pd

        column = adata.obs[time_key]
        codes, uniques = pd.factorize(column, sort=True)
        if (codes < 0).any():
            raise ValueError(
                f"{self.source} is missing for {(codes < 0).sum()} cells; every cell needs "
                f"a time. Drop them first: adata = adata[adata.obs[{time_key!r}].notna()].copy()"
            )
        labels = list(np.asarray(uniques, dtype=object))
        categories = column.cat.categories if isinstance(column.dtype, pd.CategoricalDtype) \
            else column
        numeric = pd.api.types.is_numeric_dtype(categories) and \
            not pd.api.types.is_bool_dtype(categories)
        if time_map is not None:
            values = self._look_up(labels)
        elif numeric:
            values = [float(label) for label in labels]
        else:
            values = self._parse([str(label) for label in labels])
        values = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{self.source} gives non-finite times: {values.tolist()}.")
        self.times = values[codes]
        keep = time_map is not None or not numeric
        self.labels = [str(label) for label in labels] if keep else None
        self.values = values if keep else None

    def _look_up(self, labels):
        if not isinstance(self.time_map, Mapping):
            raise TypeError(
                f"time_map must be a dict from each label of {self.source} to its time, "
                f"got {type(self.time_map).__name__}."
            )
        missing = [label for label in labels if label not in self.time_map]
        if missing:
            raise ValueError(
                f"time_map has no time for the labels {missing} of {self.source}; give "
                "one number for every label."
            )
        return [_real(self.time_map[label], f"time_map[{label!r}]") for label in labels]

    def _parse(self, labels):
        found = {label: _NUMBER.search(label) for label in labels}
        bad = [label for label, match in found.items() if match is None]
        if bad:
            raise ValueError(
                f"{self.source}: no number in the labels {bad}. Times are read as the "
                "first number of each label ('day 2' -> 2, 'D4' -> 4, 'E12.5' -> 12.5). "
                "Pass time_map={label: time, ...} to give each label's time, or store "
                "numeric times in a column and pass its name as time_key."
            )
        values, units = [], []
        for match in found.values():
            values.append(float((match["sign"] or "") + match["value"]))
            units.append(_UNITS.get((match["unit"] or "").lower()))
        if len({unit[0] for unit in units if unit is not None}) < 2:
            return values
        unitless = [label for label, unit in zip(labels, units) if unit is None]
        if unitless:
            raise ValueError(
                f"{self.source} mixes time units (hours, days, weeks) but the labels "
                f"{unitless} carry none, so they cannot be converted. Pass "
                "time_map={label: time, ...} to give each label's time."
            )
        return [value * unit[1] for value, unit in zip(values, units)]

    def time_of(self, t):
        """A target time given as a number or as a label (of this column, or new)."""
        if not isinstance(t, str):
            return _real(t, "t_to")
        if self.labels is not None and t in self.labels:
            return float(self.values[self.labels.index(t)])
        if self.time_map is not None:
            return self._look_up([t])[0]
        return self._parse((self.labels or []) + [t])[-1]  # units read as for the column


class _Cells:
    """What the functions read from ``adata``: coordinates ``X``, per-cell ``times``.

    ``key`` names the basis (``"X_pca"``, or ``"X"``), ``name`` the suffix of
    velocity keys (``"pca"``; None for ``adata.X`` and layers, whose velocity
    goes to a layer), ``source`` how messages name the coordinates.
    """

    def __init__(self, adata, time_key, basis, layer, time_map):
        _check_adata(adata)
        self.X, self.key, self.name, self.source = _coordinates(adata, basis, layer)
        self.layer, self.time_key = layer, time_key
        self.time_column = _TimeColumn(adata, time_key, time_map)
        self.times = self.time_column.times
        self.time_source = self.time_column.source
        self.time_of = self.time_column.time_of

    def check_fitted_on(self, estimator):
        expected = getattr(estimator, "n_features_in_", None)
        if expected is not None and expected != self.X.shape[1]:
            raise ValueError(
                f"{self.source} has {self.X.shape[1]} columns but {type(estimator).__name__} "
                f"was fitted on {expected}; pass the basis it was fitted on."
            )


def _coordinates(adata, basis, layer):
    """(X as a dense float array, basis key, velocity-key suffix, source for messages)."""
    if basis == "X":
        if layer is None:
            X, source = adata.X, "adata.X"
        elif layer in adata.layers:
            X, source = adata.layers[layer], f"adata.layers[{layer!r}]"
        else:
            raise KeyError(
                f"layer={layer!r} is not in adata.layers (keys: {list(adata.layers.keys())}); "
                "pass one of those, or layer=None for adata.X."
            )
        key, name = "X", None
    else:
        if layer is not None:
            raise ValueError(
                f"layer={layer!r} applies to basis='X' only, got basis={basis!r}; pass "
                f"basis='X', layer={layer!r} to fit on that layer."
            )
        key = basis if basis in adata.obsm else f"X_{basis}"
        if key not in adata.obsm:
            raise KeyError(
                f"basis={basis!r} is not in adata.obsm (keys: {list(adata.obsm.keys())}). "
                "Compute it first (sc.pp.pca(adata) writes 'X_pca'), pass one of those "
                "keys, or basis='X' for adata.X."
            )
        X, source = adata.obsm[key], f"adata.obsm[{key!r}]"
        name = key[2:] if key.startswith("X_") else key
    if X is None:
        raise ValueError(f"{source} is empty; store the coordinates there or pick another basis.")
    if hasattr(X, "toarray"):  # scipy.sparse
        X = X.toarray()
    X = np.asarray(X)
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        raise ValueError(
            f"{source} must be a numeric matrix with one row per cell, got dtype {X.dtype} "
            f"and shape {X.shape}."
        )
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{source} has NaN or infinite values in {bad.sum()} of {len(X)} cells "
            f"(rows {np.flatnonzero(bad)[:5].tolist()}...). Drop those cells, e.g. "
            f"adata = adata[np.isfinite({source}).all(axis=1)].copy(), or recompute "
            "the embedding."
        )
    return X, key, name, source


def _real(value, name):
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got {value!r}.")
    return float(value)


def _record(estimator, cells):
    """What was fitted, as values ``.h5ad`` files can hold (``adata.uns``)."""
    record = {
        "estimator": f"sklearn_am.{type(estimator).__name__}",
        "params": _h5ad_value(estimator.get_params(deep=False)),
        "times": np.asarray(estimator.times_, dtype=np.float64),
        "n_iter": int(estimator.n_iter_),
        "time_key": cells.time_key,
        "basis": cells.key,
        "version": __version__,
    }
    if cells.layer is not None:
        record["layer"] = cells.layer
    if cells.name is not None:
        # scVelo's entry: bases whose velocity_<basis> is up to date, so its plots
        # draw these velocities instead of recomputing them from a gene-space layer.
        record["embeddings"] = np.array([cells.name])
    if cells.time_column.labels is not None:
        record["time_labels"] = np.array(cells.time_column.labels)
        record["time_values"] = cells.time_column.values
    if hasattr(estimator, "masses_"):
        record["masses"] = np.asarray(estimator.masses_, dtype=np.float64)
    return record


def _h5ad_value(value):
    """``value`` as something ``.h5ad`` can store: numbers, strings, arrays, dicts."""
    if value is None:
        return "None"
    if isinstance(value, (str, numbers.Number, np.generic)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _h5ad_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        try:
            array = np.asarray(value)
        except ValueError:  # ragged
            return repr(value)
        if array.dtype.kind in "biufU":
            return array
    return repr(value)
