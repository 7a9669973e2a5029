"""Accuracy protocols: leave-one-time-point-out, whole path, Var-RUOT chained rollout.

For one method, one dataset and one seed, :func:`evaluate` fits

- once on **all** snapshots, and measures
  - ``whole``: push every point of the first snapshot to the last time in one
    call, W1 against the last snapshot;
  - ``chain`` (Var-RUOT's main protocol): chained rollout from the first
    snapshot's points, t0→t1, then those points t1→t2, …; W1 and W2 against
    the observed snapshot at every later time;
  - ``velocity`` (synthetic data only): relative velocity MSE
    Σ‖v̂ − v‖² / Σ‖v‖² against ``truth.velocity`` at fresh draws of the true
    marginals at 9 evenly spaced times;
- once per **interior** snapshot k with snapshot k removed, and measures
  - ``loo`` (TrajectoryNet / TorchCFM protocol): push every point of snapshot
    k−1 to t_k, W1 against the held-out snapshot k;
  - ``chain_loo`` (Var-RUOT's hold-one-out variant): chained rollout from t0
    through every time up to t_k, W1 and W2 at the held-out t_k.

W_p is :func:`sklearn_am.metrics.wasserstein_distance` (``ot.emd2``, uniform
weights, Euclidean cost; ``common.wasserstein``); the two chained protocols share
:func:`.rollout.rollout_distances`. Each fit records its wall time, the peak memory
above its start, and the optimiser steps; each protocol records the wall time of
its pushes.

Run ``python -m benchmarks.protocols.accuracy --dataset emt --max-iter 300`` for one
dataset (``--peers`` adds the peers and baselines).
"""

import argparse
import time

import numpy as np

from sklearn_am import ActionMatchingRegressor

from ..common import (
    Measure,
    fmt_ms,
    log,
    markdown_table,
    mean_std,
    relative_velocity_error,
    resolve_device,
    wasserstein,
)
from ..data import get_dataset
from ..methods import am_methods, peer_methods
from .rollout import rollout_distances

#: Published W1 per later time, Var-RUOT protocol (train on all times, chained rollout
#: from t0; 5 runs). Source: Var-RUOT, NeurIPS 2025, arXiv 2505.11823, main tables, as
#: transcribed in shared/data/README.md ("read from the paper's text; check the PDF
#: before quoting a single cell").
PUBLISHED_VAR_RUOT_W1 = {
    "simulation_gene": {
        "Action Matching (Var-RUOT paper)": [0.380, 0.503, 0.629, 0.848],
        "OT-CFM": [0.104, 0.208, 0.290, 0.311],
        "SF2M": [0.191, 0.471, 0.765, 2.188],
        "DeepRUOT": [0.057, 0.081, 0.125, 0.154],
        "Var-RUOT (best)": [0.045, 0.039, 0.045, 0.057],
    },
    "emt": {
        "Action Matching (Var-RUOT paper)": [0.472, 0.638, 0.845],
        "OT-CFM": [0.256, 0.270, 0.280],
        "SF2M": [0.257, 0.281, 0.290],
        "DeepRUOT": [0.290, 0.319, 0.329],
        "Var-RUOT (best)": [0.254, 0.267, 0.268],
    },
    "mouse_hematopoiesis": {
        "Action Matching (Var-RUOT paper)": [0.472, 0.835],
        "OT-CFM": [0.367, 0.322],
        "SF2M": [0.171, 0.160],
        "DeepRUOT": [0.146, 0.147],
        "Var-RUOT (best)": [0.120, 0.143],
    },
}

#: Published leave-one-time-point-out W1 on Embryoid body, 5-D whitened PCA
#: (mean ± std over 5 seeds). Source: Tong et al., "Improving and generalizing
#: flow-based generative models with minibatch optimal transport" (TMLR 2024),
#: Table 4. Only comparable when an EB file is given.
PUBLISHED_EB_LOO_W1 = {
    "OT-CFM": (0.790, 0.068),
    "I-CFM": (0.872, None),
    "[SF]2M-Exact": (0.793, None),
    "TrajectoryNet": (0.848, None),
}

#: Points per time for the velocity error of synthetic data.
VELOCITY_POINTS = 500


def _fit(method, X, t, seed, device):
    with Measure(device) as m:
        method.fit(X, t, seed)
    return {"train_s": m.seconds, "peak_mb": m.peak_mb, "memory_kind": m.memory_kind,
            "steps": method.steps()}


def _timed_push(method, X, t_from, t_to, reference):
    """W1 of one push against ``reference``, weighted by its growth factors, and its seconds."""
    start = time.perf_counter()
    y, w = method.push(X, t_from, t_to)
    seconds = time.perf_counter() - start
    return wasserstein(y, reference, x_weights=w), seconds


