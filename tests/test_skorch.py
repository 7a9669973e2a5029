"""sklearn_am.skorch: ActionMatchingNet trains with skorch's loop, callbacks and persistence."""

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

pytest.importorskip("skorch")

from skorch.callbacks import Checkpoint, EarlyStopping, LoadInitState, LRScheduler  # noqa: E402
from skorch.dataset import Dataset  # noqa: E402
from skorch.helper import predefined_split  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402
from torch.optim.lr_scheduler import CosineAnnealingLR, StepLR  # noqa: E402

from sklearn_am import (  # noqa: E402
    ActionMatchingRegressor,
    EntropicActionMatching,
    UnbalancedActionMatching,
)
from sklearn_am.datasets import make_gaussian_transport  # noqa: E402
from sklearn_am.networks import MLPPotential, Potential  # noqa: E402
from sklearn_am.skorch import ActionMatchingNet, SnapshotSplit  # noqa: E402

#: Steps of the accuracy fits (both engines): 300 steps of 256 points, a 32×32 MLP.
STEPS = 300
#: Relative velocity MSE at 300 steps, measured on 3 data seeds: estimator 0.009–0.029,
#: net (same recipe) 0.008–0.028, net (defaults: a fifth held out, constant lr)
#: 0.006–0.014. The bound leaves room for another seed or torch build.
TOLERANCE = 0.05


def make_net(**params):
    """A small net on 2-D data, quiet; ``params`` override."""
    defaults = dict(module=MLPPotential, module__n_features=2, module__hidden_layer_sizes=(16,),
                    steps_per_epoch=10, max_epochs=3, batch_size=64, random_state=0, verbose=0)
    return ActionMatchingNet(**{**defaults, **params})


def relative_velocity_mse(model, truth, times=(0.1, 0.25, 0.4, 0.6, 0.75, 0.9), n=2000):
    """E‖v̂ − v‖² / E‖v‖² at fresh points of the true marginals, averaged over times."""
    errors = []
    for i, t in enumerate(times):
        X = truth.sample(n, t, random_state=10 + i)
        v = truth.velocity(X, t)
        errors.append(np.sum((model.velocity(X, t) - v) ** 2) / np.sum(v**2))
    return float(np.mean(errors))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny networks gain nothing from a second thread, and lose up to 10x on a shared machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def gaussian():
    return make_gaussian_transport(600, n_features=2, times=(0.0, 0.5, 1.0), random_state=0,
                                   return_truth=True)


