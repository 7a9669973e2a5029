"""Your own potential network: the ``potential`` parameter and ``potential__<name>`` routing."""

import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from torch import nn

from sklearn_am import ActionMatchingRegressor, EntropicActionMatching, UnbalancedActionMatching
from sklearn_am.networks import (
    AutogradPotential,
    ICNNPotential,
    MLPPotential,
    ResidualMLPPotential,
)

SMALL = dict(max_iter=40, batch_size=64, n_steps=10, random_state=0)


def _data(n=80, seed=0):
    rng = np.random.RandomState(seed)
    t = np.repeat([0.0, 1.0, 2.0], n)
    return rng.normal(size=(3 * n, 2)) + t[:, None] * [1.0, 0.0], t


class PlainMLP(nn.Module):
    """A user's network: forward(x, t) only, no derivatives (autograd does them)."""

    def __init__(self, n_features, width=16):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_features + 1, width), nn.SiLU(),
                                  nn.Linear(width, width), nn.SiLU(), nn.Linear(width, 1))

    def forward(self, x, t):
        return self.body(torch.cat([x, t.unsqueeze(-1)], dim=-1)).squeeze(-1)


@pytest.mark.parametrize("Estimator",
                         [ActionMatchingRegressor, EntropicActionMatching, UnbalancedActionMatching])
def test_a_class_with_routed_arguments_fits_and_pickles(Estimator):
    X, t = _data()
    est = Estimator(potential=PlainMLP, potential__width=8, **SMALL)
    assert est.get_params()["potential__width"] == 8
    assert clone(est).get_params()["potential__width"] == 8
    est.fit(X, t)
    assert isinstance(est.potential_, AutogradPotential)
    assert est.potential_.module.body[0].out_features == 8
    assert np.all(np.isfinite(est.transform(X[:5])))
    loaded = pickle.loads(pickle.dumps(est))
    assert_array_equal(loaded.velocity(X[:5], 1.0), est.velocity(X[:5], 1.0))
    # the same random_state gives the same initial weights, hence the same fit
    again = Estimator(potential=PlainMLP, potential__width=8, **SMALL).fit(X, t)
    assert_array_equal(again.velocity(X[:5], 1.0), est.velocity(X[:5], 1.0))


def test_grid_search_tunes_potential_arguments():
    X, t = _data()
    search = GridSearchCV(ActionMatchingRegressor(potential=ResidualMLPPotential, **SMALL),
                          {"potential__width": [4, 8], "potential__n_blocks": [1]},
                          cv=KFold(2, shuffle=True, random_state=0)).fit(X, t)
    assert search.best_params_["potential__width"] in (4, 8)
    assert search.best_estimator_.potential_.embed.out_features == search.best_params_[
        "potential__width"]


def test_set_params_routes_potential_arguments():
    est = ActionMatchingRegressor(potential=PlainMLP).set_params(potential__width=4,
                                                               max_iter=3)
    assert est.potential__width == 4 and est.max_iter == 3
    assert "potential__width" in est.get_params(deep=False)


def test_same_network_gives_the_built_in_results():
    """A plain module with the MLP's weights (autograd derivatives) trains like MLPPotential."""
    X, t = _data()
    init = torch.Generator().manual_seed(7)
    mlp = MLPPotential(2, (16, 16), generator=init)
    plain = PlainMLP(2, width=16)
    with torch.no_grad():
        for mine, theirs in zip([m for m in plain.body if isinstance(m, nn.Linear)],
                                [*mlp.hidden, mlp.out]):
            mine.weight.copy_(theirs.weight)
            mine.bias.copy_(theirs.bias)
    built_in = ActionMatchingRegressor(potential=mlp, **SMALL).fit(X, t)
    custom = ActionMatchingRegressor(potential=plain, **SMALL).fit(X, t)
    assert_allclose(custom.loss_curve_, built_in.loss_curve_, rtol=1e-4, atol=1e-6)
    assert_allclose(custom.velocity(X[:20], 1.0), built_in.velocity(X[:20], 1.0), atol=1e-4)
    assert_allclose(custom.transform(X[:20]), built_in.transform(X[:20]), atol=1e-4)


def test_an_instance_is_copied_never_trained_in_place():
    X, t = _data()
    net = PlainMLP(2)
    before = [p.detach().clone() for p in net.parameters()]
    est = ActionMatchingRegressor(potential=net, **SMALL).fit(X, t)
    for p, q in zip(net.parameters(), before):
        assert torch.equal(p, q)
    assert est.potential is net  # the parameter is stored unchanged


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device on this machine"))])
def test_custom_module_runs_on_a_device_and_comes_back(device):
    X, t = _data()
    est = ActionMatchingRegressor(potential=PlainMLP, device=device, **SMALL).fit(X, t)
    assert next(est.potential_.parameters()).device.type == "cpu"  # fitted state on the CPU
    cpu = pickle.loads(pickle.dumps(est)).set_params(device="cpu")
    assert_allclose(cpu.transform(X[:5]), est.transform(X[:5]), atol=1e-5)


def test_icnn_potential_is_convex_in_x():
    torch.manual_seed(0)
    net = ICNNPotential(3, hidden_layer_sizes=(16, 16))
    for p in net.parameters():  # random weights, not just the initial ones
        p.data.normal_()
    for _ in range(5):
        x0, t0 = torch.randn(3), torch.randn(())

        def s(x):
            return net(x.unsqueeze(0), t0.reshape(1)).squeeze(0)

        hess = torch.autograd.functional.hessian(s, x0)
        assert torch.linalg.eigvalsh(hess).min() > -1e-5


@pytest.mark.slow
@pytest.mark.parametrize("cls", [ResidualMLPPotential, ICNNPotential])
def test_example_potentials_learn_a_translation(cls):
    X, t = _data(n=200)
    est = ActionMatchingRegressor(potential=cls, max_iter=800, random_state=0).fit(X, t)
    v = est.velocity(X[t == 1], 1.0).mean(axis=0)
    assert_allclose(v, [1.0, 0.0], atol=0.25)


# ------------------------------------------------------------------ errors
def test_unknown_routed_argument_names_it():
    X, t = _data()
    with pytest.raises(TypeError, match=r"potential=PlainMLP could not be built from .*"
                                        r"potential__widht.*potential__<name>=value"):
        ActionMatchingRegressor(potential=PlainMLP, potential__widht=3, **SMALL).fit(X, t)


def test_routed_arguments_need_a_class():
    X, t = _data()
    with pytest.raises(ValueError, match="potential=None"):
        ActionMatchingRegressor(potential__width=3, **SMALL).fit(X, t)
    with pytest.raises(ValueError, match="apply to a potential class"):
        ActionMatchingRegressor(potential=PlainMLP(2), potential__width=3, **SMALL).fit(X, t)


def test_wrong_output_shape_is_explained():
    class TwoD(PlainMLP):
        def forward(self, x, t):
            return super().forward(x, t).unsqueeze(-1)

    X, t = _data()
    with pytest.raises(ValueError, match=r"one value per row.*\(2, 1\)"):
        ActionMatchingRegressor(potential=TwoD, **SMALL).fit(X, t)


def test_unexpected_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="unexpected keyword argument 'hidden_sizes'"):
        ActionMatchingRegressor(hidden_sizes=(3,))


def test_not_a_module():
    X, t = _data()
    with pytest.raises(TypeError, match="potential must be None, a torch.nn.Module"):
        ActionMatchingRegressor(potential=lambda x, t: x, **SMALL).fit(X, t)
