"""One command for every benchmark of sklearn-am, run from the repository root.

    python -m benchmarks.run --quick     # a few minutes on 2 CPU cores
    python -m benchmarks.run --full      # long: 5 seeds, all datasets, full grid (GPU welcome)
    python -m benchmarks.run --sections tuned     # more compute on real data: results/tuned.*

Writes ``benchmarks/results/<name>.json`` (machine info, settings, every record,
aggregates) and ``benchmarks/results/<name>.md`` (the tables), and prints the tables.
Sections (``--sections``): ``synthetic`` (Gaussian transport at d = 2, 5, 10, 50,
nonlinear, branching), ``real`` (the four Var-RUOT files), ``speed``, and the opt-in
standalone sections with their own files, ``tuned`` (more compute on real data),
``memory`` (peak RSS against the number of rows), ``callbacks`` (overhead of
progress bars and callbacks), ``targets`` (issue 10's accuracy targets with the
defaults, ``--seeds`` of them), ``tta`` (time to accuracy against OT-CFM, with a
PNG), ``generative`` (ActionMatchingDensity against GMM, KDE and OT-CFM) and
``ablation`` (each training default of plain AM reverted in turn), ``gpu`` (short fits
on the default device: the GPU column). See
benchmarks/README.md.
"""

import argparse
import copy
import math
import sys
import time
from pathlib import Path

from sklearn_am import ActionMatchingRegressor

from .common import SEEDS, configure_threads, log, machine_info, write_results
from .data import REAL_DATASETS, SYNTHETIC_DATASETS, available_real, default_data_dir, is_real
from .methods import (
    AM_GRID_FULL,
    AM_GRID_QUICK,
    DEFAULTS_LABEL,
    am_methods,
    equal_time_methods,
    grid_methods,
    peer_methods,
)
from .protocols import (ablation, accuracy, callbacks, draws, generative, gpu, impute, memory,
                        slow, speed, targets, tta, tuned)

#: Every section, and those run unless ``--sections`` says otherwise. Standalone
#: sections write their own files, ``<section>.{json,md}``.
SECTIONS = ("synthetic", "real", "speed", "tuned", "memory", "callbacks", "targets", "tta",
            "generative", "ablation", "gpu", "draws", "slow", "impute")
STANDALONE = ("tuned", "memory", "callbacks", "targets", "tta", "generative", "ablation", "gpu",
              "draws", "slow", "impute")
DEFAULT_SECTIONS = "synthetic,real,speed"

MODES = {
    # Quick: tiny iteration counts, small synthetic samples, 3 seeds (the protocol's minimum).
    "quick": dict(
        synthetic=["gaussian_2d", "branching"],
        real=["emt"],
        n_per_time=200,
        seeds_synthetic=3,
        seeds_real=3,
        max_iter=100,
        grid=AM_GRID_QUICK,  # the defaults row is a grid member too
        cfm_solvers=("dopri5",),
        equal_time=True,
    ),
    # Full: library defaults (max_iter from the estimators), 5 seeds, every dataset, the full grid.
    "full": dict(
        synthetic=list(SYNTHETIC_DATASETS),
        real=list(REAL_DATASETS),
        n_per_time=1000,
        seeds_synthetic=5,
        seeds_real=5,
        max_iter=None,
        grid=AM_GRID_FULL,
        cfm_solvers=("dopri5", "euler"),
        equal_time=True,
    ),
}


def build_methods(cfg, device="auto", grid=True, peers_on=True, cfm=True, estimators=None):
    """The line-up: our estimators (defaults), the grid, the peers, the baselines."""
    base = {"device": device}
    if cfg["max_iter"] is not None:
        base["max_iter"] = cfg["max_iter"]
    methods = am_methods(base, estimators)
    reference = methods[0].name
    # Peers get the same optimiser steps as our defaults row.
    steps = cfg["max_iter"] or ActionMatchingRegressor().max_iter
    if grid:
        methods += grid_methods(cfg["grid"], base, max_iter=cfg["max_iter"])
    if peers_on:
        methods += peer_methods(steps, solvers=cfg["cfm_solvers"] if cfm else (), device=device)
        if cfg["equal_time"] and cfm:
            methods += equal_time_methods(reference, steps, device=device)
    return methods


