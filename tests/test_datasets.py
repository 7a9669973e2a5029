"""Tests of sklearn_am.datasets."""

import numpy as np
import pytest

from sklearn_am.datasets import (
    BranchingTruth,
    GaussianTransportTruth,
    NonlinearTruth,
    make_branching,
    make_gaussian_transport,
    make_nonlinear,
)

MAKERS = [make_gaussian_transport, make_nonlinear, make_branching]
DEFAULT_TIMES = {
    make_gaussian_transport: (0.0, 0.3, 0.5, 1.0),
    make_nonlinear: (0.0, 1.0, 2.0, 3.0),
    make_branching: (0.0, 1.0, 2.0, 3.0, 4.0),
}


def _interior_times(truth, k=3):
    t0, t1 = truth.times[0], truth.times[-1]
    return t0 + (t1 - t0) * np.linspace(0.1, 0.9, k)


# --------------------------------------------------------------------------- #
# Common behaviour of the generators
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("maker", MAKERS)
def test_shapes_dtypes_and_default_times(maker):
    X, t = maker(n_samples=30, random_state=0)
    times = DEFAULT_TIMES[maker]
    assert X.shape == (30 * len(times), 2)
    assert t.shape == (30 * len(times),)
    assert X.dtype == np.float64 and t.dtype == np.float64
    assert np.all(np.isfinite(X))
    values, counts = np.unique(t, return_counts=True)
    np.testing.assert_array_equal(values, times)
    np.testing.assert_array_equal(counts, 30)


@pytest.mark.parametrize("maker", MAKERS)
def test_per_snapshot_sizes_and_unequal_times(maker):
    times = [0.0, 0.2, 0.9, 1.5]
    sizes = [5, 40, 1, 17]
    X, t, truth = maker(sizes, times=times, random_state=0, shuffle=False, return_truth=True)
    assert X.shape[0] == sum(sizes)
    np.testing.assert_array_equal(t, np.repeat(times, sizes))
    np.testing.assert_array_equal(truth.times, times)
    assert truth.n_features == X.shape[1]
    # numpy integer arrays are accepted too
    X2, t2 = maker(np.array(sizes), times=np.array(times), random_state=0, shuffle=False)
    np.testing.assert_array_equal(X, X2)


@pytest.mark.parametrize("maker", MAKERS)
def test_reproducible_and_seed_dependent(maker):
    X1, t1 = maker(n_samples=20, random_state=42)
    X2, t2 = maker(n_samples=20, random_state=42)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(t1, t2)
    X3, _ = maker(n_samples=20, random_state=43)
    assert not np.allclose(np.sort(X1, axis=0), np.sort(X3, axis=0))
    # a RandomState instance is used (and advanced) rather than reseeded
    rng = np.random.RandomState(0)
    Xa, _ = maker(n_samples=20, random_state=rng)
    Xb, _ = maker(n_samples=20, random_state=rng)
    assert not np.array_equal(Xa, Xb)


@pytest.mark.parametrize("maker", MAKERS)
def test_shuffle(maker):
    X, t = maker(n_samples=25, random_state=1, shuffle=False)
    assert np.all(np.diff(t) >= 0)
    Xs, ts = maker(n_samples=25, random_state=1, shuffle=True)
    assert np.any(np.diff(ts) < 0)
    # shuffling permutes the same rows, keeping every row's time attached
    order = np.lexsort((Xs[:, 0], ts))
    np.testing.assert_array_equal(ts[order], t)
    for time in np.unique(t):
        np.testing.assert_allclose(
            np.sort(Xs[ts == time], axis=0), np.sort(X[t == time], axis=0), rtol=0, atol=0
        )


@pytest.mark.parametrize("maker", MAKERS)
def test_snapshots_are_samples_of_the_truth_marginals(maker):
    X, t, truth = maker(n_samples=400, random_state=0, return_truth=True)
    for time in truth.times:
        snap = X[t == time]
        fresh = truth.sample(4000, time, random_state=1)
        se = fresh.std(axis=0) / np.sqrt(len(snap))
        assert np.all(np.abs(snap.mean(axis=0) - fresh.mean(axis=0)) < 5 * se + 1e-3)
        np.testing.assert_allclose(snap.std(axis=0), fresh.std(axis=0), rtol=0.2)


