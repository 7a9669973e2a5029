"""ODE and SDE integrators for pushing points along a learnt field.

One registry, :data:`SOLVERS`, of schemes that share one base class and one step
signature (torchdiffeq's layout)::

    scheme.step(f, t, dt, x, dw=None, f_start=None) -> Step(x, error, f_end)

``f(x, t)`` is the field, with ``x`` of shape (n, d) and ``t`` one time per row,
shape (n,); ``dt`` is one step per row, shape (n,); ``dw`` is the Brownian
increment of a stochastic scheme (already scaled by the diffusion); ``error`` is
the embedded error estimate of an adaptive scheme (None otherwise) and ``f_end``
the field at the end of the step where the scheme computed it (first-same-as-last).

One entry point, :func:`integrate`, runs either loop: a fixed grid shared by all
rows, or per-row step-size control for adaptive schemes, so that the result for a
row never depends on which other rows are integrated with it. Nothing here takes a
device: the data decide where the work runs.
"""

import math
from typing import NamedTuple, Optional

import torch

__all__ = [
    "ODE_SOLVERS",
    "SDE_SOLVERS",
    "SOLVERS",
    "Dopri5",
    "Adams",
    "Euler",
    "EulerMaruyama",
    "Heun",
    "RK4",
    "Solver",
    "Step",
    "get_solver",
    "integrate",
]

_ONE_SIXTH = 1.0 / 6.0
#: Step-size controller of the adaptive schemes: safety factor and bounds on how
#: much one step may shrink or grow the next.
_SAFETY = 0.9
_MIN_FACTOR = 0.2
_MAX_FACTOR = 10.0
#: Attempted steps per row after which an adaptive solve gives up.
MAX_ADAPTIVE_STEPS = 10_000


class Step(NamedTuple):
    """The outcome of one step: new states, error estimate, field at the end."""

    x: torch.Tensor
    error: Optional[torch.Tensor] = None  # (n, d) embedded error, adaptive schemes only
    f_end: Optional[torch.Tensor] = None  # f(x, t + dt) when the scheme computed it


class Solver:
    """Base class of every scheme: one ``step`` with the module's signature.

    Class attributes: ``order`` (of convergence: strong order for SDE schemes),
    ``stochastic`` (needs ``dw``), ``adaptive`` (returns ``error``).
    """

    order = None
    stochastic = False
    adaptive = False

    def step(self, f, t, dt, x, dw=None, f_start=None):
        """Advance ``x`` from per-row times ``t`` by per-row steps ``dt``."""
        raise NotImplementedError


def _col(dt):
    """A per-row step as a column, to scale rows of a state."""
    return dt.unsqueeze(-1)


class Euler(Solver):
    """Explicit Euler, x ← x + Δt·f(x, t). Order 1."""

    order = 1

    def step(self, f, t, dt, x, dw=None, f_start=None):
        k1 = f(x, t) if f_start is None else f_start
        return Step(x + _col(dt) * k1)


class Heun(Solver):
    """Heun's method (explicit trapezoid). Order 2."""

    order = 2

    def step(self, f, t, dt, x, dw=None, f_start=None):
        h = _col(dt)
        k1 = f(x, t) if f_start is None else f_start
        k2 = f(x + h * k1, t + dt)
        return Step(x + 0.5 * h * (k1 + k2), f_end=None)


class RK4(Solver):
    """The classical fourth-order Runge–Kutta scheme. Order 4."""

    order = 4

    def step(self, f, t, dt, x, dw=None, f_start=None):
        h = _col(dt)
        k1 = f(x, t) if f_start is None else f_start
        k2 = f(x + 0.5 * h * k1, t + 0.5 * dt)
        k3 = f(x + 0.5 * h * k2, t + 0.5 * dt)
        k4 = f(x + h * k3, t + dt)
        return Step(x + h * _ONE_SIXTH * (k1 + 2.0 * k2 + 2.0 * k3 + k4))


#: Adams–Bashforth 4 weights of f(x_n), f(x_{n−1}), f(x_{n−2}), f(x_{n−3}).
_AB4 = (55 / 24, -59 / 24, 37 / 24, -9 / 24)


class Adams(Solver):
    """Fourth-order Adams–Bashforth with RK4 start: one field evaluation per step.

    The first three steps of a run of equal steps are RK4 steps (4 evaluations);
    every later step reuses the three previous field values, so n steps cost
    n + 9 evaluations. A change of step size (at an output time) starts a new
    run. Measured on fitted mouse and EMT models (``benchmarks`` ``targets``):
    31 steps over the fitted range (40 evaluations per point) err by under 1e-3
    of the displacement, where RK4 needs 16 steps (64 evaluations). Order 4.
    A solver object integrates one batch: it keeps that batch's recent values.
    """

    order = 4

    def __init__(self):
        self._history = []  # field values at the last steps of the current run
        self._dt = None

    def step(self, f, t, dt, x, dw=None, f_start=None):
        k1 = f(x, t) if f_start is None else f_start
        h = float(dt[0]) if len(dt) else 0.0
        if self._dt is None or abs(h - self._dt) > 1e-9 * abs(self._dt):  # a new run
            self._history, self._dt = [], h
        self._history = (self._history + [k1])[-4:]
        if len(self._history) < 4:
            return RK4().step(f, t, dt, x, f_start=k1)
        update = sum(w * k for w, k in zip(_AB4, reversed(self._history)))
        return Step(x + _col(dt) * update)


