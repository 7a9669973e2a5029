"""Tests of the display objects of sklearn_am.plotting."""

import re
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sklearn.base import BaseEstimator  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

from sklearn_am import ActionMatchingRegressor, UnbalancedActionMatching  # noqa: E402
from sklearn_am.metrics import wasserstein_distance  # noqa: E402
from sklearn_am.plotting import (  # noqa: E402
    LossCurveDisplay,
    MarginalsDisplay,
    TrajectoryDisplay,
    VelocityFieldDisplay,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


class _TranslatingFlow(BaseEstimator):
    """A stand-in fitted estimator: every point moves with velocity (1, 2, ...).

    ``velocity`` answers a field of its own (``_field``) so that plots of it can be
    checked; ``push`` returns growth factors exp(g (t_to - t_from)) with a rate
    ``g = 0.3 (x1 - 2 x0)`` that the translation leaves unchanged.
    """

    def __init__(self, n_features=2):
        self.n_features = n_features
        self.times_ = np.array([0.0, 0.5, 1.0])
        self.velocity_ = np.arange(1.0, n_features + 1.0)
        self.calls = []
        self.velocity_calls = []

    def fit(self, X, y):
        return self

    def push(self, X, t_from, t_to, return_path=False, return_weights=False):
        X = np.asarray(X)
        self.calls.append((np.array(X), t_from, t_to))
        times = np.linspace(t_from, t_to, 11)
        path = X[None] + (times - t_from)[:, None, None] * self.velocity_
        out = [path[-1]]
        if return_weights:
            out.append(np.exp(_growth_rate(X) * (t_to - t_from)))
        if return_path:
            out += [path, times]
        return out[0] if len(out) == 1 else tuple(out)

    def velocity(self, X, t):
        X = np.asarray(X)
        self.velocity_calls.append((X.copy(), t))
        return _field(X, t)


def _growth_rate(X):
    return 0.3 * (X[:, 1] - 2 * X[:, 0])


def _field(X, t):
    """A field that depends on every feature and on time."""
    return np.roll(X, 1, axis=1) * (1.0 + t) + np.sin(X)


def _snapshots(n_per_time=30, n_features=2, seed=0):
    rng = np.random.RandomState(seed)
    t = np.repeat([0.0, 0.5, 1.0], n_per_time)
    X = rng.randn(len(t), n_features) + t[:, None]
    return X, t


def _paths(n_times=5, n_trajectories=7, n_features=2):
    rng = np.random.RandomState(0)
    return rng.randn(n_times, n_trajectories, n_features), np.linspace(0, 1, n_times)


def test_plot_sets_attributes_and_returns_self():
    paths, times = _paths()
    X, t = _snapshots()
    display = TrajectoryDisplay(paths=paths, path_times=times, snapshots=X, snapshot_times=t)
    assert display.paths is paths and display.snapshot_times is t  # stored as given
    out = display.plot()
    assert out is display
    assert display.figure_ is display.ax_.figure
    assert len(display.lines_) == 7
    assert len(display.ax_.get_lines()) == 7
    assert display.scatter_ is not None and display.colorbar_ is not None
    assert display.scatter_.get_cmap().name == "viridis"
    assert_allclose(display.scatter_.get_array(), t)
    assert display.ax_.get_xlabel() == "x0" and display.ax_.get_ylabel() == "x1"
    # The first line is the first trajectory in features (0, 1).
    assert_allclose(display.lines_[0].get_xdata(), paths[:, 0, 0])
    assert_allclose(display.lines_[0].get_ydata(), paths[:, 0, 1])


@pytest.mark.parametrize("n_trajectories", [1, 3, 100])
def test_number_of_lines(n_trajectories):
    paths, times = _paths(n_trajectories=7)
    display = TrajectoryDisplay(paths=paths, path_times=times).plot(
        n_trajectories=n_trajectories)
    assert len(display.lines_) == min(n_trajectories, 7)
    assert display.scatter_ is None and display.colorbar_ is None


def test_plot_on_given_ax_with_dims_names_and_kwargs():
    paths, times = _paths(n_features=3)
    fig, (ax_left, ax_right) = plt.subplots(1, 2)
    display = TrajectoryDisplay(paths=paths, path_times=times,
                                feature_names=["a", "b", "c"])
    display.plot(ax=ax_right, dims=(2, 0), line_kw={"color": "red"})
    assert display.ax_ is ax_right and display.figure_ is fig
    assert len(ax_left.get_lines()) == 0
    assert (ax_right.get_xlabel(), ax_right.get_ylabel()) == ("c", "a")
    assert_allclose(display.lines_[2].get_xdata(), paths[:, 2, 2])
    assert display.lines_[0].get_color() == "red"


@pytest.mark.parametrize("dims", [(0, 0), (0, 2), (0,), (0, 1, 1), (0.0, 1)])
def test_invalid_dims(dims):
    paths, times = _paths()
    with pytest.raises(ValueError, match="dims must be two distinct feature indices"):
        TrajectoryDisplay(paths=paths, path_times=times).plot(dims=dims)


def test_invalid_shapes():
    paths, times = _paths()
    with pytest.raises(ValueError, match="paths must have shape"):
        TrajectoryDisplay(paths=paths[0], path_times=times).plot()
    with pytest.raises(ValueError, match="paths must have shape"):
        TrajectoryDisplay(paths=paths, path_times=times[:-1]).plot()
    with pytest.raises(ValueError, match="snapshots must have shape"):
        TrajectoryDisplay(paths=paths, path_times=times, snapshots=np.zeros((4, 3))).plot()
    with pytest.raises(ValueError, match="feature_names has 1 entries"):
        TrajectoryDisplay(paths=paths, path_times=times, feature_names=["a"]).plot()


def test_one_feature_is_drawn_against_time():
    paths, times = _paths(n_features=1)
    X, t = _snapshots(n_features=1)
    display = TrajectoryDisplay(paths=paths, path_times=times, snapshots=X,
                                snapshot_times=t).plot(dims=(0, 1))
    assert display.ax_.get_xlabel() == "time" and display.ax_.get_ylabel() == "x0"
    assert_allclose(display.lines_[1].get_xdata(), times)
    assert_allclose(display.lines_[1].get_ydata(), paths[:, 1, 0])
    assert_allclose(display.scatter_.get_offsets(), np.column_stack([t, X[:, 0]]))
    with pytest.raises(ValueError, match="pass snapshot_times"):
        TrajectoryDisplay(paths=paths, path_times=times, snapshots=X).plot()


def test_from_estimator_starts_from_rows_at_t_from():
    X, t = _snapshots()
    est = _TranslatingFlow()
    display = TrajectoryDisplay.from_estimator(est, X, t, n_trajectories=10, random_state=0)
    (X0, t_from, t_to), = est.calls
    assert (t_from, t_to) == (0.0, 1.0)
    assert X0.shape == (10, 2)
    # Rows observed at t = 0 only, without repeats.
    first = X[t == 0.0]
    assert all(np.any(np.all(first == row, axis=1)) for row in X0)
    assert len(np.unique(X0, axis=0)) == 10
    assert len(display.lines_) == 10
    assert display.paths.shape == (11, 10, 2)
    assert_array_equal(display.snapshots, X)
    assert_array_equal(display.snapshot_times, t)


def test_from_estimator_t_from_t_to_and_no_y():
    X, t = _snapshots()
    est = _TranslatingFlow()
    X_mid = X[t == 0.5]
    display = TrajectoryDisplay.from_estimator(est, X_mid, t_from=0.5, t_to=0.0)
    (X0, t_from, t_to), = est.calls
    assert (t_from, t_to) == (0.5, 0.0)
    assert_array_equal(X0, X_mid)  # fewer rows than n_trajectories: all, in order
    assert len(display.lines_) == len(X_mid)
    assert_array_equal(display.snapshot_times, np.full(len(X_mid), 0.5))
    with pytest.raises(ValueError, match="No row of X is observed at t_from=0.25"):
        TrajectoryDisplay.from_estimator(est, X, t, t_from=0.25)
    with pytest.raises(ValueError, match="y has 3 entries"):
        TrajectoryDisplay.from_estimator(est, X, t[:3])


def test_from_estimator_unfitted_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TrajectoryDisplay.from_estimator(ActionMatchingRegressor(), np.zeros((3, 2)))


def test_from_estimator_real_fit_and_save_png(tmp_path, fast_params):
    X, t = _snapshots(n_per_time=20)
    est = ActionMatchingRegressor(**{**fast_params, "max_iter": 5}).fit(X, t)
    display = TrajectoryDisplay.from_estimator(est, X, t, n_trajectories=8, random_state=0)
    assert len(display.lines_) == 8
    assert display.paths.shape[1:] == (8, 2)
    assert display.path_times[0] == est.times_[0]
    assert_allclose(display.path_times[-1], est.times_[-1])
    path = tmp_path / "trajectories.png"
    display.figure_.savefig(path)
    assert path.stat().st_size > 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- #
# Shared behaviour of the displays
# --------------------------------------------------------------------------- #


def _three_features():
    X, t = _snapshots(n_per_time=25, n_features=3)
    return X, t


@pytest.mark.parametrize("call", [
    lambda: VelocityFieldDisplay.from_estimator(ActionMatchingRegressor(), np.zeros((3, 2))),
    lambda: MarginalsDisplay.from_estimator(ActionMatchingRegressor(), np.zeros((3, 2)),
                                            np.zeros(3)),
    lambda: LossCurveDisplay.from_estimator(ActionMatchingRegressor()),
], ids=["velocity", "marginals", "loss"])
def test_unfitted_estimator_raises(call):
    with pytest.raises(NotFittedError):
        call()


@pytest.mark.parametrize("display", [
    TrajectoryDisplay(paths=np.zeros((2, 1, 2)), path_times=[0, 1]),
    VelocityFieldDisplay(xx0=np.zeros((2, 2)), xx1=np.zeros((2, 2)), u=np.zeros((2, 2)),
                         v=np.zeros((2, 2)), time=0.0),
    MarginalsDisplay(times=[1.0], observed=[np.zeros((1, 2))], pushed=[np.zeros((1, 2))]),
    LossCurveDisplay(loss_curve=[1.0]),
], ids=lambda display: type(display).__name__)
def test_missing_matplotlib_names_the_extra(display, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    with pytest.raises(ImportError, match=re.escape('pip install "sklearn-am[plot]"')):
        display.plot()


@pytest.mark.parametrize("features", ["pcaa", (0, 0), (0, 3), (0,), (0, 1, 2), ("a", 1),
                                      (0.0, 1), (True, 1)])
@pytest.mark.parametrize("display", [VelocityFieldDisplay, MarginalsDisplay])
def test_invalid_features(display, features):
    X, t = _three_features()
    with pytest.raises(ValueError, match="features must be"):
        display.from_estimator(_TranslatingFlow(n_features=3), X, t, features=features)


@pytest.mark.parametrize("display", [VelocityFieldDisplay, MarginalsDisplay])
def test_one_feature_is_refused(display):
    X, t = _snapshots(n_features=1)
    with pytest.raises(ValueError, match="needs 2 or more"):
        display.from_estimator(_TranslatingFlow(n_features=1), X, t)


# --------------------------------------------------------------------------- #
# VelocityFieldDisplay
# --------------------------------------------------------------------------- #


def test_velocity_field_two_of_three_features():
    X, t = _three_features()
    est = _TranslatingFlow(n_features=3)
    display = VelocityFieldDisplay.from_estimator(est, X, t, time=0.5, features=(2, 0),
                                                  grid_resolution=7)
    assert display.u.shape == display.v.shape == display.xx0.shape == (7, 7)
    # The grid spans the data's range (plus a margin) in features 2 and 0 ...
    assert display.xx0.min() < X[:, 2].min() and display.xx0.max() > X[:, 2].max()
    assert display.xx1.min() < X[:, 0].min() and display.xx1.max() > X[:, 0].max()
    # ... feature 1 is held at the snapshot's mean, and the field is read at t = 0.5.
    (points, time), = est.velocity_calls
    assert time == 0.5 and points.shape == (49, 3)
    assert_allclose(points[:, 1], X[t == 0.5, 1].mean())
    assert_allclose(points[:, 2], display.xx0.ravel())
    expected = _field(points, 0.5)
    assert_allclose(display.u.ravel(), expected[:, 2])
    assert_allclose(display.v.ravel(), expected[:, 0])
    # Labels, title, the snapshot underneath, a stream plot coloured by speed.
    ax = display.ax_
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x2", "x0")
    assert ax.get_title() == "Velocity field at t = 0.5"
    assert_allclose(display.scatter_.get_offsets(), X[t == 0.5][:, [2, 0]])
    assert len(display.field_.lines.get_segments()) > 0
    speed = display.field_.lines.get_array()
    assert speed.min() >= np.hypot(display.u, display.v).min() - 1e-12
    assert display.colorbar_.mappable is display.field_.lines
    assert "speed" in display.colorbar_.ax.get_ylabel()
    assert display.figure_ is ax.figure


def test_velocity_field_quiver_arrows():
    X, t = _snapshots()
    display = VelocityFieldDisplay.from_estimator(_TranslatingFlow(), X, t, time=1.0,
                                                  kind="quiver", grid_resolution=6)
    quiver = display.field_
    assert quiver.U.shape == (36,) and quiver.N == 36
    assert_allclose(quiver.U, display.u.ravel())
    assert_allclose(quiver.V, display.v.ravel())
    assert_allclose(quiver.get_array(), np.hypot(display.u, display.v).ravel())
    assert display.colorbar_.mappable is quiver
    assert_allclose(quiver.get_offsets(),
                    np.column_stack([display.xx0.ravel(), display.xx1.ravel()]))


def test_velocity_field_pca_projects_the_field():
    X, t = _three_features()
    est = _TranslatingFlow(n_features=3)
    display = VelocityFieldDisplay.from_estimator(est, X, t, features="pca",
                                                  grid_resolution=5)
    pca = PCA(n_components=2).fit(X)
    (points, time), = est.velocity_calls
    assert time == 0.5  # the middle fitted time by default
    grid = np.column_stack([display.xx0.ravel(), display.xx1.ravel()])
    assert_allclose(points, pca.inverse_transform(grid))
    projected = _field(points, 0.5) @ pca.components_.T
    assert_allclose(display.u.ravel(), projected[:, 0])
    assert_allclose(display.v.ravel(), projected[:, 1])
    assert_allclose(display.scatter_.get_offsets(), pca.transform(X[t == 0.5]))
    assert display.ax_.get_xlabel().startswith("PC1 (")
    assert display.ax_.get_ylabel().startswith("PC2 (")


def test_velocity_field_snapshot_is_all_rows_off_the_observed_times():
    X, t = _snapshots()
    display = VelocityFieldDisplay.from_estimator(_TranslatingFlow(), X, t, time=0.25)
    assert display.snapshot.shape == X.shape
    display = VelocityFieldDisplay.from_estimator(_TranslatingFlow(), X)
    assert display.snapshot.shape == X.shape and display.time == 0.5


def test_velocity_field_plot_on_given_ax_and_errors():
    xx0, xx1 = np.meshgrid(np.linspace(0, 1, 4), np.linspace(0, 2, 3))
    display = VelocityFieldDisplay(xx0=xx0, xx1=xx1, u=xx1, v=-xx0, time=2.0,
                                   xlabel="a", ylabel="b")
    fig, (left, right) = plt.subplots(1, 2)
    display.plot(ax=right, kind="quiver")
    assert display.ax_ is right and display.figure_ is fig and display.scatter_ is None
    assert not left.collections
    with pytest.raises(ValueError, match="kind must be one of"):
        display.plot(kind="arrows")
    with pytest.raises(ValueError, match="must be 2-D arrays of one shape"):
        VelocityFieldDisplay(xx0=xx0, xx1=xx1, u=xx1[:2], v=xx0, time=0.0).plot()


def test_velocity_field_by_feature_name_on_a_dataframe_fit(fast_params):
    pd = pytest.importorskip("pandas")
    X, t = _three_features()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    est = ActionMatchingRegressor(**{**fast_params, "max_iter": 5}).fit(frame, t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        display = VelocityFieldDisplay.from_estimator(est, frame, t, features=("c", "a"),
                                                      grid_resolution=5)
    assert (display.ax_.get_xlabel(), display.ax_.get_ylabel()) == ("c", "a")
    points = np.column_stack([display.xx1.ravel(), np.full(25, X[t == 0.5, 1].mean()),
                              display.xx0.ravel()])
    velocity = est.velocity(pd.DataFrame(points, columns=["a", "b", "c"]), 0.5)
    assert_allclose(display.u.ravel(), velocity[:, 2], rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- #
# MarginalsDisplay
# --------------------------------------------------------------------------- #


def _title_distance(ax):
    return float(re.search(r"W1 = ([0-9.]+)", ax.get_title()).group(1))


def test_marginals_chained_rollout_titles_and_sizes():
    X, t = _snapshots(n_per_time=20)
    est = _TranslatingFlow()
    display = MarginalsDisplay.from_estimator(est, X, t)
    # One push per interval, chained: 0 -> 0.5 -> 1.
    assert [(a, b) for _, a, b in est.calls] == [(0.0, 0.5), (0.5, 1.0)]
    assert_allclose(est.calls[1][0], X[t == 0] + 0.5 * est.velocity_)
    assert len(display.axes_) == 2 and len(display.figure_.axes) == 2
    X0 = X[t == 0]
    for k, tk in enumerate([0.5, 1.0]):
        ax = display.axes_[k]
        pushed = X0 + tk * est.velocity_
        weights = np.exp(_growth_rate(X0) * tk)
        expected = wasserstein_distance(pushed, X[t == tk], x_weights=weights)
        assert ax.get_title().startswith(f"t = {tk:g}")
        assert_allclose(_title_distance(ax), expected, atol=5e-4)
        assert_allclose(display.distances[k], expected)
        assert_allclose(display.pushed_scatters_[k].get_offsets(), pushed)
        assert_allclose(display.pushed_scatters_[k].get_sizes(), 6 * weights)
        assert_allclose(display.observed_scatters_[k].get_offsets(), X[t == tk])
    assert display.axes_[0].get_ylabel() == "x1"
    assert display.axes_[0].get_xlabel() == "x0"
    assert [text.get_text() for text in display.figure_.legends[0].get_texts()] == \
        ["observed", "pushed from t = 0"]


def test_marginals_with_the_unbalanced_estimator(fast_params):
    X, t = _snapshots(n_per_time=30)
    est = UnbalancedActionMatching(**fast_params).fit(X, t)
    display = MarginalsDisplay.from_estimator(est, X, t, n_samples=20, random_state=0)
    rows = np.sort(np.random.RandomState(0).choice(np.flatnonzero(t == 0), 20, replace=False))
    current, weights, previous = X[rows], np.ones(20), 0.0
    for k, tk in enumerate([0.5, 1.0]):
        current, growth = est.push(current, previous, tk, return_weights=True)
        weights, previous = weights * growth, tk
        expected = wasserstein_distance(current, X[t == tk], x_weights=weights)
        assert_allclose(_title_distance(display.axes_[k]), expected, atol=5e-4)
        assert_allclose(display.weights[k], weights, rtol=1e-6)
        assert len(display.observed[k]) == 20  # drawn as densely as the pushed points
    assert not np.allclose(display.weights[1], 1.0)  # growth factors, not ones


def test_marginals_panels_grid_and_given_axes():
    rng = np.random.RandomState(0)
    panels = dict(times=[1, 2, 3], observed=[rng.randn(5, 2) for _ in range(3)],
                  pushed=[rng.randn(4, 2) for _ in range(3)])
    display = MarginalsDisplay(**panels).plot(n_cols=2)
    assert len(display.figure_.axes) == 3  # the fourth cell of the 2 x 2 grid is removed
    assert [ax.get_title() for ax in display.axes_] == ["t = 1", "t = 2", "t = 3"]
    fig, axes = plt.subplots(1, 3)
    display = MarginalsDisplay(**panels).plot(ax=axes)
    assert list(display.axes_) == list(axes) and display.figure_ is fig
    assert display.axes_[0].get_legend() is not None
    for wrong in (axes[:2], axes[0]):
        with pytest.raises(ValueError, match="ax must hold one Axes per panel: 3 panels"):
            MarginalsDisplay(**panels).plot(ax=wrong)
    with pytest.raises(ValueError, match="distances has 2 entries for 3 panels"):
        MarginalsDisplay(**panels, distances=[0.1, 0.2]).plot()
    with pytest.raises(ValueError, match="one array per panel"):
        MarginalsDisplay(**{**panels, "times": [1, 2]}).plot()


def test_marginals_pca_and_errors():
    X, t = _three_features()
    display = MarginalsDisplay.from_estimator(_TranslatingFlow(n_features=3), X, t,
                                              features="pca")
    pca = PCA(n_components=2).fit(X)
    assert_allclose(display.observed[1], pca.transform(X[t == 1.0]))
    assert display.axes_[0].get_ylabel().startswith("PC2 (")
    with pytest.raises(ValueError, match="No row of X is observed at the first fitted"):
        MarginalsDisplay.from_estimator(_TranslatingFlow(n_features=3), X[t > 0], t[t > 0])
    with pytest.raises(ValueError, match="no time after the first"):
        MarginalsDisplay.from_estimator(_TranslatingFlow(n_features=3), X[t == 0],
                                        t[t == 0])
    with pytest.raises(ValueError, match="y .* is required"):
        MarginalsDisplay.from_estimator(_TranslatingFlow(n_features=3), X, None)


# --------------------------------------------------------------------------- #
# LossCurveDisplay
# --------------------------------------------------------------------------- #


class _Trained(BaseEstimator):
    def __init__(self, n_iter=40, scores=None, steps=None):
        self.n_iter = n_iter
        self.scores = scores
        self.steps = steps
        self.loss_curve_ = list(-np.log1p(np.arange(n_iter)))
        if scores is not None:
            self.validation_scores_ = scores
        if steps is not None:
            self.validation_steps_ = steps

    def fit(self, X, y):
        return self


def test_loss_curve_without_validation():
    est = _Trained()
    display = LossCurveDisplay.from_estimator(est)
    assert_allclose(display.loss_line_.get_xdata(), np.arange(1, 41))
    assert_allclose(display.loss_line_.get_ydata(), est.loss_curve_)
    assert display.validation_line_ is None and display.smoothed_line_ is None
    ax = display.ax_
    assert ax.get_xlabel() == "training step"
    assert "unbounded below" in ax.get_ylabel()
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["training loss"]
    # validation_scores_ = None (as scikit-learn's MLP sets it) is no validation either.
    est.validation_scores_ = None
    assert LossCurveDisplay.from_estimator(est).validation_line_ is None


def test_loss_curve_with_validation_steps():
    est = _Trained(scores=[1.0, 2.0, 2.5], steps=[10, 20, 35])
    display = LossCurveDisplay.from_estimator(est)
    assert_allclose(display.validation_line_.get_xdata(), [10, 20, 35])
    assert_allclose(display.validation_line_.get_ydata(), [-1.0, -2.0, -2.5])
    labels = [text.get_text() for text in display.ax_.get_legend().get_texts()]
    assert labels == ["training loss", "validation (− score)"]


def test_loss_curve_validation_is_drawn_in_the_units_of_the_loss():
    # A fitted estimator's validation_scores_ are in the user's units; loss_curve_ is
    # in the model's. With X in units 10× larger, a user-unit loss is 100× a model one.
    from sklearn_am.datasets import make_gaussian_transport

    X, t = make_gaussian_transport(300, random_state=0)
    est = ActionMatchingRegressor(hidden_layer_sizes=(16,), max_iter=100, batch_size=64,
                                  random_state=0).fit(10.0 * X, t)
    action = est.x_scale_**2 / est.time_scale_
    assert action > 10  # the units differ: not a vacuous check
    display = LossCurveDisplay.from_estimator(est)
    assert_allclose(display.validation_line_.get_ydata(),
                    -np.asarray(est.validation_scores_) / action)
    # The last check scores the final weights on held-out draws: the same order of
    # magnitude as the training loss (unconverted it would be `action` times larger).
    ratio = display.validation_line_.get_ydata()[-1] / np.mean(est.loss_curve_[-20:])
    assert 1 / 3 < ratio < 3


def test_loss_curve_validation_without_steps_is_spread_evenly():
    display = LossCurveDisplay.from_estimator(_Trained(scores=[1.0, 2.0, 3.0, 4.0]))
    assert_allclose(display.validation_line_.get_xdata(), [10, 20, 30, 40])


def test_loss_curve_smoothing_and_errors():
    loss = np.random.RandomState(0).randn(30)
    fig, ax = plt.subplots()
    display = LossCurveDisplay(loss_curve=loss).plot(ax=ax, smoothing=5)
    assert display.ax_ is ax
    assert_allclose(display.smoothed_line_.get_xdata(), np.arange(5, 31))
    assert_allclose(display.smoothed_line_.get_ydata(),
                    np.convolve(loss, np.ones(5) / 5, mode="valid"))
    assert display.loss_line_.get_alpha() < 1
    assert len(ax.get_legend().get_texts()) == 1  # the raw curve has no legend entry
    # A window longer than the curve averages it all.
    display = LossCurveDisplay(loss_curve=loss).plot(smoothing=100)
    assert_allclose(display.smoothed_line_.get_ydata(), [loss.mean()])
    with pytest.raises(ValueError, match="smoothing must be a positive int"):
        LossCurveDisplay(loss_curve=loss).plot(smoothing=0)
    with pytest.raises(ValueError, match="validation_steps has 1 entries for 2"):
        LossCurveDisplay(loss_curve=loss, validation_scores=[1, 2],
                         validation_steps=[3]).plot()
    with pytest.raises(ValueError, match="loss_curve is empty"):
        LossCurveDisplay(loss_curve=[]).plot()


def test_every_display_of_a_real_fit_saves_a_png(tmp_path, fast_params):
    X, t = _snapshots(n_per_time=20)
    est = ActionMatchingRegressor(**fast_params).fit(X, t)
    displays = {
        "velocity": VelocityFieldDisplay.from_estimator(est, X, t, grid_resolution=8),
        "marginals": MarginalsDisplay.from_estimator(est, X, t),
        "loss": LossCurveDisplay.from_estimator(est, smoothing=5),
    }
    assert len(displays["loss"].loss_line_.get_xdata()) == est.n_iter_
    for name, display in displays.items():
        path = tmp_path / f"{name}.png"
        display.figure_.savefig(path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
