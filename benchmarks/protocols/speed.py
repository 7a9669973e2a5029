"""Speed: training throughput, where a step's time goes, inference, scaling, OT pairing cost.

- ``throughput``: steps/s and interior samples/s of the library's loop
  (``sklearn_am._numerics.training.train`` with ``MLPPotential``'s explicit derivatives)
  against a reference loop written the authors' way (a plain ``nn.Sequential`` MLP
  on ``[x, t]`` with the same weights, one ``torch.autograd.grad(s.sum(), (x, t),
  create_graph=True)``, eager, double backward), same sampler, optimiser and
  clipping; plus end-to-end ``fit`` (which includes building the OT pool).
- ``breakdown``: one step split into data sampling, boundary forward, derivatives,
  loss assembly, backward, clip + Adam, and a host sync (``loss.item()``, which the
  library's loop does not do); the OT pool build is timed on its own.
- ``inference``: ``transform`` with 100 RK4 steps and ``velocity``, points/s.
- ``scaling``: fit time per step, OT-pool build time and peak memory as rows grow,
  and time per step as d grows.
- ``ot_cost``: one exact-OT solve (``_couplings.transport_plan``) as the minibatch grows, and a
  whole ``pair_pool`` build.

Run ``python -m benchmarks.protocols.speed --quick`` (prints the tables and writes
``results/speed_quick.{json,md}``), or ``python -m benchmarks.run --sections speed``.
"""

import argparse
import time

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from sklearn_am import ActionMatchingRegressor
from sklearn_am._sampling.couplings import pair_pool, transport_plan
from sklearn_am._numerics.losses import action_loss, am_integrand
from sklearn_am._sampling.paths import InterpolationSampler, LinearPath
from sklearn_am._sampling.snapshots import Snapshots
from sklearn_am._numerics.training import train
from sklearn_am.datasets import make_gaussian_transport
from sklearn_am.networks import MLPPotential

from ..common import (
    Measure,
    configure_threads,
    log,
    machine_info,
    markdown_table,
    resolve_device,
    timer,
    write_results,
)

HIDDEN = (128, 128, 128)


def _data(n_per_time, d, seed=0):
    X, t = make_gaussian_transport(n_per_time, n_features=d, times=(0.0, 0.25, 0.5, 0.75, 1.0),
                                   random_state=seed, shuffle=False)
    X = (X - X.mean(0)) / np.sqrt(X.var(0).mean())
    return X, t


def _sampler(X, t, device, n_draws, coupling="exact", seed=0):
    snaps = Snapshots(X, t, device)
    return InterpolationSampler(snaps, coupling, LinearPath(), n_draws, np.random.RandomState(seed))


def _sync(device):
    if str(device).startswith("cuda"):
        return torch.cuda.synchronize
    return None


