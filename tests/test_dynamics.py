"""Tests of sklearn_am._dynamics: the three kinds, and that a fourth is one class away."""

import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from conftest import FAST
from sklearn_am import (
    ActionMatchingRegressor,
    EntropicActionMatching,
    UnbalancedActionMatching,
)
from sklearn_am._estimator.base import BaseActionMatching
from sklearn_am._dynamics import FitPolicy, GrowingTransport, NoisyTransport, Pushed, Transport
from sklearn_am._numerics.losses import action_loss
from sklearn_am._sampling.units import Units


# ------------------------------------------------ a fourth kind, end to end
class DriftedTransport(Transport):
    """dx/dt = ∇ₓs + c with a known constant drift c (an external force, in model units).

    With v = ∇s + c the AM objective gains ⟨∇s, c⟩ in its integrand: the
    minimiser's gradient is the part of the motion the drift does not explain.
    Overriding ``velocity`` is all it takes for pushes, ``velocity`` and the
    displays to move points by ∇s + c.
    """

    def __init__(self, drift):
        super().__init__(objective="action")
        self.drift = drift

    def bind(self, units, masses=None):
        self.drift_model = np.asarray(self.drift, float) / units.velocity
        return self

    def fitted_attributes(self, units):
        return {"drift_": np.asarray(self.drift, float)}

    def loss(self, potential, batch, generator, objective="action"):
        c = torch.as_tensor(self.drift_model, dtype=batch.x.dtype, device=batch.x.device)

        def integrand(net, x, t):
            _, grad_x, dt = net.derivatives(x, t)
            return 0.5 * grad_x.square().sum(-1) + (grad_x * c).sum(-1) + dt

        return action_loss(potential, batch, integrand)

    def velocity(self, potential, x, tau):
        c = torch.as_tensor(self.drift_model, dtype=x.dtype, device=x.device)
        return potential.velocity(x, tau) + c


class DriftedActionMatching(BaseActionMatching):
    """AM on top of a known constant drift (a toy fourth estimator)."""

    _parameter_constraints = {**BaseActionMatching._parameter_constraints, "drift": ["array-like"]}

    def __init__(self, *, drift=(0.0, 0.0), hidden_layer_sizes=(32, 32), max_iter=300,
                 batch_size=256, random_state=None):
        super().__init__(hidden_layer_sizes=hidden_layer_sizes, max_iter=max_iter,
                         batch_size=batch_size, random_state=random_state,
                         early_stopping=False)
        self.drift = drift

    def _make_dynamics(self):
        return DriftedTransport(self.drift)


def _translating(speed, n=600, seed=0):
    rng = np.random.RandomState(seed)
    t = np.repeat([0.0, 0.5, 1.0], n)
    X = rng.normal(size=(3 * n, 2)) * 0.5 + t[:, None] * np.asarray(speed)
    return X, t


def test_fourth_dynamics_is_one_class_plus_a_small_estimator():
    """The drift explains all the motion: ∇s ≈ 0, and pushes move by the drift."""
    X, t = _translating([2.0, -1.0])
    est = DriftedActionMatching(drift=(2.0, -1.0), random_state=0).fit(X, t)
    assert_allclose(est.drift_, [2.0, -1.0])
    X0 = X[t == 0][:200]
    moved = est.push(X0, 0.0, 1.0)
    assert_allclose((moved - X0).mean(axis=0), [2.0, -1.0], atol=0.1)
    # velocity reports the whole motion, ∇s + c; the network learnt (almost) nothing.
    assert_allclose(est.velocity(X0, 0.5).mean(axis=0), [2.0, -1.0], atol=0.15)
    assert np.abs(est.velocity(X0, 0.5) - [2.0, -1.0]).mean() < 0.15
    assert np.abs(est.potential_.velocity(torch.as_tensor(est._units.to_model(X0),
                                                          dtype=torch.float32),
                                          torch.full((len(X0),), 0.5)).detach().numpy()
                  ).mean() * est._units.velocity < 0.15
    # Without the drift the network must learn the whole motion, and the same pushes.
    plain = DriftedActionMatching(drift=(0.0, 0.0), random_state=0).fit(X, t)
    assert_allclose(plain.velocity(X0, 0.5).mean(axis=0), [2.0, -1.0], atol=0.15)
    assert_allclose(plain.push(X0, 0.0, 1.0).mean(axis=0), moved.mean(axis=0), atol=0.1)
    # score is minus the loss of that dynamics: training raises it.
    untrained = DriftedActionMatching(drift=(0.0, 0.0), max_iter=1, random_state=0).fit(X, t)
    assert plain.score(X, t) > untrained.score(X, t) + 1.0
    X_to, w = est.push(X0, 0.0, 1.0, return_weights=True)
    assert_allclose(w, 1.0)  # mass is conserved: the return contract holds for it too


# ------------------------------------------------------- the three kinds
UNITS = Units(center=np.zeros(2), scale=2.0, origin=1.0, span=4.0)


