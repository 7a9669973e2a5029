"""
Velocity field and trajectories
===============================

The learnt velocity is the gradient of a potential, ``∇ₓs(x, t)``, in units of
``X`` per unit time. On :func:`~sklearn_am.datasets.make_nonlinear` the true
field is known (``return_truth=True``), so we can draw the learnt field
(:class:`~sklearn_am.VelocityFieldDisplay`), trajectories pushed from the first
snapshot (:class:`~sklearn_am.TrajectoryDisplay`) and compare the learnt
velocity with the truth.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_am import ActionMatchingRegressor, TrajectoryDisplay, VelocityFieldDisplay
from sklearn_am.datasets import make_nonlinear

X, t, truth = make_nonlinear(800, random_state=0, return_truth=True)
am = ActionMatchingRegressor(hidden_layer_sizes=(64, 64), max_iter=600,
                             random_state=0).fit(X, t)

# %%
# The field at one time, and trajectories over the whole span
# -----------------------------------------------------------
fig, (ax_field, ax_paths) = plt.subplots(1, 2, figsize=(11, 4.5))
VelocityFieldDisplay.from_estimator(am, X, t, time=1.0, ax=ax_field)
ax_field.set_title("learnt field at t = 1")
TrajectoryDisplay.from_estimator(am, X, t, n_trajectories=60, ax=ax_paths,
                                 random_state=0)
ax_paths.set_title("trajectories from t = 0")
fig.tight_layout()

# %%
# Learnt against true velocity
# ----------------------------
# The relative mean squared error of the velocity on each snapshot.
for time in np.unique(t):
    Xs = X[t == time]
    v_true = truth.velocity(Xs, time)
    v_am = am.velocity(Xs, t=time)
    err = np.mean((v_am - v_true) ** 2) / np.mean(v_true ** 2)
    print(f"t = {time:.0f}: relative velocity MSE {err:.3f}")
