"""The peers and baselines our estimators are compared with, behind :class:`Method`.

- :class:`CFMMethod`: TorchCFM's OT-CFM and I-CFM with the recipe of its
  single-cell tutorial (``examples/single_cell/single-cell_example.ipynb``):
  ``MLP(dim, time_varying=True, w=64)`` (SELU), Adam (lr 1e-3), 256 points per
  pair of consecutive snapshots per step, σ = 0.1, exact OT pairing by POT on the
  CPU, time = the snapshot's label plus λ·(gap to the next one); sampled with
  Dopri5 (rtol = atol = 1e-4, as the tutorial's torchdyn call) or Euler. The
  ``torchcfm`` package is used when importable (``pip install --no-deps
  torchcfm``); otherwise a line-by-line re-implementation of its two flow
  matchers below (``backend="builtin"``), and the JSON says which ran;
- :class:`McCannMethod`: POT ``ot.da.EMDTransport`` / ``SinkhornTransport`` fitted
  from t_{k−1} to t_{k+1}, point moved the fraction λ of the way to its
  barycentric image (λ = ½ for equally spaced times): a static displacement
  interpolation, leave-one-out only;
- :class:`DoNothing`: points stay where they are.

All conserve mass: they write ``move`` and inherit ``push``.
"""

import time
import warnings

import numpy as np
import ot
import torch

from sklearn_am._numerics.solvers import integrate

from ..common import resolve_device
from .base import Method


class DoNothing(Method):
    """The do-nothing baseline: predict that nothing moves."""

    name = "do-nothing"
    kind = "baseline"

    def move(self, X, t_from, t_to):
        return np.array(X, dtype=np.float64, copy=True)


# --------------------------------------------------------------------------- #
# TorchCFM
# --------------------------------------------------------------------------- #


def _torchcfm_available():
    try:
        import torchcfm  # noqa: F401
        from torchcfm.conditional_flow_matching import (  # noqa: F401
            ConditionalFlowMatcher,
            ExactOptimalTransportConditionalFlowMatcher,
        )
        from torchcfm.models.models import MLP  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means "not usable"
        return False
    return True


class _BuiltinMLP:
    """torchcfm.models.models.MLP, re-implemented (3 hidden SELU layers of width w)."""

    def __new__(cls, dim, out_dim=None, w=64, time_varying=False):
        out_dim = dim if out_dim is None else out_dim
        return torch.nn.Sequential(
            torch.nn.Linear(dim + (1 if time_varying else 0), w), torch.nn.SELU(),
            torch.nn.Linear(w, w), torch.nn.SELU(),
            torch.nn.Linear(w, w), torch.nn.SELU(),
            torch.nn.Linear(w, out_dim),
        )


class _BuiltinCFM:
    """torchcfm's ConditionalFlowMatcher / ExactOptimalTransportConditionalFlowMatcher.

    t ~ U(0, 1); x_t = t·x1 + (1−t)·x0 + σ·ε; u_t = x1 − x0. With ``use_ot`` the
    minibatch is first re-paired by POT's exact plan on squared Euclidean costs,
    drawing ``batch`` pairs from the plan with replacement (torchcfm's
    ``OTPlanSampler.sample_plan``).
    """

    def __init__(self, sigma, use_ot):
        self.sigma = float(sigma)
        self.use_ot = use_ot

    def sample_location_and_conditional_flow(self, x0, x1):
        if self.use_ot:
            a, b = ot.unif(x0.shape[0]), ot.unif(x1.shape[0])
            M = (torch.cdist(x0, x1) ** 2).cpu().numpy()
            pi = ot.emd(a, b, M)
            p = pi.flatten()
            p = p / p.sum()
            choices = np.random.choice(pi.shape[0] * pi.shape[1], p=p, size=x0.shape[0],
                                       replace=True)
            i, j = np.divmod(choices, pi.shape[1])
            x0, x1 = x0[i], x1[j]
        t = torch.rand(x0.shape[0], dtype=x0.dtype, device=x0.device)
        tt = t[:, None]
        eps = torch.randn_like(x0)
        xt = tt * x1 + (1 - tt) * x0 + self.sigma * eps
        ut = x1 - x0
        return t, xt, ut


