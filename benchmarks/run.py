"""One command for every benchmark of sklearn-am.

    python benchmarks/run.py --quick     # a few minutes on 2 CPU cores
    python benchmarks/run.py --full      # long: 5 seeds, all datasets, full grid (GPU welcome)

Writes ``benchmarks/results/<name>.json`` (machine info, settings, every record,
aggregates) and ``benchmarks/results/<name>.md`` (the tables), and prints the tables.
Sections (``--sections``): ``synthetic`` (Gaussian transport at d = 2, 5, 10, 50,
nonlinear, branching), ``real`` (the four Var-RUOT files), ``speed``.
See benchmarks/README.md for the protocols.
"""

import argparse
import copy
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import accuracy, peers, speed  # noqa: E402
from benchmarks._common import (  # noqa: E402
    SEEDS,
    configure_threads,
    log,
    machine_info,
    write_results,
)
from benchmarks.data import REAL_DATASETS, available_real, default_data_dir, synthetic_names  # noqa: E402
from sklearn_am import ActionMatchingRegressor  # noqa: E402

DEFAULTS_LABEL = "AM (defaults)"

MODES = {
    # Quick: tiny iteration counts, small synthetic samples, 3 seeds (the protocol's minimum).
    "quick": dict(
        synthetic=["gaussian_2d", "branching"],
        real=["emt"],
        n_per_time=200,
        seeds_synthetic=3,
        seeds_real=3,
        max_iter=100,
        grid=peers.AM_GRID_QUICK,  # the defaults row is a grid member too
        cfm_solvers=("dopri5",),
        equal_time=True,
    ),
    # Full: library defaults (max_iter from the estimators), 5 seeds, every dataset, the full grid.
    "full": dict(
        synthetic=synthetic_names("full"),
        real=list(REAL_DATASETS),
        n_per_time=1000,
        seeds_synthetic=5,
        seeds_real=5,
        max_iter=None,
        grid=peers.AM_GRID_FULL,
        cfm_solvers=("dopri5", "euler"),
        equal_time=True,
    ),
}


def build_methods(cfg, device="auto", grid=True, peers_on=True, cfm=True, estimators=None):
    """The line-up: our estimators (defaults), the grid, the peers, the baselines."""
    base = {"device": device}
    if cfg["max_iter"] is not None:
        base["max_iter"] = cfg["max_iter"]
    methods = peers.am_methods(base, estimators)
    ref_name = methods[0].name
    # Peers get the same optimiser steps as our defaults row.
    steps = cfg["max_iter"] or ActionMatchingRegressor().max_iter
    if grid:
        for params in cfg["grid"]:
            p = {**base, **params}
            if cfg["max_iter"] is not None and "max_iter" in params:
                p["max_iter"] = cfg["max_iter"]  # quick mode: keep iteration counts tiny
            label = "AM grid: " + ", ".join(f"{k}={v}" for k, v in params.items())
            m = peers.AMMethod("ActionMatchingRegressor", p, label=label)
            m.grid = True
            methods.append(m)
    if peers_on:
        methods += peers.peer_methods(steps, solvers=cfg["cfm_solvers"] if cfm else ())
        for m in methods:
            if isinstance(m, peers.CFMMethod):
                m.device = device
        if cfg["equal_time"] and cfm:
            for variant in ("ot", "i"):
                m = peers.CFMMethod(variant, max_iter=steps, device=device,
                                    label=f"{'OT' if variant == 'ot' else 'I'}-CFM (dopri5, "
                                          f"equal wall time)")
                m.match_time_of = ref_name
                methods.append(m)
    return methods


def select_best_of_grid(records):
    """Per dataset, copy the records of the grid config with the lowest mean LOO W1.

    The copy is labelled "AM (best of grid: …)". The selection uses the reported
    metric itself (an oracle choice, an upper bound on what tuning achieves).
    """
    out = []
    for ds in dict.fromkeys(r["dataset"] for r in records):
        grid = [r for r in records if r["dataset"] == ds
                and (r.get("grid") or r["method"] == DEFAULTS_LABEL)]
        if not grid:
            continue
        scores = {}
        for name in dict.fromkeys(r["method"] for r in grid):
            loo = [r["w1"] for r in grid if r["method"] == name and r["protocol"] == "loo"]
            chain = [r["w1"] for r in grid if r["method"] == name and r["protocol"] == "chain"]
            vals = loo or chain
            if vals:
                scores[name] = sum(vals) / len(vals)
        if not scores:
            continue
        best = min(scores, key=scores.get)
        label = ("AM (best of grid: defaults)" if best == DEFAULTS_LABEL
                 else best.replace("AM grid: ", "AM (best of grid: ") + ")")
        for r in grid:
            if r["method"] == best:
                c = copy.deepcopy(r)
                c["method"], c["grid"], c["best_of_grid"] = label, False, True
                out.append(c)
    return out


def run_accuracy(datasets, methods, seeds, cfg, data_dir, device, records):
    for ds in datasets:
        log(f"== {ds}")
        for m in methods:  # equal-time budgets are per dataset
            if getattr(m, "match_time_of", None):
                m.time_budget = None
        recs = accuracy.run_dataset(ds, methods, seeds=seeds, data_dir=data_dir,
                                    n_per_time=cfg["n_per_time"], device=device)
        for r in recs:
            m = next(mm for mm in methods if mm.name == r["method"])
            r["grid"] = bool(getattr(m, "grid", False))
        records += recs


