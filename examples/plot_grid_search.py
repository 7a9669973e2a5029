"""
Tuning with GridSearchCV in a Pipeline
======================================

The estimators are scikit-learn transformers: they go after a
:class:`~sklearn.preprocessing.StandardScaler` in a
:class:`~sklearn.pipeline.Pipeline`, and :class:`~sklearn.model_selection.GridSearchCV`
tunes them with no ``scoring`` (``score`` is minus the Action Matching loss,
greater is better). Rows sorted by time would make unshuffled folds drop whole
snapshots, so the folds are shuffled.
"""

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_am import ActionMatchingRegressor
from sklearn_am.datasets import make_branching

X, t = make_branching(600, random_state=0)
pipe = make_pipeline(StandardScaler(),
                     ActionMatchingRegressor(max_iter=150, random_state=0))
grid = {
    "actionmatchingregressor__hidden_layer_sizes": [(16,), (64, 64)],
    "actionmatchingregressor__learning_rate_init": [3e-4, 3e-3],
}
search = GridSearchCV(pipe, grid, cv=KFold(3, shuffle=True, random_state=0)).fit(X, t)
print("best parameters:", search.best_params_)

# %%
# Mean held-out score of each candidate
# -------------------------------------
results = pd.DataFrame(search.cv_results_)
results["network"] = results["param_actionmatchingregressor__hidden_layer_sizes"].astype(str)
table = results.pivot(index="param_actionmatchingregressor__learning_rate_init",
                      columns="network", values="mean_test_score")
print(table)
ax = table.plot(marker="o", logx=True, figsize=(6.5, 4))
ax.set_xlabel("learning_rate_init")
ax.set_ylabel("mean held-out score (− AM loss)")
ax.set_title("GridSearchCV, 3 shuffled folds")
plt.tight_layout()
