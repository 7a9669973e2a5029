"""Peak memory of fit and transform against the number of rows (issue 13).

Each measurement runs in a fresh Python process, so its peak resident set size
(``VmHWM``, reset just before the call) belongs to that one call: the process builds float32 data of
n rows × d features at 4 snapshot times, notes its RSS, then either fits (a few
optimiser steps: memory, not accuracy, is measured) or fits a small model and
transforms all n rows. The table reports the peak above that baseline next to
the size of the data, so "flat in n" reads off directly.

    python -m benchmarks.run --sections memory
"""

import json
import subprocess
import sys

from ..common import log, markdown_table

#: Rows measured (d = 50).
SIZES = (10_000, 100_000, 1_000_000)
N_FEATURES = 50

_CHILD = r"""
import json, sys
import numpy as np, torch
torch.set_num_threads(1)
from sklearn_am import ActionMatchingRegressor

def status_mb(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024

n, d, call = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(0)
X = rng.standard_normal((n, d), dtype=np.float32)
t = np.repeat(np.arange(4.0), -(-n // 4))[:n]
model = ActionMatchingRegressor(hidden_layer_sizes=(64, 64), max_iter=5, n_steps=4,
                               random_state=0)
if call == "transform":
    model.fit(X[:: max(1, n // 4000)], t[:: max(1, n // 4000)])
with open("/proc/self/clear_refs", "w") as fh:  # reset the peak (VmHWM) to the current RSS
    fh.write("5")
base = status_mb("VmRSS")
if call == "fit":
    model.fit(X, t)
else:
    out = model.transform(X)
print(json.dumps({"baseline_mb": base, "peak_mb": status_mb("VmHWM"),
                  "data_mb": X.nbytes / 2**20}))
"""


def measure(n, call, n_features=N_FEATURES):
    """Peak RSS (MB) of one ``fit`` or ``transform`` on n × n_features float32 rows."""
    out = subprocess.run([sys.executable, "-c", _CHILD, str(n), str(n_features), call],
                         capture_output=True, text=True, check=True)
    rec = json.loads(out.stdout.strip().splitlines()[-1])
    rec.update(n=n, n_features=n_features, call=call,
               above_baseline_mb=rec["peak_mb"] - rec["baseline_mb"])
    return rec


def run(sizes=SIZES):
    """One record per size × call."""
    records = []
    for n in sizes:
        for call in ("fit", "transform"):
            rec = measure(n, call)
            log(f"  memory {call:9s} n={n:>9,}: data {rec['data_mb']:.0f} MB, peak "
                f"{rec['above_baseline_mb']:.0f} MB above the baseline")
            records.append(rec)
    return records


def markdown(records, machine):
    rows = []
    for r in records:
        output = r["data_mb"] if r["call"] == "transform" else 0.0
        rows.append([r["call"], f"{r['n']:,}", f"{r['data_mb']:.0f}",
                     f"{r['above_baseline_mb']:.0f}",
                     f"{r['above_baseline_mb'] - output:.0f}"])
    return (
        "# Peak memory of fit and transform (float32, d = 50)\n\n"
        f"Machine: {machine['platform']}, torch {machine['torch']}. Each call in a fresh "
        "process; peak resident set size above the RSS after the data were made (and, for "
        "transform, a small model fitted). Fit: 5 optimiser steps of a 64×64 network; "
        "transform: 4 RK4 steps (memory does not depend on the step count).\n\n"
        + markdown_table(["call", "rows", "data MB", "peak above baseline MB",
                          "minus the output MB"], rows)
    )
