"""Observed snapshots beside the points pushed from the first one, one panel per time."""

import numpy as np
from sklearn.utils import check_random_state

from .._estimator.validation import check_positive_int
from ..metrics import wasserstein_distance
from ._common import (
    Plane,
    check_2d_points,
    check_matplotlib,
    estimator_input,
    fill_plot_docs,
    fitted_data,
    rows_at,
)

#: Panels per row of the default grid.
_MAX_COLUMNS = 4


@fill_plot_docs
class MarginalsDisplay:
    """Observed snapshots beside the points pushed from the first snapshot.

    One small panel per time: the observed points and the points the
    estimator pushed there from the first snapshot (a chained rollout), the
    pushed points sized by the mass they carry, with the 1-Wasserstein distance
    between the two in the title.

    {{how_to_create}}

    Parameters
    ----------
    times : array-like of shape (n_panels,)
        Time of each panel.
    observed : list of ndarray of shape (n_observed, 2)
        Observed points of each panel, in the plane.
    pushed : list of ndarray of shape (n_pushed, 2)
        Pushed points of each panel, in the plane.
    weights : list of ndarray of shape (n_pushed,), default=None
        Mass of each pushed point relative to its start (growth factors, ones
        where mass is conserved); marker areas are proportional to it. Equal
        sizes when None.
    distances : array-like of shape (n_panels,), default=None
        Distance between observed and pushed points of each panel (W1 in the
        feature space), written in the titles; none when None.
    source_time : float, default=None
        Time the points were pushed from, for the legend.
    xlabel : str, default=None
        Label of the horizontal axes.
    ylabel : str, default=None
        Label of the vertical axes.

    Attributes
    ----------
    observed_scatters_ : list of matplotlib PathCollection
        The observed points, one per panel.
    pushed_scatters_ : list of matplotlib PathCollection
        The pushed points, one per panel.
    axes_ : ndarray of matplotlib Axes of shape (n_panels,)
        One Axes per panel.
    figure_ : matplotlib Figure
        Figure containing the panels.

    See Also
    --------
    MarginalsDisplay.from_estimator : Push the first snapshot with a fitted
        estimator and compare it with the later ones.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am.plotting import MarginalsDisplay
    >>> rng = np.random.RandomState(0)
    >>> observed = [rng.randn(20, 2) + k for k in (1, 2)]
    >>> pushed = [rng.randn(20, 2) + k for k in (1, 2)]
    >>> display = MarginalsDisplay(times=[1.0, 2.0], observed=observed, pushed=pushed,
    ...                            distances=[0.21, 0.34]).plot()
    >>> [ax.get_title() for ax in display.axes_]
    ['t = 1   W1 = 0.210', 't = 2   W1 = 0.340']
    """

    def __init__(self, *, times, observed, pushed, weights=None, distances=None,
                 source_time=None, xlabel=None, ylabel=None):
        self.times = times
        self.observed = observed
        self.pushed = pushed
        self.weights = weights
        self.distances = distances
        self.source_time = source_time
        self.xlabel = xlabel
        self.ylabel = ylabel

    def plot(self, ax=None, *, n_cols=None, observed_kw=None, pushed_kw=None):
        """Plot one panel per time.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            One Axes per panel (any array shape, read in row-major order); a
            new figure with a grid of panels sharing their axes is created
            when None.
        n_cols : int, default=None
            Panels per row of a new figure; ``min(n_panels, 4)`` when None.
        observed_kw : dict, default=None
            Keyword arguments for ``ax.scatter`` of the observed points.
        pushed_kw : dict, default=None
            Keyword arguments for ``ax.scatter`` of the pushed points; ``s``
            is the area of a point of weight 1.

        Returns
        -------
        display : MarginalsDisplay
            The object, with ``axes_``, ``figure_``, ``observed_scatters_`` and
            ``pushed_scatters_`` set.
        """
        check_matplotlib(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        times = np.asarray(self.times, dtype=float).ravel()
        n_panels = times.shape[0]
        observed, pushed = self._check_panels(n_panels)
        weights = (self.weights if self.weights is not None
                   else [np.ones(len(points)) for points in pushed])
        if len(weights) != n_panels:
            raise ValueError(f"weights has {len(weights)} entries for {n_panels} panels.")
        distances = self.distances
        if distances is not None:
            distances = np.asarray(distances, dtype=float).ravel()
            if distances.shape[0] != n_panels:
                raise ValueError(
                    f"distances has {distances.shape[0]} entries for {n_panels} panels."
                )

        if ax is None:
            n_cols = min(n_panels, _MAX_COLUMNS) if n_cols is None else \
                check_positive_int(n_cols, "n_cols")
            n_rows = -(-n_panels // n_cols)
            figure, grid = plt.subplots(n_rows, n_cols, sharex=True, sharey=True,
                                        squeeze=False, figsize=(3.2 * n_cols, 3.0 * n_rows),
                                        layout="constrained")
            for extra in grid.ravel()[n_panels:]:
                extra.remove()
            axes = grid.ravel()[:n_panels]
        else:
            axes = np.ravel(np.asarray(ax, dtype=object))
            if axes.shape[0] != n_panels:
                raise ValueError(
                    f"ax must hold one Axes per panel: {n_panels} panels "
                    f"(one per time {times.tolist()}), got {axes.shape[0]} Axes."
                )
            figure = axes[0].figure

        source = "first snapshot" if self.source_time is None else \
            f"t = {self.source_time:g}"
        observed_kw = {"s": 6, "color": "tab:blue", "alpha": 0.4, "linewidths": 0,
                       "label": "observed", **(observed_kw or {})}
        pushed_kw = {"s": 6, "color": "tab:orange", "alpha": 0.4, "linewidths": 0,
                     "label": f"pushed from {source}", **(pushed_kw or {})}
        self.observed_scatters_, self.pushed_scatters_ = [], []
        for k, panel in enumerate(axes):
            self.observed_scatters_.append(
                panel.scatter(observed[k][:, 0], observed[k][:, 1], **observed_kw))
            sizes = pushed_kw["s"] * np.asarray(weights[k], dtype=float)
            self.pushed_scatters_.append(
                panel.scatter(pushed[k][:, 0], pushed[k][:, 1], **{**pushed_kw, "s": sizes}))
            title = f"t = {times[k]:g}"
            if distances is not None:
                title += f"   W1 = {distances[k]:.3f}"
            panel.set_title(title, fontsize="medium")
            if panel.get_subplotspec() is None or panel.get_subplotspec().is_last_row():
                panel.set_xlabel(self.xlabel or "")
            if panel.get_subplotspec() is None or panel.get_subplotspec().is_first_col():
                panel.set_ylabel(self.ylabel or "")
        if ax is None:  # our figure: the legend goes above the panels
            legend = figure.legend(*axes[0].get_legend_handles_labels(), ncols=2,
                                   loc="outside upper center", markerscale=2.5)
        else:
            legend = axes[0].legend(loc="best", fontsize="small", markerscale=2.5)
        for handle in legend.legend_handles:
            handle.set_alpha(1.0)
        self.axes_ = axes
        self.figure_ = figure
        return self

    def _check_panels(self, n_panels):
        if len(self.observed) != n_panels or len(self.pushed) != n_panels:
            raise ValueError(
                f"observed and pushed need one array per panel ({n_panels}); got "
                f"{len(self.observed)} and {len(self.pushed)}."
            )
        return ([check_2d_points(points, "observed") for points in self.observed],
                [check_2d_points(points, "pushed") for points in self.pushed])

    @classmethod
    def from_estimator(cls, estimator, X, y, *, features=(0, 1), n_samples=500,
                       random_state=None, ax=None, n_cols=None, observed_kw=None,
                       pushed_kw=None):
        """Push the first snapshot through every later time and compare with ``X``.

        Up to ``n_samples`` rows of ``X`` observed at the first fitted time
        are pushed to each later time of ``y`` in turn (first → t1 → t2 ...),
        carrying their weights (``push(..., return_weights=True)``: the growth
        of :class:`~sklearn_am.UnbalancedActionMatching`, ones elsewhere).
        Each panel's title gives the weighted W1
        (:func:`~sklearn_am.metrics.wasserstein_distance`) to the observed
        rows at that time, in the full feature space.

        Parameters
        ----------
        estimator : fitted Action Matching estimator
            Anything with ``times_`` and ``push(X, t_from, t_to,
            return_weights=True)``, such as
            :class:`~sklearn_am.ActionMatchingRegressor`.
        X : array-like of shape (n_samples, n_features)
            Observed points.
        y : array-like of shape (n_samples,)
            Observation time of each row of ``X``.
        {{features}}
        n_samples : int, default=500
            At most this many rows of the first snapshot are pushed, and at most
            this many observed rows are drawn in each panel, so that both clouds
            are drawn equally dense (W1 is computed with all observed rows).
        random_state : int, RandomState instance or None, default=None
            Which rows are pushed and drawn, when there are more than
            ``n_samples``.
        ax : matplotlib Axes or array-like of Axes, default=None
            One Axes per later time; a new figure when None.
        n_cols : int, default=None
            Passed to :meth:`plot`.
        observed_kw, pushed_kw : dict, default=None
            Passed to :meth:`plot`.

        Returns
        -------
        display : MarginalsDisplay

        Examples
        --------
        >>> from sklearn_am import UnbalancedActionMatching
        >>> from sklearn_am.datasets import make_branching
        >>> from sklearn_am.plotting import MarginalsDisplay
        >>> X, t = make_branching(n_samples=40, times=(0, 1, 2), random_state=0)
        >>> est = UnbalancedActionMatching(
        ...     hidden_layer_sizes=(16, 16), max_iter=50, batch_size=64,
        ...     n_steps=10, random_state=0).fit(X, t)
        >>> display = MarginalsDisplay.from_estimator(est, X, t)
        >>> len(display.axes_), display.times.tolist()
        (2, [1.0, 2.0])
        """
        check_matplotlib(f"{cls.__name__}.from_estimator")
        X, times, names = fitted_data(estimator, X, y, need_y=True)
        n_samples = check_positive_int(n_samples, "n_samples")
        source_time = float(estimator.times_[0])
        rows = rows_at(times, source_time)
        if rows.size == 0:
            raise ValueError(
                f"No row of X is observed at the first fitted time {source_time:g}; "
                f"observed times are {np.unique(times).tolist()}."
            )
        rng = check_random_state(random_state)
        rows = _at_most(rows, n_samples, rng)
        observed_times = np.unique(times)
        later = observed_times[(observed_times > source_time)
                               & ~np.isclose(observed_times, source_time)]
        if later.size == 0:
            raise ValueError(f"y has no time after the first fitted time {source_time:g}.")

        plane = Plane(X, features, names)
        current, weights, t_prev = X[rows], np.ones(rows.size), source_time
        observed, pushed, masses, distances = [], [], [], []
        for t_next in later:
            current, growth = estimator.push(estimator_input(estimator, current), t_prev,
                                             float(t_next), return_weights=True)
            current, weights, t_prev = np.asarray(current), weights * growth, float(t_next)
            target_rows = rows_at(times, t_next)
            target = X[target_rows]
            distances.append(wasserstein_distance(current, target, x_weights=weights))
            observed.append(plane.transform(X[_at_most(target_rows, n_samples, rng)]))
            pushed.append(plane.transform(current))
            masses.append(weights)
        viz = cls(times=later, observed=observed, pushed=pushed, weights=masses,
                  distances=np.array(distances), source_time=source_time,
                  xlabel=plane.labels[0], ylabel=plane.labels[1])
        return viz.plot(ax=ax, n_cols=n_cols, observed_kw=observed_kw, pushed_kw=pushed_kw)


def _at_most(rows, n, rng):
    """``rows``, or ``n`` of them drawn at random (in order) when there are more."""
    if rows.size <= n:
        return rows
    return np.sort(rng.choice(rows, size=n, replace=False))
