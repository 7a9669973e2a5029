"""
Single-cell workflow with AnnData
=================================

:mod:`sklearn_am.anndata` reads cells from ``adata.obsm["X_pca"]`` and their
time labels from ``adata.obs``, and writes velocities to
``adata.obsm["velocity_pca"]`` (the key scVelo's plots and CellRank's
``VelocityKernel`` read) and predicted positions to ``adata.obsm``. The cells
here are the synthetic branching population with labels ``"day 0"`` …
``"day 4"``; ``examples/single_cell.py`` in the repository runs the same steps
on real time courses. Needs ``pip install anndata``.
"""

import anndata as ad
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import sklearn_am.anndata as sam
from sklearn_am import ActionMatchingRegressor
from sklearn_am.datasets import make_branching

X, t = make_branching(800, random_state=0)
adata = ad.AnnData(obs=pd.DataFrame({"day": [f"day {int(s)}" for s in t]},
                                    index=[f"cell{i}" for i in range(len(t))]))
adata.obsm["X_pca"] = X
am = sam.fit(adata, ActionMatchingRegressor(hidden_layer_sizes=(64, 64), max_iter=600,
                                            random_state=0), time_key="day")
sam.push(adata, am, "day 4", time_key="day")
print(adata)
print("times read from the labels:", np.unique(sam.obs_times(adata, "day")))

# %%
# Velocities and predicted day-4 positions, read back from the AnnData
# --------------------------------------------------------------------
V = adata.obsm["velocity_pca"]
fig, (ax_v, ax_p) = plt.subplots(1, 2, figsize=(11, 4.5))
step = 4
ax_v.quiver(X[::step, 0], X[::step, 1], V[::step, 0], V[::step, 1],
            np.linalg.norm(V[::step], axis=1), cmap="viridis")
ax_v.set_title('obsm["velocity_pca"]')
day2 = (adata.obs["day"] == "day 2").to_numpy()
ax_p.scatter(*X[t == 4].T, s=4, c="lightgray", label="observed day 4")
ax_p.scatter(*adata.obsm["X_pca_t4"][day2].T, s=4, c="C1", label="day 2 cells at day 4")
ax_p.legend(loc="lower left")
ax_p.set_title('obsm["X_pca_t4"]')
fig.tight_layout()
