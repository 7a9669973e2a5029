"""Datasets of the benchmarks: loaders for real snapshot files and synthetic generators.

Real data are read by path, never copied into the repository:

- CSV with one time column (default name ``samples``; rows need not be sorted by
  time) and feature columns (every other numeric column);
- NPZ in the Embryoid-body format of TrajectoryNet/TorchCFM: ``pcs`` (n, D) and
  ``sample_labels`` (n,); optionally only the first ``n_dims`` columns (EB-5D).

The data folder is ``--data-dir``, else ``$SKLEARN_AM_DATA``, else ``../shared/data``
next to the repository root.

Run ``python -m benchmarks.data`` to list what it finds.
"""

import argparse
import os
from pathlib import Path

import numpy as np

from sklearn_am.datasets import make_branching, make_gaussian_transport, make_nonlinear

from .common import REPO_ROOT, log

#: The real time-course files of the Var-RUOT table (``shared/data/README.md``).
REAL_DATASETS = {
    "simulation_gene": "simulation_gene_data.csv",
    "emt": "emt.csv",
    "mouse_hematopoiesis": "mouse_hematopoiesis.csv",
    "dygen": "dygen.csv",
}


def default_data_dir():
    """``$SKLEARN_AM_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get("SKLEARN_AM_DATA")
    if env:
        return Path(env)
    return (REPO_ROOT / ".." / "shared" / "data").resolve()


def load_csv(path, time_column="samples", feature_columns=None):
    """Read snapshots from a CSV with a time column.

    Parameters
    ----------
    path : str or Path
    time_column : str, default="samples"
    feature_columns : list of str, default=None
        Default: every column except the time column (an unnamed leading index
        column, as written by ``DataFrame.to_csv``, is dropped).

    Returns
    -------
    X : ndarray (n, d) float64, sorted by time (stable)
    t : ndarray (n,) float64
    """
    import pandas as pd

    df = pd.read_csv(path)
    if time_column not in df.columns:
        raise ValueError(f"{path}: no time column {time_column!r}; columns are {list(df.columns)}")
    if feature_columns is None:
        feature_columns = [c for c in df.columns
                           if c != time_column and not str(c).startswith("Unnamed")]
    t = pd.to_numeric(df[time_column]).to_numpy(np.float64)
    X = df[feature_columns].to_numpy(np.float64)
    return _sorted(X, t)


def load_npz(path, n_dims=None, features_key="pcs", labels_key="sample_labels"):
    """Read snapshots from an NPZ holding ``pcs`` and ``sample_labels`` (EB format).

    Labels may be numbers or strings such as ``"Day 00-03"``: strings are mapped
    to 0, 1, 2, ... in sorted order (the EB convention).
    """
    with np.load(path, allow_pickle=False) as f:
        X = np.asarray(f[features_key], dtype=np.float64)
        labels = np.asarray(f[labels_key])
    if n_dims is not None:
        X = X[:, :n_dims]
    labels = labels.ravel()
    if labels.dtype.kind in "biuf":
        t = labels.astype(np.float64)
    else:
        uniq = np.unique(labels)
        t = np.searchsorted(uniq, labels).astype(np.float64)
    return _sorted(X, t)


def load_file(path, **kwargs):
    """Dispatch on the extension: ``.csv`` or ``.npz``."""
    path = Path(path)
    if path.suffix == ".npz":
        return load_npz(path, **kwargs)
    if path.suffix == ".csv":
        return load_csv(path, **kwargs)
    raise ValueError(f"{path}: unknown extension (want .csv or .npz)")


def _sorted(X, t):
    order = np.argsort(t, kind="stable")
    return np.ascontiguousarray(X[order]), np.ascontiguousarray(t[order])


def is_real(name):
    """Whether a dataset name is a real file (a name of :data:`REAL_DATASETS` or a path)."""
    return name in REAL_DATASETS or name.endswith((".csv", ".npz"))


def load_real(name, data_dir=None):
    """One dataset of :data:`REAL_DATASETS` by name, or any .csv/.npz path."""
    if name in REAL_DATASETS:
        path = Path(data_dir or default_data_dir()) / REAL_DATASETS[name]
    else:
        path = Path(name)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; pass --data-dir or set SKLEARN_AM_DATA")
    return load_file(path)


def available_real(data_dir=None, names=None):
    """Names of the real datasets present in the data folder."""
    data_dir = Path(data_dir or default_data_dir())
    names = names or list(REAL_DATASETS)
    return [n for n in names if (data_dir / REAL_DATASETS[n]).exists()]


# --------------------------------------------------------------------------- #
# Synthetic data
# --------------------------------------------------------------------------- #


#: Every synthetic dataset: Gaussian transport in several dimensions, nonlinear, branching.
SYNTHETIC_DATASETS = ("gaussian_2d", "gaussian_5d", "gaussian_10d", "gaussian_50d",
                      "nonlinear", "branching")


def make_synthetic(name, n_per_time, random_state=0):
    """``(X, t, truth)`` of a synthetic dataset (``gaussian_<d>d``, ``nonlinear``, ``branching``).

    The Gaussian transport is observed at 5 times (0, .25, .5, .75, 1) so that
    leave-one-out has three interior snapshots.
    """
    if name.startswith("gaussian_"):
        d = int(name[len("gaussian_"):].rstrip("d"))
        return make_gaussian_transport(n_per_time, n_features=d, times=(0.0, 0.25, 0.5, 0.75, 1.0),
                                       random_state=random_state, shuffle=False,
                                       return_truth=True)
    if name == "nonlinear":
        return make_nonlinear(n_per_time, random_state=random_state, shuffle=False,
                              return_truth=True)
    if name == "branching":
        return make_branching(n_per_time, random_state=random_state, shuffle=False,
                              return_truth=True)
    raise ValueError(f"unknown synthetic dataset {name!r}")


def get_dataset(name, data_dir=None, n_per_time=1000, seed=0):
    """``(X, t, truth)``: real datasets by name or path (truth None), synthetic ones drawn
    with ``seed``."""
    if is_real(name):
        X, t = load_real(name, data_dir)
        return X, t, None
    return make_synthetic(name, n_per_time, random_state=seed)


def describe(X, t):
    times, counts = np.unique(t, return_counts=True)
    return {"n": int(len(X)), "d": int(X.shape[1]),
            "times": times.tolist(), "counts": counts.tolist()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("files", nargs="*", help="extra .csv/.npz files to describe")
    args = p.parse_args(argv)
    data_dir = Path(args.data_dir or default_data_dir())
    log(f"data dir: {data_dir}")
    for name in REAL_DATASETS:
        try:
            X, t = load_real(name, data_dir)
            log(f"  {name:22s} {describe(X, t)}")
        except FileNotFoundError as exc:
            log(f"  {name:22s} missing ({exc})")
    for f in args.files:
        X, t = load_file(f)
        log(f"  {f}: {describe(X, t)}")
    for name in SYNTHETIC_DATASETS:
        X, t, _ = make_synthetic(name, 100)
        log(f"  {name:22s} {describe(X, t)}")


if __name__ == "__main__":
    main()
