"""Tests of sklearn_am.plotting.TrajectoryDisplay."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sklearn.base import BaseEstimator  # noqa: E402

from sklearn_am import ActionMatchingRegressor  # noqa: E402
from sklearn_am.plotting import TrajectoryDisplay  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


class _TranslatingFlow(BaseEstimator):
    """A stand-in fitted estimator: every point moves with velocity (1, 2, ...)."""

    def __init__(self, n_features=2):
        self.n_features = n_features
        self.times_ = np.array([0.0, 0.5, 1.0])
        self.velocity_ = np.arange(1.0, n_features + 1.0)
        self.calls = []

    def fit(self, X, y):
        return self

    def push(self, X, t_from, t_to, return_path=False):
        assert return_path
        self.calls.append((np.array(X), t_from, t_to))
        times = np.linspace(t_from, t_to, 11)
        path = X[None] + (times - t_from)[:, None, None] * self.velocity_
        return path[-1], path, times


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