def _flow_matching(backend, variant, dim, width, sigma):
    """The recipe's network and flow matcher, from ``torchcfm`` or the built-in copy."""
    if backend == "torchcfm":
        from torchcfm.conditional_flow_matching import (
            ConditionalFlowMatcher,
            ExactOptimalTransportConditionalFlowMatcher,
        )
        from torchcfm.models.models import MLP

        matcher = ExactOptimalTransportConditionalFlowMatcher if variant == "ot" \
            else ConditionalFlowMatcher
        return MLP(dim=dim, time_varying=True, w=width), matcher(sigma=sigma)
    return (_BuiltinMLP(dim=dim, time_varying=True, w=width),
            _BuiltinCFM(sigma, use_ot=variant == "ot"))


class CFMMethod(Method):
    """OT-CFM / I-CFM, TorchCFM single-cell recipe (see module docstring).

    Parameters
    ----------
    variant : {"ot", "i"}
    max_iter : int
        Optimiser steps (ignored when ``time_budget`` is set).
    batch_size : int
        Points drawn from each snapshot of each consecutive pair per step.
    time_budget : float, default=None
        Train for this many seconds instead of ``max_iter`` steps (equal wall time).
    solver : {"dopri5", "euler"}
    backend : {"auto", "torchcfm", "builtin"}
    """

    kind = "peer"
    has_velocity = True

    def __init__(self, variant="ot", max_iter=1000, batch_size=256, lr=1e-3, sigma=0.1,
                 width=64, solver="dopri5", n_steps=100, tol=1e-4, time_budget=None,
                 backend="auto", device="auto", label=None):
        self.variant = variant
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.lr = lr
        self.sigma = sigma
        self.width = width
        self.solver = solver
        self.n_steps = n_steps
        self.tol = tol
        self.time_budget = time_budget
        self.backend = backend
        self.device = device
        base = "OT-CFM" if variant == "ot" else "I-CFM"
        self.name = label or f"{base} ({solver})"
        self.model_ = None

    def _resolved_backend(self):
        if self.backend == "auto":
            return "torchcfm" if _torchcfm_available() else "builtin"
        return self.backend

    def fit(self, X, t, seed):
        backend = self._resolved_backend()
        device = resolve_device(self.device)
        torch.manual_seed(seed)
        np.random.seed(seed)  # torchcfm's OT sampler draws with np.random
        model, FM = _flow_matching(backend, self.variant, X.shape[1], self.width, self.sigma)
        model = model.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=self.lr)
        times = np.unique(t)
        snaps = [torch.as_tensor(X[t == s], dtype=torch.float32, device=device) for s in times]
        rng = np.random.RandomState(seed)
        start = time.perf_counter()
        steps = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            while True:
                if self.time_budget is not None:
                    if time.perf_counter() - start >= self.time_budget:
                        break
                elif steps >= self.max_iter:
                    break
                optimizer.zero_grad()
                ts, xts, uts = [], [], []
                for k in range(len(times) - 1):
                    a, b = snaps[k], snaps[k + 1]
                    x0 = a[torch.as_tensor(rng.randint(len(a), size=self.batch_size))]
                    x1 = b[torch.as_tensor(rng.randint(len(b), size=self.batch_size))]
                    lam, xt, ut = FM.sample_location_and_conditional_flow(x0, x1)
                    gap = float(times[k + 1] - times[k])
                    ts.append(float(times[k]) + gap * lam)
                    xts.append(xt)
                    uts.append(ut / gap)
                tt, xt, ut = torch.cat(ts), torch.cat(xts), torch.cat(uts)
                vt = model(torch.cat([xt, tt[:, None]], dim=-1))
                loss = torch.mean((vt - ut) ** 2)
                loss.backward()
                optimizer.step()
                steps += 1
        self.model_ = model.eval()
        self.backend_ = backend
        self.device_ = device
        self.n_iter_ = steps
        return self

    def _field(self, x, t):
        """The learnt velocity at points ``x`` and per-row times ``t`` (shape (n,))."""
        return self.model_(torch.cat([x, t[:, None]], dim=-1))

    def move(self, X, t_from, t_to):
        x = torch.as_tensor(np.asarray(X), dtype=torch.float32, device=self.device_)
        n_steps = max(1, int(round(self.n_steps * abs(t_to - t_from))))
        with torch.no_grad():
            out = integrate(self._field, x, float(t_from), float(t_to), method=self.solver,
                            n_steps=n_steps, rtol=self.tol, atol=self.tol)
        return out.cpu().numpy().astype(np.float64)

    def velocity(self, X, t):
        x = torch.as_tensor(np.asarray(X), dtype=torch.float32, device=self.device_)
        with torch.no_grad():
            v = self._field(x, torch.full((len(x),), float(t), device=x.device))
        return v.cpu().numpy().astype(np.float64)

    def steps(self):
        return self.n_iter_

    def info(self):
        return {"name": self.name, "kind": self.kind, "variant": self.variant,
                "backend": self._resolved_backend(), "max_iter": self.max_iter,
                "batch_size_per_interval": self.batch_size, "lr": self.lr,
                "sigma": self.sigma, "width": self.width, "solver": self.solver,
                "n_steps_per_unit_time": self.n_steps, "tol": self.tol,
                "time_budget": self.time_budget,
                "recipe": "torchcfm examples/single_cell tutorial: MLP(dim, time_varying=True, "
                          "w=64) SELU, Adam, batch 256 per interval, POT exact OT pairing"}


