"""Methods compared by the benchmarks, behind one interface.

Every method has ``fit(X, t, seed)`` and ``push(X, t_from, t_to)`` (optionally
``velocity(X, t)``), and says which protocols it takes part in:

- :class:`AMMethod`: an estimator of ``sklearn_am`` (``ActionMatchingRegressor``
  and, once they exist, ``EntropicActionMatching`` / ``UnbalancedActionMatching``);
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

Run ``python benchmarks/peers.py`` for a one-dataset smoke comparison.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import am_estimators, log, resolve_device  # noqa: E402

ALL_PROTOCOLS = frozenset({"loo", "whole", "chain", "chain_loo"})


class Method:
    """Interface of a compared method."""

    name = "method"
    kind = "peer"  # "ours" | "peer" | "baseline"
    protocols = ALL_PROTOCOLS
    has_velocity = False

    def fit(self, X, t, seed):
        return self

    def push(self, X, t_from, t_to):
        raise NotImplementedError

    def info(self):
        return {"name": self.name, "kind": self.kind}


class DoNothing(Method):
    """The do-nothing baseline: predict that nothing moves."""

    name = "do-nothing"
    kind = "baseline"

    def push(self, X, t_from, t_to):
        return np.array(X, dtype=np.float64, copy=True)


# --------------------------------------------------------------------------- #
# Ours
# --------------------------------------------------------------------------- #


class AMMethod(Method):
    """An ``sklearn_am`` estimator with fixed parameters (``random_state`` = seed)."""

    kind = "ours"
    has_velocity = True

    def __init__(self, estimator="ActionMatchingRegressor", params=None, label=None):
        self.estimator = estimator
        self.params = dict(params or {})
        self.name = label or estimator
        self.model_ = None

    def fit(self, X, t, seed):
        cls = am_estimators()[self.estimator]
        self.model_ = cls(**self.params, random_state=seed).fit(X, t)
        return self

    def push(self, X, t_from, t_to):
        """Points at ``t_to``; ``(points, growth factors)`` when the estimator has weights."""
        import inspect

        if "return_weights" in inspect.signature(self.model_.push).parameters:
            return self.model_.push(X, float(t_from), float(t_to), return_weights=True)
        return self.model_.push(X, float(t_from), float(t_to))

    def velocity(self, X, t):
        return self.model_.velocity(X, float(t))

    def steps(self):
        return getattr(self.model_, "n_iter_", None)

    def info(self):
        return {"name": self.name, "kind": self.kind, "estimator": self.estimator,
                "params": self.params}


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
        import torch

        out_dim = dim if out_dim is None else out_dim
        return torch.nn.Sequential(
            torch.nn.Linear(dim + (1 if time_varying else 0), w), torch.nn.SELU(),
            torch.nn.Linear(w, w), torch.nn.SELU(),
            torch.nn.Linear(w, w), torch.nn.SELU(),
            torch.nn.Linear(w, out_dim),
        )


class _BuiltinCFM:
    """torchcfm's ConditionalFlowMatcher (``ot=False``) / ExactOptimalTransportConditionalFlowMatcher.

    t ~ U(0, 1); x_t = t·x1 + (1−t)·x0 + σ·ε; u_t = x1 − x0. With ``ot`` the
    minibatch is first re-paired by POT's exact plan on squared Euclidean costs,
    drawing ``batch`` pairs from the plan with replacement (torchcfm's
    ``OTPlanSampler.sample_plan``).
    """

    def __init__(self, sigma, ot):
        self.sigma = float(sigma)
        self.ot = ot

    def sample_location_and_conditional_flow(self, x0, x1):
        import ot as pot
        import torch

        if self.ot:
            a, b = pot.unif(x0.shape[0]), pot.unif(x1.shape[0])
            M = (torch.cdist(x0, x1) ** 2).cpu().numpy()
            pi = pot.emd(a, b, M)
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
        import torch

        backend = self._resolved_backend()
        device = resolve_device(self.device)
        torch.manual_seed(seed)
        np.random.seed(seed)  # torchcfm's OT sampler draws with np.random
        dim = X.shape[1]
        if backend == "torchcfm":
            from torchcfm.conditional_flow_matching import (
                ConditionalFlowMatcher,
                ExactOptimalTransportConditionalFlowMatcher,
            )
            from torchcfm.models.models import MLP

            model = MLP(dim=dim, time_varying=True, w=self.width)
            FM = (ExactOptimalTransportConditionalFlowMatcher(sigma=self.sigma)
                  if self.variant == "ot" else ConditionalFlowMatcher(sigma=self.sigma))
        else:
            model = _BuiltinMLP(dim=dim, time_varying=True, w=self.width)
            FM = _BuiltinCFM(self.sigma, ot=self.variant == "ot")
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

    def _field(self):
        import torch

        model = self.model_

        def f(x, tau):
            return model(torch.cat([x, torch.full_like(x[:, :1], tau)], dim=-1))

        return f

    def push(self, X, t_from, t_to):
        import torch
        from sklearn_am.solvers import integrate

        x = torch.as_tensor(np.asarray(X), dtype=torch.float32, device=self.device_)
        n_steps = max(1, int(round(self.n_steps * abs(t_to - t_from))))
        with torch.no_grad():
            out = integrate(self._field(), x, float(t_from), float(t_to), method=self.solver,
                            n_steps=n_steps, rtol=self.tol, atol=self.tol)
        return out.cpu().numpy().astype(np.float64)

    def velocity(self, X, t):
        import torch

        x = torch.as_tensor(np.asarray(X), dtype=torch.float32, device=self.device_)
        with torch.no_grad():
            return self._field()(x, float(t)).cpu().numpy().astype(np.float64)

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

    def push(self, X, t_from, t_to):
        import ot

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


#: The grid behind "AM (best of grid)": max_iter × width × interpolation.
AM_GRID_FULL = [dict(max_iter=m, hidden_layer_sizes=h, interpolation=i)
                for m in (1000, 3000) for h in ((128,) * 3, (256,) * 3)
                for i in ("ot", "independent")]
AM_GRID_QUICK = [dict(interpolation="independent"), dict(hidden_layer_sizes=(64, 64, 64))]


def am_methods(base_params=None, names=None):
    """One method per available ``sklearn_am`` estimator (or those in ``names``), with defaults."""
    out = []
    for name in am_estimators():
        if names and name not in names:
            continue
        label = "AM (defaults)" if name == "ActionMatchingRegressor" else f"{name} (defaults)"
        out.append(AMMethod(name, dict(base_params or {}), label=label))
    return out


def peer_methods(max_iter, batch_size=256, solvers=("dopri5",), backend="auto"):
    """OT-CFM and I-CFM at ``max_iter`` steps, POT McCann, do-nothing."""
    out = []
    for variant in ("ot", "i"):
        for solver in solvers:
            out.append(CFMMethod(variant, max_iter=max_iter, batch_size=batch_size,
                                 solver=solver, backend=backend))
    out += [McCannMethod("emd"), McCannMethod("sinkhorn"), DoNothing()]
    return out


def main(argv=None):
    from benchmarks import accuracy

    p = argparse.ArgumentParser(description="Smoke comparison of the methods on one dataset.")
    p.add_argument("--dataset", default="gaussian_2d")
    p.add_argument("--max-iter", type=int, default=200)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    log(f"torchcfm importable: {_torchcfm_available()}")
    methods = am_methods({"max_iter": args.max_iter}) + peer_methods(args.max_iter)
    rows = accuracy.run_dataset(args.dataset, methods, seeds=(0,), data_dir=args.data_dir,
                                n_per_time=300)
    log(accuracy.summary_markdown(rows))


if __name__ == "__main__":
    main()