def _potential(d, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    return MLPPotential(d, HIDDEN, "silu", generator=g).to(device)


def _reference_net(potential):
    """A plain nn.Sequential MLP with the potential's weights (out layer perturbed off zero)."""
    layers = []
    for lin in potential.hidden:
        new = torch.nn.Linear(lin.in_features, lin.out_features)
        new.load_state_dict(lin.state_dict())
        layers += [new, torch.nn.SiLU()]
    out = torch.nn.Linear(potential.out.in_features, 1)
    out.load_state_dict(potential.out.state_dict())
    layers.append(out)
    return torch.nn.Sequential(*layers).to(next(potential.parameters()).device)


def reference_train(net, sampler, steps, batch_size, generator, lr=1e-3):
    """The authors' way: autograd derivatives with create_graph=True, then double backward."""
    opt = torch.optim.Adam(net.parameters(), lr=lr)

    def s(x, t):
        return net(torch.cat([x, t[:, None]], dim=-1)).squeeze(-1)

    for _ in range(steps):
        b = sampler.draw(batch_size, generator)
        x = b.x.detach().requires_grad_(True)
        t = b.t.detach().requires_grad_(True)
        out = s(x, t)
        gx, gt = torch.autograd.grad(out.sum(), (x, t), create_graph=True)
        integrand = 0.5 * gx.square().sum(-1) + gt
        loss = (b.w_start * s(b.x_start, b.t_start)).sum() - (b.w_end * s(b.x_end, b.t_end)).sum() \
            + (b.w * integrand).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
    return float(loss.detach())


def _ours_train(potential, sampler, steps, batch_size, generator):
    return train(potential, sampler, lambda net, b: action_loss(net, b, am_integrand),
                 max_iter=steps, batch_size=batch_size, learning_rate=1e-3, generator=generator)


def throughput(batch_sizes=(256, 1024, 4096), dims=(5, 50), steps=50, device="auto", fit=True):
    """Rows: steps/s of ours vs the reference loop (and end-to-end fit) per (d, batch)."""
    device = resolve_device(device)
    sync = _sync(device)
    rows = []
    for d in dims:
        for bs in batch_sizes:
            X, t = _data(max(1000, bs), d)
            sampler = _sampler(X, t, device, n_draws=(steps + 5) * bs)
            g = torch.Generator(device=device).manual_seed(0)
            pot = _potential(d, device)
            with torch.no_grad():  # off zero so the reference and ours do the same work
                pot.out.weight.normal_(0, 0.01, generator=torch.Generator().manual_seed(1))
            ref = _reference_net(pot)
            res = {"d": d, "batch": bs, "device": device, "steps": steps}
            for name, fn in (("ours", lambda n: _ours_train(pot, sampler, n, bs, g)),
                             ("reference", lambda n: reference_train(ref, sampler, n, bs, g))):
                fn(3)  # warm-up
                if sync:
                    sync()
                t0 = time.perf_counter()
                fn(steps)
                if sync:
                    sync()
                dt = time.perf_counter() - t0
                res[f"{name}_steps_per_s"] = steps / dt
                res[f"{name}_samples_per_s"] = steps * bs / dt
            res["speedup"] = res["ours_steps_per_s"] / res["reference_steps_per_s"]
            if fit:
                est = ActionMatchingRegressor(max_iter=steps, batch_size=bs, device=device,
                                              random_state=0)
                with Measure(device) as m:
                    est.fit(X, t)
                res["fit_s"] = m.seconds
                res["fit_steps_per_s_incl_pool"] = steps / m.seconds
                res["fit_peak_mb"] = m.peak_mb
            rows.append(res)
            log(f"  throughput d={d} batch={bs}: ours {res['ours_steps_per_s']:.1f} steps/s, "
                f"reference {res['reference_steps_per_s']:.1f} steps/s, x{res['speedup']:.2f}")
    return rows


def breakdown(d=5, batch_size=256, steps=50, device="auto", n_per_time=1000, max_iter=1000):
    """Mean seconds per step of each phase, plus the OT pool build for ``max_iter`` steps."""
    device = resolve_device(device)
    sync = _sync(device)
    X, t = _data(n_per_time, d)
    tm = {}
    with timer(tm, "ot_pool_build_s", sync):
        sampler = _sampler(X, t, device, n_draws=max_iter * batch_size)
    pot = _potential(d, device)
    params = list(pot.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    g = torch.Generator(device=device).manual_seed(0)
    phases = {}
    for i in range(steps + 3):
        p = phases if i >= 3 else {}
        with timer(p, "sample", sync):
            b = sampler.draw(batch_size, g)
        with timer(p, "boundary_forward", sync):
            bd = (b.w_start * pot(b.x_start, b.t_start)).sum() \
                - (b.w_end * pot(b.x_end, b.t_end)).sum()
        with timer(p, "derivatives", sync):
            _, gx, gt = pot.derivatives(b.x, b.t)
        with timer(p, "loss", sync):
            loss = bd + (b.w * (0.5 * gx.square().sum(-1) + gt)).sum()
        with timer(p, "backward", sync):
            opt.zero_grad(set_to_none=True)
            loss.backward()
        with timer(p, "clip_and_adam", sync):
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
        with timer(p, "host_sync_item", None):
            float(loss.item())
    per_step = {k: v / steps for k, v in phases.items()}
    total = sum(v for k, v in per_step.items())
    out = {"d": d, "batch": batch_size, "device": device, "n_per_time": n_per_time,
           "pool_for_max_iter": max_iter, **tm,
           "per_step_s": per_step, "step_total_s": total,
           "fraction": {k: v / total for k, v in per_step.items()}}
    log("  breakdown per step (ms): " + ", ".join(f"{k} {1e3 * v:.2f}" for k, v in per_step.items())
        + f"; OT pool build {tm['ot_pool_build_s']:.2f} s")
    return out


def inference(n_points=10_000, d=5, device="auto", train_steps=20):
    """Points/s of transform (RK4, 100 steps) and of velocity."""
    device = resolve_device(device)
    X, t = _data(500, d)
    est = ActionMatchingRegressor(max_iter=train_steps, device=device, random_state=0,
                                  solver="rk4", n_steps=100).fit(X, t)
    P = np.random.RandomState(0).normal(size=(n_points, d))
    est.transform(P[:100])
    with Measure(device) as m:
        est.transform(P)
    with Measure(device) as mv:
        est.velocity(P, 0.5)
    out = {"n_points": n_points, "d": d, "device": device, "solver": "rk4", "n_steps": 100,
           "transform_s": m.seconds, "transform_points_per_s": n_points / m.seconds,
           "transform_peak_mb": m.peak_mb, "velocity_s": mv.seconds,
           "velocity_points_per_s": n_points / mv.seconds}
    log(f"  inference n={n_points}: transform {out['transform_points_per_s']:.0f} pts/s, "
        f"velocity {out['velocity_points_per_s']:.0f} pts/s")
    return out


def scaling_rows(rows=(1_000, 10_000, 100_000), d=5, steps=30, batch_size=256, device="auto",
                 max_iter_pool=1000):
    """Fit time per step and peak memory as the number of rows grows (5 snapshots)."""
    device = resolve_device(device)
    out = []
    for n in rows:
        X, t = _data(n // 5, d)
        tm = {}
        with timer(tm, "pool", _sync(device)):
            _sampler(X, t, device, n_draws=max_iter_pool * batch_size)
        est = ActionMatchingRegressor(max_iter=steps, batch_size=batch_size, device=device,
                                      random_state=0)
        with Measure(device) as m:
            est.fit(X, t)
        r = {"rows": n, "d": d, "fit_s": m.seconds, "steps": steps,
             "fit_s_per_step": m.seconds / steps, "fit_peak_mb": m.peak_mb,
             f"ot_pool_build_s_for_max_iter_{max_iter_pool}": tm["pool"]}
        out.append(r)
        log(f"  rows={n}: fit {m.seconds:.2f}s for {steps} steps, peak {m.peak_mb:.0f} MB, "
            f"pool(max_iter={max_iter_pool}) {tm['pool']:.2f}s")
    return out


def scaling_dims(dims=(2, 5, 10, 50, 100), steps=30, batch_size=256, device="auto"):
    """Time per step (ours and reference) as d grows."""
    rows = throughput(batch_sizes=(batch_size,), dims=dims, steps=steps, device=device, fit=True)
    return [{"d": r["d"], "ours_s_per_step": 1 / r["ours_steps_per_s"],
             "reference_s_per_step": 1 / r["reference_steps_per_s"],
             "fit_peak_mb": r.get("fit_peak_mb")} for r in rows]


def ot_cost(batch_sizes=(64, 128, 256, 512, 1024), d=5, n_pairs=65_536, snapshot=5_000, repeats=3):
    """Seconds of one exact OT solve per minibatch size, and of a whole pair_pool build.

    Also times scipy's assignment solver on the same cost matrices: the alternative
    to POT's network simplex for equal-size batches (the README's claim).
    """
    rng = np.random.RandomState(0)
    A, B = rng.normal(size=(snapshot, d)), rng.normal(size=(snapshot, d)) + 1.0
    out = []
    for m in batch_sizes:
        ts, ts_lsa = [], []
        for _ in range(repeats):
            ia, ib = rng.choice(snapshot, m, replace=False), rng.choice(snapshot, m, replace=False)
            t0 = time.perf_counter()
            transport_plan(A[ia], B[ib])
            ts.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            linear_sum_assignment(cdist(A[ia], B[ib], "sqeuclidean"))
            ts_lsa.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pair_pool(snapshot, snapshot, n_pairs, rng, method="exact", points=(A, B), batch_size=m)
        pool = time.perf_counter() - t0
        out.append({"ot_batch": m, "d": d, "solve_s": float(np.median(ts)),
                    "scipy_assignment_s": float(np.median(ts_lsa)),
                    "pair_pool_s": pool, "pair_pool_pairs": n_pairs,
                    "pairs_per_s": n_pairs / pool})
        log(f"  OT batch {m}: solve {1e3 * np.median(ts):.1f} ms, "
            f"pool of {n_pairs} pairs {pool:.2f} s")
    return out


def run(quick=True, device="auto"):
    """All speed sections; quick mode uses small sizes."""
    device = resolve_device(device)
    if quick:
        cfg = dict(steps=20, rows=(1_000, 10_000), dims=(2, 5, 50), inf_points=10_000,
                   ot_batches=(64, 128, 256, 512), n_pairs=8_192)
    else:
        cfg = dict(steps=100, rows=(1_000, 10_000, 100_000, 1_000_000),
                   dims=(2, 5, 10, 50, 100, 500),
                   inf_points=100_000, ot_batches=(64, 128, 256, 512, 1024, 2048), n_pairs=65_536)
    res = {"device": device}
    log("speed: throughput")
    res["throughput"] = throughput(steps=cfg["steps"], device=device)
    log("speed: breakdown")
    res["breakdown"] = [breakdown(d=d, batch_size=bs, steps=cfg["steps"], device=device)
                        for d, bs in ((5, 256), (50, 1024))]
    log("speed: inference")
    res["inference"] = inference(cfg["inf_points"], device=device)
    log("speed: scaling rows")
    res["scaling_rows"] = scaling_rows(cfg["rows"], steps=cfg["steps"], device=device)
    log("speed: scaling dims")
    res["scaling_dims"] = scaling_dims(cfg["dims"], steps=cfg["steps"], device=device)
    log("speed: OT pairing cost")
    res["ot_cost"] = ot_cost(cfg["ot_batches"], n_pairs=cfg["n_pairs"])
    return res


def speed_markdown(res):
    parts = []
    rows = [[r["d"], r["batch"], f"{r['ours_steps_per_s']:.1f}", f"{r['ours_samples_per_s']:.0f}",
             f"{r['reference_steps_per_s']:.1f}", f"{r['reference_samples_per_s']:.0f}",
             f"{r['speedup']:.2f}x", f"{r.get('fit_steps_per_s_incl_pool', float('nan')):.1f}",
             f"{r.get('fit_peak_mb', float('nan')):.0f}"]
            for r in res.get("throughput", [])]
    parts.append(f"### Training throughput ({res.get('device')})\n\n" + markdown_table(
        ["d", "batch", "ours steps/s", "ours samples/s", "reference steps/s",
         "reference samples/s", "speedup", "fit steps/s (incl. OT pool)", "fit peak MB"], rows))
    for b in res.get("breakdown", []):
        rows = [[k, f"{1e3 * v:.3f}", f"{100 * b['fraction'][k]:.1f} %"]
                for k, v in b["per_step_s"].items()]
        rows.append([f"OT pool build (once, for {b['pool_for_max_iter']} steps)",
                     f"{1e3 * b['ot_pool_build_s']:.0f}", "—"])
        parts.append(f"### Step breakdown, d={b['d']}, batch={b['batch']}\n\n"
                     + markdown_table(["phase", "ms per step", "share"], rows))
    if "inference" in res:
        i = res["inference"]
        parts.append("### Inference\n\n" + markdown_table(
            ["points", "d", "transform (RK4, 100 steps) points/s", "velocity points/s",
             "transform peak MB"],
            [[i["n_points"], i["d"], f"{i['transform_points_per_s']:.0f}",
              f"{i['velocity_points_per_s']:.0f}", f"{i['transform_peak_mb']:.0f}"]]))
    if res.get("scaling_rows"):
        key = [k for k in res["scaling_rows"][0] if k.startswith("ot_pool_build")][0]
        parts.append("### Scaling with rows (d=5, batch 256)\n\n" + markdown_table(
            ["rows", "fit s per step (short fit, incl. pool)", "fit peak MB", key],
            [[r["rows"], f"{r['fit_s_per_step']:.4f}", f"{r['fit_peak_mb']:.0f}", f"{r[key]:.2f}"]
             for r in res["scaling_rows"]]))
    if res.get("scaling_dims"):
        parts.append("### Scaling with d (batch 256)\n\n" + markdown_table(
            ["d", "ours ms/step", "reference ms/step", "fit peak MB"],
            [[r["d"], f"{1e3 * r['ours_s_per_step']:.2f}", f"{1e3 * r['reference_s_per_step']:.2f}",
              f"{r['fit_peak_mb']:.0f}"] for r in res["scaling_dims"]]))
    if res.get("ot_cost"):
        parts.append("### OT pairing cost (d=5)\n\n" + markdown_table(
            ["OT minibatch", "one POT solve ms", "scipy assignment ms", "pair_pool s", "pairs/s"],
            [[r["ot_batch"], f"{1e3 * r['solve_s']:.1f}",
              f"{1e3 * r.get('scipy_assignment_s', float('nan')):.1f}", f"{r['pair_pool_s']:.2f}",
              f"{r['pairs_per_s']:.0f}"] for r in res["ot_cost"]]))
    return "\n\n".join(parts) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description="Speed benchmarks.")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", default=True)
    g.add_argument("--full", action="store_true")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--name", default=None)
    args = p.parse_args(argv)
    configure_threads(args.threads)
    quick = not args.full
    res = run(quick=quick, device=args.device)
    md = speed_markdown(res)
    log(md)
    name = args.name or f"speed_{'quick' if quick else 'full'}"
    payload = {"machine": machine_info(args.device), "mode": "quick" if quick else "full",
               "speed": res}
    write_results(name, payload, md)


if __name__ == "__main__":
    main()