# --------------------------------------------------------------------------- #
# POT static McCann interpolation
# --------------------------------------------------------------------------- #


class McCannMethod(Method):
    """Static displacement interpolation by POT's domain-adaptation transports.

    ``push(X, t_from, t_to)`` fits a transport from ``X`` to the first training
    snapshot at or after ``t_to`` (time ``t_b``) and returns
    ``X + λ (T(X) − X)`` with ``λ = (t_to − t_from)/(t_b − t_from)`` and ``T`` the
    barycentric map. Only meaningful when ``t_to`` was held out (leave-one-out).
    """

    kind = "baseline"
    protocols = frozenset({"loo"})

    def __init__(self, transport="emd", reg_e=0.05):
        self.transport = transport
        self.reg_e = reg_e
        self.name = "POT McCann (EMD)" if transport == "emd" else f"POT McCann (Sinkhorn {reg_e:g})"

    def fit(self, X, t, seed):
        self.X_, self.t_ = np.asarray(X, float), np.asarray(t, float)
        self.times_ = np.unique(self.t_)
        self.seed_ = seed
        return self

    def move(self, X, t_from, t_to):
        later = self.times_[self.times_ >= t_to - 1e-12]
        later = later[later > t_from]
        t_b = later[0]
        target = self.X_[self.t_ == t_b]
        if self.transport == "emd":
            T = ot.da.EMDTransport()
        else:  # cost divided by its median, so reg_e is scale free
            T = ot.da.SinkhornTransport(reg_e=self.reg_e, norm="median", max_iter=2000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            T.fit(Xs=np.asarray(X, float), Xt=target)
            TX = T.transform(Xs=np.asarray(X, float))
        lam = (t_to - t_from) / (t_b - t_from)
        return X + lam * (TX - X)

    def info(self):
        return {"name": self.name, "kind": self.kind, "transport": self.transport,
                "reg_e": self.reg_e if self.transport != "emd" else None}


# --------------------------------------------------------------------------- #
# Line-ups
# --------------------------------------------------------------------------- #


def peer_methods(max_iter, batch_size=256, solvers=("dopri5",), backend="auto", device="auto"):
    """OT-CFM and I-CFM at ``max_iter`` steps (one per solver), POT McCann, do-nothing."""
    out = [CFMMethod(variant, max_iter=max_iter, batch_size=batch_size, solver=solver,
                     backend=backend, device=device)
           for variant in ("ot", "i") for solver in solvers]
    return out + [McCannMethod("emd"), McCannMethod("sinkhorn"), DoNothing()]


def equal_time_methods(reference, max_iter, device="auto"):
    """OT-CFM and I-CFM (Dopri5) trained for the mean fit time of ``reference`` (a name)."""
    out = []
    for variant, base in (("ot", "OT-CFM"), ("i", "I-CFM")):
        m = CFMMethod(variant, max_iter=max_iter, device=device,
                      label=f"{base} (dopri5, equal wall time)")
        m.match_time_of = reference
        out.append(m)
    return out