class EulerMaruyama(Solver):
    """Euler–Maruyama for dX = f dt + σ_t dW: x ← x + Δt·f(x, t) + ΔW. Strong order 1/2.

    ``dw`` is the scaled increment σ_t·√Δt·ξ with ξ standard normal.
    """

    order = 0.5
    stochastic = True

    def step(self, f, t, dt, x, dw=None, f_start=None):
        return Step(x + _col(dt) * f(x, t) + dw)


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


class Dopri5(Solver):
    """Dormand–Prince 5(4): fifth-order steps with an embedded fourth-order error.

    Six field evaluations per step (the seventh stage is the next step's first).
    """

    order = 5
    adaptive = True

    def step(self, f, t, dt, x, dw=None, f_start=None):
        h = _col(dt)
        ks = [f(x, t) if f_start is None else f_start]
        for i in range(1, 7):
            xi = x + h * sum(a * k for a, k in zip(_DP_A[i], ks) if a != 0.0)
            ks.append(f(xi, t + _DP_C[i] * dt))
        x_new = x + h * sum(b * k for b, k in zip(_DP_B, ks) if b != 0.0)
        error = h * sum((b - bs) * k for b, bs, k in zip(_DP_B, _DP_B_STAR, ks) if b != bs)
        return Step(x_new, error, ks[-1])


#: Name → scheme. ``ODE_SOLVERS`` and ``SDE_SOLVERS`` split it by ``stochastic``.
SOLVERS = {
    "euler": Euler,
    "heun": Heun,
    "rk4": RK4,
    "adams": Adams,
    "dopri5": Dopri5,
    "euler_maruyama": EulerMaruyama,
}
ODE_SOLVERS = frozenset(name for name, cls in SOLVERS.items() if not cls.stochastic)
SDE_SOLVERS = frozenset(name for name, cls in SOLVERS.items() if cls.stochastic)


def get_solver(name):
    """The scheme registered as ``name``; unknown names raise ``ValueError``."""
    try:
        return SOLVERS[name]()
    except KeyError:
        raise ValueError(
            f"Unknown solver {name!r}; choose one of {sorted(SOLVERS)}."
        ) from None


def integrate(f, x0, t0, t1, *, method="rk4", n_steps=100, t_eval=None, rtol=1e-5,
              atol=1e-5, return_path=False, diffusion=None, noise=None, generator=None):
    """Integrate dx/dt = f(x, t), or dX = f dt + σ_t dW, from ``t0`` to ``t1``.

    Parameters
    ----------
    f : callable
        ``f(x, t)`` → Tensor like ``x``; ``t`` holds one time per row, shape (n,).
    x0 : Tensor of shape (n, d)
    t0, t1 : float
        Start and end times; ``t1 < t0`` integrates backwards (ODEs only).
    method : str, default="rk4"
        A name in :data:`SOLVERS`.
    n_steps : int, default=100
        Steps of a fixed-step scheme over [t0, t1]; for an adaptive scheme, the
        first step is |t1 − t0|/n_steps, and a path asked for without
        ``t_eval`` is reported at ``n_steps`` evenly spaced times.
    t_eval : sequence of float, default=None
        Times at which to return states (monotone between t0 and t1, inclusive);
        a fixed-step scheme spreads its ``n_steps`` over the gaps in proportion
        to their length (at least one step each).
    rtol, atol : float, default=1e-5
        Tolerances of an adaptive scheme: a step of a row is accepted when the
        RMS over features of error / (atol + rtol·max(|x|, |x_new|)) is ≤ 1.
    return_path : bool, default=False
        Also return the states at the output times.
    diffusion : callable, default=None
        ``diffusion(t)`` → float, σ_t of a stochastic scheme.
    noise : callable, default=None
        ``noise(x)`` → standard normal Tensor like ``x``, called once per step of
        a stochastic scheme. Default: draws from ``generator``.
    generator : torch.Generator, default=None
        Source of the default ``noise``.

    Returns
    -------
    x1 : Tensor of shape (n, d)
    path : Tensor of shape (n_times, n, d)
        Only when ``return_path``.
    times : list of float
        The times of ``path``; only when ``return_path``.
    """
    solver = get_solver(method)
    if solver.stochastic and noise is None:
        def noise(x):
            return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    outputs = [float(t0), float(t1)] if t_eval is None else [float(s) for s in t_eval]
    # The solve always runs from t0 to t1; t_eval need not contain either end.
    first = 0 if _same_time(outputs[0], t0) else 1
    if first:
        outputs.insert(0, float(t0))
    last = len(outputs)
    if not _same_time(outputs[-1], t1):
        outputs.append(float(t1))
    dense = return_path and t_eval is None
    if solver.adaptive:
        if dense:
            m = max(1, n_steps)
            outputs = [t0 + (t1 - t0) * i / m for i in range(m)] + [float(t1)]
            last = len(outputs)
        states = _adaptive_loop(solver, f, x0, outputs, rtol=rtol, atol=atol,
                                first_step=abs(t1 - t0) / max(n_steps, 1),
                                keep_all=return_path)
        times = outputs if return_path else outputs[-1:]
    else:
        times, states = _fixed_loop(solver, f, x0, outputs, n_steps, dense=dense,
                                    diffusion=diffusion, noise=noise)
    if not return_path:
        return states[-1]
    if t_eval is None:
        return states[-1], torch.stack(states), list(times)
    return states[-1], torch.stack(states[first:last]), list(times[first:last])