def select_best_of_grid(records):
    """Per dataset, copy the records of the grid config with the lowest mean LOO W1.

    The copy is labelled "AM (best of grid: …)". The selection uses the reported
    metric itself (an oracle choice, an upper bound on what tuning achieves).
    """
    out = []
    for ds in dict.fromkeys(r["dataset"] for r in records):
        grid = [r for r in records if r["dataset"] == ds
                and (r["grid"] or r["method"] == DEFAULTS_LABEL)]
        if not grid:
            continue
        scores = {}
        for name in dict.fromkeys(r["method"] for r in grid):
            loo = [r["w1"] for r in grid if r["method"] == name and r["protocol"] == "loo"]
            chain = [r["w1"] for r in grid if r["method"] == name and r["protocol"] == "chain"]
            vals = loo or chain
            if vals:  # a diverged config (NaN) is never the best
                score = sum(vals) / len(vals)
                scores[name] = score if math.isfinite(score) else math.inf
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


def run_accuracy(datasets, methods, seeds, cfg, data_dir, device):
    """Accuracy records of every method on every dataset."""
    records = []
    for ds in datasets:
        log(f"== {ds}")
        records += accuracy.run_dataset(ds, methods, seeds=seeds, data_dir=data_dir,
                                        n_per_time=cfg["n_per_time"], device=device)
    return records


def run_tuned(datasets, seeds, data_dir, name, out_dir, machine):
    """The ``tuned`` section: its records, written to ``<name>.{json,md}``."""
    log("== tuned")
    records = tuned.run(datasets, seeds=seeds, data_dir=data_dir)
    md = tuned.markdown(records, machine)
    paths = write_results(name, {"machine": machine, "records": records}, md, out_dir)
    log(md)
    log(f"wrote {paths[0]} and {paths[1]}")
    return records


def run_standalone(section, name, out_dir, machine, **kwargs):
    """A standalone section (``memory``, ``callbacks``, ``targets``, ``tta``): its files."""
    module = {"memory": memory, "callbacks": callbacks, "targets": targets, "tta": tta,
              "generative": generative, "ablation": ablation, "gpu": gpu,
              "draws": draws, "slow": slow, "impute": impute}[section]
    log(f"== {section}")
    records = module.run(**kwargs)
    md = module.markdown(records, machine)
    paths = write_results(name, {"machine": machine, "records": records}, md, out_dir)
    log(md)
    log(f"wrote {paths[0]} and {paths[1]}")
    return records


def _real_present(names, data_dir):
    """The real datasets among ``names`` whose files exist (a line says which are missing)."""
    present = [d for d in names if d not in REAL_DATASETS or d in available_real(data_dir)]
    missing = sorted(set(names) - set(present))
    if missing:
        log(f"real data missing in {data_dir}: {missing} (skipped)")
    return present


def markdown(payload):
    recs = [r for r in payload["records"] if not r["grid"]]
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


def _parser():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="minutes on 2 CPU cores (default)")
    g.add_argument("--full", action="store_true", help="long runs: 5 seeds, all data, grid")
    p.add_argument("--name", default=None,
                   help="results/<name>.json|md (default: the mode; tuned alone: tuned)")
    p.add_argument("--sections", default=DEFAULT_SECTIONS,
                   help=f"comma list of {', '.join(SECTIONS)} (default {DEFAULT_SECTIONS})")
    p.add_argument("--datasets", default=None,
                   help="comma list overriding the mode's datasets (synthetic or real names)")
    p.add_argument("--seeds", type=int, default=None, help="number of seeds (override)")
    p.add_argument("--max-iter", type=int, default=None,
                   help="optimiser steps of ours and of the peers (override; not tuned)")
    p.add_argument("--n-per-time", type=int, default=None, help="synthetic points per snapshot")
    p.add_argument("--no-grid", action="store_true")
    p.add_argument("--no-peers", action="store_true", help="ours only (no peers, no baselines)")
    p.add_argument("--estimators", default=None,
                   help="comma list of sklearn_am estimators (default: all three)")
    p.add_argument("--no-cfm", action="store_true", help="skip the TorchCFM peers (keep baselines)")
    p.add_argument("--data-dir", default=None,
                   help="folder of the real CSVs (default $SKLEARN_AM_DATA or ../shared/data)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads (default 1; 0 = torch's default)")
    p.add_argument("--out-dir", default=None)
    return p


