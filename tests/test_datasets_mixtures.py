"""make_diffusing_mixture and DiffusingMixtureTruth against their closed form."""

import numpy as np
import pytest

from sklearn_am.datasets import DiffusingMixtureTruth, make_diffusing_mixture


@pytest.mark.parametrize("mixture", ["clusters", "skewed", "ring"])
@pytest.mark.parametrize("drift", [None, (0.5, -0.2)])
def test_field_satisfies_continuity_equation(mixture, drift):
    _, _, truth = make_diffusing_mixture(10, mixture=mixture, drift=drift, random_state=0,
                                         return_truth=True)
    P = truth.sample(20, 0.5, random_state=1)
    h = 1e-4
    b = np.zeros(2) if drift is None else np.asarray(drift)

    def q(x, s):  # φ = ⟨b, x⟩ − (σ²/2) log q with σ = 1
        return np.exp(-2.0 * (truth.potential(x, s) - x @ b))

    dq = (q(P, 0.5 + h) - q(P, 0.5 - h)) / (2 * h)
    div = 0.0
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        div += (q(P + e, 0.5) * truth.velocity(P + e, 0.5)[:, i]
                - q(P - e, 0.5) * truth.velocity(P - e, 0.5)[:, i]) / (2 * h)
    np.testing.assert_allclose(dq + div, 0.0, atol=1e-6 * np.abs(dq).max() + 1e-9)


def test_velocity_is_gradient_of_potential():
    _, _, truth = make_diffusing_mixture(10, mixture="skewed", random_state=0,
                                         return_truth=True)
    P = truth.sample(10, 0.3, random_state=2)
    h = 1e-5
    grad = np.stack([(truth.potential(P + h * e, 0.3) - truth.potential(P - h * e, 0.3))
                     / (2 * h) for e in np.eye(2)], axis=1)
    np.testing.assert_allclose(truth.velocity(P, 0.3), grad, rtol=1e-5, atol=1e-7)


def test_one_component_is_the_diffusing_gaussian():
    truth = DiffusingMixtureTruth([0.0, 1.0], [1.0], [[0.0, 0.0]], [np.eye(2)])
    X = np.random.RandomState(0).normal(size=(5, 2))
    np.testing.assert_allclose(truth.velocity(X, 0.4), X / (2 * 1.4))


def test_flow_carries_samples_to_the_marginal():
    _, _, truth = make_diffusing_mixture(10, random_state=0, return_truth=True)
    X0 = truth.sample(4000, 0.0, random_state=3)
    X1 = truth.flow(X0, 1.0)
    fresh = truth.sample(4000, 1.0, random_state=4)
    np.testing.assert_allclose(X1.mean(0), fresh.mean(0), atol=0.08)
    np.testing.assert_allclose(np.cov(X1, rowvar=False), np.cov(fresh, rowvar=False),
                               atol=0.15)


def test_snapshots_shape_and_validation():
    X, t = make_diffusing_mixture(50, random_state=0)
    assert X.shape == (300, 2) and len(np.unique(t)) == 6
    with pytest.raises(ValueError):
        make_diffusing_mixture(50, mixture="nope")
