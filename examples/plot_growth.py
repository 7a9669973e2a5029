"""
Growth and death: unbalanced Action Matching
============================================

When the number of rows per time (or ``sample_weight``) measures the size of
the population, :class:`~sklearn_am.UnbalancedActionMatching` learns a growth
rate ``g(x, t)`` beside the motion. Here the branching population grows in its
upper branch and shrinks in its lower one: each row carries a weight, and the
total mass per snapshot changes over time.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_am import UnbalancedActionMatching
from sklearn_am.datasets import make_branching

X, t = make_branching(800, random_state=0)
# The upper branch (second feature > 0) grows at rate 0.3, the lower one dies at rate 0.2.
rate = np.where(X[:, 1] > 0, 0.3, -0.2)
weights = np.exp(rate * t)
for time in np.unique(t):
    print(f"t = {time:.0f}: mass {weights[t == time].sum():7.1f}")

uam = UnbalancedActionMatching(hidden_layer_sizes=(64, 64), max_iter=600,
                               random_state=0).fit(X, t, sample_weight=weights)
print("fitted masses:", np.round(uam.masses_, 3))

# %%
# The learnt growth rate, and the first snapshot pushed with its weights
# ----------------------------------------------------------------------
X_end, w_end = uam.push(X[t == 0], 0, 4, return_weights=True)
fig, (ax_rate, ax_push) = plt.subplots(1, 2, figsize=(11, 4.5))
X3 = X[t == 3]
sc = ax_rate.scatter(X3[:, 0], X3[:, 1], c=uam.growth(X3, t=3.0), cmap="coolwarm", s=8)
fig.colorbar(sc, ax=ax_rate, label="growth rate (1/time)")
ax_rate.set_title("learnt growth rate at t = 3")
X4 = X[t == 4]
ax_push.scatter(X4[:, 0], X4[:, 1], s=6, c="lightgray", label="observed t = 4")
ax_push.scatter(X_end[:, 0], X_end[:, 1], s=20 * w_end / w_end.mean(), c="C1",
                alpha=0.6, label="pushed from t = 0, sized by weight")
ax_push.legend(loc="lower left")
ax_push.set_title("pushed with growth factors")
fig.tight_layout()
print(f"mean growth factor, upper branch {w_end[X_end[:, 1] > 0].mean():.2f}, "
      f"lower branch {w_end[X_end[:, 1] <= 0].mean():.2f}")
