"""ActionMatchingDensity: densities against closed forms, samples against data, the API."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import multivariate_normal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils.estimator_checks import check_param_validation

from sklearn_am import ActionMatchingDensity
from sklearn_am.metrics import energy_distance

SMALL = dict(hidden_layer_sizes=(32, 32), max_iter=300, batch_size=128, random_state=0)
MEAN, COV = np.array([1.0, -2.0]), np.array([[1.0, 0.6], [0.6, 2.0]])


def _gaussian(n, seed):
    return np.random.RandomState(seed).multivariate_normal(MEAN, COV, size=n)


@pytest.fixture(scope="module")
def gaussian_model():
    return ActionMatchingDensity(bandwidth=0.05, random_state=0).fit(_gaussian(3000, 0))


@pytest.mark.slow
def test_log_density_matches_the_closed_form(gaussian_model):
    X = _gaussian(500, 1)
    # The model targets the data blurred by N(0, b²) in standardised units.
    blur = np.diag((0.05 * gaussian_model.scale_) ** 2)
    truth = multivariate_normal(MEAN, COV + blur).logpdf(X)
    log_density = gaussian_model.score_samples(X)
    assert np.abs(log_density - truth).mean() < 0.05 * 2  # ≤ 0.05 nats per dimension
    assert_allclose(gaussian_model.score(X), log_density.sum())


@pytest.mark.slow
def test_samples_match_held_out_data(gaussian_model):
    S = gaussian_model.sample(3000, random_state=2)
    held_out = _gaussian(3000, 3)
    assert_allclose(S.mean(axis=0), MEAN, atol=0.15)  # 0.1 standard deviations
    assert_allclose(np.cov(S.T), COV, atol=0.25)
    # As close to the held-out rows as the data themselves (energy distance).
    assert energy_distance(S, held_out) < 3 * energy_distance(_gaussian(3000, 4), held_out) + 0.01


def test_sample_and_score_are_deterministic_and_row_independent():
    X = _gaussian(400, 0)
    model = ActionMatchingDensity(**SMALL).fit(X)
    assert_array_equal(model.sample(5, random_state=3), model.sample(5, random_state=3))
    full = model.score_samples(X[:20])
    assert_allclose(model.score_samples(X[:20][::-1]), full[::-1], rtol=1e-5, atol=1e-6)
    assert_allclose(model.score_samples(X[5:8]), full[5:8], rtol=1e-5, atol=1e-6)


def test_hutchinson_agrees_with_the_exact_laplacian_on_average():
    X = np.random.RandomState(0).normal(size=(400, 3))
    model = ActionMatchingDensity(**SMALL).fit(X)
    exact = model.score_samples(X[:100])
    hutchinson = clone(model).set_params(laplacian="hutchinson")
    hutchinson.__dict__.update({k: v for k, v in vars(model).items() if k.endswith("_")})
    hutchinson.laplacian_ = "hutchinson"
    estimated = hutchinson.score_samples(X[:100])
    assert abs(np.mean(estimated - exact)) < 0.05
    assert np.std(estimated - exact) < 0.5


@pytest.mark.parametrize("path", ["linear", "vp"])
@pytest.mark.parametrize("coupling", ["independent", "ot"])
def test_paths_and_couplings_fit(path, coupling):
    X = _gaussian(400, 0)
    model = ActionMatchingDensity(path=path, coupling=coupling, **SMALL).fit(X)
    assert np.all(np.isfinite(model.score_samples(X[:10])))
    assert model.sample(3, random_state=0).shape == (3, 2)


def test_a_user_path_trains_with_the_action_form():
    def straight(X, t, random_state):  # the linear path, as a user would write it
        noise = random_state.standard_normal(X.shape)
        return t[:, None] * X + (1 - 0.9 * t[:, None]) * noise

    X = _gaussian(400, 0)
    model = ActionMatchingDensity(path=straight, **SMALL).fit(X)
    assert np.all(np.isfinite(model.loss_curve_))
    S = model.sample(2000, random_state=0)
    assert_allclose(S.mean(axis=0), MEAN, atol=0.35)


def test_a_broken_user_path_is_explained():
    X = _gaussian(100, 0)
    with pytest.raises(ValueError, match=r"path, a callable, must return finite draws of "
                                         r"shape \(\d+, 2\).*got shape \(\d+, 3\)"):
        ActionMatchingDensity(path=lambda X, t, r: np.zeros((len(X), 3)), **SMALL).fit(X)


def test_grid_search_tunes_the_bandwidth():
    X = _gaussian(300, 0)
    search = GridSearchCV(ActionMatchingDensity(**{**SMALL, "max_iter": 100}),
                          {"bandwidth": [0.05, 0.5]}, cv=KFold(2, shuffle=True, random_state=0))
    search.fit(X)
    assert search.best_params_["bandwidth"] in (0.05, 0.5)
    assert np.isfinite(search.best_score_)


def test_pickle_and_skops_round_trip(tmp_path):
    X = _gaussian(200, 0)
    model = ActionMatchingDensity(**{**SMALL, "max_iter": 50}).fit(X)
    loaded = pickle.loads(pickle.dumps(model))
    assert_array_equal(loaded.score_samples(X[:5]), model.score_samples(X[:5]))
    sio = pytest.importorskip("skops.io")
    sio.dump(model, tmp_path / "density.skops")
    untrusted = sio.get_untrusted_types(file=tmp_path / "density.skops")
    assert all(name.startswith("sklearn_am.") for name in untrusted)
    skops_loaded = sio.load(tmp_path / "density.skops", trusted=untrusted)
    assert_array_equal(skops_loaded.sample(3, random_state=0), model.sample(3, random_state=0))


def test_parameter_validation():
    check_param_validation("ActionMatchingDensity", ActionMatchingDensity(**SMALL))
