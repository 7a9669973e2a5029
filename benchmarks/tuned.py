"""More compute than the defaults: chained-rollout W1 on real data for a few settings.

Backs the README's "More compute, better fits": the same Var-RUOT chained rollout as
``accuracy.py`` (train on all times, push the first snapshot through every later
time, W1 at each), for the defaults and for larger batches / more steps / a larger
network. One seed; the estimator suited to each dataset (``UnbalancedActionMatching``
carries particle weights through the chain).

    python benchmarks/tuned.py                       # mouse + simulation_gene, ~8 min on 2 CPU cores
    python benchmarks/tuned.py --datasets emt --name tuned_emt
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    configure_threads, machine_info, markdown_table, wasserstein, write_results,
)
from benchmarks.data import load_real  # noqa: E402
from sklearn_am import ActionMatchingRegressor, UnbalancedActionMatching  # noqa: E402

#: (label, estimator class, parameters) tried on every dataset.
SETTINGS = [
    ("AM defaults", ActionMatchingRegressor, {}),
    ("AM batch_size=1024", ActionMatchingRegressor, {"batch_size": 1024}),
    ("AM max_iter=4000", ActionMatchingRegressor, {"max_iter": 4000}),
    ("AM 256x3, batch 1024, 4000 steps", ActionMatchingRegressor,
     {"hidden_layer_sizes": (256, 256, 256), "batch_size": 1024, "max_iter": 4000}),
    ("uAM defaults", UnbalancedActionMatching, {}),
]


def chained_w1(model, X, t):
    """W1 at every later time of one rollout from the first snapshot (weighted for uAM)."""
    times = np.unique(t)
    points, weights, out = X[t == times[0]], np.ones((t == times[0]).sum()), []
    for a, b in zip(times[:-1], times[1:]):
        if isinstance(model, UnbalancedActionMatching):
            points, growth = model.push(points, a, b, return_weights=True)
            weights = weights * growth
        else:
            points = model.push(points, a, b)
        out.append(wasserstein(points, X[t == b], x_weights=weights / weights.sum()))
    return out


def run(datasets, settings=SETTINGS, seed=0, data_dir=None):
    records = []
    for name in datasets:
        X, t = load_real(name, data_dir)
        for label, cls, params in settings:
            start = time.perf_counter()
            model = cls(random_state=seed, **params).fit(X, t)
            fit_s = time.perf_counter() - start
            w1 = chained_w1(model, X, t)
            records.append({"dataset": name, "setting": label, "params": params, "seed": seed,
                            "chain_w1": w1, "fit_s": fit_s})
            print(f"  {name} | {label} | chain W1 {' / '.join(f'{v:.3f}' for v in w1)} "
                  f"| fit {fit_s:.1f} s", flush=True)
    return records


def markdown(records, info):
    rows = [[r["dataset"], r["setting"], " / ".join(f"{v:.3f}" for v in r["chain_w1"]),
             f"{np.mean(r['chain_w1']):.3f}", f"{r['fit_s']:.0f}"] for r in records]
    return (f"# More compute: chained-rollout W1 (one seed)\n\nMachine: {info}\n\n"
            + markdown_table(["dataset", "setting", "W1 per t", "mean", "fit s"], rows) + "\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default="mouse_hematopoiesis,simulation_gene")
    p.add_argument("--name", default="tuned")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    configure_threads(args.threads)
    info = machine_info()
    records = run(args.datasets.split(","), seed=args.seed, data_dir=args.data_dir)
    info_line = ", ".join(f"{k}={v}" for k, v in info.items() if not isinstance(v, dict))
    paths = write_results(args.name, {"machine": info, "records": records},
                          markdown(records, info_line))
    print(open(paths[1]).read())


if __name__ == "__main__":
    main()
