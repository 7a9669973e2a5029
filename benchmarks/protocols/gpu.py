"""Short fits on the default device (the GPU when there is one): issue 10's GPU column.

The recommended estimator on mouse, EMT (``ActionMatchingRegressor``) and the gene
network (``UnbalancedActionMatching``) at 300 and 1000 steps and with its defaults,
then mouse and EMT with larger batches (and a 256×3 network), which cost a GPU
almost nothing per step. Scored by the Var-RUOT chained rollout (W1 per later time);
the question is which settings reach the targets within about 5 s of fit.

    python -m benchmarks.run --sections gpu      # on a machine with a GPU
"""

import numpy as np

from sklearn_am import ActionMatchingRegressor, UnbalancedActionMatching

from ..common import log, markdown_table
from .targets import real_case

RUNS = (
    ("mouse_hematopoiesis", ActionMatchingRegressor, {"max_iter": 300}),
    ("mouse_hematopoiesis", ActionMatchingRegressor, {"max_iter": 1000}),
    ("mouse_hematopoiesis", ActionMatchingRegressor, {}),
    ("emt", ActionMatchingRegressor, {"max_iter": 300}),
    ("emt", ActionMatchingRegressor, {"max_iter": 1000}),
    ("emt", ActionMatchingRegressor, {}),
    ("simulation_gene", UnbalancedActionMatching, {"max_iter": 300}),
    ("simulation_gene", UnbalancedActionMatching, {"max_iter": 1000}),
    ("simulation_gene", UnbalancedActionMatching, {}),
    ("mouse_hematopoiesis", ActionMatchingRegressor, {"batch_size": 1024, "max_iter": 700}),
    ("mouse_hematopoiesis", ActionMatchingRegressor, {"batch_size": 1024, "max_iter": 1000}),
    ("mouse_hematopoiesis", ActionMatchingRegressor, {"batch_size": 2048, "max_iter": 700}),
    ("mouse_hematopoiesis", ActionMatchingRegressor,
     {"batch_size": 1024, "max_iter": 1000, "hidden_layer_sizes": (256, 256, 256)}),
    ("emt", ActionMatchingRegressor, {"batch_size": 1024, "max_iter": 600}),
)


def run(seed=0, data_dir=None):
    # Warm-up: the first fit of a process pays for the CUDA context and kernels.
    ActionMatchingRegressor(max_iter=20, random_state=0).fit(
        np.random.RandomState(0).randn(400, 2), np.repeat([0.0, 1.0], 200))
    records = []
    for name, cls, params in RUNS:
        rec, est = real_case(name, cls, seed, data_dir, params)
        rec.update(device=est.device_, settings=_settings(params))
        records.append(rec)
        log(f"  {name} {rec['settings']} on {rec['device']}: W1 "
            f"{' / '.join(f'{v:.3f}' for v in rec['w1'])} ({rec['fit_s']:.1f} s)")
    return records


def _settings(params):
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"


def markdown(records, machine):
    rows = [[r["case"], r["estimator"], r["settings"], r["device"], str(r["n_iter"]),
             f"{r['fit_s']:.1f}", " / ".join(f"{v:.3f}" for v in r["w1"])] for r in records]
    return (
        "# Short fits on the default device (issue 10's GPU column)\n\n"
        f"Machine: {machine.get('platform', '?')}, {machine.get('gpu', machine.get('device', '?'))}, "
        f"torch {machine['torch']}. One seed; Var-RUOT chained rollout, W1 per later time.\n\n"
        + markdown_table(["dataset", "estimator", "settings", "device", "steps", "fit s",
                          "W1 per later time"], rows)
    )
