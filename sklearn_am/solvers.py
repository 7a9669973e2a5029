"""ODE and SDE integrators for pushing points along a learned field.

One entry point, :func:`integrate`, over a registry :data:`SOLVERS` of schemes. The
fixed-step schemes write one ``_step``; the loop lives once in
:class:`FixedStepSolver`. :class:`Dopri5` is the adaptive Dormand–Prince 5(4)
pair with an error norm taken *per point* (the largest over the batch sets the
step), and :class:`EulerMaruyama` simulates dX = f dt + σ_t dW.

All functions take the field as ``f(x, t)`` with ``x`` of shape (n, d) and ``t`` a
float; they take no device: the data decide where work runs.
"""

import math

import torch

__all__ = ["SOLVERS", "Dopri5", "Euler", "EulerMaruyama", "Heun", "RK4", "integrate"]

_ONE_SIXTH = 1.0 / 6.0
_SAFETY = 0.9
_MIN_FACTOR = 0.2
_MAX_FACTOR = 10.0
_MAX_ADAPTIVE_STEPS = 100_000


class FixedStepSolver:
    """Base of fixed-step schemes: subclasses define ``order`` and ``_step``."""

    order = None
    stochastic = False

    def _step(self, f, t, dt, x, **kwargs):
        raise NotImplementedError

    def solve(self, f, x, t_grid, keep, **kwargs):
        """Integrate over ``t_grid`` (floats); return (times, states) at ``keep`` indices."""
        times, states = ([t_grid[0]], [x]) if 0 in keep else ([], [])
        for i in range(len(t_grid) - 1):
            x = self._step(f, t_grid[i], t_grid[i + 1] - t_grid[i], x, **kwargs)
            if i + 1 in keep:
                times.append(t_grid[i + 1])
                states.append(x)
        return times, states


class Euler(FixedStepSolver):
    """Explicit Euler, x ← x + Δt·f(x, t). Order 1."""

    order = 1

    def _step(self, f, t, dt, x, **kwargs):
        return x + dt * f(x, t)


class Heun(FixedStepSolver):
    """Heun's method (explicit trapezoid). Order 2."""

    order = 2

    def _step(self, f, t, dt, x, **kwargs):
        k1 = f(x, t)
        k2 = f(x + dt * k1, t + dt)
        return x + 0.5 * dt * (k1 + k2)


class RK4(FixedStepSolver):
    """The classical fourth-order Runge–Kutta scheme. Order 4."""

    order = 4

    def _step(self, f, t, dt, x, **kwargs):
        k1 = f(x, t)
        k2 = f(x + 0.5 * dt * k1, t + 0.5 * dt)
        k3 = f(x + 0.5 * dt * k2, t + 0.5 * dt)
        k4 = f(x + dt * k3, t + dt)
        return x + dt * _ONE_SIXTH * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


class EulerMaruyama(FixedStepSolver):
    """Euler–Maruyama for dX = f dt + σ(t) dW. Strong order 1/2.

    ``solve`` takes ``sigma`` (a callable t ↦ σ_t) and ``generator``, or ``noise``
    (a callable x ↦ standard normal draws shaped like x, called once per step).
    """

    order = 1
    stochastic = True

    def _step(self, f, t, dt, x, sigma=None, generator=None, noise=None):
        if noise is None:
            noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        else:
            noise = noise(x)
        return x + dt * f(x, t) + sigma(t) * math.sqrt(abs(dt)) * noise


# Dormand–Prince 5(4) tableau.
_DP_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_DP_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_DP_B = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0)
_DP_B_STAR = (5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40)


class Dopri5:
    """Adaptive Dormand–Prince 5(4) with per-point error control.

    A step is accepted when, for every point, the RMS over features of
    err / (atol + rtol·max(|x|, |x_new|)) is ≤ 1. The step hits every requested
    output time exactly.

    Parameters
    ----------
    rtol, atol : float
        Relative and absolute tolerances.
    """

    order = 5
    stochastic = False

    def __init__(self, rtol=1e-5, atol=1e-5):
        self.rtol = rtol
        self.atol = atol

    def _try_step(self, f, t, dt, x, k1):
        ks = [k1]
        for i in range(1, 7):
            xi = x + dt * sum(a * k for a, k in zip(_DP_A[i], ks) if a != 0.0)
            ks.append(f(xi, t + _DP_C[i] * dt))
        x_new = x + dt * sum(b * k for b, k in zip(_DP_B, ks) if b != 0.0)
        err = dt * sum((b - bs) * k for b, bs, k in zip(_DP_B, _DP_B_STAR, ks) if b != bs)
        scale = self.atol + self.rtol * torch.maximum(x.abs(), x_new.abs())
        ratio = (err / scale).square().mean(dim=-1).sqrt().max()
        return x_new, float(ratio), ks[-1]

    def solve(self, f, x, t_grid, keep, initial_step=None, dense=False):
        """Integrate through ``t_grid`` (output times); return (times, states).

        The states are those at the ``keep`` indices of ``t_grid`` or, with
        ``dense``, at every accepted step.
        """
        times, states = ([t_grid[0]], [x]) if (0 in keep or dense) else ([], [])
        t = t_grid[0]
        direction = 1.0 if t_grid[-1] >= t_grid[0] else -1.0
        dt = direction * (initial_step or abs(t_grid[-1] - t_grid[0]) / 10.0)
        k1 = f(x, t)
        n_steps = 0
        for i in range(1, len(t_grid)):
            target = t_grid[i]
            while direction * (target - t) > 1e-12 * max(1.0, abs(target)):
                if n_steps >= _MAX_ADAPTIVE_STEPS:
                    raise RuntimeError(
                        f"Dopri5 took {_MAX_ADAPTIVE_STEPS} steps without reaching "
                        f"t={target}; loosen solver_tol or use solver='rk4'."
                    )
                dt_try = dt if direction * (t + dt - target) < 0 else target - t
                x_new, ratio, k_last = self._try_step(f, t, dt_try, x, k1)
                n_steps += 1
                if not math.isfinite(ratio):
                    dt = dt_try * _MIN_FACTOR
                    continue
                factor = _MAX_FACTOR if ratio == 0 else _SAFETY * ratio ** (-1 / 5)
                factor = min(_MAX_FACTOR, max(_MIN_FACTOR, factor))
                if ratio <= 1.0:
                    t, x, k1 = t + dt_try, x_new, k_last  # FSAL: last stage is f(x_new)
                    dt = dt_try * factor if dt_try == dt else dt
                    if dense and direction * (target - t) > 1e-12 * max(1.0, abs(target)):
                        times.append(t)
                        states.append(x)
                else:
                    dt = dt_try * factor
            t = target  # reached up to rounding; report the requested time exactly
            if i in keep or dense:
                times.append(t)
                states.append(x)
        return times, states