def evaluate(method, X, t, seed, truth=None, protocols=None, device="auto"):
    """All protocol records of one method on one dataset for one seed (see module doc)."""
    device = resolve_device(device)
    protocols = set(protocols or ("loo", "whole", "chain", "chain_loo", "velocity"))
    wanted = protocols & (set(method.protocols) | {"velocity"})
    times = np.unique(t)
    snaps = [X[t == s] for s in times]
    records = []

    def rec(protocol, cost, **kw):
        records.append({"method": method.name, "seed": seed, "protocol": protocol, **cost, **kw})

    if wanted & {"whole", "chain", "velocity"} and "chain" in method.protocols:
        cost = _fit(method, X, t, seed, device)
        if "chain" in wanted:
            rows, infer = rollout_distances(method, snaps, times)
            for row in rows:
                rec("chain", cost, **row, infer_s=infer)
        if "whole" in wanted:
            w1, infer = _timed_push(method, snaps[0], times[0], times[-1], snaps[-1])
            rec("whole", cost, time=float(times[-1]), w1=w1, infer_s=infer)
        if "velocity" in wanted and truth is not None and method.has_velocity:
            rel_mse, infer = _velocity_error(method, truth, times)
            rec("velocity", cost, rel_mse=rel_mse, infer_s=infer)

    if wanted & {"loo", "chain_loo"} and len(times) >= 3:
        for k in range(1, len(times) - 1):
            keep = t != times[k]
            cost = _fit(method, X[keep], t[keep], seed, device)
            if "loo" in wanted:
                w1, infer = _timed_push(method, snaps[k - 1], times[k - 1], times[k], snaps[k])
                rec("loo", cost, time=float(times[k]), k=k, w1=w1, infer_s=infer)
            if "chain_loo" in wanted:
                rows, infer = rollout_distances(method, snaps[: k + 1], times[: k + 1],
                                                last_only=True)
                rec("chain_loo", cost, **rows[0], k=k, infer_s=infer)
    return records


def _velocity_error(method, truth, times):
    """Relative velocity MSE at fresh draws of the true marginal at 9 times, and its seconds."""
    pred, true = [], []
    start = time.perf_counter()
    for i, s in enumerate(np.linspace(times[0], times[-1], 9)):
        P = truth.sample(VELOCITY_POINTS, float(s), random_state=1000 + i)
        pred.append(method.velocity(P, float(s)))
        true.append(truth.velocity(P, float(s)))
    seconds = time.perf_counter() - start
    return relative_velocity_error(np.concatenate(pred), np.concatenate(true)), seconds


def run_dataset(name, methods, seeds=(0,), data_dir=None, n_per_time=1000, protocols=None,
                device="auto", progress=True):
    """Records of every method × seed on one dataset.

    Synthetic data are redrawn per seed (seed = data seed = training seed); real
    data are fixed and only the training seed changes. A method with
    ``match_time_of = "<name>"`` gets ``time_budget`` = the mean training time of
    that method's fits on this dataset (equal wall time).
    """
    records = []
    for method in methods:
        ref = method.match_time_of
        if ref is not None:
            fits = [r["train_s"] for r in records if r["method"] == ref]
            if not fits:
                log(f"  skip {method.name}: no fits of {ref!r} to match")
                continue
            method.time_budget = float(np.mean(fits))
        for seed in seeds:
            X, t, truth = get_dataset(name, data_dir, n_per_time, seed)
            recs = evaluate(method, X, t, seed, truth=truth, protocols=protocols, device=device)
            for r in recs:
                r["dataset"], r["grid"] = name, method.grid
            records += recs
            if progress:
                log("  " + _progress_line(name, method.name, seed, recs))
    return records


def _progress_line(name, method, seed, recs):
    parts = [f"{name} | {method} | seed {seed}"]
    for proto in ("loo", "whole", "chain", "chain_loo"):
        v = [r["w1"] for r in recs if r["protocol"] == proto]
        if v:
            parts.append(f"{proto} W1 {np.mean(v):.4f}")
    v = [r["rel_mse"] for r in recs if r["protocol"] == "velocity"]
    if v:
        parts.append(f"vel {v[0]:.4f}")
    tr = [r["train_s"] for r in recs]
    if tr:
        parts.append(f"fit {np.mean(tr):.1f}s")
    return " | ".join(parts)


# --------------------------------------------------------------------------- #
# Summaries
# --------------------------------------------------------------------------- #


