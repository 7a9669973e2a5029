"""The generative wing's promises: paths declare their conditional end, the density owns
every draw, the imputer keeps observed entries, refuses far rows and stops on Ctrl-C."""

import ast
import inspect
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal

from sklearn_am import ActionMatchingDensity, ActionMatchingImputer
from sklearn_am import _impute
from sklearn_am._numerics.training import TrainingInterruptedWarning
from sklearn_am._sampling.noise_paths import CONDITIONAL_END_MARGIN, LinearNoisePath, \
    NoiseDataSampler, VPNoisePath

SMALL = dict(hidden_layer_sizes=(32, 32), max_iter=150, batch_size=64)


def _gappy(n=200, rate=0.2, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3)) @ np.array([[1.0, 0.8, 0.0], [0.0, 0.6, 0.0], [0.0, 0.0, 1.0]])
    return X, np.where(rng.rand(*X.shape) < rate, np.nan, X)


def _imputer(**params):
    params = {"density": ActionMatchingDensity(**SMALL), "n_rounds": 0, "n_steps": 10,
              "langevin_steps": 5, "random_state": 0, **params}
    return ActionMatchingImputer(**params)


@pytest.fixture(scope="module")
def fitted():
    X, X_missing = _gappy()
    return X, X_missing, _imputer().fit(X_missing)


# ------------------------------------------------------------------ paths
@pytest.mark.parametrize("bandwidth", [0.0, 0.1, 0.5])
def test_vp_path_ends_before_its_singular_posterior(bandwidth):
    path = VPNoisePath(bandwidth)
    end = path.conditional_end
    assert end == 1.0 - CONDITIONAL_END_MARGIN
    tau = torch.tensor([end, 1.0], dtype=torch.float32)
    a, sigma, da, dsigma = path.coefficients(tau)
    denominator = da * sigma - a * dsigma
    assert float(denominator[0]) > 0.01  # well conditioned where the draws end
    singular = float(denominator[1])
    assert not np.isfinite(singular) or abs(singular) < 1e-5  # at τ = 1: why they stop early


def test_linear_path_ends_at_the_data_unless_no_bandwidth():
    assert LinearNoisePath(0.1).conditional_end == 1.0
    assert LinearNoisePath(0.0).conditional_end == 1.0 - CONDITIONAL_END_MARGIN


@pytest.mark.parametrize("path", ["vp", "linear"])
def test_vp_imputations_stay_on_the_data_scale(path):
    # With the VP path the posterior at τ = 1 was ~1e6 too large: imputations up to ~1e5
    # on data of unit scale. They must stay within a few data scales.
    X, X_missing = _gappy(seed=1)
    imputer = _imputer(density=ActionMatchingDensity(path=path, **SMALL), n_rounds=1,
                       langevin_steps=20, n_steps=50)
    filled = imputer.fit_transform(X_missing)
    assert np.all(np.isfinite(filled))
    assert np.abs(filled).max() < 6.0, np.abs(filled).max()


def test_linear_path_without_bandwidth_gives_finite_draws():
    X, X_missing = _gappy(seed=2)
    filled = _imputer(density=ActionMatchingDensity(bandwidth=0.0, **SMALL)).fit_transform(
        X_missing)
    assert np.all(np.isfinite(filled))


# --------------------------------------------------- the density owns the draws
def test_imputer_draws_are_the_densitys_conditional_draws(fitted):
    X, X_missing, imputer = fitted
    seed = np.random.RandomState(0).randint(np.iinfo(np.int32).max)
    direct = imputer.density_.sample_conditional(X_missing, n_steps=10, churn=1.0,
                                                 langevin_steps=5, random_state=seed)
    assert_array_equal(imputer.transform(X_missing), direct)


def test_sample_conditional_contract(fitted):
    X, X_missing, imputer = fitted
    density = imputer.density_
    drawn = density.sample_conditional(X_missing, random_state=3)
    known = ~np.isnan(X_missing)
    assert_array_equal(drawn[known], X_missing[known])
    assert np.all(np.isfinite(drawn))
    # An int seed gives the same draws; a row's draw does not depend on the other rows.
    assert_array_equal(density.sample_conditional(X_missing[::-1], random_state=3),
                       drawn[::-1])
    # A row with nothing observed is a draw from the model.
    empty = density.sample_conditional(np.full((2, 3), np.nan), random_state=0)
    assert np.all(np.isfinite(empty)) and empty.shape == (2, 3)
    with pytest.raises(ValueError, match="n_steps must be a positive int"):
        density.sample_conditional(X_missing, n_steps=0)


