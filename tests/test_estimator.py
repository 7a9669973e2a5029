"""ActionMatchingRegressor's public API: inputs, outputs, errors, persistence, sklearn tools."""

import copy
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from conftest import FAST
from sklearn_am import ActionMatchingRegressor
from sklearn_am._numerics.device import resolve_device


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    t = np.repeat([0.0, 0.5, 2.0], [60, 80, 70])  # unequal spacing and sizes
    X = rng.normal(size=(len(t), 3)) + t[:, None] * np.array([1.0, -0.5, 0.0])
    return X, t


@pytest.fixture(scope="module")
def fitted(data):
    X, t = data
    return ActionMatchingRegressor(**FAST).fit(X, t)


def test_fitted_attributes(fitted, data):
    X, t = data
    np.testing.assert_array_equal(fitted.times_, [0.0, 0.5, 2.0])
    assert fitted.n_iter_ == FAST["max_iter"]
    assert len(fitted.loss_curve_) == fitted.n_iter_
    assert fitted.n_features_in_ == 3
    assert fitted.device_ == str(resolve_device("auto"))  # trained on the GPU when there is one
    assert fitted.interpolation_ == "ot"
    assert fitted.source_samples_.shape == (60, 3)
    assert next(fitted.potential_.parameters()).device.type == "cpu"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_outputs_keep_dtype_and_shape(fitted, data, dtype):
    X = data[0].astype(dtype)
    assert fitted.transform(X).dtype == dtype
    assert fitted.inverse_transform(X).dtype == dtype
    assert fitted.velocity(X, 1.0).shape == X.shape
    assert fitted.scalar_potential(X, 1.0).shape == (X.shape[0],)


def test_transform_inverse_round_trip(fitted, data):
    X = data[0][:20]
    np.testing.assert_allclose(fitted.inverse_transform(fitted.transform(X)), X, atol=1e-4)


def test_push_matches_transform_and_paths(fitted, data):
    X = data[0][:10]
    np.testing.assert_allclose(fitted.push(X, 0.0, 2.0), fitted.transform(X), rtol=1e-6)
    X_to, path, times = fitted.push(X, 0.0, 2.0, return_path=True)
    assert path.shape == (len(times), 10, 3)
    assert times[0] == 0.0 and times[-1] == 2.0 and np.all(np.diff(times) > 0)
    np.testing.assert_allclose(path[-1], X_to)
    np.testing.assert_allclose(path[0], X)
    X_to2, path2, times2 = fitted.push(X, 0.0, 2.0, t_eval=[0.5, 1.0, 2.0])
    np.testing.assert_allclose(times2, [0.5, 1.0, 2.0])
    assert path2.shape == (3, 10, 3)
    np.testing.assert_allclose(path2[-1], X_to2)
    # Pushing in two legs equals pushing at once (same solver grid density).
    half = fitted.push(fitted.push(X, 0.0, 1.0), 1.0, 2.0)
    np.testing.assert_allclose(half, X_to, atol=1e-4)


def test_velocity_is_gradient_of_potential(fitted, data):
    X = data[0][:5]
    eps = 1e-3
    grad = np.stack([
        (fitted.scalar_potential(X + eps * e, 1.0) - fitted.scalar_potential(X - eps * e, 1.0)) / (2 * eps)
        for e in np.eye(3)
    ], axis=1)
    np.testing.assert_allclose(fitted.velocity(X, 1.0), grad, rtol=1e-2, atol=1e-4)


def test_per_row_times(fitted, data):
    X = data[0][:4]
    t = np.array([0.0, 0.5, 1.0, 2.0])
    per_row = fitted.velocity(X, t)
    for i in range(4):
        np.testing.assert_allclose(per_row[i], fitted.velocity(X[i : i + 1], t[i])[0], rtol=1e-5)


def test_sample(fitted):
    a = fitted.sample(50, random_state=1)
    b = fitted.sample(50, random_state=1)
    assert a.shape == (50, 3)
    np.testing.assert_array_equal(a, b)
    mid = fitted.sample(5, t=0.5, random_state=1)
    np.testing.assert_allclose(mid, fitted.push(fitted.source_samples_[
        np.random.RandomState(1).randint(60, size=5)], 0.0, 0.5))


