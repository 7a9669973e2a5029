"""
A custom potential network
==========================

``potential=`` takes a :class:`torch.nn.Module` class (built at fit, with its
``potential__<name>`` arguments tunable like any parameter) or an instance. Any
module with ``forward(x, t) -> (n,)`` works, its derivatives by autograd. Here a
:class:`~sklearn_am.networks.Potential` subclass written from scratch, beside
the built-in :class:`~sklearn_am.networks.ResidualMLPPotential` and the default
MLP, on the branching data.
"""

import matplotlib.pyplot as plt
import torch

from sklearn_am import ActionMatchingRegressor
from sklearn_am.datasets import make_branching
from sklearn_am.metrics import wasserstein_distance
from sklearn_am.networks import Potential, ResidualMLPPotential


class TimeFeaturePotential(Potential):
    """s(x, t): an MLP on (x, sin πt, cos πt), one hidden layer of ``width`` units."""

    def __init__(self, n_features, width=64):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(n_features + 2, width), torch.nn.SiLU(),
            torch.nn.Linear(width, width), torch.nn.SiLU(),
            torch.nn.Linear(width, 1),
        )

    def forward(self, x, t):
        t = t.reshape(-1, 1).expand(x.shape[0], 1)
        feats = torch.cat([x, torch.sin(torch.pi * t), torch.cos(torch.pi * t)], dim=1)
        return self.net(feats).squeeze(-1)


X, t = make_branching(800, random_state=0)
settings = dict(max_iter=400, random_state=0)
models = {
    "default MLP (64, 64)": ActionMatchingRegressor(hidden_layer_sizes=(64, 64), **settings),
    "ResidualMLPPotential": ActionMatchingRegressor(
        potential=ResidualMLPPotential, potential__width=32, potential__n_blocks=2, **settings),
    "TimeFeaturePotential": ActionMatchingRegressor(
        potential=TimeFeaturePotential, potential__width=64, **settings),
}
fig, ax = plt.subplots(figsize=(6.5, 4))
for name, am in models.items():
    am.fit(X, t)
    w1 = wasserstein_distance(am.transform(X[t == 0]), X[t == 4])
    print(f"{name}: W1 to the last snapshot {w1:.3f}")
    ax.plot(am.loss_curve_, label=f"{name} (W1 {w1:.3f})", alpha=0.8)
ax.set_xlabel("step")
ax.set_ylabel("training loss")
ax.legend()