def _mode_config(args):
    """(mode, its settings with the command line's overrides)."""
    mode = "full" if args.full else "quick"
    cfg = dict(MODES[mode])
    if args.max_iter is not None:
        cfg["max_iter"] = args.max_iter
    if args.n_per_time is not None:
        cfg["n_per_time"] = args.n_per_time
    if args.seeds is not None:
        cfg["seeds_synthetic"] = cfg["seeds_real"] = args.seeds
    return mode, cfg


def _run_standalone_sections(sections, args, data_dir, real_tuned, machine):
    """Each standalone section asked for: its own result files."""
    for section in STANDALONE:
        if section not in sections:
            continue
        # Alone, it is the run ("<section>" by default); beside others, "<name>_<section>",
        # so that a named run never overwrites the published file.
        own = (args.name or section) if sections == {section} else \
            (f"{args.name}_{section}" if args.name else section)
        if section == "tuned":
            run_tuned(_real_present(real_tuned, data_dir), SEEDS[: args.seeds or 1], data_dir,
                      own, args.out_dir, machine)
        elif section == "targets":  # --datasets picks cases: real,diffusion,gaussian_ot,dense
            cases = args.datasets.split(",") if args.datasets else targets.CASES
            run_standalone(section, own, args.out_dir, machine,
                           seeds=SEEDS[: args.seeds or 3], data_dir=data_dir, cases=cases)
        elif section == "gpu":
            run_standalone(section, own, args.out_dir, machine, data_dir=data_dir)
        elif section == "ablation":
            run_standalone(section, own, args.out_dir, machine,
                           seeds=SEEDS[: args.seeds or 3], data_dir=data_dir)
        elif section in ("draws", "slow"):
            run_standalone(section, own, args.out_dir, machine,
                           n_draws=args.seeds or {"draws": 5, "slow": 3}[section])
        elif section == "impute":  # --datasets picks tables: iris,wine,breast_cancer,diabetes
            tables = args.datasets.split(",") if args.datasets else tuple(impute.TABLES)
            run_standalone(section, own, args.out_dir, machine,
                           seeds=SEEDS[: args.seeds or 3], tables=tables)
        else:
            run_standalone(section, own, args.out_dir, machine)


def _run_main_sections(sections, args, mode, cfg, synth, real, data_dir, machine, start, argv):
    """The synthetic, real and speed sections: one result file named after the run."""
    methods = build_methods(cfg, device=args.device, grid=not args.no_grid,
                            peers_on=not args.no_peers, cfm=not args.no_cfm,
                            estimators=args.estimators.split(",") if args.estimators else None)
    records = []
    seeds_syn = list(SEEDS[: cfg["seeds_synthetic"]])
    seeds_real = list(SEEDS[: cfg["seeds_real"]])
    if "synthetic" in sections and synth:
        records += run_accuracy(synth, methods, seeds_syn, cfg, data_dir, args.device)
    if "real" in sections and real:
        records += run_accuracy(_real_present(real, data_dir), methods, seeds_real, cfg,
                                data_dir, args.device)
    records += select_best_of_grid(records)
    speed_res = None
    if "speed" in sections:
        log("== speed")
        speed_res = speed.run(quick=mode == "quick", device=args.device)
    name = args.name or mode
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


def main(argv=None):
    p = _parser()
    args = p.parse_args(argv)
    mode, cfg = _mode_config(args)
    sections = set(args.sections.split(","))
    unknown = sections - set(SECTIONS)
    if unknown:
        p.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    synth, real, real_tuned = cfg["synthetic"], cfg["real"], list(tuned.DATASETS)
    if args.datasets:
        chosen = args.datasets.split(",")
        synth = [d for d in chosen if not is_real(d)]
        real = real_tuned = [d for d in chosen if is_real(d)]
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    configure_threads(args.threads)
    start = time.perf_counter()
    machine = machine_info(args.device)
    log(f"sklearn-am benchmarks: mode={mode}, sections={sorted(sections)}, "
        f"device={machine['device']}, threads={machine['torch_threads']}, "
        f"torchcfm={machine['torchcfm']}")
    _run_standalone_sections(sections, args, data_dir, real_tuned, machine)
    if not sections - set(STANDALONE):
        return None
    return _run_main_sections(sections, args, mode, cfg, synth, real, data_dir, machine, start,
                              argv)


if __name__ == "__main__":
    main()