def test_source_and_target_time(data):
    X, t = data
    model = ActionMatchingRegressor(**FAST, source_time=0.5, target_time=2.0).fit(X, t)
    np.testing.assert_allclose(model.transform(X[:5]), model.push(X[:5], 0.5, 2.0))


def test_score_is_deterministic_and_prefers_the_trained_model(data):
    X, t = data
    untrained = ActionMatchingRegressor(**{**FAST, "max_iter": 1}).fit(X, t)
    trained = ActionMatchingRegressor(**{**FAST, "max_iter": 300}).fit(X, t)
    assert trained.score(X, t) == trained.score(X, t)
    assert trained.score(X, t) > untrained.score(X, t)


def test_same_seed_same_model_and_refit_is_reproducible(data):
    X, t = data
    a = ActionMatchingRegressor(**FAST).fit(X, t)
    b = ActionMatchingRegressor(**FAST).fit(X, t)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    np.testing.assert_array_equal(a.fit(X, t).transform(X), b.transform(X))
    c = ActionMatchingRegressor(**{**FAST, "random_state": 1}).fit(X, t)
    assert not np.allclose(c.transform(X), a.transform(X))


@pytest.mark.parametrize("dump, load", [
    (pickle.dumps, pickle.loads),
    (lambda m: _joblib_bytes(m), lambda b: _joblib_load(b)),
])
def test_persistence_round_trip(fitted, data, dump, load):
    X = data[0]
    restored = load(dump(fitted))
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))
    np.testing.assert_array_equal(restored.velocity(X, 0.3), fitted.velocity(X, 0.3))


def _joblib_bytes(model):
    import io
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def _joblib_load(raw):
    import io
    return joblib.load(io.BytesIO(raw))


def test_fitted_state_holds_no_device_tensors(fitted):
    # Device-neutral pickles: every tensor in the fitted state lives on the CPU.
    for tensor in fitted.potential_.state_dict().values():
        assert tensor.device.type == "cpu"
    for value in vars(fitted).values():
        assert not isinstance(value, torch.Tensor) or value.device.type == "cpu"


def test_warm_start_continues_training(data):
    X, t = data
    model = ActionMatchingRegressor(**FAST, warm_start=True).fit(X, t)
    first = model.transform(X)
    center = model.x_center_.copy()
    model.fit(X, t)
    assert model.n_iter_ == 2 * FAST["max_iter"]
    assert len(model.loss_curve_) == 2 * FAST["max_iter"]
    np.testing.assert_array_equal(model.x_center_, center)
    assert not np.allclose(model.transform(X), first)


def test_pipeline_and_grid_search(data):
    X, t = data
    pipe = Pipeline([("scale", StandardScaler()), ("am", ActionMatchingRegressor(**FAST))])
    Xt = pipe.fit(X, t).transform(X)
    assert Xt.shape == X.shape
    search = GridSearchCV(
        pipe,
        {"am__hidden_layer_sizes": [(8,), (16, 16)], "am__learning_rate_init": [1e-3, 1e-2]},
        cv=KFold(3, shuffle=True, random_state=0),
    )
    search.fit(X, t)
    assert set(search.best_params_) == {"am__hidden_layer_sizes", "am__learning_rate_init"}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_clone_and_set_output_pandas(data):
    pd = pytest.importorskip("pandas")
    X, t = data
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = clone(ActionMatchingRegressor(**FAST)).set_output(transform="pandas")
    out = model.fit(frame, t).transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["a", "b", "c"]
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c"])


def test_many_distinct_times(fast_params):
    # Every row its own time (e.g. a continuous clock); quadrature and OT both fit.
    rng = np.random.RandomState(0)
    t = np.sort(rng.uniform(0, 1, 120))
    X = rng.normal(size=(120, 2)) + t[:, None]
    for interpolation in ("ot", "auto"):
        model = ActionMatchingRegressor(**fast_params, interpolation=interpolation).fit(X, t)
        assert len(model.times_) == 120
    assert model.interpolation_ == "quadrature"


