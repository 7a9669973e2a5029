"""
Generating rows and scoring them: ActionMatchingDensity
=======================================================

With one table and no times, :class:`~sklearn_am.ActionMatchingDensity` learns a
flow from ``N(0, I)`` to the data (generative Action Matching). It samples new
rows and scores rows by their log-density, in the convention of scikit-learn's
:class:`~sklearn.neighbors.KernelDensity`. Here on two moons, beside a Gaussian
mixture. As in the library's benchmark (``benchmarks/results/generative.md``),
the mixture is ahead on held-out log-likelihood, and the samples are more
diffuse than the data.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.mixture import GaussianMixture

from sklearn_am import ActionMatchingDensity

X, _ = make_moons(1000, noise=0.08, random_state=0)
X_train, X_test = X[:800], X[800:]
density = ActionMatchingDensity(hidden_layer_sizes=(64, 64), max_iter=6000,
                                learning_rate_init=3e-3, random_state=0).fit(X_train)
gmm = GaussianMixture(8, random_state=0).fit(X_train)
print(f"held-out mean log-likelihood: AM {density.score_samples(X_test).mean():.2f}, "
      f"GMM(8) {gmm.score_samples(X_test).mean():.2f}")

# %%
# New rows, and the log-density on a grid
# ---------------------------------------
new_rows = density.sample(800, random_state=0)
xx, yy = np.meshgrid(np.linspace(-1.5, 2.5, 40), np.linspace(-1, 1.5, 30))
grid = np.column_stack([xx.ravel(), yy.ravel()])
log_q = density.score_samples(grid).reshape(xx.shape)

fig, (ax_s, ax_d) = plt.subplots(1, 2, figsize=(11, 4))
ax_s.scatter(X_train[:, 0], X_train[:, 1], s=4, c="lightgray", label="training rows")
ax_s.scatter(new_rows[:, 0], new_rows[:, 1], s=4, c="C0", label="sampled")
ax_s.legend(loc="lower left")
ax_s.set_title("samples")
cs = ax_d.contourf(xx, yy, np.maximum(log_q, -8), levels=15, cmap="viridis")
fig.colorbar(cs, ax=ax_d, label="log q(x)")
ax_d.set_title("score_samples")
fig.tight_layout()
