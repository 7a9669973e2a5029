"""
The skorch engine: ActionMatchingNet
====================================

:class:`sklearn_am.skorch.ActionMatchingNet` trains a potential module with the
estimators' sampler and loss inside skorch's training loop, so skorch's
callbacks, ``history`` and ``save_params`` apply. Validation holds out a fifth
of every snapshot (:class:`~sklearn_am.skorch.SnapshotSplit`). The Action
Matching loss is usually negative, so ``EarlyStopping`` gets
``threshold_mode="abs"``. ``to_estimator`` turns the net into a fitted
:class:`~sklearn_am.ActionMatchingRegressor`. Needs ``pip install skorch``.
"""

import matplotlib.pyplot as plt
from skorch.callbacks import EarlyStopping

from sklearn_am.datasets import make_branching
from sklearn_am.metrics import wasserstein_distance
from sklearn_am.networks import MLPPotential
from sklearn_am.skorch import ActionMatchingNet

X, t = make_branching(600, random_state=0)
net = ActionMatchingNet(
    MLPPotential, module__n_features=2, module__hidden_layer_sizes=(64, 64),
    max_epochs=12, steps_per_epoch=40, lr=3e-3, verbose=0, random_state=0,
    callbacks=[EarlyStopping(patience=4, threshold_mode="abs")],
).fit(X, t)

# %%
# skorch's history, and the net as an estimator
# ---------------------------------------------
fig, ax = plt.subplots(figsize=(6.5, 4))
ax.plot(net.history[:, "train_loss"], "o-", label="train_loss")
ax.plot(net.history[:, "valid_loss"], "o-", label="valid_loss")
ax.set_xlabel("epoch")
ax.set_ylabel("Action Matching loss")
ax.legend()

am = net.to_estimator()
X4 = am.transform(X[t == 0])
print(f"W1 to the last snapshot: {wasserstein_distance(X4, X[t == 4]):.3f} "
      f"(not moving: {wasserstein_distance(X[t == 0], X[t == 4]):.3f})")