SOLVERS = {"euler": Euler, "heun": Heun, "rk4": RK4, "dopri5": Dopri5}


def integrate(f, x0, t0, t1, *, method="rk4", n_steps=100, t_eval=None, rtol=1e-5,
              atol=1e-5, return_path=False, sigma=None, generator=None, noise=None):
    """Integrate dx/dt = f(x, t) (or the SDE with ``sigma``) from ``t0`` to ``t1``.

    Parameters
    ----------
    f : callable
        ``f(x, t)`` → Tensor like ``x``; ``t`` is a float.
    x0 : Tensor of shape (n, d)
    t0, t1 : float
        Start and end times; ``t1 < t0`` integrates backwards.
    method : {"euler", "heun", "rk4", "dopri5", "euler_maruyama"}, default="rk4"
    n_steps : int, default=100
        Number of steps of a fixed-step scheme over [t0, t1]; the first step size
        guess for ``"dopri5"``.
    t_eval : sequence of float, default=None
        Times at which to return states (monotone between t0 and t1, inclusive);
        a fixed-step scheme spreads its ``n_steps`` over the gaps in proportion
        to their length (at least one step each).
    rtol, atol : float, default=1e-5
        Tolerances of ``"dopri5"``.
    return_path : bool, default=False
        Also return the states at the solver's steps (or at ``t_eval``).
    sigma : callable, default=None
        ``sigma(t)`` → float, the noise level of ``"euler_maruyama"``.
    generator : torch.Generator, default=None
        Noise source of ``"euler_maruyama"``.
    noise : callable, default=None
        ``noise(x)`` → standard normal Tensor like ``x``, called once per step of
        ``"euler_maruyama"`` instead of drawing from ``generator``.

    Returns
    -------
    x1 : Tensor of shape (n, d)
    path : Tensor of shape (n_times, n, d)
        Only when ``return_path``.
    times : list of float
        The times of ``path``; only when ``return_path``.
    """
    if method == "euler_maruyama":
        solver = EulerMaruyama()
        kwargs = {"sigma": sigma, "generator": generator, "noise": noise}
    elif method == "dopri5":
        solver = Dopri5(rtol=rtol, atol=atol)
        kwargs = {"initial_step": abs(t1 - t0) / max(n_steps, 1),
                  "dense": return_path and t_eval is None}
    else:
        solver = SOLVERS[method]()
        kwargs = {}
    outputs = [float(t0), float(t1)] if t_eval is None else [float(s) for s in t_eval]
    # The solve always runs from t0 to t1; t_eval need not contain either end.
    first = 0 if _same_time(outputs[0], t0) else 1
    if first:
        outputs.insert(0, float(t0))
    last = len(outputs)
    if not _same_time(outputs[-1], t1):
        outputs.append(float(t1))
    if method == "dopri5":
        grid = outputs
        keep = set(range(len(grid))) if t_eval is not None else {len(grid) - 1}
    else:
        grid, keep = _fixed_grid(outputs, n_steps, dense=return_path and t_eval is None)
    if not return_path:
        keep = {len(grid) - 1}
    times, states = solver.solve(f, x0, grid, keep, **kwargs)
    if not return_path:
        return states[-1]
    if t_eval is None:
        return states[-1], torch.stack(states), times
    return states[-1], torch.stack(states[first:last]), times[first:last]


def _same_time(a, b):
    """Whether two times are equal up to rounding."""
    return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))


def _fixed_grid(outputs, n_steps, dense):
    """Step times through the output times, and the indices of the states to keep."""
    total = abs(outputs[-1] - outputs[0])
    grid, keep = [outputs[0]], {0}
    for a, b in zip(outputs[:-1], outputs[1:]):
        share = abs(b - a) / total if total > 0 else 1.0
        m = max(1, round(n_steps * share))
        grid.extend(a + (b - a) * (i / m) for i in range(1, m))
        grid.append(b)  # exactly the output time, not a rounded a + (b − a)
        keep.add(len(grid) - 1)
    if dense:
        keep = set(range(len(grid)))
    return grid, keep
