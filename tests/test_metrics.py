"""Tests of sklearn_am.metrics."""

import warnings

import numpy as np
import pytest
import scipy.stats
from sklearn.exceptions import ConvergenceWarning

from sklearn_am.metrics import energy_distance, mmd, wasserstein_distance

ALL_METRICS = [wasserstein_distance, mmd, energy_distance]


@pytest.fixture
def cloud():
    return np.random.RandomState(0).normal(size=(60, 3))


# --------------------------------------------------------------------------- #
# Wasserstein
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("p", [1, 2])
def test_wasserstein_identical_clouds_is_zero(cloud, p):
    assert wasserstein_distance(cloud, cloud, p=p) == pytest.approx(0.0, abs=1e-12)
    # row order does not matter
    perm = np.random.RandomState(1).permutation(len(cloud))
    assert wasserstein_distance(cloud, cloud[perm], p=p) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("p", [1, 2])
def test_wasserstein_point_masses(p):
    x = np.array([[1.0, 2.0]])
    y = np.array([[4.0, 6.0]])
    assert wasserstein_distance(x, y, p=p) == pytest.approx(5.0, rel=1e-12)


@pytest.mark.parametrize("p", [1, 2])
def test_wasserstein_of_a_shift_is_the_shift_norm(cloud, p):
    shift = np.array([0.7, -1.2, 0.4])
    value = wasserstein_distance(cloud, cloud + shift, p=p)
    assert value == pytest.approx(np.linalg.norm(shift), abs=1e-6)


def test_wasserstein_returns_python_float(cloud):
    assert type(wasserstein_distance(cloud, cloud + 1.0)) is float


def test_w2_is_at_least_w1():
    rng = np.random.RandomState(2)
    X = rng.normal(size=(80, 2))
    Y = rng.standard_t(df=3, size=(70, 2)) + [1.0, 0.0]
    w1 = wasserstein_distance(X, Y, p=1)
    w2 = wasserstein_distance(X, Y, p=2)
    assert w2 >= w1 - 1e-12
    assert w1 > 0


def test_wasserstein_matches_scipy_in_one_dimension():
    rng = np.random.RandomState(3)
    x, y = rng.normal(size=50), rng.exponential(size=40)
    wx, wy = rng.uniform(0.1, 1.0, size=50), rng.uniform(0.1, 1.0, size=40)
    expected = scipy.stats.wasserstein_distance(x, y, u_weights=wx, v_weights=wy)
    value = wasserstein_distance(x[:, None], y[:, None], x_weights=wx, y_weights=wy)
    assert value == pytest.approx(expected, rel=1e-9)


def test_wasserstein_weights_change_the_answer():
    X = np.array([[0.0], [10.0]])
    Y = np.array([[0.0]])
    # uniform: half the mass travels 10
    assert wasserstein_distance(X, Y) == pytest.approx(5.0)
    # weights are normalised: 9 vs 1 is 90% / 10%
    assert wasserstein_distance(X, Y, x_weights=[9.0, 1.0]) == pytest.approx(1.0)
    # all the mass on the first point: nothing moves
    assert wasserstein_distance(X, Y, x_weights=[1.0, 0.0]) == pytest.approx(0.0, abs=1e-12)
    # weights on Y
    Y2 = np.array([[0.0], [10.0]])
    assert wasserstein_distance(X, Y2, y_weights=[0.25, 0.75]) == pytest.approx(2.5)
    assert wasserstein_distance(X, Y2, p=2, y_weights=[0.25, 0.75]) == pytest.approx(
        np.sqrt(0.25 * 100)
    )


def test_wasserstein_different_sizes_and_float32(cloud):
    Y = cloud[:25] + 0.5
    v64 = wasserstein_distance(cloud, Y)
    v32 = wasserstein_distance(cloud.astype(np.float32), Y.astype(np.float32))
    assert v64 > 0
    assert v32 == pytest.approx(v64, rel=1e-5)


def test_wasserstein_warns_when_the_solver_does_not_converge():
    rng = np.random.RandomState(4)
    X, Y = rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + 1.0
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        wasserstein_distance(X, Y, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wasserstein_distance(X, Y)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"x_weights": [1.0, 2.0]}, "x_weights"),
        ({"y_weights": np.ones(5)}, "y_weights"),
        ({"x_weights": -np.ones(60)}, "x_weights"),
        ({"y_weights": np.zeros(60)}, "y_weights"),
        ({"x_weights": np.full(60, np.nan)}, "x_weights"),
        ({"p": 0.5}, "'p'"),
    ],
)
def test_wasserstein_bad_arguments(cloud, kwargs, match):
    with pytest.raises(ValueError, match=match):
        wasserstein_distance(cloud, cloud, **kwargs)


# --------------------------------------------------------------------------- #
# MMD and energy distance
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("gamma", [None, 0.5, [0.1, 1.0, 10.0]])
def test_mmd_identical_is_zero_and_shift_is_positive(cloud, gamma):
    assert mmd(cloud, cloud, gamma=gamma) == pytest.approx(0.0, abs=1e-12)
    assert mmd(cloud, cloud + 1.0, gamma=gamma) > 1e-3


def test_mmd_increases_with_shift(cloud):
    values = [mmd(cloud, cloud + [s, 0.0, 0.0], gamma=0.3) for s in (0.0, 0.25, 0.5, 1.0, 2.0)]
    assert values[0] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(values) > 0)
    # default multi-scale kernel: also larger for a larger shift
    assert mmd(cloud, cloud + 2.0) > mmd(cloud, cloud + 0.5) > 0


