"""Overhead of progress reporting and scikit-learn callbacks on a fit (issue 11).

The same fit (``ActionMatchingRegressor`` defaults on 2-D snapshots, fewer steps) is
timed without callbacks, with a callback that does nothing (one subtask per step is
still created and ended), with scikit-learn's ``ProgressBar`` (rich), and with
``verbose=1`` (a tqdm bar written to /dev/null). Runs are interleaved and repeated;
the table gives the median seconds and the ratio to no callbacks, measured in one run.

    python -m benchmarks.run --sections callbacks
"""

import os
import statistics
import time

from ..common import log, markdown_table

STEPS = 500
REPEATS = 5


class _NoOp:
    """A fit callback that does nothing: the cost of the subtasks themselves."""

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, **kwargs):
        pass

    def on_fit_task_end(self, estimator, context, **kwargs):
        return False


def _variants():
    from sklearn_am import ActionMatchingRegressor

    def make(**params):
        return ActionMatchingRegressor(max_iter=STEPS, random_state=0, **params)

    variants = {"no callbacks": lambda: make(), "verbose=1 (tqdm)": lambda: make(verbose=1)}
    try:
        from sklearn.callback import ProgressBar
    except ImportError:  # scikit-learn < 1.9
        return variants
    variants["no-op callback"] = lambda: make().set_callbacks(_NoOp())
    try:
        variants["ProgressBar (rich)"] = lambda: make().set_callbacks(ProgressBar())
    except ImportError:
        pass
    return variants


def run(repeats=REPEATS):
    """Median fit seconds per variant, runs interleaved."""
    import contextlib

    from sklearn_am.datasets import make_branching

    X, t = make_branching(500, random_state=0)
    variants = _variants()
    seconds = {name: [] for name in variants}
    with open(os.devnull, "w") as null, contextlib.redirect_stderr(null), \
            contextlib.redirect_stdout(null):
        for _ in range(repeats):
            for name, make in variants.items():
                est = make()
                start = time.perf_counter()
                est.fit(X, t)
                seconds[name].append(time.perf_counter() - start)
    base = statistics.median(seconds["no callbacks"])
    best = min(seconds["no callbacks"])
    records = [{"variant": name, "steps": STEPS, "median_s": statistics.median(v),
                "min_s": min(v), "all_s": v, "ratio": statistics.median(v) / base,
                "ratio_min": min(v) / best} for name, v in seconds.items()]
    for r in records:
        log(f"  {r['variant']:22s} fastest {r['min_s']:.2f} s ×{r['ratio_min']:.3f}, "
            f"median {r['median_s']:.2f} s ×{r['ratio']:.3f}")
    return records


def markdown(records, machine):
    rows = [[r["variant"], f"{r['min_s']:.2f}", f"{r['ratio_min']:.3f}", f"{r['median_s']:.2f}",
             f"{r['ratio']:.3f}", ", ".join(f"{s:.2f}" for s in r["all_s"])] for r in records]
    return (
        f"# Overhead of progress and callbacks ({STEPS}-step fit, median of {REPEATS})\n\n"
        f"Machine: {machine['platform']}, torch {machine['torch']} "
        f"({machine['torch_threads']} thread(s)), scikit-learn {machine['sklearn']}. "
        "Variants interleaved in one run; ratios to the fit without callbacks, of the fastest "
        "run (the least disturbed by other load) and of the median.\n\n"
        + markdown_table(["variant", "fastest s", "ratio", "median s", "ratio (median)",
                          "runs (s)"], rows)
    )
