"""Tests of sklearn_am._sampling.time_basis: potentials polynomial in time and the
quadrature over the observed snapshots that plain AM trains them by on slowly changing
snapshots."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from conftest import FAST
from sklearn_am import ActionMatchingRegressor, EntropicActionMatching, UnbalancedActionMatching
from sklearn_am._dynamics import Transport
from sklearn_am._sampling.gaussian_base import (SMOOTH_RESIDUAL_PENALTY, ResidualOnBase,
                                                looks_gaussian, mardia_z)
from sklearn_am._sampling.paths import QuadratureSampler
from sklearn_am._sampling.snapshots import Snapshots
from sklearn_am._sampling.time_basis import (MAX_TIME_DEGREE, TimePolynomial, chebyshev_lobatto,
                                             interpolatory_weights, time_degree)
from sklearn_am._sampling.units import Units
from sklearn_am.datasets import make_diffusing_gaussian, make_diffusing_mixture
from sklearn_am.networks import MLPPotential


# ------------------------------------------------------------------ quadrature weights
@pytest.mark.parametrize("times", [np.linspace(0, 1, 6), np.linspace(0, 1, 4),
                                   np.array([0.0, 0.1, 0.5, 0.6, 1.0]),
                                   np.linspace(0, 1, 20)])
def test_weights_integrate_polynomials_of_their_degree_exactly_and_are_non_negative(times):
    w, degree = interpolatory_weights(times)
    assert np.all(w >= 0) and degree >= 1
    for k in range(degree + 1):
        assert_allclose(w @ times**k, 1.0 / (k + 1), atol=1e-9)
    if degree < len(times) - 1:  # the next degree is not integrated exactly
        assert abs(w @ times ** (degree + 1) - 1.0 / (degree + 2)) > 1e-12


def test_six_equispaced_snapshots_get_the_newton_cotes_rule():
    w, degree = interpolatory_weights(np.linspace(0, 1, 6))
    assert degree == 5
    assert_allclose(w, np.array([19, 75, 50, 50, 75, 19]) / 288, atol=1e-12)


def test_two_snapshots_keep_the_trapezoid_rule():
    w, degree = interpolatory_weights(np.array([0.0, 1.0]))
    assert degree == 1
    assert_allclose(w, [0.5, 0.5])


def test_the_sampler_draws_snapshots_in_proportion_to_the_weights():
    rng = np.random.RandomState(0)
    t = np.repeat(np.linspace(0, 1, 6), 30)
    X = rng.normal(size=(len(t), 2))
    snaps = Snapshots.from_data(X, t, Units.from_data(X, t, None), torch.device("cpu"))
    batch = QuadratureSampler(snaps, higher_order=True).draw(
        2000, torch.Generator().manual_seed(0))
    share = np.array([np.mean(np.isclose(batch.t.numpy(), tau, atol=1e-6))
                      for tau in snaps.times])
    assert_allclose(share, interpolatory_weights(snaps.times)[0], atol=2e-3)


@pytest.mark.parametrize("n_times, degree", [(2, 0), (3, 1), (4, 1), (5, 2), (6, 2), (30, 2)])
def test_the_degree_in_time_is_what_the_weights_integrate_exactly(n_times, degree):
    assert time_degree(n_times) == degree <= MAX_TIME_DEGREE


# ------------------------------------------------------------------ the potential
def _polynomial_net(degree=2, seed=0):
    torch.manual_seed(seed)
    return TimePolynomial(MLPPotential(2, (16, 16)), degree).double()


def test_the_potential_is_a_polynomial_of_its_degree_in_time():
    net = _polynomial_net(2)
    x = torch.randn(5, 2, dtype=torch.float64)
    taus = np.linspace(0.0, 1.0, 7)
    with torch.no_grad():
        values = np.stack([net(x, torch.full((5,), tau, dtype=torch.float64)).numpy()
                           for tau in taus])
    coef = np.polynomial.polynomial.polyfit(taus, values, 2)
    assert_allclose(np.polynomial.polynomial.polyval(taus, coef).T, values, atol=1e-10)
    # ... and it interpolates the network at its nodes
    for node in chebyshev_lobatto(2):
        t = torch.full((5,), node, dtype=torch.float64)
        with torch.no_grad():
            assert_allclose(net(x, t).numpy(), net.net(x, t).numpy(), atol=1e-12)


def test_derivatives_match_autograd_of_the_forward_pass():
    net = _polynomial_net(2)
    x = torch.randn(20, 2, dtype=torch.float64)
    t = torch.rand(20, dtype=torch.float64)
    s, grad_x, dt = net.derivatives(x, t)
    xr, tr = x.clone().requires_grad_(True), t.clone().requires_grad_(True)
    ref = net(xr, tr)
    gx, gt = torch.autograd.grad(ref.sum(), (xr, tr))
    assert_allclose(s.detach(), ref.detach(), atol=1e-12)
    assert_allclose(grad_x.detach(), gx, atol=1e-10)
    assert_allclose(dt.detach(), gt, atol=1e-10)


def test_beyond_the_fitted_range_the_potential_holds_its_end_values():
    net = _polynomial_net(2)
    x = torch.randn(4, 2, dtype=torch.float64)
    with torch.no_grad():
        end = net(x, torch.ones(4, dtype=torch.float64))
        later = net(x, torch.full((4,), 1.7, dtype=torch.float64))
    assert_allclose(later, end, atol=1e-12)
    assert torch.all(net.derivatives(x, torch.full((4,), 1.7, dtype=torch.float64))[2] == 0)


# ------------------------------------------------------------------ the Gaussianity test
def test_mardia_scores_are_small_on_gaussian_rows_and_large_on_a_mixture():
    rng = np.random.RandomState(0)
    gauss = rng.multivariate_normal([1.0, -2.0, 0.5], [[2, 0.5, 0], [0.5, 1, 0.2], [0, 0.2, 0.5]],
                                    size=1500)
    assert max(mardia_z(gauss)) < 3.5
    skewed = rng.exponential(size=(1500, 3))
    heavy = rng.standard_t(3, size=(1500, 3))
    assert mardia_z(skewed)[0] > 10 and mardia_z(heavy)[1] > 10


def test_the_diffusing_gaussian_looks_gaussian_and_every_mixture_does_not():
    for draw in range(3):
        assert looks_gaussian(_snapshots(*make_diffusing_gaussian(600, random_state=draw)))
    for mixture in ("clusters", "skewed", "ring"):
        X, t = make_diffusing_mixture(600, mixture=mixture, random_state=0)
        assert not looks_gaussian(_snapshots(X, t))


def test_gaussian_slow_snapshots_keep_the_path_form_with_the_residual_held_close():
    snaps = _snapshots(*make_diffusing_gaussian(300, random_state=0))
    policy = Transport().policy(snaps, "auto")
    assert policy.choices() == ("ot", "action", "quadrature", True, None)
    assert policy.base.residual_penalty == 10.0


# ------------------------------------------------------------------ the policy
def _snapshots(X, t):
    return Snapshots.from_data(X, t, Units.from_data(X, t, None), torch.device("cpu"))


def test_slow_snapshots_train_a_potential_smooth_in_time_by_quadrature():
    X, t = make_diffusing_mixture(300, random_state=0)
    snaps = _snapshots(X, t)
    policy = Transport().policy(snaps, "auto")
    assert policy.choices() == ("quadrature", "action", "quadrature", True, 2)
    assert policy.base.residual_penalty == SMOOTH_RESIDUAL_PENALTY
    # a path the user names keeps the path form with the residual held close
    named = Transport().policy(snaps, "ot")
    assert named.choices() == ("ot", "action", "quadrature", True, None)
    assert named.base.residual_penalty == 10.0
    # an engine that trains its network as it is (skorch) gets no quadrature
    assert Transport().policy(snaps, "auto", smooth_time=False).choices() == \
        ("ot", "action", "quadrature", True, None)


def test_quadrature_forced_on_slow_sparse_snapshots_is_smooth_and_quiet():
    X, t = make_diffusing_gaussian(400, random_state=0)
    for Estimator in (ActionMatchingRegressor, EntropicActionMatching,
                      UnbalancedActionMatching):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            est = Estimator(**FAST, interpolation="quadrature").fit(X, t)
        network = est.potential_  # a residual on a base field holds it as .net
        network = network.net if isinstance(network, ResidualOnBase) else network
        assert est.time_degree_ == 2 and isinstance(network, TimePolynomial)


def test_the_footgun_is_gone_quadrature_on_six_slow_snapshots_gets_the_field():
    # Before, a free network trained by quadrature on these six snapshots was off by a
    # relative error of 1,017 at t = 0.1 (issue 25).
    X, t = make_diffusing_gaussian(600, random_state=1)
    est = ActionMatchingRegressor(random_state=0, interpolation="quadrature",
                                  max_iter=800).fit(X, t)
    P = np.random.RandomState(5).standard_normal((2000, 2)) * np.sqrt(1.1)
    v = P / (2 * 1.1)
    assert np.sum((est.velocity(P, 0.1) - v) ** 2) / np.sum(v**2) < 0.15


# ------------------------------------------------------------------ fits
@pytest.fixture(scope="module")
def clusters_fit():
    X, t, truth = make_diffusing_mixture(600, random_state=3, return_truth=True)
    est = ActionMatchingRegressor(random_state=0, max_iter=1200).fit(X, t)
    return X, t, truth, est


def test_a_non_gaussian_slow_population_gets_its_own_field_not_the_linear_one(clusters_fit):
    X, t, truth, est = clusters_fit
    assert est.interpolation_ == "quadrature" and est.time_degree_ == 2
    P = truth.sample(3000, 0.3, random_state=7)
    v = truth.velocity(P, 0.3)
    design = np.column_stack([P, np.ones(len(P))])
    affine = design @ np.linalg.lstsq(design, v, rcond=None)[0]
    floor = np.sum((affine - v) ** 2) / np.sum(v**2)
    error = np.sum((est.velocity(P, 0.3) - v) ** 2) / np.sum(v**2)
    assert floor > 0.6  # the best affine field is far off: the test can tell
    assert error < 0.6 * floor


def test_a_smooth_fit_round_trips_through_pickle_and_warm_starts(clusters_fit):
    X, t, truth, est = clusters_fit
    P = X[:40]
    again = pickle.loads(pickle.dumps(est))
    assert isinstance(again.potential_, ResidualOnBase)
    assert isinstance(again.potential_.net, TimePolynomial)
    assert_allclose(again.velocity(P, 0.3), est.velocity(P, 0.3), rtol=0, atol=0)
    assert again.score(X, t) == est.score(X, t)
    again.set_params(warm_start=True, max_iter=5).fit(X, t)
    assert again.time_degree_ == 2 and again.n_iter_ == est.n_iter_ + 5


def test_a_smooth_fit_round_trips_through_skops(clusters_fit, tmp_path):
    sio = pytest.importorskip("skops.io")
    X, t, truth, est = clusters_fit
    path = tmp_path / "am.skops"
    sio.dump(est, path)
    again = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    assert_allclose(again.velocity(X[:40], 0.7), est.velocity(X[:40], 0.7), rtol=0, atol=0)