def test_mmd_single_point_closed_form():
    x, y = np.array([[0.0, 0.0]]), np.array([[1.0, 1.0]])
    # k(x,x) + k(y,y) - 2 k(x,y) with ||x-y||^2 = 2
    assert mmd(x, y, gamma=0.5) == pytest.approx(2.0 - 2.0 * np.exp(-1.0))
    # a sequence of gammas sums the kernels
    expected = sum(2.0 - 2.0 * np.exp(-2.0 * g) for g in (0.5, 2.0))
    assert mmd(x, y, gamma=[0.5, 2.0]) == pytest.approx(expected)


def test_mmd_matches_explicit_kernel_formula():
    rng = np.random.RandomState(5)
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(20, 2)) + 0.3
    g = 0.7

    def k(A, B):
        return np.exp(-g * ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1))

    expected = k(X, X).mean() + k(Y, Y).mean() - 2 * k(X, Y).mean()
    assert mmd(X, Y, gamma=g) == pytest.approx(expected, rel=1e-10)


def test_energy_distance_matches_scipy_in_one_dimension():
    rng = np.random.RandomState(6)
    x, y = rng.normal(size=40), rng.normal(size=55) + 0.5
    expected = scipy.stats.energy_distance(x, y) ** 2
    assert energy_distance(x[:, None], y[:, None]) == pytest.approx(expected, rel=1e-10)


def test_energy_distance_identical_shift_and_monotone(cloud):
    assert energy_distance(cloud, cloud) == pytest.approx(0.0, abs=1e-12)
    values = [energy_distance(cloud, cloud + [s, 0.0, 0.0]) for s in (0.0, 0.25, 0.5, 1.0, 2.0)]
    assert np.all(np.diff(values) > 0)
    # point masses: 2|x - y|
    assert energy_distance([[0.0, 0.0]], [[3.0, 4.0]]) == pytest.approx(10.0)


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_float32_and_lists_accepted(metric, cloud):
    Y = cloud + 0.5
    v64 = metric(cloud, Y)
    v32 = metric(cloud.astype(np.float32), Y.astype(np.float32))
    vlist = metric(cloud.tolist(), Y.tolist())
    assert type(v64) is float
    assert v32 == pytest.approx(v64, rel=1e-4)
    assert vlist == pytest.approx(v64, rel=1e-12)


@pytest.mark.parametrize("metric", [mmd, energy_distance])
def test_blockwise_reduction_matches_single_block(metric, monkeypatch, cloud):
    import sklearn_am.metrics as metrics_module

    Y = cloud[:45] * 1.5 + 0.2
    full = metric(cloud, Y)
    monkeypatch.setattr(metrics_module, "_BLOCK_ENTRIES", 100)
    assert metric(cloud, Y) == pytest.approx(full, rel=1e-12)


@pytest.mark.parametrize("metric", ALL_METRICS)
@pytest.mark.parametrize(
    "X, Y, match",
    [
        (np.ones(5), np.ones((5, 1)), "X must be a 2-D array"),
        (np.ones((5, 2)), np.ones((3, 2, 1)), "Y must be a 2-D array"),
        (np.ones((5, 2)), np.ones((5, 3)), "same number of features"),
        (np.array([[np.nan, 0.0]]), np.ones((5, 2)), "X contains NaN"),
        (np.ones((5, 2)), np.array([[np.inf, 0.0]]), "Y contains NaN or infinite"),
        (np.ones((0, 2)), np.ones((5, 2)), "X must contain at least one sample"),
        (np.ones((5, 2)), np.full((5, 2), "a"), "Y must contain real numbers"),
    ],
)
def test_bad_inputs_name_the_argument(metric, X, Y, match):
    with pytest.raises(ValueError, match=match):
        metric(X, Y)


@pytest.mark.parametrize("gamma", [0.0, -1.0, [1.0, -2.0], [], [[1.0]], "auto"])
def test_mmd_bad_gamma(cloud, gamma):
    with pytest.raises(ValueError, match="gamma"):
        mmd(cloud, cloud, gamma=gamma)


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_scalar_input_rejected_by_param_validation(metric):
    with pytest.raises(ValueError, match="'X'"):
        metric(1.0, np.ones((2, 1)))


def test_mmd_unbiased_is_the_u_statistic():
    """Against a slow double loop without the self-pairs; centred on 0 for one law."""
    from sklearn_am.metrics import mmd

    rng = np.random.RandomState(0)
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(25, 2)) + 0.3
    g = 0.7
    k = lambda a, b: np.exp(-g * np.sum((a - b) ** 2))  # noqa: E731
    kxx = sum(k(X[i], X[j]) for i in range(30) for j in range(30) if i != j) / (30 * 29)
    kyy = sum(k(Y[i], Y[j]) for i in range(25) for j in range(25) if i != j) / (25 * 24)
    kxy = sum(k(a, b) for a in X for b in Y) / (30 * 25)
    assert np.isclose(mmd(X, Y, gamma=g, unbiased=True), kxx + kyy - 2 * kxy, rtol=1e-10)
    # Two samples of one law: the biased estimate sits at its O(1/n) bias, the unbiased
    # one around 0 (both signs over draws).
    values = [mmd(rng.normal(size=(100, 2)), rng.normal(size=(100, 2)), unbiased=True)
              for _ in range(20)]
    assert min(values) < 0 < max(values)
    assert abs(np.mean(values)) < 0.2 * mmd(rng.normal(size=(100, 2)), rng.normal(size=(100, 2)))
    with pytest.raises(ValueError, match="at least 2 rows"):
        mmd(X[:1], Y, unbiased=True)
