"""The learnt velocity field at one time, over a plane of the feature space."""

import numpy as np

from .._estimator.validation import check_positive_int
from ._common import (
    Plane,
    check_2d_points,
    check_matplotlib,
    estimator_input,
    fill_plot_docs,
    fitted_data,
    rows_at,
)

_KINDS = ("stream", "quiver")

#: Colour-bar label: the speed of the drawn (in-plane) field.
SPEED_LABEL = "speed in this plane (units of X per unit time)"


@fill_plot_docs
class VelocityFieldDisplay:
    """The learnt velocity field at one time, as a stream or quiver plot.

    The field is drawn over a regular grid of a plane of the feature space (two
    features, or the first two principal components of the data) and coloured
    by its speed in that plane, from the slowest to the fastest grid point; the
    snapshot observed at that time is drawn underneath as grey points.

    {{how_to_create}}

    Parameters
    ----------
    xx0 : ndarray of shape (n_grid, n_grid)
        Horizontal coordinate of each grid point (as from ``np.meshgrid``,
        evenly spaced along each row).
    xx1 : ndarray of shape (n_grid, n_grid)
        Vertical coordinate of each grid point (evenly spaced along each column).
    u : ndarray of shape (n_grid, n_grid)
        Horizontal component of the velocity at each grid point.
    v : ndarray of shape (n_grid, n_grid)
        Vertical component of the velocity at each grid point.
    time : float
        Time of the field, for the title.
    snapshot : ndarray of shape (n_points, 2), default=None
        Observed points in the plane, drawn underneath; none when None.
    xlabel : str, default=None
        Label of the horizontal axis.
    ylabel : str, default=None
        Label of the vertical axis.

    Attributes
    ----------
    field_ : matplotlib StreamplotSet or Quiver
        The field: its ``lines`` (a LineCollection) and ``arrows`` for a stream
        plot, the Quiver itself for a quiver plot.
    scatter_ : matplotlib PathCollection or None
        The snapshot; None without one.
    colorbar_ : matplotlib Colorbar
        The speed scale.
    {{ax_figure_}}

    See Also
    --------
    VelocityFieldDisplay.from_estimator : Evaluate a fitted estimator's field
        on a grid and plot it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am.plotting import VelocityFieldDisplay
    >>> xx0, xx1 = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 5))
    >>> display = VelocityFieldDisplay(xx0=xx0, xx1=xx1, u=-xx1, v=xx0, time=0.0)
    >>> display = display.plot(kind="quiver")
    >>> display.field_.U.shape
    (25,)
    """

    def __init__(self, *, xx0, xx1, u, v, time, snapshot=None, xlabel=None, ylabel=None):
        self.xx0 = xx0
        self.xx1 = xx1
        self.u = u
        self.v = v
        self.time = time
        self.snapshot = snapshot
        self.xlabel = xlabel
        self.ylabel = ylabel

    def plot(self, ax=None, *, kind="stream", cmap="viridis", snapshot_kw=None,
             field_kw=None):
        """Plot the field over the snapshot.

        Parameters
        ----------
        {{ax}}
        kind : {"stream", "quiver"}, default="stream"
            Stream lines (``ax.streamplot``) or one arrow per grid point
            (``ax.quiver``).
        cmap : str or matplotlib Colormap, default="viridis"
            Colour map of the speed.
        snapshot_kw : dict, default=None
            Keyword arguments for ``ax.scatter`` of the snapshot.
        field_kw : dict, default=None
            Keyword arguments for ``ax.streamplot`` or ``ax.quiver``.

        Returns
        -------
        display : VelocityFieldDisplay
            The object, with ``ax_``, ``figure_``, ``field_``, ``scatter_`` and
            ``colorbar_`` set.
        """
        check_matplotlib(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt
        from matplotlib.colors import Normalize

        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}.")
        xx0, xx1, u, v = (np.asarray(a, dtype=float) for a in (self.xx0, self.xx1,
                                                                self.u, self.v))
        if xx0.ndim != 2 or not xx0.shape == xx1.shape == u.shape == v.shape:
            raise ValueError(
                "xx0, xx1, u and v must be 2-D arrays of one shape; got "
                f"{xx0.shape}, {xx1.shape}, {u.shape} and {v.shape}."
            )
        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 5.0))
        speed = np.hypot(u, v)
        norm = Normalize(vmin=float(speed.min()), vmax=float(speed.max()))

        self.scatter_ = None
        if self.snapshot is not None:
            snapshot = check_2d_points(self.snapshot, "snapshot")
            snapshot_kw = {"s": 6, "color": "0.45", "alpha": 0.4, "linewidths": 0,
                           "zorder": 1, **(snapshot_kw or {})}
            self.scatter_ = ax.scatter(snapshot[:, 0], snapshot[:, 1], **snapshot_kw)

        if kind == "stream":
            field_kw = {"color": speed, "cmap": cmap, "norm": norm, "density": 1.2,
                        "linewidth": 1.0, "zorder": 2, **(field_kw or {})}
            self.field_ = ax.streamplot(xx0[0], xx1[:, 0], u, v, **field_kw)
            mappable = self.field_.lines
        else:
            field_kw = {"cmap": cmap, "norm": norm, "angles": "xy", "pivot": "mid",
                        "width": 0.004, "zorder": 2, **(field_kw or {})}
            self.field_ = ax.quiver(xx0, xx1, u, v, speed, **field_kw)
            mappable = self.field_
        self.colorbar_ = ax.figure.colorbar(mappable, ax=ax, label=SPEED_LABEL)

        ax.set_xlim(xx0.min(), xx0.max())
        ax.set_ylim(xx1.min(), xx1.max())
        ax.set_xlabel(self.xlabel or "")
        ax.set_ylabel(self.ylabel or "")
        ax.set_title(f"Velocity field at t = {self.time:g}")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, X, y=None, *, time=None, features=(0, 1),
                       kind="stream", grid_resolution=25, ax=None, cmap="viridis",
                       snapshot_kw=None, field_kw=None):
        """Evaluate a fitted estimator's velocity on a grid over ``X`` and plot it.

        The grid covers the range of ``X`` in the plane. When two of more than
        two features are drawn, the others are held at the snapshot's mean; with
        ``features="pca"`` the grid points are mapped back through the PCA of
        ``X`` and the velocity is projected onto its two components.

        Parameters
        ----------
        estimator : fitted Action Matching estimator
            Anything with ``times_`` and ``velocity(X, t)``, such as
            :class:`~sklearn_am.ActionMatchingRegressor`.
        X : array-like of shape (n_samples, n_features)
            Observed points; they set the grid's range (and the PCA).
        y : array-like of shape (n_samples,), default=None
            Observation time of each row of ``X``. The rows observed at
            ``time`` are drawn underneath the field (all rows when none are,
            or without ``y``).
        time : float, default=None
            Time of the field; the middle fitted time
            (``estimator.times_[len(estimator.times_) // 2]``) when None.
        {{features}}
        kind : {"stream", "quiver"}, default="stream"
            Stream lines or one arrow per grid point.
        grid_resolution : int, default=25
            Number of grid points along each axis.
        {{ax}}
        cmap : str or matplotlib Colormap, default="viridis"
            Colour map of the speed.
        snapshot_kw, field_kw : dict, default=None
            Passed to :meth:`plot`.

        {{from_estimator_example:display=VelocityFieldDisplay;data=n_samples=50, n_features=3, random_state=0}}
        >>> display = VelocityFieldDisplay.from_estimator(
        ...     est, X, t, features="pca", kind="quiver", grid_resolution=10)
        >>> display.u.shape
        (10, 10)
        >>> display.ax_.get_title()
        'Velocity field at t = 0.5'
        """
        check_matplotlib(f"{cls.__name__}.from_estimator")
        X, times, names = fitted_data(estimator, X, y)
        grid_resolution = check_positive_int(grid_resolution, "grid_resolution")
        if time is None:
            time = estimator.times_[len(estimator.times_) // 2]
        time = float(time)
        rows = rows_at(times, time)
        snapshot = X[rows] if rows.size else X
        plane = Plane(X, features, names, reference=snapshot.mean(axis=0))
        xx0, xx1 = plane.grid(X, grid_resolution)
        points = plane.lift(np.column_stack([xx0.ravel(), xx1.ravel()])).astype(X.dtype)
        velocity = plane.project(estimator.velocity(estimator_input(estimator, points), time))
        u, v = (velocity[:, k].reshape(xx0.shape) for k in range(2))
        viz = cls(xx0=xx0, xx1=xx1, u=u, v=v, time=time, snapshot=plane.transform(snapshot),
                  xlabel=plane.labels[0], ylabel=plane.labels[1])
        return viz.plot(ax=ax, kind=kind, cmap=cmap, snapshot_kw=snapshot_kw,
                        field_kw=field_kw)
