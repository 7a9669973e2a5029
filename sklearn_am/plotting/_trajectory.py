"""Trajectories of points pushed by a fitted estimator, over the snapshots."""

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from .._estimator.validation import check_positive_int
from ._common import (
    check_dims,
    check_matplotlib,
    estimator_input,
    feature_names,
    fill_plot_docs,
)

#: Beyond this many snapshot rows, points are drawn smaller and fainter.
_CROWDED = 5000


@fill_plot_docs
class TrajectoryDisplay:
    """Trajectories of points pushed by a learned flow, over the observed snapshots.

    Draws one line per trajectory in two chosen features, and the observed
    snapshots as a scatter coloured by time (viridis). With a single feature,
    the trajectories and snapshots are drawn as that feature against time
    instead.

    {{how_to_create}}

    Parameters
    ----------
    paths : ndarray of shape (n_times, n_trajectories, n_features)
        States of each trajectory at ``path_times``.
    path_times : ndarray of shape (n_times,)
        Time of each state of ``paths``.
    snapshots : ndarray of shape (n_samples, n_features), default=None
        Observed points, drawn as a scatter; nothing is scattered when None.
    snapshot_times : ndarray of shape (n_samples,), default=None
        Observation time of each row of ``snapshots`` (its colour). When None,
        the snapshots are drawn in a single colour.
    feature_names : array-like of str, default=None
        Names of the features, for the axis labels; ``"x0"``, ``"x1"``, ...
        when None.

    Attributes
    ----------
    lines_ : list of matplotlib Line2D
        One line per drawn trajectory.
    scatter_ : matplotlib PathCollection or None
        The snapshots; None when there are none.
    colorbar_ : matplotlib Colorbar or None
        Time scale of the snapshot colours; None without ``snapshot_times``.
    {{ax_figure_}}

    See Also
    --------
    TrajectoryDisplay.from_estimator : Push points with a fitted estimator and
        plot their trajectories.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am.plotting import TrajectoryDisplay
    >>> path_times = np.linspace(0.0, 1.0, 11)
    >>> starts = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> paths = starts + path_times[:, None, None] * np.array([1.0, 2.0])
    >>> display = TrajectoryDisplay(paths=paths, path_times=path_times)
    >>> display = display.plot()
    >>> len(display.lines_)
    2
    """

    def __init__(self, *, paths, path_times, snapshots=None, snapshot_times=None,
                 feature_names=None):
        self.paths = paths
        self.path_times = path_times
        self.snapshots = snapshots
        self.snapshot_times = snapshot_times
        self.feature_names = feature_names

    def plot(self, ax=None, *, n_trajectories=100, dims=(0, 1), snapshot_kw=None,
             line_kw=None):
        """Plot the trajectories and the snapshots.

        Parameters
        ----------
        {{ax}}
        n_trajectories : int, default=100
            Draw the first ``n_trajectories`` trajectories (all when fewer).
        dims : tuple of two int, default=(0, 1)
            The features on the horizontal and vertical axes. Ignored with a
            single feature, which is drawn against time.
        snapshot_kw : dict, default=None
            Keyword arguments for ``ax.scatter`` of the snapshots.
        line_kw : dict, default=None
            Keyword arguments for ``ax.plot`` of the trajectories.

        Returns
        -------
        display : TrajectoryDisplay
            The object, with ``ax_``, ``figure_``, ``lines_``, ``scatter_`` and
            ``colorbar_`` set.
        """
        check_matplotlib(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        paths = np.asarray(self.paths, dtype=float)
        path_times = np.asarray(self.path_times, dtype=float).ravel()
        if paths.ndim != 3 or paths.shape[0] != path_times.shape[0]:
            raise ValueError(
                "paths must have shape (n_times, n_trajectories, n_features) with "
                f"n_times = len(path_times) = {path_times.shape[0]}; got {paths.shape}."
            )
        n_trajectories = check_positive_int(n_trajectories, "n_trajectories")
        n_features = paths.shape[2]
        names = feature_names(self.feature_names, n_features)
        if ax is None:
            _, ax = plt.subplots()

        paths = paths[:, :n_trajectories]
        if n_features == 1:
            x_label, y_label = "time", names[0]
            horizontal = np.broadcast_to(path_times[:, None], paths.shape[:2])
            vertical = paths[:, :, 0]
        else:
            first, second = check_dims(dims, n_features)
            x_label, y_label = names[first], names[second]
            horizontal, vertical = paths[:, :, first], paths[:, :, second]

        line_kw = {"color": "0.3", "alpha": 0.6, "linewidth": 0.8, **(line_kw or {})}
        self.lines_ = ax.plot(horizontal, vertical, **line_kw)

        self.scatter_, self.colorbar_ = None, None
        if self.snapshots is not None:
            snapshots = np.asarray(self.snapshots, dtype=float)
            if snapshots.ndim != 2 or snapshots.shape[1] != n_features:
                raise ValueError(
                    f"snapshots must have shape (n_samples, {n_features}) like the paths; "
                    f"got {snapshots.shape}."
                )
            crowded = snapshots.shape[0] > _CROWDED
            snapshot_kw = {"s": 4 if crowded else 8, "alpha": 0.4 if crowded else 0.5,
                           "linewidths": 0, **(snapshot_kw or {})}
            times = None
            if self.snapshot_times is not None:
                times = np.asarray(self.snapshot_times, dtype=float).ravel()
                if times.shape[0] != snapshots.shape[0]:
                    raise ValueError(
                        f"snapshot_times has {times.shape[0]} entries for "
                        f"{snapshots.shape[0]} snapshot rows."
                    )
                snapshot_kw = {"c": times, "cmap": "viridis", **snapshot_kw}
            if n_features == 1:
                if times is None:
                    raise ValueError(
                        "With a single feature, snapshots are drawn against time: "
                        "pass snapshot_times."
                    )
                points = (times, snapshots[:, 0])
            else:
                points = (snapshots[:, first], snapshots[:, second])
            self.scatter_ = ax.scatter(*points, **snapshot_kw)
            if times is not None:
                self.colorbar_ = ax.figure.colorbar(self.scatter_, ax=ax, label="time")
                self.colorbar_.solids.set_alpha(1.0)  # the scale, not the points' alpha

        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, X, y=None, *, t_from=None, t_to=None,
                       n_trajectories=100, dims=(0, 1), ax=None, random_state=None,
                       snapshot_kw=None, line_kw=None):
        """Push points of ``X`` with a fitted estimator and plot their trajectories.

        Parameters
        ----------
        estimator : fitted Action Matching estimator
            Anything with ``times_`` and ``push(X, t_from, t_to, return_path=True)``,
            such as :class:`~sklearn_am.ActionMatchingRegressor`.
        X : array-like of shape (n_samples, n_features)
            Observed points. With ``y``, the snapshots (all are scattered,
            coloured by time); without, points at ``t_from``.
        y : array-like of shape (n_samples,), default=None
            Observation time of each row of ``X``; trajectories then start from
            the rows observed at ``t_from``.
        t_from, t_to : float, default=None
            Start and end of the trajectories; the first and last fitted time
            (``estimator.times_``) when None.
        n_trajectories : int, default=100
            Number of trajectories: at most this many rows at ``t_from`` are
            pushed, chosen at random when there are more.
        dims : tuple of two int, default=(0, 1)
            Features on the two axes (ignored with a single feature, drawn
            against time).
        {{ax}}
        random_state : int, RandomState instance or None, default=None
            Which rows start trajectories, when there are more than
            ``n_trajectories``.
        snapshot_kw, line_kw : dict, default=None
            Passed to :meth:`plot`.

        {{from_estimator_example:display=TrajectoryDisplay;data=n_samples=50, random_state=0}}
        >>> display = TrajectoryDisplay.from_estimator(
        ...     est, X, t, n_trajectories=20, random_state=0)
        >>> len(display.lines_)
        20
        >>> display.paths.shape[1:]
        (20, 2)
        """
        check_matplotlib(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        feature_names = getattr(estimator, "feature_names_in_", None)
        X = check_array(X, dtype=[np.float64, np.float32])
        n_trajectories = check_positive_int(n_trajectories, "n_trajectories")
        t_from = float(estimator.times_[0] if t_from is None else t_from)
        t_to = float(estimator.times_[-1] if t_to is None else t_to)
        if y is None:
            snapshot_times = np.full(X.shape[0], t_from)
            rows = np.arange(X.shape[0])
        else:
            snapshot_times = np.asarray(y, dtype=float).ravel()
            if snapshot_times.shape[0] != X.shape[0]:
                raise ValueError(
                    f"y has {snapshot_times.shape[0]} entries for {X.shape[0]} rows of X."
                )
            rows = np.flatnonzero(np.isclose(snapshot_times, t_from))
            if rows.size == 0:
                raise ValueError(
                    f"No row of X is observed at t_from={t_from:g}; observed times are "
                    f"{np.unique(snapshot_times).tolist()}."
                )
        if rows.size > n_trajectories:
            rng = check_random_state(random_state)
            rows = np.sort(rng.choice(rows, size=n_trajectories, replace=False))
        _, paths, path_times = estimator.push(
            estimator_input(estimator, X[rows]), t_from, t_to, return_path=True)
        viz = cls(paths=paths, path_times=path_times, snapshots=X,
                  snapshot_times=snapshot_times, feature_names=feature_names)
        return viz.plot(ax=ax, n_trajectories=n_trajectories, dims=dims,
                        snapshot_kw=snapshot_kw, line_kw=line_kw)