@pytest.fixture(scope="module")
def net(gaussian):
    """Defaults of the net (a fifth of each snapshot held out, constant lr), 300 steps."""
    X, t, _ = gaussian
    return make_net(module__hidden_layer_sizes=(32, 32), batch_size=256, steps_per_epoch=30,
                    max_epochs=STEPS // 30).fit(X, t)


@pytest.fixture(scope="module")
def small(gaussian):
    X, t, _ = gaussian
    return make_net().fit(X, t)


# ------------------------------------------------------------------- accuracy
def test_velocity_matches_closed_form(net, gaussian):
    assert relative_velocity_mse(net, gaussian[2]) < TOLERANCE


def test_same_recipe_as_the_estimator_reaches_comparable_accuracy(net, gaussian):
    # The estimator's recipe through skorch: all rows, cosine-decayed lr, same steps and seed.
    X, t, truth = gaussian
    estimator = ActionMatchingRegressor(hidden_layer_sizes=(32, 32), max_iter=STEPS,
                                        random_state=0, device="cpu").fit(X, t)
    mirror = make_net(module__hidden_layer_sizes=(32, 32), batch_size=256, steps_per_epoch=30,
                      max_epochs=STEPS // 30, train_split=None,
                      callbacks=[LRScheduler(CosineAnnealingLR, T_max=STEPS, eta_min=1e-5,
                                             step_every="batch")]).fit(X, t)
    errors = [relative_velocity_mse(model, truth) for model in (estimator, mirror, net)]
    assert max(errors) < TOLERANCE, errors
    assert errors[1] < 2 * errors[0] + 0.01, errors
    assert errors[2] < 2 * errors[0] + 0.01, errors


# -------------------------------------------------------------------- history
def test_history_has_train_and_valid_loss_per_epoch(net):
    history = net.history
    assert len(history) == STEPS // 30
    assert all(np.isfinite(history[:, "train_loss"])) and all(np.isfinite(history[:, "valid_loss"]))
    assert history[:, "train_batch_count"] == [30] * len(history)
    assert history[-1, "batches", 0, "train_batch_size"] == 256
    assert history[-1, "valid_loss"] < history[0, "valid_loss"]  # it learnt


def test_no_split_trains_on_all_rows_without_valid_loss(gaussian):
    X, t, _ = gaussian
    net = make_net(train_split=None, max_epochs=1).fit(X, t)
    assert "valid_loss" not in net.history[-1]


def test_valid_loss_is_the_estimators_score_of_the_held_out_rows(gaussian):
    # One validation batch of score's size draws exactly what score draws.
    X, t, _ = gaussian
    held_out = np.arange(len(X)) % 4 == 0
    net = make_net(batch_size=8192, steps_per_epoch=1, max_epochs=1,
                   train_split=predefined_split(Dataset(X[held_out], t[held_out])))
    net.fit(X[~held_out], t[~held_out])
    units = net.units_
    score = net.score(X[held_out], t[held_out])
    np.testing.assert_allclose(net.history[-1, "valid_loss"],
                               -score / (units.scale**2 / units.span), rtol=1e-5)


def test_valid_loss_is_deterministic_and_early_stopping_ends_a_plateau(gaussian):
    X, t, _ = gaussian
    module = MLPPotential(2, (16,))
    with torch.no_grad():
        module.out.weight.normal_(generator=torch.Generator().manual_seed(0))
    # threshold_mode="abs": the AM loss is negative, and skorch 1.4's relative threshold
    # then counts an equal loss as an improvement (skorch-dev/skorch#1065).
    stop = EarlyStopping(patience=2, threshold_mode="abs", sink=lambda *a: None)
    net = ActionMatchingNet(module, lr=0.0, max_epochs=20, steps_per_epoch=5, verbose=0,
                            callbacks=[stop])
    net.fit(X, t)  # lr 0: a plateau from the first epoch
    losses = net.history[:, "valid_loss"]
    assert len(losses) == 3 < 20
    assert losses[0] != 0 and losses == [losses[0]] * 3


# ------------------------------------------------------------------ callbacks
def test_lr_scheduler_changes_lr_in_history(gaussian):
    X, t, _ = gaussian
    net = make_net(callbacks=[LRScheduler(StepLR, step_size=1, gamma=0.5)]).fit(X, t)
    np.testing.assert_allclose(net.history[:, "event_lr"], [1e-3, 5e-4, 2.5e-4])
    np.testing.assert_allclose(net.optimizer_.param_groups[0]["lr"], 1.25e-4)


def test_checkpoint_writes_files_and_restores_a_usable_net(gaussian, tmp_path):
    X, t, _ = gaussian
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor=None)
    net = make_net(callbacks=[checkpoint]).fit(X, t)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"params.pt", "optimizer.pt", "criterion.pt", "history.json"} <= names

    restored = make_net().initialize()
    restored.load_params(checkpoint=checkpoint)
    np.testing.assert_array_equal(restored.velocity(X[:50], 0.5), net.velocity(X[:50], 0.5))

    # Resuming from the checkpoint keeps the units the module was trained in.
    resumed = make_net(max_epochs=1, callbacks=[LoadInitState(checkpoint)]).fit(X + 5.0, t)
    assert len(resumed.history) == 4
    np.testing.assert_array_equal(resumed.units_.center, net.units_.center)


# ---------------------------------------------------------------- persistence
def test_save_params_load_params_round_trip(small, gaussian, tmp_path):
    X = gaussian[0][:100]
    files = dict(f_params=tmp_path / "p.pt", f_criterion=tmp_path / "c.pt")
    small.save_params(**files)
    loaded = make_net().initialize()
    loaded.load_params(**files)
    np.testing.assert_array_equal(loaded.velocity(X, 0.3), small.velocity(X, 0.3))
    np.testing.assert_array_equal(loaded.times_, small.times_)

    weights_only = make_net().initialize()
    weights_only.load_params(f_params=files["f_params"])
    with pytest.raises(NotFittedError, match="f_criterion"):
        weights_only.velocity(X, 0.3)


def _stored_name(value):
    assert value.dtype == torch.uint8, value  # UTF-8 bytes, not an index
    return bytes(value.tolist()).decode("utf-8")