def aggregate(records):
    """Per (dataset, method): protocol → mean ± std over seeds, with costs.

    For ``loo``/``chain_loo`` the per-seed value is the mean over held-out k; for
    ``chain`` the per-time values are kept (and their mean).
    """
    out = {}
    # Datasets in sorted order, methods in order of first appearance.
    keys = sorted(dict.fromkeys((r["dataset"], r["method"]) for r in records), key=lambda k: k[0])
    for ds, me in keys:
        rs = [r for r in records if r["dataset"] == ds and r["method"] == me]
        entry = {"seeds": sorted({r["seed"] for r in rs})}
        for proto in ("loo", "whole", "chain", "chain_loo"):
            pr = [r for r in rs if r["protocol"] == proto]
            if not pr:
                continue
            metrics = ("w1", "w2") if proto in ("chain", "chain_loo") else ("w1",)
            seeds = sorted({r["seed"] for r in pr})
            e = {m: mean_std([np.mean([r[m] for r in pr if r["seed"] == s]) for s in seeds])
                 for m in metrics}
            if proto != "whole":
                e["times"] = sorted({r["time"] for r in pr})
                for m in metrics:
                    e[f"{m}_per_time"] = [mean_std([r[m] for r in pr if r["time"] == tt])
                                          for tt in e["times"]]
            e["infer_s"] = float(np.mean([r["infer_s"] for r in pr]))
            entry[proto] = e
        vel = [r["rel_mse"] for r in rs if r["protocol"] == "velocity"]
        if vel:
            entry["velocity"] = {"rel_mse": mean_std(vel)}
        # Costs per fit (each fit appears once per protocol record set: dedupe).
        fits = {(r["seed"], r.get("k")): r for r in rs if "train_s" in r}
        entry["train_s"] = float(np.mean([r["train_s"] for r in fits.values()]))
        entry["peak_mb"] = float(np.nanmax([r["peak_mb"] for r in fits.values()]))
        steps = [r.get("steps") for r in fits.values() if r.get("steps") is not None]
        entry["steps"] = float(np.mean(steps)) if steps else None
        out[(ds, me)] = entry
    return out


def summary_markdown(records, published=True):
    """Markdown: one table per dataset, a cross-dataset LOO table, the published comparison."""
    agg = aggregate(records)
    datasets = list(dict.fromkeys(r["dataset"] for r in records))
    parts = []
    header = ["method", "LOO W1", "whole W1", "chain W1 per t", "chain W2 per t",
              "hold-one-out chain W1", "rel. vel. MSE", "steps", "fit s", "infer s",
              "peak MB"]
    for ds in datasets:
        rows = []
        for (d, me), e in agg.items():
            if d != ds:
                continue
            loo, wh, ch, chl = (e.get(p, {}) for p in ("loo", "whole", "chain", "chain_loo"))
            infer = [x.get("infer_s") for x in (loo, wh, ch) if x]
            rows.append([
                me,
                fmt_ms(*loo["w1"]) if loo else "—",
                fmt_ms(*wh["w1"]) if wh else "—",
                " / ".join(fmt_ms(*v) for v in ch["w1_per_time"]) if ch else "—",
                " / ".join(fmt_ms(*v) for v in ch["w2_per_time"]) if ch else "—",
                fmt_ms(*chl["w1"]) if chl else "—",
                fmt_ms(*e["velocity"]["rel_mse"], digits=4) if "velocity" in e else "—",
                f"{e['steps']:.0f}" if e.get("steps") else "—",
                f"{e['train_s']:.1f}",
                f"{np.mean(infer):.2f}" if infer else "—",
                f"{e['peak_mb']:.0f}",
            ])
        seeds = max((len(e["seeds"]) for (d, _), e in agg.items() if d == ds), default=0)
        parts.append(f"### {ds} ({seeds} seed{'s' if seeds != 1 else ''})\n\n"
                     + markdown_table(header, rows))
    if published:
        pub = published_comparison(records)
        if pub:
            parts.append(pub)
    return "\n\n".join(parts) + "\n"


def published_comparison(records):
    """Our chained-rollout W1 per time beside the published Var-RUOT rows."""
    agg = aggregate(records)
    parts = []
    for ds, table in PUBLISHED_VAR_RUOT_W1.items():
        ours = [(me, e["chain"]) for (d, me), e in agg.items() if d == ds and "chain" in e]
        if not ours:
            continue
        rows = [[me + " (this run)", " / ".join(fmt_ms(*v) for v in ch["w1_per_time"])]
                for me, ch in ours]
        rows += [[f"{k} — published", " / ".join(f"{v:.3f}" for v in vals)]
                 for k, vals in table.items()]
        parts.append(f"### {ds}: Var-RUOT protocol, W1 at t = 1, 2, … (published rows: "
                     "Var-RUOT, arXiv 2505.11823)\n\n"
                     + markdown_table(["method", "W1 per t"], rows))
    return "\n\n".join(parts)


def main(argv=None):
    p = argparse.ArgumentParser(description="Accuracy protocols on one dataset.")
    p.add_argument("--dataset", default="emt")
    p.add_argument("--max-iter", type=int, default=ActionMatchingRegressor().max_iter,
                   help="optimiser steps of every method (default: the estimator's default)")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--n-per-time", type=int, default=500)
    p.add_argument("--peers", action="store_true", help="also the peers and baselines")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    methods = am_methods({"max_iter": args.max_iter})
    if args.peers:
        methods += peer_methods(args.max_iter)
    recs = run_dataset(args.dataset, methods, seeds=tuple(range(args.seeds)),
                       data_dir=args.data_dir, n_per_time=args.n_per_time)
    log(summary_markdown(recs))


if __name__ == "__main__":
    main()
