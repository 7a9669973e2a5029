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


# --------------------------------------------------- a hydrogen superposition (dense)
#: Energies (atomic units) of the two hydrogen eigenstates of :func:`make_hydrogen`.
_E_100, _E_211 = -0.5, -0.125
#: Angular speed of the density's rotation about z: E_211 − E_100.
HYDROGEN_OMEGA = _E_211 - _E_100


def _hydrogen_psi(X, t):
    """(ψ, ∇ψ) of ψ = ψ_100·e^{−iE₁t} + ψ_211·e^{−iE₂t} (unnormalised: the ratio is what
    the density's shape and the Bohmian velocity need)."""
    x, y, z = X[:, 0], X[:, 1], X[:, 2]
    r = np.sqrt(x**2 + y**2 + z**2) + 1e-12
    unit = X / r[:, None]
    p100 = np.exp(-r) / np.sqrt(np.pi)
    g100 = -p100[:, None] * unit
    c = 1.0 / (8.0 * np.sqrt(np.pi))
    damp = np.exp(-r / 2)
    p211 = c * (x + 1j * y) * damp
    g211 = c * damp[:, None] * (np.array([1.0, 1j, 0.0])[None, :]
                                - 0.5 * (x + 1j * y)[:, None] * unit)
    a, b = np.exp(-1j * _E_100 * t), np.exp(-1j * _E_211 * t)
    return p100 * a + p211 * b, g100 * a + g211 * b


def hydrogen_velocity(X, t):
    """The Bohmian velocity Im(∇ψ/ψ) (ħ = m = 1): a gradient field, the one AM learns."""
    psi, grad = _hydrogen_psi(np.asarray(X, dtype=np.float64), t)
    return np.imag(grad / psi[:, None])


def _hydrogen_sample(n, t, rng):
    """n draws of |ψ_t|² by rejection from ½(ψ_100² + |ψ_211|²) (acceptance ½)."""
    out = []
    while sum(len(o) for o in out) < n:
        m = 2 * n
        first = rng.random_sample(m) < 0.5
        r = np.where(first, rng.gamma(3.0, 0.5, m), rng.gamma(5.0, 1.0, m))
        # Directions: uniform for ψ_100; density ∝ sin²θ on the sphere for ψ_211.
        u = rng.uniform(-1, 1, m)
        keep_u = first | (rng.random_sample(m) < 1 - u**2)
        phi = rng.uniform(0, 2 * np.pi, m)
        s = np.sqrt(1 - u**2)
        X = r[:, None] * np.column_stack([s * np.cos(phi), s * np.sin(phi), u])
        X = X[keep_u]
        psi, _ = _hydrogen_psi(X, t)
        r_k = np.linalg.norm(X, axis=1)
        p100 = np.exp(-r_k) / np.sqrt(np.pi)
        p211 = (1 / (8 * np.sqrt(np.pi))) * np.hypot(X[:, 0], X[:, 1]) * np.exp(-r_k / 2)
        accept = rng.random_sample(len(X)) * 2 * (p100**2 + p211**2) < np.abs(psi) ** 2
        out.append(X[accept])
    return np.concatenate(out)[:n]


def make_hydrogen(n_per_time=500, n_times=101, t_end=np.pi / (2 * HYDROGEN_OMEGA),
                  random_state=None):
    """Dense snapshots of |ψ_t|² for an equal superposition of hydrogen's ψ_100 and ψ_211.

    The paper's Schrödinger experiment (Neklyudov et al. 2023, §5): the density rotates
    about z at ``HYDROGEN_OMEGA`` (a quarter turn over the default span), and its
    Bohmian velocity :func:`hydrogen_velocity` is a gradient field. Returns (X, t).
    """
    rng = np.random.RandomState(random_state)
    times = np.linspace(0.0, t_end, n_times)
    X = np.concatenate([_hydrogen_sample(n_per_time, s, rng) for s in times])
    return X, np.repeat(times, n_per_time)


def hydrogen_exact_flow(X0, t0, t1, n_steps=400):
    """Points ``X0`` at ``t0`` carried by the Bohmian velocity to ``t1`` (RK4)."""
    x, h = np.asarray(X0, dtype=np.float64).copy(), (t1 - t0) / n_steps
    for k in range(n_steps):
        s = t0 + k * h
        k1 = hydrogen_velocity(x, s)
        k2 = hydrogen_velocity(x + h / 2 * k1, s + h / 2)
        k3 = hydrogen_velocity(x + h / 2 * k2, s + h / 2)
        k4 = hydrogen_velocity(x + h * k3, s + h)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x