@pytest.mark.parametrize("maker", MAKERS)
def test_truth_interface(maker):
    _, _, truth = maker(n_samples=5, random_state=0, return_truth=True)
    d = truth.n_features
    Y = truth.sample(7, truth.times[1], random_state=0)
    assert Y.shape == (7, d)
    np.testing.assert_array_equal(Y, truth.sample(7, truth.times[1], random_state=0))
    # velocity accepts a scalar time or one time per row
    t_rows = np.full(7, truth.times[1])
    np.testing.assert_allclose(truth.velocity(Y, truth.times[1]), truth.velocity(Y, t_rows))
    assert truth.velocity(Y.tolist(), t_rows).shape == (7, d)
    assert truth.potential(Y, t_rows).shape == (7,)
    # flow from the start to t and back is the identity
    Z = truth.flow(Y, truth.times[-1], t_start=truth.times[1])
    np.testing.assert_allclose(truth.flow(Z, truth.times[1], t_start=truth.times[-1]), Y, atol=1e-6)
    assert repr(truth).startswith(type(truth).__name__)


@pytest.mark.parametrize("maker", MAKERS)
def test_velocity_is_gradient_of_potential(maker):
    _, _, truth = maker(n_samples=5, random_state=0, return_truth=True)
    for time in _interior_times(truth):
        Y = truth.sample(20, time, random_state=2)
        eps = 1e-6
        grad = np.stack(
            [
                (truth.potential(Y + eps * e, time) - truth.potential(Y - eps * e, time))
                / (2 * eps)
                for e in np.eye(truth.n_features)
            ],
            axis=1,
        )
        np.testing.assert_allclose(grad, truth.velocity(Y, time), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("maker", MAKERS)
def test_velocity_matches_finite_differences_of_trajectories(maker):
    _, _, truth = maker(n_samples=5, random_state=0, return_truth=True)
    X0 = truth.sample(50, truth.times[0], random_state=3)
    h = 1e-4
    for time in _interior_times(truth):
        Xt = truth.flow(X0, time)
        forward = truth.flow(Xt, time + h, t_start=time)
        backward = truth.flow(Xt, time - h, t_start=time)
        fd = (forward - backward) / (2 * h)
        v = truth.velocity(Xt, time)
        assert np.linalg.norm(fd - v) / np.linalg.norm(v) < 1e-5


@pytest.mark.parametrize("maker", MAKERS)
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"times": [0.0, 1.0, 1.0]}, "times must be strictly increasing"),
        ({"times": [1.0, 0.5]}, "times must be strictly increasing"),
        ({"times": [0.0]}, "times must contain at least 2"),
        ({"times": [[0.0, 1.0]]}, "times must be a 1-D"),
        ({"times": [0.0, np.nan]}, "times must contain finite"),
        ({"times": 1.0}, "'times'"),
        ({"n_samples": 0}, "'n_samples'"),
        ({"n_samples": [10, 10], "times": [0, 1, 2]}, "n_samples must have one entry per time"),
        ({"n_samples": [10, 0, 10], "times": [0, 1, 2]}, "n_samples must contain values >= 1"),
        ({"n_samples": [1.5, 2, 2], "times": [0, 1, 2]}, "n_samples must contain integers"),
        ({"n_samples": [[1, 2]], "times": [0, 1]}, "n_samples must be an int or a 1-D"),
        ({"random_state": "seed"}, "'random_state'"),
        ({"shuffle": "yes"}, "'shuffle'"),
    ],
)
def test_bad_arguments(maker, kwargs, match):
    with pytest.raises(ValueError, match=match):
        maker(**kwargs)