def test_saved_criterion_carries_the_names(small, gaussian, tmp_path, monkeypatch):
    """The interpolation and objective are saved as names: a list that gains a name
    sorting earlier (here, ahead of every current one) does not relabel them."""
    X = gaussian[0][:100]
    small.save_params(f_params=tmp_path / "p.pt", f_criterion=tmp_path / "c.pt")
    saved = torch.load(tmp_path / "c.pt", weights_only=True)
    assert _stored_name(saved["interpolation"]) == small.interpolation_ == "ot"
    assert _stored_name(saved["objective"]) == "regression"
    assert _stored_name(pickle.loads(pickle.dumps(small)).criterion_.interpolation) == "ot"
    from sklearn_am.skorch import _criterion, _mirror

    for module in (_criterion, _mirror):  # where the former index tables lived
        monkeypatch.setattr(module, "INTERPOLATION_NAMES",
                            ("aardvark", "bridge", "independent", "ot", "quadrature"),
                            raising=False)
        monkeypatch.setattr(module, "OBJECTIVE_NAMES", ("aardvark", "regression", "action"),
                            raising=False)
    loaded = make_net().initialize()
    loaded.load_params(f_params=tmp_path / "p.pt", f_criterion=tmp_path / "c.pt")
    assert loaded.interpolation_ == "ot"
    assert loaded.to_estimator().objective_ == "regression"
    np.testing.assert_array_equal(loaded.velocity(X, 0.3), small.velocity(X, 0.3))


def test_criterion_saved_with_indices_still_loads(small, gaussian):
    """A criterion saved by earlier versions (indices into the then-sorted names)."""
    state = small.criterion_.state_dict()
    state["interpolation"] = torch.tensor(2.0, dtype=torch.float64)  # "ot"
    state["objective"] = torch.tensor(0.0, dtype=torch.float64)  # "regression"
    loaded = make_net().initialize()
    loaded.module_.load_state_dict(small.module_.state_dict())
    loaded.criterion_.load_state_dict(state)
    assert loaded.interpolation_ == "ot"
    assert loaded.to_estimator().objective_ == "regression"
    X = gaussian[0][:50]
    np.testing.assert_array_equal(loaded.velocity(X, 0.3), small.velocity(X, 0.3))


def test_pickle_round_trip(small, gaussian):
    X = gaussian[0][:100]
    assert small.draws_ is None  # training data is not kept
    loaded = pickle.loads(pickle.dumps(small))
    np.testing.assert_array_equal(loaded.velocity(X, 0.7), small.velocity(X, 0.7))


def test_to_estimator_is_a_fitted_equivalent(small, gaussian):
    X, t, _ = gaussian
    estimator = small.to_estimator()
    assert isinstance(estimator, ActionMatchingRegressor)
    assert estimator.hidden_layer_sizes == (16,) and estimator.n_iter_ == 30
    assert estimator.potential_ is not small.module_
    np.testing.assert_allclose(estimator.velocity(X[:50], 0.5), small.velocity(X[:50], 0.5))
    np.testing.assert_allclose(estimator.push(X[:50], 0.0, 1.0), small.push(X[:50], 0.0, 1.0))
    np.testing.assert_allclose(estimator.scalar_potential(X[:50], 0.5),
                               small.scalar_potential(X[:50], 0.5))
    np.testing.assert_array_equal(estimator.times_, [0.0, 0.5, 1.0])
    assert estimator.sample(5, random_state=0).shape == (5, 2)
    assert estimator.score(X[::6], t[::6]) == small.score(X[::6], t[::6])
    assert small.interpolation_ == "ot"


@pytest.mark.parametrize("dynamics, cls, params, extra", [
    # "ot" rather than the default bridges: Sinkhorn pools cost seconds, and the path is
    # the sampler's business (tests/test_paths.py), not the net's.
    ("noisy", EntropicActionMatching, {"sigma": 0.3, "interpolation": "ot"},
     ("sigma_schedule_", "noise_seed_")),
    ("growing", UnbalancedActionMatching, {"growth_scale": 2.0}, ("masses_", "growth_scale_")),
])
def test_other_dynamics(gaussian, dynamics, cls, params, extra):
    X, t, _ = gaussian
    weights = np.where(t == 1.0, 2.0, 1.0) if dynamics == "growing" else None
    fit_params = {} if weights is None else {"sample_weight": weights}
    net = make_net(dynamics=dynamics, max_epochs=1, **params).fit(X, t, **fit_params)
    estimator = net.to_estimator()
    assert type(estimator) is cls and all(hasattr(estimator, name) for name in extra)
    if dynamics == "growing":  # masses of every row, not only the training ones
        np.testing.assert_allclose(estimator.masses_, [600, 600, 1200])
    assert np.isfinite(net.history[-1, "valid_loss"])
    np.testing.assert_array_equal(net.push(X[:20], 0.0, 1.0), estimator.push(X[:20], 0.0, 1.0))


