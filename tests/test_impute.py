"""ActionMatchingImputer: conditional draws, imputer conventions, and the paths' noise posterior."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from benchmarks.protocols import impute as impute_protocol
from sklearn_am import ActionMatchingDensity, ActionMatchingImputer
from sklearn_am._sampling.noise_paths import LinearNoisePath, VPNoisePath

SMALL = dict(hidden_layer_sizes=(32, 32), max_iter=150, batch_size=64)


def _imputer(**params):
    params = {"density": ActionMatchingDensity(**SMALL), "n_rounds": 0, "n_steps": 10,
              "langevin_steps": 5, "random_state": 0, **params}
    return ActionMatchingImputer(**params)


def _gappy(n=200, rate=0.2, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3)) @ np.array([[1.0, 0.8, 0.0], [0.0, 0.6, 0.0], [0.0, 0.0, 1.0]])
    return X, np.where(rng.rand(*X.shape) < rate, np.nan, X)


@pytest.mark.parametrize("path", [LinearNoisePath(0.1), VPNoisePath(0.1)],
                         ids=["linear", "vp"])
def test_posterior_noise_closed_form(path):
    # Data N(0, s²): x_τ = a x + σ ε, E[ε | x_τ] = σ x_τ / (a² s² + σ²) and the marginal
    # velocity is (ȧ a s² + σ̇ σ) x_τ / (a² s² + σ²).
    s2 = 2.5
    tau = torch.tensor([0.1, 0.4, 0.7, 0.95], dtype=torch.float64)
    x = torch.tensor([[-1.0], [0.3], [2.0], [0.7]], dtype=torch.float64)
    a, sigma, da, dsigma = (c.unsqueeze(-1) for c in path.coefficients(tau))
    total = a**2 * s2 + sigma**2
    velocity = (da * a * s2 + dsigma * sigma) * x / total
    torch.testing.assert_close(path.posterior_noise(x, velocity, tau), sigma * x / total)


def test_coefficients_give_the_path():
    path = LinearNoisePath(0.2)
    eps, x = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    tau = torch.linspace(0, 1, 5, dtype=torch.float64)
    torch.testing.assert_close(path.mean(eps, x, tau),
                               tau[:, None] * x + (1 - 0.8 * tau[:, None]) * eps)
    torch.testing.assert_close(path.velocity(eps, x, tau), x - 0.8 * eps)


def test_draws_follow_the_conditional_law():
    # x2 = ρ x1 + √(1 − ρ²) z with ρ = 0.9: given x1, the imputed x2 must have mean ≈ ρ x1
    # and spread ≈ √(1 − ρ²) = 0.44 (a draw, not the regression line and not the marginal).
    # Measured: means off by ≤ 0.04, spreads 0.28–0.34 (the Langevin steps narrow them);
    # without them the means regress to 0.66·ρx1 and the spread is 0.5.
    rng = np.random.RandomState(0)
    rho = 0.9
    x1 = rng.normal(size=3000)
    X = np.c_[x1, rho * x1 + np.sqrt(1 - rho**2) * rng.normal(size=3000)]
    imputer = ActionMatchingImputer(
        density=ActionMatchingDensity(hidden_layer_sizes=(64, 64), max_iter=1500,
                                      batch_size=256), n_rounds=0, random_state=0).fit(X)
    test_x1 = np.repeat([-1.0, 0.0, 1.0], 300)
    filled = imputer.transform(np.c_[test_x1, np.full(len(test_x1), np.nan)])
    np.testing.assert_array_equal(filled[:, 0], test_x1)
    for value in (-1.0, 0.0, 1.0):
        drawn = filled[test_x1 == value, 1]
        assert abs(drawn.mean() - rho * value) < 0.15, (value, drawn.mean())
        assert 0.25 < drawn.std() < 0.65, (value, drawn.std())
    # Averaging draws estimates the conditional mean: a narrower spread, same centre.
    averaged = imputer.set_params(n_imputations=8).transform(
        np.c_[test_x1, np.full(len(test_x1), np.nan)])
    assert averaged[test_x1 == 1.0, 1].std() < 0.6 * filled[test_x1 == 1.0, 1].std()


def test_observed_entries_kept_and_gaps_filled():
    X, X_missing = _gappy()
    filled = _imputer().fit_transform(X_missing)
    observed = ~np.isnan(X_missing)
    np.testing.assert_array_equal(filled[observed], X_missing[observed])
    assert np.all(np.isfinite(filled))
    # Better than the marginal: the correlated column is filled closer than its mean would be.
    holes = np.isnan(X_missing[:, 1]) & ~np.isnan(X_missing[:, 0])
    assert np.mean(np.abs(filled[holes, 1] - X[holes, 1])) < np.mean(
        np.abs(np.nanmean(X_missing[:, 1]) - X[holes, 1])) * 1.5


def test_trains_without_a_complete_row():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(120, 6))
    X[np.arange(120), rng.randint(6, size=120)] = np.nan  # one gap in every row
    filled = _imputer(n_rounds=1).fit_transform(X)
    assert np.all(np.isfinite(filled))


def test_random_state_reproducible_and_seeds_differ():
    _, X_missing = _gappy()
    imputer = _imputer().fit(X_missing)
    first, again = imputer.transform(X_missing), imputer.transform(X_missing)
    np.testing.assert_array_equal(first, again)
    other = imputer.set_params(random_state=1).transform(X_missing)
    holes = np.isnan(X_missing)
    assert np.all(first[holes] != other[holes])  # multiple imputation: new draws
    # A row's draw does not depend on the rows imputed with it.
    np.testing.assert_allclose(imputer.set_params(random_state=0).transform(X_missing[::-1]),
                               first[::-1], atol=1e-6)


def test_missing_values_placeholder():
    _, X_missing = _gappy()
    coded = np.where(np.isnan(X_missing), -999.0, X_missing)
    filled = _imputer(missing_values=-999.0).fit_transform(coded)
    np.testing.assert_allclose(filled, _imputer().fit_transform(X_missing))


def test_indicator_and_empty_features():
    _, X_missing = _gappy()
    X_missing = np.c_[X_missing, np.full(len(X_missing), np.nan)]
    dropped = _imputer().fit(X_missing)
    assert dropped.transform(X_missing).shape == (len(X_missing), 3)
    assert list(dropped.get_feature_names_out()) == ["x0", "x1", "x2"]
    kept = _imputer(keep_empty_features=True, add_indicator=True).fit(X_missing)
    out = kept.transform(X_missing)
    assert out.shape == (len(X_missing), 8)
    np.testing.assert_array_equal(out[:, 3], 0.0)
    np.testing.assert_array_equal(out[:, 4:], np.isnan(X_missing).astype(float))
    assert list(kept.get_feature_names_out())[4:] == [
        "missingindicator_x0", "missingindicator_x1", "missingindicator_x2",
        "missingindicator_x3"]


def test_pandas_output_and_pipeline():
    pd = pytest.importorskip("pandas")
    X, X_missing = _gappy()
    frame = pd.DataFrame(X_missing, columns=["a", "b", "c"])
    out = _imputer().set_output(transform="pandas").fit_transform(frame)
    assert list(out.columns) == ["a", "b", "c"]
    y = X[:, 1]
    search = GridSearchCV(make_pipeline(_imputer(), Ridge()),
                          {"actionmatchingimputer__n_imputations": [1, 2]}, cv=2).fit(X_missing, y)
    assert search.best_score_ > 0.3


def test_callable_path_refused():
    _, X_missing = _gappy()
    imputer = ActionMatchingImputer(density=ActionMatchingDensity(
        path=lambda X, t, rng: rng.standard_normal(X.shape), **SMALL))
    with pytest.raises(ValueError, match="built-in path"):
        imputer.fit(X_missing)


def test_density_template_untouched():
    _, X_missing = _gappy()
    template = ActionMatchingDensity(**SMALL)
    imputer = _imputer(density=template, n_rounds=1).fit(X_missing)
    assert not hasattr(template, "potential_")
    assert template.get_params() == clone(template).get_params()
    assert imputer.density_.max_iter == SMALL["max_iter"] and not imputer.density_.warm_start


def test_benchmark_protocol_tiny():
    methods = {"ours": (lambda seed: _imputer(random_state=seed), True),
               **{k: v for k, v in impute_protocol._methods().items() if k in ("mean", "KNN")}}
    records = impute_protocol.run(seeds=(0,), tables=("iris",), methods=methods)
    by = {r["method"]: r for r in records}
    assert by["mean"]["avg_mae"] > by["KNN"]["avg_mae"]
    assert by["ours"]["min_mae"] <= by["ours"]["avg_mae"]
    assert by["ours"]["n_imputations"] == impute_protocol.N_IMPUTATIONS
    assert "iris" in impute_protocol.markdown(records, {"platform": "p", "torch": "t",
                                                         "torch_threads": 1})
    A = np.array([[0.0, 0.0], [1.0, 1.0]])
    assert impute_protocol.w1_cityblock(A, A + [0.5, 0.0]) == pytest.approx(0.5)
