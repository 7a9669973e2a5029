"""UnbalancedActionMatching: masses and sample weights, units, weighted pushes, known truth."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from conftest import FAST
from sklearn_am import UnbalancedActionMatching
from sklearn_am._sampling.weights import _systematic_counts
from sklearn_am.metrics import wasserstein_distance

TIMES = np.linspace(0.0, 1.0, 5)


def _growing(rate, drift=0.0, n0=300, n_features=2, seed=0):
    """N(drift·t, I) with e^{rate·t}·n0 rows at each of 5 times in [0, 1]."""
    rng = np.random.RandomState(seed)
    counts = np.round(n0 * np.exp(rate * TIMES)).astype(int)
    t = np.repeat(TIMES, counts)
    X = rng.normal(size=(len(t), n_features))
    X[:, 0] += drift * t
    return X, t


def test_masses_from_rows_and_weights():
    X, t = _growing(1.0, n0=20)
    est = UnbalancedActionMatching(**FAST).fit(X, t)
    assert_allclose(est.masses_, np.unique(t, return_counts=True)[1])
    w = np.random.RandomState(0).uniform(0.5, 2.0, len(t))
    est = UnbalancedActionMatching(**FAST).fit(X, t, sample_weight=w)
    assert_allclose(est.masses_, [w[t == s].sum() for s in TIMES])


def test_integer_weights_equal_repeated_rows():
    X, t = _growing(0.5, n0=15)
    w = np.random.RandomState(1).randint(0, 4, len(t))
    weighted = UnbalancedActionMatching(**FAST).fit(X, t, sample_weight=w)
    perm = np.random.RandomState(2).permutation(w.sum())
    repeated = UnbalancedActionMatching(**FAST).fit(
        np.repeat(X, w, axis=0)[perm], np.repeat(t, w)[perm]
    )
    assert_allclose(weighted.transform(X), repeated.transform(X))
    assert_allclose(weighted.masses_, repeated.masses_)


def test_systematic_counts():
    assert_allclose(_systematic_counts(np.array([1.0, 2.0, 1.0]), 4), [1, 2, 1])
    counts = _systematic_counts(np.array([0.1, 0.25, 0.65]), 20)
    assert counts.sum() == 20
    assert_allclose(counts, [2, 5, 13])


@pytest.mark.parametrize(
    "sample_weight, match",
    [(np.ones(3), "shape"), (-np.ones(1), "non-negative"), ("zero-times", "2 or more")],
)
def test_invalid_sample_weight(sample_weight, match):
    X, t = _growing(0.5, n0=10)
    if isinstance(sample_weight, str):
        sample_weight = (t == 0).astype(float)
    elif len(sample_weight) == 1:
        sample_weight = np.full(len(t), -1.0)
    with pytest.raises(ValueError, match=match):
        UnbalancedActionMatching(**FAST).fit(X, t, sample_weight=sample_weight)


def test_units_of_growth_and_velocity():
    """Rescaling X by c and t by T rescales velocity by c/T and growth by 1/T."""
    X, t = _growing(1.0, drift=1.0, n0=30)
    c, T = 4.0, 3.0
    a = UnbalancedActionMatching(**FAST).fit(X, t)
    b = UnbalancedActionMatching(**FAST).fit(c * X, T * t)
    assert_allclose(b.growth(c * X[:20], T * 0.5), a.growth(X[:20], 0.5) / T,
                    rtol=1e-3, atol=1e-6)
    assert_allclose(b.velocity(c * X[:20], T * 0.5), c / T * a.velocity(X[:20], 0.5),
                    rtol=1e-3, atol=1e-6)
    assert_allclose(b.growth_scale_, a.growth_scale_ / c**2)


def test_push_sample_shapes():
    X, t = _growing(1.0, n0=20)
    est = UnbalancedActionMatching(**FAST).fit(X, t)
    X0 = X[t == 0]
    X_to, w = est.push(X0, 0.0, 1.0, return_weights=True)
    assert_allclose(X_to, est.transform(X0))
    assert w.shape == (len(X0),) and np.all(w > 0)
    X_to, w, path, times = est.push(X0, 0.0, 1.0, return_weights=True, t_eval=[0.5, 1.0])
    assert path.shape == (2, len(X0), 2)
    assert_allclose(path[-1], X_to)
    S, weights = est.sample(40, random_state=0, return_weights=True)
    assert S.shape == (40, 2) and weights.shape == (40,)
    assert_allclose(est.sample(40, random_state=0), S)  # points alone by default
    assert est.inverse_transform(X_to).shape == X0.shape


# ------------------------------------------------------------ known truth
ACCURATE = dict(hidden_layer_sizes=(32, 32), max_iter=600, batch_size=256, random_state=0)


@pytest.mark.slow
def test_static_population_growing():
    """Nothing moves, mass grows at rate 1: g ≈ 1 everywhere, v ≈ 0."""
    X, t = _growing(1.0)
    est = UnbalancedActionMatching(**ACCURATE).fit(X, t)
    rng = np.random.RandomState(1)
    Xe, te = rng.normal(size=(2000, 2)), rng.uniform(0, 1, 2000)
    g = est.growth(Xe, te)
    assert abs(g.mean() - 1.0) < 0.05
    assert np.sqrt(np.mean((g - 1.0) ** 2)) < 0.15
    assert np.sqrt(np.mean(np.sum(est.velocity(Xe, te) ** 2, axis=1))) < 0.1


@pytest.mark.slow
def test_moving_and_growing_population():
    """Drift 2 along x₀ and growth rate 1, default settings: weighted pushes
    reproduce the mass at every time and close most of the W1 gap to the data."""
    X, t = _growing(1.0, drift=2.0, n0=400)
    est = UnbalancedActionMatching(random_state=0).fit(X, t)
    X0 = X[t == 0]
    _, weights, path, _ = est.push(X0, 0.0, 1.0, return_weights=True, t_eval=TIMES[1:])
    rng = np.random.RandomState(7)
    for k, s in enumerate(TIMES[1:]):
        _, w = est.push(X0, 0.0, s, return_weights=True)
        mass = w.mean() * est.masses_[0]
        assert abs(mass / est.masses_[k + 1] - 1.0) < 0.05
        target = X[t == s]
        pushed = wasserstein_distance(path[k], target, x_weights=w / w.sum())
        baseline = wasserstein_distance(X0, target)
        # Finite-sample floor: an independent draw of the true marginal at s.
        fresh = rng.normal(size=target.shape) + [2.0 * s, 0.0]
        floor = wasserstein_distance(fresh, target)
        assert pushed < floor + 0.25 * (baseline - floor), (s, pushed, floor, baseline)
