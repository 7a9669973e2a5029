"""What the displays share: the matplotlib check, input checks and the 2-D view.

A display draws a plane of the feature space: two chosen features, or the first
two principal components of the data (:class:`Plane`). Everything here is
private to :mod:`sklearn_am.plotting`.
"""

import numbers

import numpy as np
from sklearn.decomposition import PCA
from sklearn.utils.validation import check_array, check_is_fitted

from ..utils._docstring import doc_filler
from ..utils._sklearn import check_matplotlib_support

#: How to get the optional plotting dependency.
PLOT_EXTRA = 'pip install "sklearn-am[plot]"'

#: Fraction of the data's range added on each side of a plotting grid.
GRID_MARGIN = 0.05

#: Class decorator: docstring entries the displays share (``{{name}}`` lines).
fill_plot_docs = doc_filler({
    "how_to_create": """\
It is recommended to create one with :meth:`from_estimator`; all parameters
are stored as attributes.""",
    "ax": """\
ax : matplotlib Axes, default=None
    Axes to plot on; a new figure and axes are created when None.""",
    "features": """\
features : tuple of two int or str, or "pca", default=(0, 1)
    The plane: two features (indices, or names when the estimator was
    fitted on a DataFrame), or ``"pca"`` for the first two principal
    components of ``X``.""",
    # The Returns and the set-up of the Examples of ``from_estimator`` for a display
    # fitted on a small Gaussian transport: {{from_estimator_example:display=Name;data=args}}.
    "from_estimator_example": """\
Returns
-------
display : {display}

Examples
--------
>>> from sklearn_am import ActionMatchingRegressor
>>> from sklearn_am.datasets import make_gaussian_transport
>>> from sklearn_am.plotting import {display}
>>> X, t = make_gaussian_transport({data})
>>> est = ActionMatchingRegressor(
...     hidden_layer_sizes=(16, 16), max_iter=50, batch_size=64,
...     random_state=0).fit(X, t)""",
    "ax_figure_": """\
ax_ : matplotlib Axes
    Axes with the plot.
figure_ : matplotlib Figure
    Figure containing the plot.""",
})


def check_matplotlib(caller_name):
    """Raise an ImportError naming the ``plot`` extra when matplotlib is missing."""
    try:
        check_matplotlib_support(caller_name)
    except ImportError as exc:
        raise ImportError(
            f"{caller_name} requires matplotlib, an optional dependency of "
            f"sklearn-am: {PLOT_EXTRA}"
        ) from exc


def feature_names(names, n_features):
    """``names`` as a list of ``n_features`` strings; ``x0``, ``x1``, ... when None."""
    if names is None:
        return [f"x{i}" for i in range(n_features)]
    names = [str(name) for name in np.ravel(names)]
    if len(names) != n_features:
        raise ValueError(f"feature_names has {len(names)} entries for {n_features} features.")
    return names


def check_dims(dims, n_features, name="dims", names=None):
    """Two distinct feature indices in range (or, with ``names``, feature names)."""
    dims = tuple(dims)
    if names is not None:
        lookup = {feature: i for i, feature in enumerate(names)}
        dims = tuple(lookup.get(d, d) if isinstance(d, str) else d for d in dims)
    valid = len(dims) == 2 and all(
        isinstance(d, numbers.Integral) and not isinstance(d, bool)
        and -n_features <= d < n_features for d in dims
    )
    if valid:
        dims = tuple(int(d) % n_features for d in dims)
    if not valid or dims[0] == dims[1]:
        named = " or names" if names is not None else ""
        raise ValueError(
            f"{name} must be two distinct feature indices in [0, {n_features}){named}; "
            f"got {dims!r}."
        )
    return dims


def check_2d_points(points, name):
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n_points, 2); got {points.shape}.")
    return points


def fitted_data(estimator, X, y, *, need_y=False):
    """Check a fitted estimator and its data: ``(X, times or None, feature names)``."""
    check_is_fitted(estimator)
    X = check_array(X, dtype=[np.float64, np.float32])
    if X.shape[1] < 2:
        raise ValueError(
            f"X has {X.shape[1]} feature; the display draws a plane and needs 2 or more."
        )
    names = getattr(estimator, "feature_names_in_", None)
    names = feature_names(names, X.shape[1]) if names is not None else None
    if y is None:
        if need_y:
            raise ValueError("y (the observation time of each row of X) is required.")
        return X, None, names
    times = np.asarray(y, dtype=float).ravel()
    if times.shape[0] != X.shape[0]:
        raise ValueError(f"y has {times.shape[0]} entries for {X.shape[0]} rows of X.")
    return X, times, names


def rows_at(times, time):
    """Indices of the rows observed at ``time`` (all rows without times)."""
    if times is None:
        return np.array([], dtype=int)
    return np.flatnonzero(np.isclose(times, time))


def estimator_input(estimator, points):
    """``points`` as the estimator expects them: a DataFrame if it was fitted on one."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return points
    import pandas as pd  # fitted on a DataFrame, so pandas is there

    return pd.DataFrame(points, columns=names)


class Plane:
    """The plane a display draws: two features of ``X``, or its first two principal axes.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The data; the principal components are those of ``X``.
    features : "pca" or tuple of two int or str
        Which plane.
    names : list of str or None
        Feature names of the estimator (allow ``features`` given by name).
    reference : ndarray of shape (n_features,), default=None
        Where the features not drawn are held when a point of the plane is
        lifted back to the feature space; the mean of ``X`` when None.
    """

    def __init__(self, X, features, names=None, reference=None):
        n_features = X.shape[1]
        self.reference = X.mean(axis=0) if reference is None else np.asarray(reference)
        if isinstance(features, str):
            if features != "pca":
                raise ValueError(
                    f"features must be 'pca' or two feature indices, got {features!r}."
                )
            self.pca = PCA(n_components=2).fit(X)
            ratio = self.pca.explained_variance_ratio_
            self.labels = tuple(f"PC{k + 1} ({100 * r:.0f}% of variance)"
                                for k, r in enumerate(ratio))
            self.dims = None
        else:
            self.pca = None
            self.dims = check_dims(features, n_features, name="features", names=names)
            shown = feature_names(names, n_features)
            self.labels = tuple(shown[d] for d in self.dims)

    def transform(self, X):
        """Coordinates in the plane of points of the feature space."""
        if self.pca is not None:
            return self.pca.transform(X)
        return np.asarray(X)[:, list(self.dims)]

    def project(self, V):
        """Components in the plane of vectors of the feature space."""
        if self.pca is not None:
            return np.asarray(V) @ self.pca.components_.T  # orthonormal axes
        return np.asarray(V)[:, list(self.dims)]

    def lift(self, P):
        """Points of the feature space at plane coordinates ``P`` (other features held)."""
        if self.pca is not None:
            return self.pca.inverse_transform(P)
        points = np.tile(self.reference, (len(P), 1))
        points[:, list(self.dims)] = P
        return points

    def grid(self, X, resolution):
        """A ``resolution`` x ``resolution`` grid over the range of ``X`` in the plane."""
        coords = self.transform(X)
        low, high = coords.min(axis=0), coords.max(axis=0)
        pad = GRID_MARGIN * np.where(high > low, high - low, 1.0)
        axes = [np.linspace(lo - p, hi + p, resolution) for lo, hi, p in zip(low, high, pad)]
        return np.meshgrid(*axes)
