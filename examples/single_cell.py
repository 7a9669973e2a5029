"""Single-cell worked example: AnnData in; velocities, growth and held-out cells out.

Two real time courses from ``shared/data`` (see its README), each turned into
the AnnData a scanpy user has (coordinates in ``obsm["X_pca"]``, a time label
such as ``"day 2"`` per cell in ``obs["day"]``):

1. Mouse hematopoiesis (Weinreb et al. 2020; 2-D, days 2 / 4 / 6). Day 4 is held
   out: an ``ActionMatchingRegressor`` is fitted on days 2 and 6, every cell gets
   its velocity at its own day (``obsm["velocity_pca"]``) and its predicted
   position at day 4 (``obsm["X_pca_t4"]``); the day-2 cells pushed forwards and
   the day-6 cells pushed backwards are compared with the observed day-4 cells
   (W1, beside not moving them).
2. A simulated gene network whose cells divide (DeepRUOT; days 0-4). An
   ``UnbalancedActionMatching`` learns motion and growth; every cell gets its
   growth rate (``obs["velocity_growth"]``), and the day-0 cells pushed to day 4
   carry weights (``obs["X_pca_t4_weight"]``).

Writes three PNGs: velocity stream plots (scVelo's when installed, else
matplotlib's quiver), the held-out day, and cells coloured by growth rate.

Run from the repository root (needs ``pip install "sklearn-am[sc]" matplotlib``)::

    python examples/single_cell.py                 # library defaults: a few minutes on a CPU
    python examples/single_cell.py --small --out /tmp/sc   # CI: subsampled, < 30 s
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

import sklearn_am.anndata as sam
from sklearn_am import ActionMatchingRegressor, UnbalancedActionMatching
from sklearn_am.metrics import wasserstein_distance

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Model settings: library defaults, and a quick version for --small (CI).
SETTINGS = {
    "full": dict(random_state=0),
    "small": dict(hidden_layer_sizes=(64, 64), max_iter=1000, batch_size=256,
                  learning_rate_init=3e-3, n_steps=20, random_state=0),
}
#: Fraction of each day's cells kept by --small (the same for every day, so that
#: the numbers of cells per day, which the unbalanced estimator reads as masses,
#: keep their ratios).
SMALL_FRACTION = {"mouse": 0.1, "gene": 0.4}
#: Cells per side in a W1 (exact OT grows as n², so large days are subsampled).
MAX_W1_CELLS = 2500


def default_data_dir():
    """``$SKLEARN_AM_DATA``, else ``shared/data`` next to the repository."""
    return Path(os.environ.get("SKLEARN_AM_DATA") or REPO_ROOT / ".." / "shared" / "data")


def load_as_anndata(path, day_of_sample, fraction=None, seed=0):
    """A snapshot CSV (``samples``, ``x1``, ``x2``) as AnnData with ``obs["day"]`` labels."""
    import anndata as ad
    import pandas as pd

    table = pd.read_csv(path)
    if fraction is not None:
        table = table.groupby("samples").sample(frac=fraction, random_state=seed)
    coords = table[["x1", "x2"]].to_numpy(np.float32)
    days = [day_of_sample(int(s)) for s in table["samples"]]
    labels = [f"day {d}" for d in sorted(set(days))]
    obs = pd.DataFrame({"day": pd.Categorical([f"day {d}" for d in days], categories=labels)},
                       index=[f"cell{i}" for i in range(len(table))])
    adata = ad.AnnData(X=coords.copy(), obs=obs, var=pd.DataFrame(index=["x1", "x2"]))
    adata.obsm["X_pca"] = coords  # the 2-D coordinates play the role of a PCA
    return adata


def w1(X, Y, x_weights=None, seed=0):
    """W1 between two clouds, each subsampled to MAX_W1_CELLS (weights kept in step)."""
    rng = np.random.default_rng(seed)
    ix = rng.permutation(len(X))[:MAX_W1_CELLS]
    iy = rng.permutation(len(Y))[:MAX_W1_CELLS]
    weights = None if x_weights is None else x_weights[ix]
    return wasserstein_distance(X[ix], Y[iy], p=1, x_weights=weights)


def stream_plot(adata, ax, title, legend_loc="right margin"):
    """Velocities of ``adata.obsm["velocity_pca"]`` over ``X_pca``, coloured by day."""
    try:
        import scvelo as scv
    except ImportError:
        scv = None
    if scv is not None:
        scv.settings.verbosity = 0
        scv.pl.velocity_embedding_stream(adata, basis="pca", color="day", ax=ax, show=False,
                                         title=title, legend_loc=legend_loc, size=20,
                                         alpha=0.5, density=1.2, linewidth=1.0)
        return "scVelo stream plot"
    X, V = adata.obsm["X_pca"], adata.obsm["velocity_pca"]
    rng = np.random.default_rng(0)
    for label in adata.obs["day"].cat.categories:
        on = np.flatnonzero(adata.obs["day"].to_numpy() == label)
        ax.scatter(*X[on].T, s=4, alpha=0.3, label=label)
        arrows = rng.permutation(on)[:150]
        ax.quiver(*X[arrows].T, *V[arrows].T, angles="xy", width=0.003, alpha=0.8)
    ax.legend(markerscale=3, frameon=False)
    ax.set_title(title)
    return "matplotlib quiver (scVelo not installed)"


def mouse(data_dir, out, small, plt):
    print("== Mouse hematopoiesis (Weinreb et al.): days 2, 4, 6; day 4 held out")
    adata = load_as_anndata(data_dir / "mouse_hematopoiesis.csv", lambda s: 2 * s + 2,
                            SMALL_FRACTION["mouse"] if small else None)
    print(f"{adata.n_obs} cells; per day: {adata.obs['day'].value_counts(sort=False).to_dict()}")
    train = adata[adata.obs["day"] != "day 4"].copy()

    start = time.perf_counter()
    am = sam.fit(train, ActionMatchingRegressor(**SETTINGS["small" if small else "full"]),
                 time_key="day")
    print(f"fit on days {am.times_.tolist()} ({train.n_obs} cells): "
          f"{time.perf_counter() - start:.1f} s")
    sam.velocity(adata, am, time_key="day")  # every cell, held-out day included
    sam.push(adata, am, "day 4", time_key="day")  # obsm["X_pca_t4"]

    day = adata.obs["day"].to_numpy()
    X, X4 = adata.obsm["X_pca"], adata.obsm["X_pca_t4"]
    observed = X[day == "day 4"]
    print(f"{'W1 to the observed day-4 cells':<32} {'model':>7} {'do-nothing':>11}")
    rows = {}
    for source in ("day 2", "day 6"):
        on = day == source
        rows[source] = w1(X4[on], observed), w1(X[on], observed)
        print(f"{f'{source} cells pushed to day 4':<32} {rows[source][0]:>7.3f} "
              f"{rows[source][1]:>11.3f}")
    print(f"(Not moving, day 6 is already {rows['day 6'][1]:.2f} from day 4 and day 2 is "
          f"{rows['day 2'][1]:.2f}: most of the change\n happens before day 4. Seeing only "
          "days 2 and 6, the model moves cells at an even pace along\n the optimal-transport "
          "path and puts day 4 halfway; a held-out day tests that guess.)")

    fig, ax = plt.subplots(figsize=(7, 5.5))
    how = stream_plot(adata, ax, "Mouse hematopoiesis: velocity at each cell's own day\n"
                                 "(fitted on days 2 and 6)")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    fig.savefig(out / "mouse_velocity_stream.png", dpi=120, bbox_inches="tight")
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 5), sharex=True, sharey=True)
    for ax, source in zip(axes, ("day 2", "day 6")):
        on = day == source
        ax.scatter(*X[on].T, s=3, c="0.8", label=f"{source} (observed, start)")
        ax.scatter(*observed.T, s=3, c="tab:blue", alpha=0.35, label="day 4 (observed, held out)")
        ax.scatter(*X4[on].T, s=3, c="tab:red", alpha=0.5, label=f"{source} pushed to day 4")
        model, baseline = rows[source]
        ax.set_title(f"{source} → day 4: W1 {model:.3f} (not moving: {baseline:.3f})")
        ax.legend(markerscale=4, frameon=False, loc="best", fontsize=8)
        ax.set_xlabel("x1")
    axes[0].set_ylabel("x2")
    fig.suptitle("Predicted cells at the held-out day 4 against the observed ones")
    fig.savefig(out / "mouse_heldout_day4.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return rows, how


def gene_network(data_dir, out, small, plt):
    print("\n== Gene network with cell division (DeepRUOT simulation): days 0-4")
    adata = load_as_anndata(data_dir / "simulation_gene_data.csv", lambda s: s,
                            SMALL_FRACTION["gene"] if small else None)
    counts = adata.obs["day"].value_counts(sort=False)
    print(f"{adata.n_obs} cells; per day: {counts.to_dict()}")
    start = time.perf_counter()
    uam = sam.fit(adata, UnbalancedActionMatching(**SETTINGS["small" if small else "full"]),
                  time_key="day")
    print(f"fit: {time.perf_counter() - start:.1f} s; masses_ (cells per day) "
          f"{uam.masses_.tolist()}")
    growth = adata.obs["velocity_growth"].to_numpy()
    mean_growth = adata.obs.groupby("day", observed=True)["velocity_growth"].mean()
    print("mean growth rate per day (1/day): "
          + ", ".join(f"{k} {v:+.3f}" for k, v in mean_growth.items()))

    sam.push(adata, uam, "day 4", time_key="day")  # obsm["X_pca_t4"], obs["X_pca_t4_weight"]
    day = adata.obs["day"].to_numpy()
    start_cells = day == "day 0"
    X4 = adata.obsm["X_pca_t4"][start_cells]
    weights = adata.obs["X_pca_t4_weight"].to_numpy()[start_cells]
    observed = adata.obsm["X_pca"][day == "day 4"]
    model = w1(X4, observed, x_weights=weights)
    baseline = w1(adata.obsm["X_pca"][start_cells], observed)
    print(f"day 0 cells pushed to day 4 (weighted): W1 {model:.3f} (not moving: "
          f"{baseline:.3f}); total weight {weights.sum():.0f} for "
          f"{int(counts['day 4'])} observed cells")

    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    stream_plot(adata, axes[0], "Velocity at each cell's own day", legend_loc="best")
    from matplotlib.colors import TwoSlopeNorm

    limit = np.quantile(np.abs(growth), 0.99)
    order = np.argsort(np.abs(growth))  # strongest rates on top
    points = axes[1].scatter(*adata.obsm["X_pca"][order].T, c=growth[order], s=6,
                             cmap="coolwarm", norm=TwoSlopeNorm(0.0, -limit, limit))
    fig.colorbar(points, ax=axes[1], label="growth rate g(x, t), 1/day")
    axes[1].set_title("Growth rate at each cell's own day\n(red: the population grows there, "
                      "blue: it shrinks)")
    for ax in axes:
        ax.set_xlabel("gene X1")
    axes[0].set_ylabel("gene X2")
    fig.suptitle("Gene network with division: UnbalancedActionMatching", y=1.04)
    fig.savefig(out / "gene_network_growth.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return model, baseline


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true",
                        help="CI mode: a fraction of the cells, quick fits")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the PNGs")
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help="folder of the CSVs (default $SKLEARN_AM_DATA or ../shared/data)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rows, how = mouse(args.data_dir, args.out, args.small, plt)
    gene_network(args.data_dir, args.out, args.small, plt)
    print(f"\nstream plots: {how}; PNGs in {args.out.resolve()}; "
          f"{time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()
