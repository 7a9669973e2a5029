"""
Imputation against scikit-learn's imputers
==========================================

:class:`~sklearn_am.ActionMatchingImputer` fills missing entries with draws from
the conditional law of the missing entries given the observed ones, learnt by
an :class:`~sklearn_am.ActionMatchingDensity` trained on the gappy rows. Here on
iris with 20 % of the entries missing completely at random, beside
:class:`~sklearn.impute.SimpleImputer`, :class:`~sklearn.impute.KNNImputer` and
:class:`~sklearn.impute.IterativeImputer`, in min–max units.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_iris
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.preprocessing import minmax_scale

from sklearn_am import ActionMatchingDensity, ActionMatchingImputer

X = minmax_scale(load_iris().data)
rng = np.random.default_rng(0)
mask = rng.random(X.shape) < 0.2
X_gappy = np.where(mask, np.nan, X)

imputers = {
    "mean": SimpleImputer(),
    "KNN": KNNImputer(),
    "iterative": IterativeImputer(max_iter=30, random_state=0),
    "Action Matching": ActionMatchingImputer(
        density=ActionMatchingDensity(hidden_layer_sizes=(64, 64), max_iter=500),
        n_rounds=1, random_state=0),
}
mae = {}
for name, imputer in imputers.items():
    filled = imputer.fit_transform(X_gappy)
    mae[name] = np.abs(filled[mask] - X[mask]).mean()
    print(f"{name:>16}: mean absolute error on the missing entries {mae[name]:.3f}")

fig, ax = plt.subplots(figsize=(6.5, 3.5))
ax.barh(list(mae), list(mae.values()), color=["C7", "C7", "C7", "C0"])
ax.set_xlabel("mean absolute error (min–max units)")
ax.set_title("iris, 20 % missing completely at random")
fig.tight_layout()
