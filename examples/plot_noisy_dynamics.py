"""
Noisy dynamics: entropic Action Matching and its σ
==================================================

Snapshots of ``N(0, (1 + t) I)`` spread out over time
(:func:`~sklearn_am.datasets.make_diffusing_gaussian`): a population that
diffuses. :class:`~sklearn_am.EntropicActionMatching` learns the drift of an SDE
``dX = ∇ₓs dt + σ dW`` with σ given (units of ``X`` per √time). With
σ = 1 the diffusion alone explains the spread (``d/dt Var = σ²``), so the
learnt drift should be small; a deterministic model has to push the points
apart instead.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_am import ActionMatchingRegressor, EntropicActionMatching
from sklearn_am.datasets import make_diffusing_gaussian

X, t = make_diffusing_gaussian(400, random_state=0)
small = dict(hidden_layer_sizes=(32, 32), max_iter=250, random_state=0)
models = {
    "AM (no noise)": ActionMatchingRegressor(**small),
    "eAM σ = 0.5": EntropicActionMatching(sigma=0.5, **small),
    "eAM σ = 1": EntropicActionMatching(sigma=1.0, **small),
}
X0 = X[t == 0]
fig, ax = plt.subplots(figsize=(6.5, 4.5))
times = np.unique(t)
ax.plot(times, [X[t == s].var(axis=0).mean() for s in times], "ko-", label="observed")
for name, model in models.items():
    model.fit(X, t)
    speed = np.linalg.norm(model.velocity(X[t == 0.4], t=0.4), axis=1).mean()
    X_end, path, path_times = model.push(X0, 0, 1, t_eval=times[1:], random_state=0)
    variances = [X0.var(axis=0).mean()] + [p.var(axis=0).mean() for p in path]
    ax.plot(times, variances, "--", marker=".", label=f"{name}: mean |drift| {speed:.2f}")
    print(f"{name}: mean |drift| at t = 0.4 {speed:.3f}, variance at t = 1 {variances[-1]:.2f}")
ax.set_xlabel("t")
ax.set_ylabel("variance per feature")
ax.set_title("spread of the first snapshot pushed forwards")
ax.legend()