def test_noisy_transport_sigma_in_model_units():
    dyn = NoisyTransport(sigma=0.5).bind(UNITS)
    assert_allclose(dyn.sigma_knots, 0.5 * np.sqrt(4.0) / 2.0)  # σ' = σ√T/a
    assert dyn.fitted_attributes(UNITS)["laplacian_"] == "exact"
    assert dyn.stochastic and dyn.sparse_interpolation == "bridge"


def test_growing_transport_population_and_attributes():
    X = np.arange(12.0).reshape(6, 2)
    times = np.array([0, 0, 1, 1, 1, 1.0])
    dyn = GrowingTransport(growth_scale=2.0)
    rows, masses = dyn.population(X, times, np.array([1, 2, 1, 1, 0, 3.0]), "est")
    assert_allclose(masses, [3.0, 5.0])
    # integer weights repeat rows, zero weights drop them; canonical order by (time, row)
    assert rows.tolist() == [0, 1, 1, 2, 3, 5, 5, 5]
    attrs = dyn.bind(UNITS, masses).fitted_attributes(UNITS)
    assert_allclose(attrs["growth_scale_"], 2.0 / 4.0)
    assert_allclose(attrs["masses_"], [3.0, 5.0])
    assert dyn.initial_mass() == 3.0


def test_transport_fits_every_row_once():
    assert Transport().population(np.zeros((2, 1)), np.array([0.0, 1.0]), None, "e") == (None, None)


def test_transport_rejects_sample_weight():
    with pytest.raises(TypeError, match="does not take sample_weight"):
        Transport().population(np.zeros((2, 1)), np.array([0.0, 1.0]), [1, 1], "est")


def test_growing_push_returns_log_weights_separately():
    class Constant(torch.nn.Module):
        """s = 1 everywhere: no motion, growth λ per unit model time."""

        def forward(self, x, t):
            return torch.ones(len(x))

        def derivatives(self, x, t, create_graph=False):
            return torch.ones(len(x)), torch.zeros_like(x), torch.zeros(len(x))

        def velocity(self, x, t):
            return torch.zeros_like(x)

    dyn = GrowingTransport(growth_scale=0.7)
    out = dyn.push(Constant(), torch.zeros(3, 2), 0.0, 1.0,
                   options={"method": "rk4", "n_steps": 4})
    assert isinstance(out, Pushed) and out.x.shape == (3, 2)
    assert_allclose(out.log_weights, 0.7, rtol=1e-6)


@pytest.mark.parametrize("Estimator, kind", [
    (ActionMatchingRegressor, Transport),
    (EntropicActionMatching, NoisyTransport),
    (UnbalancedActionMatching, GrowingTransport),
])
def test_each_estimator_builds_its_dynamics_in_one_place(Estimator, kind):
    est = Estimator(**FAST)
    assert type(est._make_dynamics()) is kind
    X, t = _translating([1.0, 0.0], n=40)
    est.fit(X, t)
    assert type(est._dynamics) is kind
    # The estimator's fitted attributes come from the dynamics, set by the base class.
    for name in est._dynamics.fitted_attributes(est._units):
        assert hasattr(est, name)


# ------------------------------------------- the estimator of the objective
def _snapshots(X, t):
    from sklearn_am._sampling.snapshots import Snapshots

    units = Units.from_data(X, t, None)
    return Snapshots.from_data(X, t, units, torch.device("cpu"))


def test_slowly_changing_snapshots_train_on_the_action_form():
    # N(0, (1 + t) I) at 6 times: relative steps ≈ 0.09, pairs are mostly pairing noise.
    from sklearn_am.datasets import make_diffusing_gaussian

    X, t = make_diffusing_gaussian(400, random_state=0)
    snapshots = _snapshots(X, t)
    plain = Transport()
    policy = plain.policy(snapshots, "ot")
    # The action form, validated at the snapshots, on the moments' Gaussian base field.
    assert policy.choices() == ("ot", "action", "quadrature", True, None)
    again = plain.policy(snapshots, "ot")  # pure: nothing was stored
    assert again.choices() == policy.choices()
    for a, b in zip(again.base, policy.base):
        np.testing.assert_array_equal(a, b)
    assert plain.policy(snapshots, "auto").interpolation == "ot"  # 6 times: not dense
    # A translation by one spread per step: pairs carry the motion, regression stays.
    rng = np.random.RandomState(0)
    t_fast = np.repeat([0.0, 1.0, 2.0], 200)
    X_fast = rng.normal(size=(600, 2)) + t_fast[:, None] * [1.0, 0.0]
    assert Transport().policy(_snapshots(X_fast, t_fast), "ot") == FitPolicy(
        "ot", "regression", "ot")
    # A forced estimator is what the plan says, whatever the data.
    assert Transport(objective="regression").policy(snapshots, "ot") == FitPolicy(
        "ot", "regression", "ot")
    # Quadrature has no paths; the noisy and growing dynamics always use the action form.
    # On 6 slowly changing times its potential is smooth in time (degree 2), quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Transport().policy(snapshots, "quadrature") == FitPolicy(
            "quadrature", "action", "quadrature", time_degree=2)
    units = Units.from_data(X, t, None)
    noisy = NoisyTransport(sigma=0.5).bind(units)
    assert noisy.policy(snapshots, "auto").choices() == ("bridge", "action", "bridge", True,
                                                         None)
    # A noise schedule that varies in time has no base (its Gaussian drift is not built).
    varying = NoisyTransport(sigma=[[0.0, 0.3], [1.0, 0.6]]).bind(units)
    assert varying.policy(snapshots, "auto").base is None
    # σ ≡ 0 is plain transport, with its plan.
    assert NoisyTransport(sigma=0.0).bind(units).policy(snapshots, "ot").choices() == \
        policy.choices()
    # Growth: regression on unbalanced-OT paths (they carry growth rates), else action.
    assert GrowingTransport().policy(snapshots, "ot") == FitPolicy("ot", "regression", "ot")
    assert GrowingTransport().policy(snapshots, "independent") == FitPolicy(
        "independent", "action", "independent")


