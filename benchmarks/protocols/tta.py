"""Time to accuracy: chained-rollout W1 against fit wall time, ours and OT-CFM (issue 10).

For each dataset and budget (seconds of fit), every method is trained to fit in
that budget and scored by the mean W1 of the Var-RUOT chained rollout:

- **ours (defaults)**: the recommended estimator with its defaults, ``max_iter`` set
  so that the schedule ends within the budget (seconds per step and the fixed cost
  of a fit measured by two calibration fits on the same data, after a warm-up);
  early stopping may end it sooner;
- **ours (256×3)**: the same with ``hidden_layer_sizes=(256, 256, 256)``;
- **OT-CFM**: the TorchCFM recipe of ``methods.peers.CFMMethod`` trained for the
  budget (its ``time_budget``), sampled with Dopri5.

Records hold the real fit seconds beside the budget. One run, one machine, so
the ratios compare; writes ``results/tta.{json,md}`` and ``results/tta.png``.

    python -m benchmarks.run --sections tta
"""

import time

import numpy as np

from sklearn_am import ActionMatchingRegressor, UnbalancedActionMatching

from ..common import RESULTS_DIR, log, markdown_table
from ..data import load_real
from ..methods.peers import CFMMethod
from .targets import _Pushes
from .rollout import rollout_distances

BUDGETS = (2, 5, 15, 40)
DATASETS = (("mouse_hematopoiesis", ActionMatchingRegressor), ("emt", ActionMatchingRegressor),
            ("simulation_gene", UnbalancedActionMatching))
#: Two calibration fits (steps): their difference gives the seconds per step, the rest
#: is the fixed cost of a fit (pairing pools, held-out draws). Both beyond the step
#: count at which the pairing pools stop growing (4 × the largest snapshot's rows),
#: else the pools' growth is counted per step (which left most of the budget unused).
CALIBRATION_STEPS = (200, 1000)


def _mean_w1(pusher, X, t):
    times = np.unique(t)
    rows, _ = rollout_distances(pusher, [X[t == s] for s in times], times, orders=(1,))
    return float(np.mean([r["w1"] for r in rows]))


def _fit_seconds(cls, X, t, params, seed, steps):
    probe = cls(random_state=seed, max_iter=steps, early_stopping=False, **params)
    start = time.perf_counter()
    probe.fit(X, t)
    return time.perf_counter() - start


def _steps_for(cls, X, t, params, seed):
    """``budget -> max_iter``: the steps whose fit ends within the budget, from two fits."""
    _fit_seconds(cls, X, t, params, seed, 5)  # warm-up: first-call costs are not a fit's
    short, long = (_fit_seconds(cls, X, t, params, seed, n) for n in CALIBRATION_STEPS)
    per_step = max((long - short) / (CALIBRATION_STEPS[1] - CALIBRATION_STEPS[0]), 1e-6)
    fixed = max(short - CALIBRATION_STEPS[0] * per_step, 0.0)
    return lambda budget: max(50, int((0.9 * budget - fixed) / per_step))


def run(budgets=BUDGETS, seed=0, data_dir=None):
    records = []
    for name, cls in DATASETS:
        X, t = load_real(name, data_dir)
        for label, params in (("ours (defaults)", {}),
                              ("ours (256×3)", {"hidden_layer_sizes": (256, 256, 256)})):
            steps_for = _steps_for(cls, X, t, params, seed)
            for budget in budgets:
                est = cls(random_state=seed, max_iter=steps_for(budget), **params)
                start = time.perf_counter()
                est.fit(X, t)
                fit_s = time.perf_counter() - start
                records.append({"dataset": name, "method": label, "budget_s": budget,
                                "fit_s": fit_s, "steps": est.n_iter_,
                                "w1_mean": _mean_w1(_Pushes(est), X, t)})
                log(f"  {name} {label} {budget:>3} s: W1 {records[-1]['w1_mean']:.3f} "
                    f"({fit_s:.1f} s, {est.n_iter_} steps)")
        for budget in budgets:
            cfm = CFMMethod(variant="ot", time_budget=budget)
            start = time.perf_counter()
            cfm.fit(X, t, seed)
            fit_s = time.perf_counter() - start
            records.append({"dataset": name, "method": "OT-CFM", "budget_s": budget,
                            "fit_s": fit_s, "steps": cfm.steps(), "w1_mean": _mean_w1(cfm, X, t)})
            log(f"  {name} OT-CFM {budget:>3} s: W1 {records[-1]['w1_mean']:.3f} ({fit_s:.1f} s)")
    _plot(records)
    return records


def _plot(records):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:  # the plot is optional
        return
    names = list(dict.fromkeys(r["dataset"] for r in records))
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        for method, style in (("ours (defaults)", "o-"), ("ours (256×3)", "s--"),
                              ("OT-CFM", "^:")):
            mine = [r for r in records if r["dataset"] == name and r["method"] == method]
            ax.plot([r["fit_s"] for r in mine], [r["w1_mean"] for r in mine], style,
                    label=method)
        ax.set_xscale("log")
        ax.set_xticks([2, 5, 10, 20, 40])
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("fit wall time (s, one CPU thread)")
        ax.set_title(name)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("mean W1, chained rollout")
    axes[0][0].legend(frameon=False)
    fig.tight_layout()
    fig.savefig(RESULTS_DIR / "tta.png", dpi=110)
    plt.close(fig)


def markdown(records, machine):
    rows = []
    for name in dict.fromkeys(r["dataset"] for r in records):
        for budget in dict.fromkeys(r["budget_s"] for r in records):
            row = [name, str(budget)]
            for method in ("ours (defaults)", "ours (256×3)", "OT-CFM"):
                hit = [r for r in records if r["dataset"] == name and r["budget_s"] == budget
                       and r["method"] == method]
                row.append(f"{hit[0]['w1_mean']:.3f} ({hit[0]['fit_s']:.0f} s)" if hit else "—")
            rows.append(row)
    return (
        "# Time to accuracy (mean W1 of the chained rollout against fit seconds)\n\n"
        f"Machine: {machine['platform']}, torch {machine['torch']} "
        f"({machine['torch_threads']} thread(s)). One seed; our estimator is "
        "ActionMatchingRegressor on mouse and EMT and UnbalancedActionMatching on the gene "
        "network. Plot: `results/tta.png`.\n\n"
        + markdown_table(["dataset", "budget s", "ours (defaults)", "ours (256×3)", "OT-CFM"],
                         rows)
    )
