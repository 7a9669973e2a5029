"""Tests of sklearn_am._numerics.solvers: convergence orders, tolerances, paths and the SDE."""

import math

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from sklearn_am._numerics.solvers import SOLVERS, EulerMaruyama, integrate


def _decay(x, t):
    """dx/dt = −x·t, solved by x(t) = x(0)·exp(−t²/2); ``t`` holds one time per row."""
    return -x * t.unsqueeze(-1)


def _exact(x0, t0, t1):
    return x0 * math.exp(-(t1**2 - t0**2) / 2)


X0 = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)


@pytest.mark.parametrize("method", ["euler", "heun", "rk4", "adams"])
def test_convergence_order(method):
    """The error ratio between n and 2n steps is 2**order."""
    order = SOLVERS[method].order
    n = {"euler": 64, "heun": 32, "rk4": 8, "adams": 128}[method]
    errors = []
    for steps in (n, 2 * n):
        x1 = integrate(_decay, X0, 0.0, 2.0, method=method, n_steps=steps)
        errors.append((x1 - _exact(X0, 0.0, 2.0)).abs().max().item())
    observed = math.log2(errors[0] / errors[1])
    assert abs(observed - order) < 0.3, (method, errors, observed)


@pytest.mark.parametrize("tol", [1e-4, 1e-7])
def test_dopri5_meets_tolerance(tol):
    x1 = integrate(_decay, X0, 0.0, 3.0, method="dopri5", rtol=tol, atol=tol, n_steps=1)
    error = (x1 - _exact(X0, 0.0, 3.0)).abs().max().item()
    assert error < 10 * tol


def test_dopri5_tighter_tolerance_is_more_accurate():
    errors = [
        (integrate(_decay, X0, 0.0, 3.0, method="dopri5", rtol=tol, atol=tol)
         - _exact(X0, 0.0, 3.0)).abs().max().item()
        for tol in (1e-3, 1e-8)
    ]
    assert errors[1] < errors[0] / 100


@pytest.mark.parametrize("method", ["euler", "heun", "rk4", "adams", "dopri5"])
def test_backward_integration_inverts_forward(method):
    forward = integrate(_decay, X0, 0.2, 1.5, method=method, n_steps=400, rtol=1e-9, atol=1e-9)
    back = integrate(_decay, forward, 1.5, 0.2, method=method, n_steps=400, rtol=1e-9,
                     atol=1e-9)
    tol = {"euler": 1e-2, "heun": 1e-5}.get(method, 1e-8)
    assert_allclose(back, X0, atol=tol)
    # And backward really goes backward: it matches the exact solution.
    assert_allclose(forward, _exact(X0, 0.2, 1.5), atol=tol)


@pytest.mark.parametrize("method", ["euler", "heun", "rk4", "adams", "dopri5"])
@pytest.mark.parametrize(
    "t0, t1, t_eval",
    [
        (0.0, 1.0, [0.0, 0.1, 0.35, 0.7, 1.0]),  # includes both ends
        (0.0, 1.0, [0.3, 0.7]),  # neither end: still integrated from t0
        (1.0, 0.1, [0.9, 0.4, 0.1]),  # backwards
    ],
)
def test_t_eval_returns_exactly_those_times(method, t0, t1, t_eval):
    x1, path, times = integrate(_decay, X0, t0, t1, method=method, n_steps=200,
                                t_eval=t_eval, return_path=True, rtol=1e-8, atol=1e-8)
    assert list(times) == t_eval
    assert path.shape == (len(t_eval), *X0.shape)
    tol = 1e-2 if method == "euler" else 1e-5
    for state, t in zip(path, t_eval):
        assert_allclose(state, _exact(X0, t0, t), atol=tol)
    assert_allclose(x1, _exact(X0, t0, t1), atol=tol)


@pytest.mark.parametrize("method", ["euler", "heun", "rk4"])
def test_return_path_shapes_fixed_step(method):
    x1, path, times = integrate(_decay, X0, 0.0, 1.0, method=method, n_steps=25,
                                return_path=True)
    assert path.shape == (26, *X0.shape)
    assert len(times) == 26
    assert times[0] == 0.0 and times[-1] == 1.0
    assert torch.equal(path[0], X0) and torch.equal(path[-1], x1)
    assert_allclose(np.diff(times), 1.0 / 25)
    # Without return_path only the final state comes back, the same one.
    assert torch.equal(integrate(_decay, X0, 0.0, 1.0, method=method, n_steps=25), x1)