def test_dense_snapshots_resolve_auto_to_quadrature():
    rng = np.random.RandomState(0)
    t = np.repeat(np.linspace(0.0, 1.0, 12), 80)
    X = rng.normal(size=(len(t), 2)) + t[:, None]
    assert Transport().policy(_snapshots(X, t), "auto").interpolation == "quadrature"


def test_dynamics_contract_lists_every_member():
    from sklearn_am._dynamics import Dynamics

    members = {"population", "bind", "fitted_attributes", "initial_mass", "policy", "loss",
               "sampler", "velocity", "field", "push"}
    assert Dynamics.__abstractmethods__ == members
    for kind in (Transport, NoisyTransport, GrowingTransport):
        kind()  # each implements all of them


def test_growing_state_joins_and_splits():
    x, log_w = torch.arange(6.0).reshape(3, 2), torch.tensor([0.1, 0.2, 0.3])
    z = GrowingTransport.join(x, log_w)
    assert z.shape == (3, 3)
    x_back, log_w_back = GrowingTransport.split(z)
    assert torch.equal(x_back, x) and torch.equal(log_w_back, log_w)
    path = torch.stack([z, z])  # a path of states splits the same way
    assert GrowingTransport.split(path)[0].shape == (2, 3, 2)


def test_action_form_is_what_a_slow_fit_minimises():
    from sklearn_am.datasets import make_diffusing_gaussian
    from sklearn_am._numerics.losses import am_integrand, regression_loss

    X, t = make_diffusing_gaussian(300, random_state=0)
    model = ActionMatchingRegressor(**FAST).fit(X, t)
    assert model.objective_ == "action"
    # The loss the fitted dynamics computes on a path batch is the action form.
    sampler = model._dynamics.sampler(_snapshots(X, t), "ot", np.random.RandomState(0), 512)
    batch = sampler.draw(64, torch.Generator().manual_seed(0))
    net = model.potential_
    got = model._dynamics.loss(net, batch, None, model.objective_)
    assert torch.allclose(got, action_loss(net, batch, am_integrand))
    assert not torch.allclose(got, regression_loss(net, batch))


def test_each_kind_declares_the_interpolations_its_estimator_accepts():
    from sklearn_am import ActionMatchingRegressor, EntropicActionMatching
    from sklearn_am._sampling.paths import INTERPOLATIONS

    assert NoisyTransport.interpolations == frozenset(INTERPOLATIONS)
    assert "bridge" not in Transport.interpolations
    for estimator, kind in ((ActionMatchingRegressor, Transport),
                            (EntropicActionMatching, NoisyTransport)):
        options = estimator._parameter_constraints["interpolation"][0].options
        assert options == set(kind.interpolations) | {"auto"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_policy_never_holds_a_base_that_failed_the_line_test(seed):
    # Slowly changing snapshots whose mean curves in time (a sine, not a line): the
    # policy keeps the action form and its validation, but no base field. A mean that
    # curves less (amplitude 0.1) passes the test and keeps the base.
    from sklearn_am._sampling.gaussian_base import moments_fit_linearly

    rng = np.random.RandomState(seed)
    t = np.repeat(np.linspace(0.0, 1.0, 6), 1000)
    noise = rng.normal(size=(len(t), 2)) * np.sqrt(1.0 + 0.5 * t)[:, None]
    for amplitude, has_base in ((0.3, False), (0.1, True)):
        X = noise + np.c_[amplitude * np.sin(2 * np.pi * t), np.zeros_like(t)]
        snapshots = _snapshots(X, t)
        assert moments_fit_linearly(snapshots, Transport().base_moments(snapshots)) == has_base
        policy = Transport().policy(snapshots, "ot")
        assert policy.choices() == ("ot", "action", "quadrature", has_base, None)
