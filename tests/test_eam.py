"""EntropicActionMatching: σ schedules and units, SDE sampling, known-truth dynamics."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from conftest import FAST
from sklearn_am import ActionMatchingRegressor, EntropicActionMatching


def _diffusing_gaussian(n_per_time, n_features, seed=0):
    """q_t = N(0, (1 + t)·I) observed at 6 times in [0, 1]."""
    rng = np.random.RandomState(seed)
    t = np.repeat(np.linspace(0.0, 1.0, 6), n_per_time)
    X = rng.normal(size=(len(t), n_features)) * np.sqrt(1.0 + t[:, None])
    return X, t


def _frozen(sigma, X, t, **params):
    """A fitted model whose field is ~0 (learning rate ~0): pure noise σ_t dW."""
    params = {**FAST, "max_iter": 1, "learning_rate_init": 1e-12, **params}
    return EntropicActionMatching(sigma=sigma, **params).fit(X, t)


# --------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    "sigma, match",
    [
        (-0.1, "sigma"),
        ([[0.0, 1.0, 2.0]], r"\(time, sigma\) rows"),
        ([[1.0, 0.5], [0.0, 0.5]], "strictly increasing"),
        ([[0.0, 0.5], [1.0, -0.5]], ">= 0"),
        (lambda t: -1.0, ">= 0"),
        (lambda t: "high", "callable"),
    ],
)
def test_invalid_sigma(sigma, match):
    X, t = _diffusing_gaussian(10, 2)
    with pytest.raises(ValueError, match=match):
        EntropicActionMatching(sigma=sigma, **FAST).fit(X, t)


def test_sigma_forms_agree():
    """A constant as a float, as knots and as a callable: the same fitted model."""
    X, t = _diffusing_gaussian(30, 2)
    forms = [0.7, [[0.0, 0.7], [1.0, 0.7]], lambda s: 0.7]
    fits = [EntropicActionMatching(sigma=s, **FAST).fit(X, t) for s in forms]
    V = [est.velocity(X[:20], 0.5) for est in fits]
    assert_allclose(V[1], V[0])
    assert_allclose(V[2], V[0])
    assert_allclose(fits[0].sigma_schedule_, [[0.0, 0.7], [1.0, 0.7]])
    assert fits[2].sigma_schedule_.shape == (1025, 2)


def test_laplacian_auto_rule():
    X, t = _diffusing_gaussian(10, 2)
    assert EntropicActionMatching(**FAST).fit(X, t).laplacian_ == "exact"
    rng = np.random.RandomState(0)
    X11 = rng.normal(size=(40, 11))
    t11 = np.repeat([0.0, 1.0], 20)
    assert EntropicActionMatching(**FAST).fit(X11, t11).laplacian_ == "hutchinson"


@pytest.mark.parametrize("laplacian", ["hutchinson", "exact"])
@pytest.mark.parametrize("interpolation", ["bridge", "ot", "independent", "quadrature"])
def test_fits_with_every_option(laplacian, interpolation):
    X, t = _diffusing_gaussian(20, 2)
    est = EntropicActionMatching(sigma=[[0.0, 0.2], [1.0, 1.0]], laplacian=laplacian,
                                 interpolation=interpolation, **FAST)
    est.fit(X, t)  # quadrature: 6 slowly changing times, a potential smooth in time
    assert est.time_degree_ == (2 if interpolation == "quadrature" else None)
    assert np.all(np.isfinite(est.loss_curve_))
    assert np.isfinite(est.score(X, t))


# -------------------------------------------------------------------- units
def test_units_of_sigma_and_velocity():
    """Rescaling X by c and t by T, with σ → σ·c/√T, rescales the field by c/T."""
    X, t = _diffusing_gaussian(40, 2)
    c, T, sigma = 3.0, 5.0, 0.6
    a = EntropicActionMatching(sigma=sigma, **FAST).fit(X, t)
    b = EntropicActionMatching(sigma=sigma * c / np.sqrt(T), **FAST).fit(c * X, T * t)
    assert_allclose(b.velocity(c * X[:30], T * 0.4), c / T * a.velocity(X[:30], 0.4),
                    rtol=1e-3, atol=1e-5)


def test_sampler_uses_sigma_in_user_units():
    """A zero field leaves Brownian motion: Var[X_T − X_0] = ∫σ_t² dt per feature."""
    X, t = _diffusing_gaussian(20, 2)
    X, t = 10.0 * X, 4.0 * t  # a scale and a time span far from 1
    est = _frozen(0.7, X, t)
    Z = est.push(np.zeros((4000, 2)), 0.0, 4.0)
    assert_allclose(Z.var(axis=0), 0.7**2 * 4.0, rtol=0.06)
    # A ramp σ_t = 0.7·t/4 over the 4 time units: ∫σ² = 0.49·4/3.
    ramp = _frozen([[0.0, 0.0], [4.0, 0.7]], X, t, n_steps=200)
    Z = ramp.push(np.zeros((4000, 2)), 0.0, 4.0)
    assert_allclose(Z.var(axis=0), 0.7**2 * 4.0 / 3.0, rtol=0.08)


# ------------------------------------------------------------- SDE noise
def test_noise_is_per_row_and_reproducible():
    X, t = _diffusing_gaussian(30, 2)
    est = EntropicActionMatching(sigma=1.0, **FAST).fit(X, t)
    X0 = X[t == 0]
    out = est.transform(X0)
    assert_allclose(est.transform(X0), out)  # deterministic
    perm = np.random.RandomState(1).permutation(len(X0))
    assert_allclose(est.transform(X0[perm]), out[perm])  # order invariant
    assert_allclose(est.transform(X0[:7]), out[:7])  # subset invariant
    assert_allclose(est.push(X0, 0.0, 1.0, random_state=3),
                    est.push(X0, 0.0, 1.0, random_state=3))
    assert not np.allclose(est.push(X0, 0.0, 1.0, random_state=3), out)
    # Duplicated rows still get independent noise.
    Z = est.push(np.zeros((500, 2)), 0.0, 1.0)
    assert len(np.unique(Z[:, 0])) == 500
    assert 0.5 < Z.var(axis=0).mean() < 2.0


def test_sample_and_paths():
    X, t = _diffusing_gaussian(30, 2)
    est = EntropicActionMatching(sigma=1.0, **FAST).fit(X, t)
    S = est.sample(50, random_state=0)
    assert S.shape == (50, 2)
    assert_allclose(est.sample(50, random_state=0), S)
    X_to, path, times = est.push(X[:5], 0.0, 1.0, return_path=True)
    assert path.shape == (len(times), 5, 2)
    assert_allclose(path[-1], X_to)
    X_to, path, times = est.push(X[:5], 0.0, 1.0, t_eval=[0.25, 0.5, 1.0])
    assert_allclose(times, [0.25, 0.5, 1.0])


def test_no_inverse_and_no_backward_push():
    X, t = _diffusing_gaussian(20, 2)
    est = EntropicActionMatching(**FAST).fit(X, t)
    assert not hasattr(est, "inverse_transform")
    with pytest.raises(AttributeError) as info:
        est.inverse_transform(X)
    assert "stochastic" in str(info.value.__cause__)
    with pytest.raises(ValueError, match="forwards in time only"):
        est.push(X, 1.0, 0.0)


# ------------------------------------------------------------ persistence
def _round_trips(est):
    """``est`` through pickle, joblib and (where installed) skops."""
    import io
    import pickle

    import joblib

    yield "pickle", pickle.loads(pickle.dumps(est))
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    yield "joblib", joblib.load(buffer)
    try:
        import skops.io as sio
    except ImportError:
        return
    data = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=data)
    assert all(name.startswith("sklearn_am.") for name in untrusted), untrusted
    yield "skops", sio.loads(data, trusted=untrusted)


def test_callable_sigma_pickles_once_fitted():
    """A fitted model with a lambda σ persists as its knot table, and behaves the same."""
    X, t = _diffusing_gaussian(30, 2)
    est = EntropicActionMatching(sigma=lambda s: 0.3 + 0.4 * s, **FAST).fit(X, t)
    assert est.sigma_schedule_.shape == (1025, 2)
    assert callable(est.sigma)  # the live model keeps what the user gave
    X0 = X[t == 0]
    for how, loaded in _round_trips(est):
        sigma = loaded.get_params()["sigma"]
        assert isinstance(sigma, np.ndarray), how
        np.testing.assert_array_equal(sigma, est.sigma_schedule_, err_msg=how)
        np.testing.assert_array_equal(loaded.sigma_schedule_, est.sigma_schedule_,
                                      err_msg=how)
        np.testing.assert_array_equal(loaded.push(X0, 0.0, 1.0), est.push(X0, 0.0, 1.0),
                                      err_msg=how)
        np.testing.assert_array_equal(loaded.push(X0, 0.2, 0.9, random_state=4),
                                      est.push(X0, 0.2, 0.9, random_state=4), err_msg=how)
        np.testing.assert_array_equal(loaded.sample(40, random_state=0),
                                      est.sample(40, random_state=0), err_msg=how)
        np.testing.assert_array_equal(loaded.transform(X0), est.transform(X0), err_msg=how)
    # The knot table is a valid sigma: a refit from the restored parameters is the fit
    # the callable gave.
    refit = EntropicActionMatching(**{**est.get_params(), "sigma": sigma}).fit(X, t)
    np.testing.assert_array_equal(refit.velocity(X0, 0.5), est.velocity(X0, 0.5))


def test_fitted_dynamics_hold_no_callable():
    X, t = _diffusing_gaussian(20, 2)

    def schedule(s):
        return 0.5

    est = EntropicActionMatching(sigma=schedule, **FAST).fit(X, t)
    held = [value for value in vars(est._dynamics).values() if value is schedule]
    assert not held
    np.testing.assert_array_equal(est._dynamics.sigma, est.sigma_schedule_)


def test_other_sigma_forms_are_pickled_as_given():
    import pickle

    X, t = _diffusing_gaussian(20, 2)
    for sigma in ["auto", 0.4, [[0.0, 0.2], [1.0, 0.6]]]:
        est = EntropicActionMatching(sigma=sigma, **FAST).fit(X, t)
        assert pickle.loads(pickle.dumps(est)).get_params()["sigma"] == sigma


def test_sigma_zero_is_action_matching():
    """σ = 0 (bridge → OT path, no Laplacian term) trains exactly like AM."""
    X, t = _diffusing_gaussian(40, 2)
    eam = EntropicActionMatching(sigma=0.0, **FAST).fit(X, t)
    am = ActionMatchingRegressor(**FAST, early_stopping=False).fit(X, t)  # eAM's default
    assert_allclose(eam.loss_curve_, am.loss_curve_, rtol=1e-6)
    assert_allclose(eam.velocity(X[:50], 0.3), am.velocity(X[:50], 0.3), rtol=1e-5,
                    atol=1e-7)


# ------------------------------------------------------------ known truth
def _relative_velocity_error(est, sigma, n_features, seed=1):
    """E‖v̂ − v‖² / E‖x/(2(1+t))‖² over x ~ q_t, t ~ U[0, 1].

    The truth is v = (1 − σ²)·x / (2(1 + t)). The normaliser is the σ = 0 field,
    not the truth, because the truth vanishes at σ = 1.
    """
    rng = np.random.RandomState(seed)
    t = rng.uniform(0.0, 1.0, 4000)
    X = rng.normal(size=(4000, n_features)) * np.sqrt(1.0 + t[:, None])
    scale = X / (2.0 * (1.0 + t[:, None]))
    err = np.sum((est.velocity(X, t) - (1.0 - sigma**2) * scale) ** 2, axis=1).mean()
    return err / np.sum(scale**2, axis=1).mean()


ACCURATE = dict(hidden_layer_sizes=(32, 32), max_iter=600, batch_size=256, random_state=0)


@pytest.mark.slow
@pytest.mark.parametrize("sigma, n_features", [(0.5, 1), (1.0, 2)])
def test_known_diffusion(sigma, n_features):
    """q_t = N(0, (1+t)I): the learnt drift and the pushed variance match the truth.

    McCann (OT) interpolation between the snapshots already has these marginals
    (to 0.1 % in variance), so the fast "ot" path is used here.
    """
    X, t = _diffusing_gaussian(1000, n_features)
    est = EntropicActionMatching(sigma=sigma, interpolation="ot", **ACCURATE).fit(X, t)
    assert _relative_velocity_error(est, sigma, n_features) < 0.05
    Z = est.push(np.random.RandomState(2).normal(size=(4000, n_features)), 0.0, 1.0)
    assert_allclose(Z.var(axis=0), 2.0, rtol=0.07)