def test_partial_fit_keeps_the_units(small, gaussian):
    X, t, _ = gaussian
    net = clone(small).fit(X, t)
    center = net.units_.center.copy()
    net.partial_fit(X + 3.0, t)
    np.testing.assert_array_equal(net.units_.center, center)
    assert len(net.history) == 6


# ----------------------------------------------------------------- the split
def test_snapshot_split_holds_out_a_share_of_every_snapshot():
    t = np.repeat([0.0, 0.5, 2.0], [21, 50, 200])
    train, valid = SnapshotSplit(0.2, random_state=0)(Dataset(np.zeros((len(t), 1)), t), t)
    np.testing.assert_array_equal(np.unique(t[valid.indices], return_counts=True)[1],
                                  [5, 10, 40])  # rounded up, as the estimators' split
    assert len(np.intersect1d(train.indices, valid.indices)) == 0
    assert len(train.indices) + len(valid.indices) == len(t)
    with pytest.raises(ValueError, match="cv"):
        SnapshotSplit(1)(Dataset(np.zeros((len(t), 1)), t), t)


@pytest.mark.parametrize("counts, cv, seed", [
    ([20, 21, 25], 0.1, 0),  # 2.1 and 2.5 rows: rounded up, not to the nearest
    ([25, 37, 120], 5, 1),
    ([30, 30, 30], 3, 2),
    ([22, 23], 0.5, 3),
    ([20, 7, 50], 5, 4),  # a snapshot under 20 rows: no split
    ([3, 200], 0.2, 5),
])
def test_snapshot_split_holds_out_the_rows_of_the_estimators_split(counts, cv, seed):
    """The same rows as ``validation_split`` (the estimators' early stopping) for the
    same times, fraction and random state, rows of different times interleaved."""
    from sklearn_am._estimator.fitting import validation_split

    t = np.random.RandomState(seed).permutation(np.repeat(np.arange(len(counts)), counts))
    t = t.astype(np.float64)
    split = SnapshotSplit(cv, random_state=seed)
    expected_train, expected_valid = validation_split(t, None, split.fraction(),
                                                      np.random.RandomState(seed))
    dataset = Dataset(np.zeros((len(t), 1)), t)
    if expected_valid is None:
        with pytest.warns(UserWarning, match="holds out no rows"):
            train, valid = split(dataset, t)
        assert train is dataset and valid is None
        return
    train, valid = split(dataset, t)
    np.testing.assert_array_equal(valid.indices, np.sort(expected_valid))
    np.testing.assert_array_equal(train.indices, np.sort(expected_train))


def test_small_snapshots_train_without_validation(gaussian):
    X, t, _ = gaussian
    keep = np.concatenate([np.flatnonzero(t == time)[:12] for time in np.unique(t)])
    with pytest.warns(UserWarning, match="holds out no rows"):
        net = make_net(max_epochs=1).fit(X[keep], t[keep])
    assert "valid_loss" not in net.history[-1]
    assert np.isfinite(net.history[-1, "train_loss"])


# -------------------------------------------------------------------- errors
def test_parameters_are_checked_by_the_mirrored_estimator(gaussian):
    X, t, _ = gaussian
    with pytest.raises(ValueError, match="dynamics"):
        make_net(dynamics="diffusion").fit(X, t)
    with pytest.raises(InvalidParameterError, match="sigma"):
        make_net(dynamics="noisy", sigma=-1.0).fit(X, t)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        make_net(steps_per_epoch=0).fit(X, t)
    with pytest.raises(ValueError, match=r"Linear\(x, t\)"):  # forward(x) only
        ActionMatchingNet(torch.nn.Linear, module__in_features=2, module__out_features=1,
                          verbose=0).fit(X, t)
    with pytest.raises(TypeError, match="velocity"):
        make_net().fit(X, t).predict(X)


class _PlainPotential(torch.nn.Module):
    """A plain module with forward(x, t), as the estimators' potential= takes it."""

    def __init__(self, n_features=2):
        super().__init__()
        self.layer = torch.nn.Linear(n_features + 1, 16)
        self.out = torch.nn.Linear(16, 1)

    def forward(self, x, t):
        return self.out(torch.tanh(self.layer(torch.cat([x, t[:, None]], dim=1)))).squeeze(-1)