def test_sample_conditional_refuses_a_callable_path():
    def path(X, t, random_state):
        return t[:, None] * X + (1 - t[:, None]) * random_state.normal(size=X.shape)

    X, X_missing = _gappy()
    density = ActionMatchingDensity(path=path, **SMALL).fit(X)
    with pytest.raises(ValueError, match="built-in path"):
        density.sample_conditional(X_missing)


def test_imputer_reads_no_private_attribute_of_its_density():
    # Static check of the module: no ``<something density>._name`` anywhere.
    tree = ast.parse(inspect.getsource(_impute))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            owner = ast.unparse(node.value)
            assert "density" not in owner, f"{owner}.{node.attr}"


def test_imputer_leaves_its_template_alone():
    template = ActionMatchingDensity(**SMALL)
    before = template.get_params()
    X, X_missing = _gappy()
    _imputer(density=template, n_rounds=1).fit(X_missing)
    assert template.get_params() == before
    assert not hasattr(template, "potential_")


# ------------------------------------------------------------- the imputer
def test_several_imputations_return_observed_entries_exactly(fitted):
    X, X_missing, imputer = fitted
    known = ~np.isnan(X_missing)
    filled = imputer.set_params(n_imputations=3).transform(X_missing)
    imputer.set_params(n_imputations=1)
    assert_array_equal(filled[known], X_missing[known])


def test_far_rows_are_refused(fitted):
    X, X_missing, imputer = fitted
    with pytest.raises(ValueError, match="away from the centre"):
        imputer.transform(X_missing * 1e300)
    with pytest.raises(ValueError, match="away from the centre"):
        imputer.density_.score_samples(np.full((1, 3), 1e300))
    with pytest.raises(ValueError, match="away from the centre"):
        imputer.density_.sample_conditional(np.c_[np.full(2, 1e300), np.full((2, 2), np.nan)])


def test_a_table_of_huge_values_is_standardised_and_imputed():
    # Finite rows × 1e300: the moments overflow in float64, the standardisation must not.
    X, X_missing = _gappy()
    filled = _imputer(n_rounds=1).fit_transform(X_missing * 1e300)
    known = ~np.isnan(X_missing)
    assert np.all(np.isfinite(filled))
    assert_array_equal(filled[known], (X_missing * 1e300)[known])
    assert np.abs(filled / 1e300).max() < 10


def test_ctrl_c_stops_every_round(monkeypatch):
    X, X_missing = _gappy()
    fits = []
    original = ActionMatchingDensity.fit

    def fit(self, X, y=None):
        fits.append(1)
        return original(self, X, y)

    draw = NoiseDataSampler.draw
    calls = []

    def interrupt(self, *args, **kwargs):  # Ctrl-C at the fifth training step
        calls.append(1)
        if len(calls) > 5:
            raise KeyboardInterrupt
        return draw(self, *args, **kwargs)

    monkeypatch.setattr(ActionMatchingDensity, "fit", fit)
    monkeypatch.setattr(NoiseDataSampler, "draw", interrupt)
    with pytest.warns(TrainingInterruptedWarning, match="interrupted"):
        imputer = _imputer(n_rounds=3).fit(X_missing)
    assert len(fits) == 1  # the other three rounds never started
    assert hasattr(imputer, "density_")


def test_fitting_on_a_complete_table_warns_and_skips_the_refits(monkeypatch):
    X, _ = _gappy()
    fits = []
    original = ActionMatchingDensity.fit

    def fit(self, X, y=None):
        fits.append(1)
        return original(self, X, y)

    monkeypatch.setattr(ActionMatchingDensity, "fit", fit)
    with pytest.warns(UserWarning, match="no missing value.*n_rounds=0"):
        _imputer(n_rounds=2).fit(X)
    assert len(fits) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _imputer(n_rounds=0).fit(X)


def test_density_sample_is_the_push_of_prior_draws():
    # ``sample`` runs the snapshot estimators' push loop: N(0, I) draws pushed 0 → 1.
    from sklearn_am._numerics.solvers import integrate

    X, _ = _gappy()
    density = ActionMatchingDensity(**SMALL, random_state=0).fit(X)
    z = np.random.RandomState(5).standard_normal((7, 3))
    x1 = integrate(density.potential_.velocity, torch.as_tensor(z, dtype=torch.float32),
                   0.0, 1.0, **density._options())
    expected = x1.double().numpy() * density.scale_ + density.mean_
    assert_array_equal(density.sample(7, random_state=5), expected)