@pytest.mark.parametrize("maker", MAKERS)
def test_truth_bad_arguments(maker):
    _, _, truth = maker(n_samples=5, random_state=0, return_truth=True)
    t_end = truth.times[-1]
    with pytest.raises(ValueError, match="t must lie in"):
        truth.sample(5, t_end + 1.0)
    with pytest.raises(ValueError, match="n_samples"):
        truth.sample(0, t_end)
    with pytest.raises(ValueError, match="X must be a 2-D array with"):
        truth.velocity(np.ones((3, truth.n_features + 1)), t_end)
    with pytest.raises(ValueError, match="t must be a scalar or hold one time per row"):
        truth.velocity(np.ones((3, truth.n_features)), [t_end, t_end])
    with pytest.raises(ValueError, match="t_start must lie in"):
        truth.flow(np.ones((3, truth.n_features)), t_end, t_start=t_end + 1.0)


# --------------------------------------------------------------------------- #
# Gaussian transport
# --------------------------------------------------------------------------- #


def test_gaussian_parameters():
    _, _, truth = make_gaussian_transport(
        n_samples=5, n_features=4, random_state=0, return_truth=True
    )
    assert isinstance(truth, GaussianTransportTruth)
    assert 2.0 <= np.linalg.norm(truth.mean_end - truth.mean_start) <= 3.0
    for S in (truth.cov_start, truth.cov_end):
        eig = np.linalg.eigvalsh(S)
        assert 0.25 - 1e-9 <= eig.min() and eig.max() <= 2.0 + 1e-9
    A = truth.transport_map
    np.testing.assert_allclose(A, A.T)
    assert np.linalg.eigvalsh(A).min() > 0
    # A pushes N(m0, S0) onto N(m1, S1)
    np.testing.assert_allclose(A @ truth.cov_start @ A, truth.cov_end, atol=1e-10)
    np.testing.assert_allclose(truth.mean(truth.times[-1]), truth.mean_end)
    np.testing.assert_allclose(truth.covariance(truth.times[0]), truth.cov_start, atol=1e-12)
    np.testing.assert_allclose(truth.covariance(truth.times[-1]), truth.cov_end, atol=1e-10)


@pytest.mark.parametrize("n_features", [1, 2, 5])
def test_gaussian_velocity_matches_derivative_of_interpolation(n_features):
    times = (0.5, 0.7, 2.5)
    _, _, truth = make_gaussian_transport(
        n_samples=5, n_features=n_features, times=times, random_state=1, return_truth=True
    )
    m0, m1, A = truth.mean_start, truth.mean_end, truth.transport_map
    T = times[-1] - times[0]
    X0 = truth.sample(40, times[0], random_state=0)

    def interpolation(t):  # McCann's interpolation written out independently
        lam = (t - times[0]) / T
        M = (1 - lam) * np.eye(n_features) + lam * A
        return m0 + lam * (m1 - m0) + (X0 - m0) @ M.T

    h = 1e-5
    for t in [times[0], 0.6, 1.3, 2.2, times[-1]]:
        lo, hi = max(times[0], t - h), min(times[-1], t + h)
        fd = (interpolation(hi) - interpolation(lo)) / (hi - lo)
        np.testing.assert_allclose(truth.flow(X0, t), interpolation(t), atol=1e-12)
        v = truth.velocity(interpolation(t), t)
        assert np.linalg.norm(v - fd) / np.linalg.norm(fd) < 1e-5
    # one time per row
    ts = np.linspace(times[0], times[-1], len(X0))
    Xt = np.stack([interpolation(s)[i] for i, s in enumerate(ts)])
    per_row = truth.velocity(Xt, ts)
    for i in (0, 17, 39):
        np.testing.assert_allclose(per_row[i], truth.velocity(Xt[i : i + 1], ts[i])[0])


def test_gaussian_sample_mean_and_covariance():
    _, _, truth = make_gaussian_transport(
        n_samples=5, n_features=3, random_state=2, return_truth=True
    )
    n = 20_000
    for t in (0.0, 0.3, 0.77, 1.0):
        Y = truth.sample(n, t, random_state=5)
        cov = truth.covariance(t)
        se = np.sqrt(np.diag(cov) / n)
        assert np.all(np.abs(Y.mean(axis=0) - truth.mean(t)) < 5 * se)
        np.testing.assert_allclose(np.cov(Y.T), cov, atol=0.06 * np.abs(cov).max())