def test_push_outside_range_warns(fitted, data):
    with pytest.warns(UserWarning, match=r"outside the fitted time range \[0, 2\]"):
        fitted.push(data[0][:3], 0.0, 3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted.push(data[0][:3], 0.0, 2.0)


def test_not_fitted():
    model = ActionMatchingRegressor()
    for call in (lambda: model.transform([[0.0]]), lambda: model.velocity([[0.0]], 0.0),
                 lambda: model.sample(2), lambda: model.push([[0.0]], 0, 1),
                 lambda: model.score([[0.0], [1.0]], [0, 1])):
        with pytest.raises(NotFittedError):
            call()


@pytest.mark.parametrize("X, y, error, match", [
    ([[0.0, np.nan], [1.0, 1.0]], [0, 1], ValueError, "NaN"),
    ([[0.0, np.inf], [1.0, 1.0]], [0, 1], ValueError, "infinity"),
    ([[0.0], [1.0], [2.0]], [1, 1, 1], ValueError, "single distinct value"),
    ([[0.0], [1.0], [2.0]], [0, 1], ValueError, "inconsistent numbers of samples"),
    ([[0.0], [1.0]], ["day one", "day two"], TypeError, "must be numeric"),
    ([[0.0], [1.0]], [0.0, np.nan], ValueError, "NaN"),
    (np.empty((0, 2)), [], ValueError, "0 sample"),
    ([[0.0], [1.0]], [[0, 1], [1, 0]], ValueError, "1d array|1-D"),
])
def test_bad_fit_input(X, y, error, match, fast_params):
    with pytest.raises(error, match=match):
        ActionMatchingRegressor(**fast_params).fit(X, y)


def test_bad_inputs_after_fit(fitted, data):
    X = data[0]
    with pytest.raises(ValueError, match="X has 2 features, but ActionMatchingRegressor is expecting 3"):
        fitted.transform(X[:, :2])
    with pytest.raises(ValueError, match="has 3 entries but X has 5 rows"):
        fitted.velocity(X[:5], [0.0, 1.0, 2.0])
    with pytest.raises(TypeError, match="t_from must be a real number"):
        fitted.push(X[:5], "start", 1.0)
    with pytest.raises(ValueError, match="t_eval must run monotonically"):
        fitted.push(X[:5], 0.0, 1.0, t_eval=[0.8, 0.2])
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        fitted.sample(0)
    with pytest.raises(ValueError, match="2 or more distinct times"):
        fitted.score(X[:5], np.zeros(5))


@pytest.mark.parametrize("params, match", [
    ({"hidden_layer_sizes": (16, 0)}, "hidden_layer_sizes must be a positive int"),
    ({"device": "tpu:9"}, "device='tpu:9' is not a torch device"),
    ({"interpolation": "linear"}, "'interpolation' parameter"),
    ({"solver": "rk45"}, "'solver' parameter"),
])
def test_bad_parameters(params, match, data, fast_params):
    X, t = data
    with pytest.raises(ValueError, match=match):
        ActionMatchingRegressor(**{**fast_params, **params}).fit(X, t)


@pytest.mark.parametrize("solver", ["euler", "heun", "rk4", "adams", "dopri5"])
def test_solvers_agree(fitted, data, solver):
    X = data[0][:20]
    # The solver is read at push time: a fitted model switches solvers without refitting.
    reference = copy.deepcopy(fitted).set_params(solver="dopri5", solver_tol=1e-7)
    model = copy.deepcopy(fitted).set_params(solver=solver)
    tol = {"euler": 5e-2, "heun": 1e-3, "rk4": 1e-4, "adams": 1e-3, "dopri5": 1e-4}[solver]
    np.testing.assert_allclose(model.transform(X), reference.transform(X), atol=tol)


def test_score_refuses_times_closer_than_the_model_resolves():
    rng = np.random.RandomState(0)
    t = np.repeat([0.0, 1.0, 2.0], 40)
    X = rng.normal(size=(120, 2)) + t[:, None]
    model = ActionMatchingRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, t)
    with pytest.raises(ValueError, match="y holds distinct times closer than"):
        model.score(np.zeros((3, 2)), [0.0, 0.0, 1.5e-58])
    assert np.isfinite(model.score(X, t))
