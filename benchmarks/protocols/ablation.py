"""Why the defaults are what they are: each training choice of plain AM switched off in turn.

On the data where the choices were made (issue 10), ``ActionMatchingRegressor`` with
its defaults beside the same with one choice reverted:

- **action form**: the loss as written (Monte Carlo of the action), not the path
  regression form, whatever the data, and no Gaussian base field (on slowly
  changing snapshots this is the defaults without the base: ``_gaussian_base``);
- **regression form**: path regression even on slowly changing snapshots (the
  defaults switch to the action form there, ``_dynamics.SLOW_RELATIVE_STEP``);
- **no early stopping**: ``early_stopping=False`` (all ``max_iter`` steps, the
  averaged weights kept).

Cases: mouse hematopoiesis (Var-RUOT chained rollout, mean W1 over later times) and
the diffusing Gaussian (worst relative velocity MSE over t, as in ``targets``).
The forms are forced with the estimator's ``objective`` parameter.

    python -m benchmarks.run --sections ablation
"""

import numpy as np

from sklearn_am import ActionMatchingRegressor

from ..common import log, markdown_table, mean_std
from .targets import diffusion_case, real_case


VARIANTS = (
    ("defaults", ActionMatchingRegressor, {}),
    ("action form", ActionMatchingRegressor, {"objective": "action"}),
    ("regression form", ActionMatchingRegressor, {"objective": "regression"}),
    ("no early stopping", ActionMatchingRegressor, {"early_stopping": False}),
)


def run(seeds=(0, 1, 2), data_dir=None):
    records = []
    for seed in seeds:
        for label, cls, params in VARIANTS:
            if label != "regression form":  # mouse is fast-changing: defaults are regression
                rec, _ = real_case("mouse_hematopoiesis", cls, seed, data_dir, params)
                rec.update(variant=label, score=float(np.mean(rec["w1"])))
                records.append(rec)
                log(f"  mouse {label} seed {seed}: mean W1 {rec['score']:.3f} "
                    f"({rec['fit_s']:.0f} s, {rec['n_iter']} steps)")
            # On the diffusing Gaussian, "action form" is the defaults without the base.
            rec = diffusion_case(None, seed, cls=cls, params=params)
            rec.update(variant=label, score=rec["velocity_max"])
            records.append(rec)
            log(f"  diffusion {label} seed {seed}: worst velocity error {rec['score']:.3f} "
                f"({rec['fit_s']:.0f} s, {rec['n_iter']} steps)")
    return records


def markdown(records, machine):
    rows = []
    for case in dict.fromkeys(r["case"] for r in records):
        for label, _, _ in VARIANTS:
            mine = [r for r in records if r["case"] == case and r["variant"] == label]
            if not mine:
                continue
            m, s = mean_std([r["score"] for r in mine])
            rows.append([case, label, f"{m:.3f} ± {s:.3f}",
                         " / ".join(f"{r['score']:.3f}" for r in mine),
                         f"{np.mean([r['fit_s'] for r in mine]):.0f}",
                         f"{np.mean([r['n_iter'] for r in mine]):.0f}"])
    return (
        "# Ablation of the training defaults of ActionMatchingRegressor (issue 10)\n\n"
        f"Machine: {machine['platform']}, torch {machine['torch']} "
        f"({machine['torch_threads']} thread(s)). Lower is better: mouse, mean W1 of the "
        "chained rollout; diffusion, worst relative velocity MSE over t = .05 … .95.\n\n"
        + markdown_table(["case", "variant", "mean ± std", "per seed", "fit s", "steps"], rows)
    )