def test_gaussian_n_features_and_truth_class_validation():
    X, t = make_gaussian_transport(n_samples=10, n_features=1, random_state=0)
    assert X.shape == (40, 1)
    with pytest.raises(ValueError, match="'n_features'"):
        make_gaussian_transport(n_features=0)
    with pytest.raises(ValueError, match="cov_end must be positive definite"):
        GaussianTransportTruth([0.0], [[1.0]], [1.0], [[-1.0]], times=[0.0, 1.0])
    with pytest.raises(ValueError, match="mean_end must have shape"):
        GaussianTransportTruth([0.0], [[1.0]], [1.0, 2.0], [[1.0]], times=[0.0, 1.0])


# --------------------------------------------------------------------------- #
# Nonlinear and branching
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("truth_class", [NonlinearTruth, BranchingTruth])
def test_rk4_integration_is_accurate(truth_class):
    coarse = truth_class(times=[0.0, 3.0])
    fine = truth_class(times=[0.0, 3.0], steps_per_unit_time=2000)
    X0 = coarse.sample(100, 0.0, random_state=0)
    np.testing.assert_allclose(coarse.flow(X0, 3.0), fine.flow(X0, 3.0), atol=1e-6)


def test_nonlinear_is_bounded_and_non_gaussian():
    X, t, truth = make_nonlinear(n_samples=2000, random_state=0, return_truth=True)
    assert isinstance(truth, NonlinearTruth)
    assert np.abs(X).max() < 6.0
    last = X[t == 3.0]
    first = X[t == 0.0]
    assert last[:, 1].std() > 3 * first[:, 1].std()  # stretched
    # bent: x1 depends on x2 ** 2, impossible for an uncorrelated Gaussian
    assert abs(np.corrcoef(last[:, 0], last[:, 1] ** 2)[0, 1]) > 0.2
    np.testing.assert_allclose(first.mean(axis=0), [-2.0, 0.0], atol=0.05)


def test_nonlinear_velocity_closed_form():
    truth = NonlinearTruth(times=[0.0, 3.0])
    x = np.array([[0.3, -1.2], [-2.0, 0.5]])
    x1, x2 = x[:, 0], x[:, 1]
    expected = np.stack(
        [1 - np.log1p(x2**2) * np.sin(x1), 2 * x2 * np.cos(x1) / (1 + x2**2)], axis=1
    )
    np.testing.assert_allclose(truth.velocity(x, 1.0), expected)
    # autonomous: any finite time is accepted
    np.testing.assert_allclose(truth.velocity(x, [10.0, -5.0]), expected)


def test_branching_is_bimodal_at_the_last_time():
    X, t, truth = make_branching(n_samples=2000, random_state=0, return_truth=True)
    assert isinstance(truth, BranchingTruth)
    first, last = X[t == 0.0], X[t == 4.0]
    x2 = last[:, 1]
    # two branches of comparable size near +1 and -1, almost empty in between
    upper, lower = x2[x2 > 0], x2[x2 < 0]
    assert 0.4 < len(upper) / len(x2) < 0.6
    assert abs(np.median(upper) - 1.0) < 0.05 and abs(np.median(lower) + 1.0) < 0.05
    assert np.mean(np.abs(x2) < 0.5) < 0.05
    # unimodal at the start, drifted along x1 by 4 at the end
    assert np.mean(np.abs(first[:, 1]) < 0.5) > 0.95
    np.testing.assert_allclose(last[:, 0].mean() - first[:, 0].mean(), 4.0, atol=0.05)
    np.testing.assert_allclose(
        truth.velocity([[0.0, 0.0], [1.0, 1.0], [0.0, 0.5]], 2.0),
        [[1.0, 0.0], [1.0, 0.0], [1.0, 1.25 * 0.5 * 0.75]],
    )