def _same_time(a, b):
    """Whether two times are equal up to rounding."""
    return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))


def _segment_steps(outputs, n_steps):
    """Steps per gap between output times: ``n_steps`` spread by length, at least one each."""
    total = abs(outputs[-1] - outputs[0])
    return [max(1, round(n_steps * abs(b - a) / total)) if total > 0 else 1
            for a, b in zip(outputs[:-1], outputs[1:])]


def _fixed_loop(solver, f, x, outputs, n_steps, *, dense, diffusion, noise):
    """Step every row through the output times; (times, states) at the outputs.

    Step times are generated on the fly (no grid is materialised); with ``dense``
    the state after every step is returned.
    """
    times, states = [outputs[0]], [x]
    n = x.shape[0]
    for (a, b), m in zip(zip(outputs[:-1], outputs[1:]), _segment_steps(outputs, n_steps)):
        for i in range(m):
            t0 = a + (b - a) * (i / m)
            t1 = b if i == m - 1 else a + (b - a) * ((i + 1) / m)  # land exactly on b
            h = t1 - t0
            t = torch.full((n,), t0, dtype=x.dtype, device=x.device)
            dt = torch.full((n,), h, dtype=x.dtype, device=x.device)
            dw = None
            if solver.stochastic:
                dw = float(diffusion(t0)) * math.sqrt(abs(h)) * noise(x)
            x = solver.step(f, t, dt, x, dw=dw).x
            if dense or i == m - 1:
                times.append(t1)
                states.append(x)
    return times, states


def _adaptive_loop(solver, f, x, outputs, *, rtol, atol, first_step, keep_all):
    """Per-row step-size control through the output times; the states reached there.

    Every row carries its own time, step size and last field value, so a row's
    result is the same whichever rows it is integrated with.
    """
    n = x.shape[0]
    direction = 1.0 if outputs[-1] >= outputs[0] else -1.0
    t = torch.full((n,), outputs[0], dtype=torch.float64, device=x.device)
    h = torch.full((n,), max(first_step, 1e-12), dtype=torch.float64, device=x.device)
    k = f(x, t.to(x.dtype)) if n else x
    states = [x] if keep_all else []
    attempts = 0
    for target in outputs[1:]:
        remaining = direction * (target - t)
        active = remaining > 1e-12 * max(1.0, abs(target))
        while bool(active.any()):
            attempts += 1
            if attempts > MAX_ADAPTIVE_STEPS:
                raise RuntimeError(
                    f"The adaptive solver took {MAX_ADAPTIVE_STEPS} steps without reaching "
                    f"t={target:g}; loosen solver_tol or use a fixed-step solver."
                )
            rows = active.nonzero().squeeze(-1)
            to_go = direction * (target - t[rows])
            step = torch.minimum(h[rows], to_go)
            dt = (direction * step).to(x.dtype)
            xa = x[rows]
            out = solver.step(f, t[rows].to(x.dtype), dt, xa, f_start=k[rows])
            scale = atol + rtol * torch.maximum(xa.abs(), out.x.abs())
            ratio = (out.error / scale).square().mean(dim=-1).sqrt().to(torch.float64)
            finite = torch.isfinite(ratio)
            factor = torch.where(
                ratio > 0, _SAFETY * ratio.clamp_min(1e-300) ** -0.2,
                torch.full_like(ratio, _MAX_FACTOR),
            ).clamp(_MIN_FACTOR, _MAX_FACTOR)
            factor = torch.where(finite, factor, torch.full_like(ratio, _MIN_FACTOR))
            accept = finite & (ratio <= 1.0)
            done_rows = rows[accept]
            hit = step[accept] >= to_go[accept]
            x = x.index_copy(0, done_rows, out.x[accept])
            k = k.index_copy(0, done_rows, out.f_end[accept])
            t = t.index_copy(0, done_rows, torch.where(
                hit, torch.full_like(step[accept], target), t[done_rows] + direction * step[accept]
            ))
            # A step cut short to land on ``target`` does not set the next size.
            grown = torch.where(accept & (step >= h[rows]) | ~accept, step * factor, h[rows])
            h = h.index_copy(0, rows, grown)
            active = active.index_copy(0, done_rows, ~hit)
        if keep_all:
            states.append(x)
    return states if keep_all else [x]
