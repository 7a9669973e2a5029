"""Shared helpers of the benchmarks: distances, timers, memory, machine info, output.

Nothing here knows a protocol, a method or a dataset; every other module of
``benchmarks`` may import from here, and this module imports nothing of them.
"""

import json
import math
import os
import platform
import resource
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import ot
import sklearn
import torch

import sklearn_am
from sklearn_am.metrics import wasserstein_distance

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"

#: Seeds used by every protocol: the first n are taken.
SEEDS = (0, 1, 2, 3, 4)


# --------------------------------------------------------------------------- #
# Metrics
# --------------------------------------------------------------------------- #


def wasserstein(X, Y, p=1, x_weights=None):
    """W_p of a predicted cloud ``X`` (optionally weighted) against an observed ``Y``.

    :func:`sklearn_am.metrics.wasserstein_distance`: ``ot.emd2`` with uniform weights
    (unless given) and Euclidean ground cost ``‖x − y‖₂^p``, returning ``cost^(1/p)``,
    the metric of the published single-cell tables (TrajectoryNet, TorchCFM,
    Var-RUOT). A prediction with non-finite points or weights (a diverged method)
    scores NaN instead of raising, so one bad run does not stop a benchmark.
    """
    X = np.asarray(X, dtype=np.float64)
    if not np.all(np.isfinite(X)) or (x_weights is not None
                                      and not np.all(np.isfinite(x_weights))):
        return float("nan")
    return wasserstein_distance(X, Y, p=p, x_weights=x_weights)


def relative_velocity_error(v_pred, v_true):
    """Relative velocity MSE  Σ‖v̂ − v‖² / Σ‖v‖²  (0 for the truth; (c−1)² for c·v)."""
    v_pred = np.asarray(v_pred, dtype=np.float64)
    v_true = np.asarray(v_true, dtype=np.float64)
    denom = float(np.sum(v_true**2))
    return float(np.sum((v_pred - v_true) ** 2)) / max(denom, 1e-300)


def mean_std(values):
    """(mean, std) of finite values (population std, ddof=0); (nan, nan) if none."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std())


def fmt_ms(mean, std=None, digits=3):
    """'0.123 ± 0.004' (or '0.123' with one seed / no std)."""
    if mean is None or not np.isfinite(mean):
        return "—"
    if std is None or not np.isfinite(std) or std == 0:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


# --------------------------------------------------------------------------- #
# Time and memory
# --------------------------------------------------------------------------- #


def _rss_bytes():
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):  # not Linux: fall back to the high-water mark
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


class Measure:
    """Wall time and peak memory of a block: ``with Measure(device) as m: ...``.

    On CUDA the peak is ``torch.cuda.max_memory_allocated`` above the start; on
    the CPU a thread samples the resident set size every 5 ms and the peak above
    the start is reported (tracemalloc would miss torch's allocations).
    Attributes after the block: ``seconds``, ``peak_mb``, ``memory_kind``.
    """

    def __init__(self, device="cpu", interval=0.005):
        self.device = str(device)
        self.interval = interval
        self.seconds = float("nan")
        self.peak_mb = float("nan")
        self.memory_kind = None

    def __enter__(self):
        self._cuda = self.device.startswith("cuda")
        if self._cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated()
            self.memory_kind = "cuda_max_memory_allocated"
        else:
            self._base = _rss_bytes()
            self._peak = self._base
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
            self.memory_kind = "cpu_rss_delta"
        self._t0 = time.perf_counter()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self._peak = max(self._peak, _rss_bytes())
            self._stop.wait(self.interval)

    def __exit__(self, *exc):
        if self._cuda:
            torch.cuda.synchronize()
            self.seconds = time.perf_counter() - self._t0
            self.peak_mb = (torch.cuda.max_memory_allocated() - self._base) / 2**20
        else:
            self.seconds = time.perf_counter() - self._t0
            self._stop.set()
            self._thread.join()
            self._peak = max(self._peak, _rss_bytes())
            self.peak_mb = max(self._peak - self._base, 0) / 2**20
        return False


@contextmanager
def timer(store, key, sync=None):
    """Add the block's wall time (s) to ``store[key]``; ``sync()`` before/after if given."""
    if sync:
        sync()
    t0 = time.perf_counter()
    yield
    if sync:
        sync()
    store[key] = store.get(key, 0.0) + time.perf_counter() - t0


# --------------------------------------------------------------------------- #
# Machine info, threads, output
# --------------------------------------------------------------------------- #


def machine_info(device="auto"):
    """Platform, CPU count, library versions and the device a run uses."""
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "pot": ot.__version__,
        "numpy": np.__version__,
        "cuda_available": torch.cuda.is_available(),
        "device": resolve_device(device),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    try:
        import torchcfm

        info["torchcfm"] = torchcfm.__version__
    except Exception:  # noqa: BLE001 - optional
        info["torchcfm"] = None
    info["sklearn_am"] = sklearn_am.__version__
    info["git_commit"] = _git_commit()
    return info


def _git_commit():
    head = REPO_ROOT / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (REPO_ROOT / ".git" / ref[5:]).read_text().strip()
        return ref
    except OSError:
        return None


def configure_threads(n_threads=1):
    """Set torch's intra-op threads (default 1: on a shared 2-core machine more threads
    oversubscribe the cores and slow small-MLP training by 10-50x). None leaves torch's default."""
    if n_threads:
        torch.set_num_threads(int(n_threads))
    return torch.get_num_threads()


def resolve_device(device="auto"):
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def _json_default(obj):
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def _clean(obj):
    """Replace NaN/inf by None so the JSON is standard."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_results(name, payload, markdown, out_dir=None):
    """Write ``<out_dir>/<name>.json`` and ``<name>.md``; return both paths."""
    out_dir = Path(out_dir) if out_dir is not None else RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{name}.json"
    md_path = out_dir / f"{name}.md"
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(_clean(payload), indent=1, default=_json_default))
    tmp.replace(json_path)
    md_path.write_text(markdown)
    return json_path, md_path


def markdown_table(header, rows):
    """A GitHub markdown table from a header and rows of cells."""
    lines = ["| " + " | ".join(map(str, header)) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(lines)


def log(*args):
    print(*args, flush=True)