def test_dopri5_path_times_increase_and_end_at_t1():
    x1, path, times = integrate(_decay, X0, 0.0, 2.0, method="dopri5", rtol=1e-6,
                                atol=1e-6, return_path=True)
    assert times[0] == 0.0 and times[-1] == 2.0
    assert np.all(np.diff(times) > 0)
    assert len(times) > 2  # an adaptive path has intermediate steps
    assert path.shape == (len(times), *X0.shape)
    assert torch.equal(path[-1], x1)


def test_euler_maruyama_zero_drift_variance():
    """dX = σ dW from 0: Var X_T = σ²·T."""
    sigma, T, n = 0.5, 2.0, 20_000
    x0 = torch.zeros(n, 1, dtype=torch.float64)
    x1 = integrate(lambda x, t: torch.zeros_like(x), x0, 0.0, T, method="euler_maruyama",
                   n_steps=20, diffusion=lambda t: sigma,
                   generator=torch.Generator().manual_seed(0))
    assert_allclose(x1.var().item(), sigma**2 * T, rtol=0.05)
    assert abs(x1.mean().item()) < 5 * sigma * math.sqrt(T / n)


def test_euler_maruyama_seeded_generator_reproducible():
    def run(seed):
        return integrate(_decay, X0, 0.0, 1.0, method="euler_maruyama", n_steps=10,
                         diffusion=lambda t: 0.3, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))


def test_euler_maruyama_zero_noise_is_euler():
    sde = integrate(_decay, X0, 0.0, 1.0, method="euler_maruyama", n_steps=10,
                    diffusion=lambda t: 0.0, generator=torch.Generator().manual_seed(0))
    ode = integrate(_decay, X0, 0.0, 1.0, method="euler", n_steps=10)
    assert_allclose(sde, ode, rtol=1e-14)
    assert EulerMaruyama.stochastic and not SOLVERS["euler"].stochastic


def test_registry_one_base_class_and_unknown_names():
    from sklearn_am._numerics.solvers import ODE_SOLVERS, SDE_SOLVERS, Solver, get_solver

    assert all(issubclass(cls, Solver) for cls in SOLVERS.values())
    assert ODE_SOLVERS | SDE_SOLVERS == set(SOLVERS) and not ODE_SOLVERS & SDE_SOLVERS
    assert "euler_maruyama" in SDE_SOLVERS
    with pytest.raises(ValueError, match="Unknown solver 'rk5'.*choose one of"):
        get_solver("rk5")
    with pytest.raises(ValueError, match="Unknown solver"):
        integrate(_decay, X0, 0.0, 1.0, method="RK4")


def test_adaptive_step_control_is_per_row():
    """A row's result does not depend on the rows integrated with it."""

    def stiff_for_some(x, t):  # rows with a large first entry need small steps
        return -x * (1.0 + 40.0 * (x[:, :1].abs() > 2.0))

    X = torch.tensor([[0.5, 1.0], [3.0, -1.0], [-0.2, 0.3], [2.5, 0.1]], dtype=torch.float64)
    together = integrate(stiff_for_some, X, 0.0, 1.0, method="dopri5", rtol=1e-6, atol=1e-6)
    alone = torch.cat([integrate(stiff_for_some, X[i : i + 1], 0.0, 1.0, method="dopri5",
                                 rtol=1e-6, atol=1e-6) for i in range(len(X))])
    assert torch.equal(together, alone)
    subset = integrate(stiff_for_some, X[[2, 0]], 0.0, 1.0, method="dopri5", rtol=1e-6,
                       atol=1e-6)
    assert torch.equal(subset, together[[2, 0]])


def test_adaptive_uses_fewer_evaluations_on_easy_rows():
    calls = []

    def counted(x, t):
        calls.append(len(x))
        return _decay(x, t)

    integrate(counted, X0, 0.0, 2.0, method="dopri5", rtol=1e-3, atol=1e-3, n_steps=1)
    per_point = sum(calls) / len(X0)
    assert per_point < 60, per_point  # a smooth decay needs a handful of steps


def test_adams_costs_one_evaluation_per_step_after_its_start():
    calls = []

    def counted(x, t):
        calls.append(len(x))
        return _decay(x, t)

    integrate(counted, X0, 0.0, 1.0, method="adams", n_steps=31)
    assert sum(calls) / len(X0) == 31 + 9  # 3 RK4 steps (4 each), then 1 per step
    # still converged: near the exact solution
    out = integrate(_decay, X0, 0.0, 1.0, method="adams", n_steps=31)
    assert (out - _exact(X0, 0.0, 1.0)).abs().max().item() < 1e-4
