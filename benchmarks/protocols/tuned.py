"""More compute than the defaults: chained-rollout W1 on real data for a few settings.

Backs the README's "More compute, better fits": the Var-RUOT chained rollout of
:mod:`.accuracy` (train on all times, push the first snapshot through every later
time, W1 at each; :func:`.rollout.rollout_distances`, which carries the growth
factors of ``UnbalancedActionMatching``), for the defaults and for larger batches /
more steps / a larger network. One seed unless told otherwise.

    python -m benchmarks.run --sections tuned          # mouse + simulation_gene
    python -m benchmarks.run --sections tuned --datasets emt --name tuned_emt

writes ``results/tuned.{json,md}`` (``--name`` otherwise).
"""

import time

import numpy as np

from ..common import log, markdown_table
from ..data import load_real
from ..methods import AMMethod
from .rollout import rollout_distances

#: Datasets of the section unless ``--datasets`` says otherwise.
DATASETS = ("mouse_hematopoiesis", "simulation_gene")

#: (label, estimator name, parameters) tried on every dataset.
SETTINGS = [
    ("AM defaults", "ActionMatchingRegressor", {}),
    ("AM batch_size=1024", "ActionMatchingRegressor", {"batch_size": 1024}),
    ("AM max_iter=4000", "ActionMatchingRegressor", {"max_iter": 4000}),
    ("AM 256x3, batch 1024, 4000 steps", "ActionMatchingRegressor",
     {"hidden_layer_sizes": (256, 256, 256), "batch_size": 1024, "max_iter": 4000}),
    ("uAM defaults", "UnbalancedActionMatching", {}),
]


def run(datasets=DATASETS, settings=None, seeds=(0,), data_dir=None):
    """One record per dataset × setting × seed: chained-rollout W1 per later time, fit time."""
    records = []
    for name in datasets:
        X, t = load_real(name, data_dir)
        times = np.unique(t)
        snaps = [X[t == s] for s in times]
        for label, estimator, params in settings or SETTINGS:
            for seed in seeds:
                method = AMMethod(estimator, params, label=label)
                start = time.perf_counter()
                method.fit(X, t, seed)
                fit_s = time.perf_counter() - start
                rows, _ = rollout_distances(method, snaps, times, orders=(1,))
                w1 = [row["w1"] for row in rows]
                records.append({"dataset": name, "setting": label, "params": params,
                                "seed": seed, "chain_w1": w1, "fit_s": fit_s})
                log(f"  {name} | {label} | seed {seed} | chain W1 "
                    f"{' / '.join(f'{v:.3f}' for v in w1)} | fit {fit_s:.1f} s")
    return records


def markdown(records, machine):
    """The section's markdown: one row per record, after a line of machine info."""
    seeds = len({r["seed"] for r in records})
    info = ", ".join(f"{k}={v}" for k, v in machine.items())
    rows = [[r["dataset"], r["setting"], " / ".join(f"{v:.3f}" for v in r["chain_w1"]),
             f"{np.mean(r['chain_w1']):.3f}", f"{r['fit_s']:.0f}"] for r in records]
    return (f"# More compute: chained-rollout W1 ({'one seed' if seeds == 1 else f'{seeds} seeds'})"
            f"\n\nMachine: {info}\n\n"
            + markdown_table(["dataset", "setting", "W1 per t", "mean", "fit s"], rows) + "\n")