def markdown(payload):
    recs = [r for r in payload["records"] if not r.get("grid")]
    m = payload["machine"]
    head = (f"# sklearn-am benchmarks — {payload['name']} ({payload['mode']} mode)\n\n"
            f"Machine: {m['platform']}, {m['cpu_count']} CPUs, torch {m['torch']} "
            f"({m['torch_threads']} thread(s)), scikit-learn {m['sklearn']}, POT {m['pot']}, "
            f"torchcfm {m['torchcfm']}, device {m['device']}. Seeds: {payload['seeds']}. "
            f"Total wall time {payload['total_seconds']:.0f} s.\n\n"
            "W1/W2: `ot.emd2`, uniform weights, Euclidean cost. LOO: train without snapshot k, "
            "push all of k−1 to t_k, mean over interior k. Whole: train on all, push first → last. "
            "Chain (Var-RUOT): train on all, chained rollout from t0, W at every later t. "
            "Hold-one-out chain: rollout from t0 to the held-out t_k. Costs are per fit "
            "(fit s, peak MB above the start: "
            f"{'CUDA max_memory_allocated' if m['device'].startswith('cuda') else 'CPU RSS'}) "
            "and per protocol's pushes (infer s). Best of grid is an oracle choice on LOO W1.\n\n")
    parts = [head]
    if recs:
        parts.append("## Accuracy\n\n" + accuracy.summary_markdown(recs))
    if payload.get("speed"):
        parts.append("## Speed\n\n" + speed.speed_markdown(payload["speed"]))
    return "\n".join(parts)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="minutes on 2 CPU cores (default)")
    g.add_argument("--full", action="store_true", help="long runs: 5 seeds, all data, grid")
    p.add_argument("--name", default=None, help="results/<name>.json|md (default: the mode)")
    p.add_argument("--sections", default="synthetic,real,speed",
                   help="comma list of synthetic, real, speed")
    p.add_argument("--datasets", default=None,
                   help="comma list overriding the mode's datasets (synthetic or real names)")
    p.add_argument("--seeds", type=int, default=None, help="number of seeds (override)")
    p.add_argument("--max-iter", type=int, default=None,
                   help="optimiser steps of ours and of the peers (override)")
    p.add_argument("--n-per-time", type=int, default=None, help="synthetic points per snapshot")
    p.add_argument("--no-grid", action="store_true")
    p.add_argument("--no-peers", action="store_true", help="ours only (no peers, no baselines)")
    p.add_argument("--estimators", default=None,
                   help="comma list of sklearn_am estimators (default: all exported)")
    p.add_argument("--no-cfm", action="store_true", help="skip the TorchCFM peers (keep baselines)")
    p.add_argument("--data-dir", default=None,
                   help="folder of the real CSVs (default $SKLEARN_AM_DATA or ../shared/data)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads (default 1; 0 = torch's default)")
    p.add_argument("--out-dir", default=None)
    args = p.parse_args(argv)

    mode = "full" if args.full else "quick"
    cfg = dict(MODES[mode])
    if args.max_iter is not None:
        cfg["max_iter"] = args.max_iter
    if args.n_per_time is not None:
        cfg["n_per_time"] = args.n_per_time
    if args.seeds is not None:
        cfg["seeds_synthetic"] = cfg["seeds_real"] = args.seeds
    sections = set(args.sections.split(","))
    synth, real = cfg["synthetic"], cfg["real"]
    if args.datasets:
        chosen = args.datasets.split(",")
        synth = [d for d in chosen if d not in REAL_DATASETS and not d.endswith((".csv", ".npz"))]
        real = [d for d in chosen if d in REAL_DATASETS or d.endswith((".csv", ".npz"))]
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    configure_threads(args.threads)
    name = args.name or mode
    start = time.perf_counter()
    machine = machine_info(args.device)
    log(f"sklearn-am benchmarks: mode={mode}, device={machine['device']}, "
        f"threads={machine['torch_threads']}, torchcfm={machine['torchcfm']}")
    methods = build_methods(cfg, device=args.device, grid=not args.no_grid,
                            peers_on=not args.no_peers, cfm=not args.no_cfm,
                            estimators=args.estimators.split(",") if args.estimators else None)
    records = []
    seeds_syn = list(SEEDS[: cfg["seeds_synthetic"]])
    seeds_real = list(SEEDS[: cfg["seeds_real"]])
    if "synthetic" in sections and synth:
        run_accuracy(synth, methods, seeds_syn, cfg, data_dir, args.device, records)
    if "real" in sections and real:
        present = [d for d in real if d not in REAL_DATASETS or d in available_real(data_dir)]
        missing = sorted(set(real) - set(present))
        if missing:
            log(f"real data missing in {data_dir}: {missing} (skipped)")
        run_accuracy(present, methods, seeds_real, cfg, data_dir, args.device, records)
    records += select_best_of_grid(records)
    speed_res = None
    if "speed" in sections:
        log("== speed")
        speed_res = speed.run(quick=mode == "quick", device=args.device)
    payload = {
        "name": name, "mode": mode, "machine": machine,
        "seeds": {"synthetic": seeds_syn, "real": seeds_real},
        "settings": {k: v for k, v in cfg.items() if k != "grid"}, "grid": cfg["grid"],
        "data_dir": str(data_dir), "argv": sys.argv[1:] if argv is None else list(argv),
        "methods": [m.info() for m in methods],
        "published": {"var_ruot_w1": accuracy.PUBLISHED_VAR_RUOT_W1,
                      "eb_loo_w1": accuracy.PUBLISHED_EB_LOO_W1},
        "records": records,
        "aggregates": [{"dataset": d, "method": me, **e}
                       for (d, me), e in accuracy.aggregate(records).items()] if records else [],
        "speed": speed_res,
    }
    payload["total_seconds"] = time.perf_counter() - start
    md = markdown(payload)
    json_path, md_path = write_results(name, payload, md, args.out_dir)
    log(md)
    log(f"wrote {json_path} and {md_path} in {payload['total_seconds']:.0f} s")
    return payload


if __name__ == "__main__":
    main()
