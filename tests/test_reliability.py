"""Reliability: bounded work for any time, no silent non-finite model, safe persistence."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from conftest import FAST
from sklearn_am import (
    ActionMatchingRegressor,
    EntropicActionMatching,
    InconsistentVersionWarning,
    UnbalancedActionMatching,
)
from sklearn_am._estimator.persistence import VERSION_KEY
from sklearn_am._sampling.units import Units
from sklearn_am._estimator.validation import check_within_reach

ESTIMATORS = [ActionMatchingRegressor, EntropicActionMatching, UnbalancedActionMatching]


def _data(n=60, seed=0):
    rng = np.random.RandomState(seed)
    t = np.repeat([0.0, 1.0, 2.0], n)
    return rng.normal(size=(3 * n, 2)) + t[:, None] * [1.0, 0.0], t


@pytest.fixture(scope="module", params=ESTIMATORS, ids=lambda c: c.__name__)
def fitted(request):
    X, t = _data()
    return request.param(**FAST).fit(X, t), X, t


# ------------------------------------------------------------ bounded work
@pytest.mark.parametrize("t_to", [1e9, -1e9, 4.0 + 1e-6, 1e300])
def test_time_far_outside_the_fitted_range_is_rejected(fitted, t_to):
    est, X, _ = fitted
    with pytest.raises(ValueError, match=r"far outside the fitted time range \[0, 2\].*"
                                         r"within \[-2, 4\].*other units"):
        est.push(X[:3], 0.0, t_to)
    with pytest.raises(ValueError, match="far outside"):
        est.velocity(X[:3], t_to)


def test_extrapolation_within_one_span_warns_and_works(fitted):
    est, X, _ = fitted
    with pytest.warns(UserWarning, match="outside the fitted time range"):
        out = est.push(X[:3], 0.0, 4.0)
    assert np.all(np.isfinite(out))


def test_n_steps_is_bounded():
    X, t = _data()
    with pytest.raises(InvalidParameterError, match="n_steps"):
        ActionMatchingRegressor(n_steps=10**9).fit(X, t)


def test_points_far_from_the_fitted_data_are_rejected(fitted):
    est, X, _ = fitted
    far = X[:3].copy()
    far[1, 1] = est.x_center_[1] + 2e6 * est.x_scale_
    with pytest.raises(ValueError, match=r"away from the centre of the fitted data, more "
                                         r"than 1e\+06 times its scale \(.*\).*units of X"):
        est.transform(far)


def test_reach_with_a_scalar_scale():
    units = Units(np.zeros(2), 2.0, 0.0, 1.0)
    check_within_reach(np.array([[1.9e6, -1.9e6]]), units)
    with pytest.raises(ValueError, match=r"values 2.1e\+06 away .* times its scale \(2\)"):
        check_within_reach(np.array([[0.0, 0.0], [0.0, -2.1e6]]), units)


def test_reach_with_one_scale_per_feature():
    units = Units(np.array([1.0, 0.0, 0.0]), np.array([1.0, 1e-3, 10.0]), 0.0, 1.0)
    # Within each feature's own reach, though beyond the others'.
    check_within_reach(np.array([[1.0, 900.0, 9e6], [np.nan, 0.0, 0.0]]), units)
    rows = np.array([[3e6, 0.0, 0.0], [0.0, 5e3, 0.0], [1.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match=r"Z has values 5e\+03 away .* in feature 1, .* "
                                         r"that feature's scale \(0.001\); 2 feature\(s\)"):
        check_within_reach(rows, units, name="Z")


def test_units_with_one_scale_per_feature():
    units = Units(np.array([1.0, -1.0]), np.array([2.0, 0.5]), 1.0, 4.0)
    X = np.array([[3.0, 0.0], [1.0, -1.0]])
    assert_allclose(units.to_model(X), [[1.0, 2.0], [0.0, 0.0]])
    assert_allclose(units.from_model(units.to_model(X)), X)
    assert_allclose(units.velocity, [0.5, 0.125])
    assert_allclose(units.from_tau(units.to_tau([1.0, 3.0])), [1.0, 3.0])
    with pytest.raises(ValueError, match="one scalar length scale.*to_model/from_model"):
        units.action
    assert Units(np.zeros(2), 2.0, 1.0, 4.0).action == 1.0


# ------------------------------------------------------------ quadrature on sparse snapshots
def _translating_snapshots(n_times, n_per_time=40, shift=1.0, seed=0):
    rng = np.random.RandomState(seed)
    t = np.repeat(np.linspace(0.0, 1.0, n_times), n_per_time)
    return rng.normal(size=(len(t), 2)) + shift * t[:, None] * [1.0, 0.0], t


def _quadrature_warnings(record):
    return [w for w in record if issubclass(w.category, UserWarning)
            and 'interpolation="quadrature"' in str(w.message)]


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda c: c.__name__)
def test_quadrature_forced_on_sparse_snapshots_warns_once_per_fit(Estimator):
    X, t = _translating_snapshots(6)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        Estimator(**FAST, interpolation="quadrature").fit(X, t)
    (warning,) = _quadrature_warnings(record)
    message = str(warning.message)
    assert "sparse snapshots (6 times)" in message
    assert "at least 10 distinct times" in message and "at most 0.35" in message
    assert 'interpolation="auto"' in message and '"ot"' in message


def test_quadrature_on_dense_snapshots_and_auto_do_not_warn():
    from sklearn_am._dynamics import GrowingTransport, NoisyTransport, Transport
    from sklearn_am._sampling.snapshots import Snapshots

    def snapshots(X, t):
        return Snapshots.from_data(X, t, Units.from_data(X, t, None), torch.device("cpu"))

    dense = snapshots(*_translating_snapshots(101, shift=0.5))  # 101 slices, small steps
    sparse = snapshots(*_translating_snapshots(6))
    units = Units.from_data(*_translating_snapshots(6))
    kinds = [Transport(), NoisyTransport(sigma=0.5).bind(units), GrowingTransport()]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for dynamics in kinds:
            assert dynamics.policy(dense, "quadrature").interpolation == "quadrature"
            assert dynamics.policy(dense, "auto").interpolation == "quadrature"
            assert dynamics.policy(sparse, "auto").interpolation != "quadrature"
    for dynamics in kinds:
        with pytest.warns(UserWarning, match=r"sparse snapshots \(6 times\).*"
                                             r"here 0\.\d+.*interpolation=\"auto\""):
            dynamics.policy(sparse, "quadrature")


def test_auto_on_sparse_snapshots_fits_without_warning():
    X, t = _translating_snapshots(6)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model = ActionMatchingRegressor(**FAST).fit(X, t)
    assert model.interpolation_ == "ot" and not _quadrature_warnings(record)


# ------------------------------------------------------------ divergence
@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("max_iter", [3, 60])
def test_divergence_raises_and_keeps_the_last_finite_model(Estimator, max_iter):
    X, t = _data()
    est = Estimator(**{**FAST, "learning_rate_init": 1e8, "max_iter": max_iter})
    with pytest.raises(FloatingPointError,
                       match=r"diverged at step \d+ .*learning_rate_init \(now 1e\+08\).*"
                             r"StandardScaler"):
        est.fit(X, t)
    assert len(est.loss_curve_) == est.n_iter_ and np.all(np.isfinite(est.loss_curve_))
    assert np.all(np.isfinite(est.transform(X[:20])))
    assert np.all(np.isfinite(est.velocity(X[:20], 1.0)))


def test_divergence_with_warm_start_keeps_a_usable_model():
    X, t = _data()
    est = ActionMatchingRegressor(**{**FAST, "warm_start": True}).fit(X, t)
    before = est.transform(X[:10])
    est.set_params(learning_rate_init=1e8)
    with pytest.raises(FloatingPointError, match="diverged"):
        est.fit(X, t)
    after = est.transform(X[:10])
    assert np.all(np.isfinite(after))
    assert est.n_iter_ >= FAST["max_iter"]  # the first fit's steps are kept
    assert np.abs(after - before).max() < 1e6  # no runaway weights survive


# ------------------------------------------------------------ persistence
def test_skops_round_trip_trusts_only_sklearn_am_types(fitted, tmp_path):
    sio = pytest.importorskip("skops.io")
    est, X, t = fitted
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted and all(name.startswith("sklearn_am.") for name in untrusted)
    loaded = sio.load(path, trusted=untrusted)
    assert_array_equal(loaded.transform(X[:20]), est.transform(X[:20]))
    assert_array_equal(loaded.velocity(X[:20], 0.5), est.velocity(X[:20], 0.5))
    assert loaded.score(X, t) == est.score(X, t)
    assert_array_equal(loaded.sample(7, random_state=1), est.sample(7, random_state=1))


def test_state_holds_no_torch_objects(fitted):
    import torch

    est = fitted[0]
    state = est.__getstate__()
    assert state[VERSION_KEY] and "potential_" in state

    def walk(value):
        assert not isinstance(value, (torch.Tensor, torch.nn.Module)), type(value)
        if isinstance(value, dict):
            for v in value.values():
                walk(v)

    walk(state)
    assert isinstance(est.potential_, torch.nn.Module)  # the live estimator is untouched


def test_pickle_round_trip_and_version_warning(fitted):
    est, X, _ = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same version: no warning
        loaded = pickle.loads(pickle.dumps(est))
    assert_array_equal(loaded.transform(X[:10]), est.transform(X[:10]))
    state = est.__getstate__()
    state[VERSION_KEY] = "0.0.1"
    other = type(est).__new__(type(est))
    with pytest.warns(InconsistentVersionWarning, match="saved by sklearn-am 0.0.1"):
        other.__setstate__(state)
    assert_array_equal(other.transform(X[:10]), est.transform(X[:10]))


# ------------------------------------------------------------ threads, memory errors
def test_parallel_threads_fit_like_sequential_fits():
    """No global RNG or torch state: two fits in threads equal two fits in a row."""
    from joblib import Parallel, delayed

    X, t = _data()

    def fit(seed):
        return ActionMatchingRegressor(**{**FAST, "random_state": seed}).fit(X, t).transform(X)

    sequential = [fit(0), fit(1)]
    threaded = Parallel(n_jobs=2, backend="threading")(delayed(fit)(s) for s in (0, 1))
    for a, b in zip(sequential, threaded):
        assert_array_equal(a, b)
    assert not np.array_equal(sequential[0], sequential[1])


def test_out_of_memory_names_batch_size_and_cpu(monkeypatch):
    import torch

    import sklearn_am._estimator.progress as progress  # where every estimator's fit calls the loop

    def exhausted(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    X, t = _data()
    monkeypatch.setattr(progress, "train", exhausted)
    with pytest.raises(torch.OutOfMemoryError,
                       match=r'during fit\. Lower batch_size \(now 32\).*device="cpu".*'
                             r"Tried to allocate"):
        ActionMatchingRegressor(**FAST).fit(X, t)


def test_out_of_memory_at_inference_names_cpu(fitted, monkeypatch):
    import torch

    est, X, _ = fitted

    def exhausted(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(type(est._dynamics), "push", exhausted)
    with pytest.raises(torch.OutOfMemoryError, match=r'during push.*device="cpu"'):
        est.transform(X[:3])
