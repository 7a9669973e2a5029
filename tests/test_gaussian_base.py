"""Tests of sklearn_am._sampling.gaussian_base: the Gaussian field of fitted moments, and the
residual network on it that plain AM trains on slowly changing snapshots."""

import pickle

import numpy as np
import torch
from numpy.testing import assert_allclose

from conftest import FAST
from sklearn_am import ActionMatchingRegressor
from sklearn_am._sampling.gaussian_base import GaussianBase, GaussianMoments, ResidualOnBase, \
    moment_fit
from sklearn_am._sampling.snapshots import Snapshots
from sklearn_am._sampling.units import Units
from sklearn_am.datasets import make_diffusing_gaussian
from sklearn_am.networks import MLPPotential


def _base(d=3, seed=0):
    rng = np.random.RandomState(seed)
    c0 = np.eye(d) + 0.2
    c1 = 0.5 * np.eye(d) + 0.1
    return GaussianBase(GaussianMoments(rng.normal(size=(2, d)), np.stack([c0, c1]))).double()


def test_closed_form_derivatives_match_finite_differences():
    base, d = _base(), 3
    x = torch.randn(40, d, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    t = torch.rand(40, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    _, grad, dt = base.derivatives(x, t)
    h, eye = 1e-6, torch.eye(d, dtype=torch.float64)
    fd_x = torch.stack([(base(x + h * eye[i], t) - base(x - h * eye[i], t)) / (2 * h)
                        for i in range(d)], dim=1)
    fd_t = (base(x, t + h) - base(x, t - h)) / (2 * h)
    assert_allclose(grad, fd_x, atol=1e-6)
    assert_allclose(dt, fd_t, atol=1e-6)


def test_field_of_a_spreading_gaussian_is_exact():
    """μ = 0, Σ = (1 + τ)I: the Gaussian path's gradient field is x / (2(1 + τ))."""
    base = GaussianBase(GaussianMoments(np.zeros((2, 2)), np.stack([np.eye(2), np.eye(2)])))
    x, t = torch.randn(30, 2), torch.rand(30)
    assert_allclose(base.derivatives(x, t)[1], x / (2 * (1 + t[:, None])), rtol=1e-5,
                    atol=1e-6)


def test_moment_fit_recovers_linear_moments():
    X, t = make_diffusing_gaussian(4000, random_state=0)
    units = Units(np.zeros(2), 1.0, 0.0, 1.0)
    moments = moment_fit(Snapshots.from_data(X, t, units, torch.device("cpu")))
    assert_allclose(moments.mean_coef, 0.0, atol=0.03)
    assert_allclose(moments.cov_coef[0], np.eye(2), atol=0.05)  # Σ(0) = I
    assert_allclose(moments.cov_coef[1], np.eye(2), atol=0.08)  # Σ' = I


def test_residual_adds_the_network_and_penalises_only_it():
    base = _base(d=2)
    net = MLPPotential(2, (8,)).double()
    torch.manual_seed(0)
    for p in net.parameters():  # not the zero output layer of a fresh network
        torch.nn.init.normal_(p, std=0.5)
    wrapped = ResidualOnBase(base, net)
    x, t = torch.randn(10, 2, dtype=torch.float64), torch.rand(10, dtype=torch.float64)
    for got, b, n in zip(wrapped.derivatives(x, t), base.derivatives(x, t),
                         net.derivatives(x, t)):
        assert_allclose(got.detach(), (b + n).detach())
    from sklearn_am._numerics.losses import am_integrand

    grad_r = net.derivatives(x, t)[1]
    penalty = 10.0 * grad_r.square().sum(-1)
    assert penalty.min() > 0
    assert torch.allclose(wrapped.penalised_integrand(x, t), am_integrand(wrapped, x, t) + penalty)


def test_slow_snapshots_fit_a_residual_on_the_base_and_persist():
    X, t = make_diffusing_gaussian(300, random_state=1)
    model = ActionMatchingRegressor(**FAST).fit(X, t)
    assert model.objective_ == "action" and model.gaussian_base_ is not None
    assert isinstance(model.potential_, ResidualOnBase)
    P = X[:20]
    again = pickle.loads(pickle.dumps(model))
    assert isinstance(again.potential_, ResidualOnBase)
    assert_allclose(again.velocity(P, 0.5), model.velocity(P, 0.5), rtol=1e-6)
    # Warm start keeps the network, its base and the base's attribute as they are.
    before = {k: np.copy(v) for k, v in model.gaussian_base_.items()}
    X2, t2 = make_diffusing_gaussian(300, random_state=2)
    model.set_params(warm_start=True).fit(X2, t2)
    assert isinstance(model.potential_, ResidualOnBase)
    assert not isinstance(model.potential_.net, ResidualOnBase)
    penalty = before.pop("residual_penalty")  # the residual's, not the base's
    assert model.gaussian_base_["residual_penalty"] == model.potential_.penalty == penalty
    for key, value in before.items():
        assert_allclose(model.gaussian_base_[key], value)
        assert_allclose(getattr(model.potential_.base, key).numpy(), value, rtol=1e-6)


def test_fast_or_forced_fits_have_no_base():
    rng = np.random.RandomState(0)
    t = np.repeat([0.0, 1.0, 2.0], 200)
    X = rng.normal(size=(600, 2)) + t[:, None] * [1.0, 0.0]
    assert ActionMatchingRegressor(**FAST).fit(X, t).gaussian_base_ is None
    Xs, ts = make_diffusing_gaussian(300, random_state=1)
    forced = ActionMatchingRegressor(objective="action", **FAST).fit(Xs, ts)
    assert forced.gaussian_base_ is None and not isinstance(forced.potential_, ResidualOnBase)


def test_noisy_base_is_the_fokker_planck_drift():
    """μ = 0, Σ = (1 + τ)I, noise σ²: the drift is (1 − σ²) x / (2(1 + τ)), and a
    Laplacian by autograd through the base sees tr A."""
    sigma2 = 0.25
    base = GaussianBase(GaussianMoments(np.zeros((2, 2)), np.stack([np.eye(2), np.eye(2)]),
                                        sigma2))
    x = torch.randn(30, 2, requires_grad=True)
    t = torch.rand(30)
    _, grad, _ = base.derivatives(x, t)
    assert_allclose(grad.detach(), (1 - sigma2) * x.detach() / (2 * (1 + t[:, None])),
                    rtol=1e-5, atol=1e-6)
    from sklearn_am._numerics.losses import laplacian_exact

    assert_allclose(laplacian_exact(grad, x).detach(), (1 - sigma2) * 2 / (2 * (1 + t)),
                    rtol=1e-5)


def test_entropic_am_on_slow_snapshots_uses_the_noisy_base():
    from sklearn_am import EntropicActionMatching

    X, t = make_diffusing_gaussian(300, random_state=1)
    model = EntropicActionMatching(sigma=0.5, **FAST).fit(X, t)
    assert model.gaussian_base_ is not None
    assert model.gaussian_base_["noise_variance"] > 0
    assert isinstance(model.potential_, ResidualOnBase)


def test_skops_round_trip_rebuilds_the_base():
    import pytest

    sio = pytest.importorskip("skops.io")
    X, t = make_diffusing_gaussian(300, random_state=1)
    model = ActionMatchingRegressor(**FAST).fit(X, t)
    blob = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=blob)
    assert all(name.startswith("sklearn_am.") for name in untrusted)
    again = sio.loads(blob, trusted=untrusted)
    assert isinstance(again.potential_, ResidualOnBase)
    assert_allclose(again.velocity(X[:10], 0.5), model.velocity(X[:10], 0.5))


def test_no_base_where_the_means_curve_in_time():
    """A population carried along a circle (forced onto paths, so slow and not dense):
    its means are far from a straight line in time, and the base would mislead."""
    from sklearn_am._sampling.gaussian_base import moments_fit_linearly
    from sklearn_am.datasets import make_orbit

    X, t = make_orbit(300, random_state=0)
    units = Units.from_data(X, t, None)
    snapshots = Snapshots.from_data(X, t, units, torch.device("cpu"))
    assert not moments_fit_linearly(snapshots, moment_fit(snapshots))
    model = ActionMatchingRegressor(interpolation="ot", **FAST).fit(X, t)
    assert model.objective_ == "action" and model.gaussian_base_ is None
    # The diffusing Gaussian's means are straight lines in time (at 0): the base stays.
    Xd, td = make_diffusing_gaussian(300, random_state=1)
    sd = Snapshots.from_data(Xd, td, Units.from_data(Xd, td, None), torch.device("cpu"))
    assert moments_fit_linearly(sd, moment_fit(sd))