def test_any_module_with_forward_x_t_trains_as_with_the_estimators(gaussian):
    X, t, truth = gaussian
    net = ActionMatchingNet(_PlainPotential, max_epochs=3, steps_per_epoch=100, batch_size=256,
                            lr=1e-2, random_state=0, verbose=0).fit(X, t)
    est = ActionMatchingRegressor(potential=_PlainPotential, max_iter=300,
                                  learning_rate_init=1e-2, random_state=0).fit(X, t)
    P = X[:300]
    assert net.velocity(P, 0.5).shape == (300, 2)
    # Both learnt the field of the data: closer to the truth than to no motion.
    v_true = truth.velocity(P, 0.5)
    for v in (net.velocity(P, 0.5), est.velocity(P, 0.5)):
        assert np.mean((v - v_true) ** 2) < 0.5 * np.mean(v_true ** 2)


def test_unfitted_net_raises(gaussian):
    with pytest.raises(NotFittedError):
        make_net().initialize().velocity(gaussian[0][:5], 0.5)


# ------------------------------------------------------- optional dependency
def test_skorch_is_optional(small, tmp_path):
    """``import sklearn_am`` leaves skorch alone; without skorch, sklearn_am.skorch says how
    to get it, and an estimator from ``to_estimator`` still loads and runs."""
    estimator = small.to_estimator()
    X = np.linspace(-1, 1, 20).reshape(10, 2)
    path = tmp_path / "estimator.pkl"
    path.write_bytes(pickle.dumps(estimator))
    np.save(tmp_path / "expected.npy", estimator.velocity(X, 0.5))
    script = textwrap.dedent(f"""
        import importlib.abc, pickle, sys
        import numpy as np
        import sklearn_am
        assert not any(name.split(".")[0] == "skorch" for name in sys.modules), "skorch imported"

        class NoSkorch(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "skorch":
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

        sys.meta_path.insert(0, NoSkorch())
        try:
            import sklearn_am.skorch
        except ImportError as exc:
            assert 'pip install "sklearn-am[skorch]"' in str(exc), str(exc)
        else:
            raise AssertionError("no ImportError")
        estimator = pickle.loads(open({str(path)!r}, "rb").read())
        X = np.linspace(-1, 1, 20).reshape(10, 2)
        expected = np.load({str(tmp_path / "expected.npy")!r})
        np.testing.assert_allclose(estimator.velocity(X, 0.5), expected)
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_grid_search_needs_no_scoring(gaussian):
    # clone works (parameters round-trip through __init__) and score is minus the AM loss.
    from sklearn.model_selection import GridSearchCV, KFold

    X, t, _ = gaussian
    search = GridSearchCV(make_net(max_epochs=1), {"lr": [1e-3, 1e-2]},
                          cv=KFold(2, shuffle=True, random_state=0)).fit(X[::3], t[::3])
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.units_.center.shape == (2,)


def test_fit_needs_the_times(gaussian):
    with pytest.raises(ValueError, match="observation time"):
        make_net().fit(gaussian[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fit_gives_a_cpu_estimator(gaussian):
    X, t, _ = gaussian
    net = make_net(device="cuda").fit(X, t)
    assert net.criterion_.center.device.type == "cuda"
    estimator = pickle.loads(pickle.dumps(net.to_estimator()))
    assert next(estimator.potential_.parameters()).device.type == "cpu"
    np.testing.assert_allclose(estimator.velocity(X[:50], 0.5), net.velocity(X[:50], 0.5),
                               rtol=1e-4, atol=1e-5)


class TinyPotential(Potential):
    """A user's potential: only forward(x, t); autograd gives the derivatives."""

    def __init__(self, n_features=2, width=8):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(n_features + 1, width), torch.nn.Tanh(),
                                       torch.nn.Linear(width, 1))

    def forward(self, x, t):
        return self.net(torch.cat([x, t[:, None]], dim=1)).squeeze(-1)


def test_any_potential_module_trains_and_persists(gaussian, tmp_path):
    X, t, _ = gaussian
    net = ActionMatchingNet(TinyPotential, max_epochs=2, steps_per_epoch=5, batch_size=64,
                            verbose=0, random_state=0).fit(X, t)
    assert np.isfinite(net.history[-1, "valid_loss"])
    net.save_params(f_params=tmp_path / "p.pt", f_criterion=tmp_path / "c.pt")
    loaded = ActionMatchingNet(TinyPotential, verbose=0).initialize()
    loaded.load_params(f_params=tmp_path / "p.pt", f_criterion=tmp_path / "c.pt")
    np.testing.assert_array_equal(loaded.velocity(X[:20], 0.5), net.velocity(X[:20], 0.5))
    with pytest.warns(UserWarning, match="MLPPotential"):
        estimator = net.to_estimator()
    np.testing.assert_allclose(estimator.push(X[:20], 0.0, 1.0), net.push(X[:20], 0.0, 1.0))
