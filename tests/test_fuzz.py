"""Property-based tests of the public API (Hypothesis): odd inputs give clean errors.

The property, for every call of every estimator: either a ``ValueError`` or
``TypeError`` whose message names the argument that was wrong, or finite output
of the right shape; and the caller's arrays are never changed. Cases are drawn
deterministically (``derandomize=True``), so a CI run is reproducible; together the
tests below run well over 1,000 cases.
"""

import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sklearn_am import (  # noqa: E402
    ActionMatchingRegressor,
    EntropicActionMatching,
    UnbalancedActionMatching,
)

TINY = dict(hidden_layer_sizes=(4,), max_iter=3, batch_size=16, n_steps=2, random_state=0)
N_FEATURES = 2
ESTIMATORS = (ActionMatchingRegressor, EntropicActionMatching, UnbalancedActionMatching)
FUZZ = settings(max_examples=180, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def _fitted():
    rng = np.random.RandomState(0)
    t = np.repeat([0.0, 1.0, 2.0], 20)
    X = rng.normal(size=(60, N_FEATURES)) + t[:, None]
    return {cls.__name__: cls(**TINY).fit(X, t) for cls in ESTIMATORS}


FITTED = _fitted()

# ------------------------------------------------------------------ strategies
SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.0, 1e-300, 1e150, -1e150, 1e308, np.nan, np.inf, -np.inf]
finite_or_not = st.one_of(st.sampled_from(SPECIAL), st.floats(allow_nan=True,
                                                              allow_infinity=True, width=64))


@st.composite
def arrays(draw, n_features=N_FEATURES):
    """Arrays of any dtype, shape and values, a fair share of them valid."""
    kind = draw(st.sampled_from(["valid", "valid", "shape", "dtype", "values", "list"]))
    n = draw(st.integers(0, 6))
    d = n_features if kind != "shape" else draw(st.integers(0, 4))
    if kind == "shape" and draw(st.booleans()):
        shape = draw(st.sampled_from([(n,), (n, d, 2), ()]))
    else:
        shape = (n, d)
    size = int(np.prod(shape)) if shape else 1
    values = [draw(st.floats(-5, 5)) for _ in range(size)]
    if kind == "values":
        values = [draw(finite_or_not) for _ in range(size)]
    X = np.asarray(values, dtype=np.float64).reshape(shape) if shape else np.float64(values[0])
    if kind == "dtype":
        dtype = draw(st.sampled_from([np.float32, np.int64, np.bool_, np.complex128, object, "U3"]))
        X = X.astype(dtype)
    if kind == "list":
        X = X.tolist() if isinstance(X, np.ndarray) else X
    return X


times = st.one_of(
    st.sampled_from([0.0, 1.0, 2.0, 0.5, -1.0, 3.0, 1e9, -1e9, np.nan, np.inf, 1e300]),
    st.floats(-3, 5), st.integers(-3, 5),
    st.sampled_from([None, "1", True, np.float32(1.5), np.array(1.0), [1.0], object()]),
)


def _check_outcome(call, names, inputs, expected_shape):
    """Run ``call``; assert the property. ``names``: the arguments an error may name."""
    before = [np.array(a, copy=True) if isinstance(a, np.ndarray) else None for a in inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = call()
        except (ValueError, TypeError) as exc:
            message = str(exc)
            assert any(name in message for name in names), (
                f"{type(exc).__name__} does not name one of {names}: {message}"
            )
            out = None
    for a, b in zip(inputs, before):
        if b is not None and b.dtype.kind not in "OU":
            np.testing.assert_array_equal(a, b, err_msg="an input was changed in place")
    if out is not None:
        first = out[0] if isinstance(out, tuple) else out
        assert np.all(np.isfinite(first)), "finite input gave non-finite output"
        if expected_shape is not None:
            assert first.shape == expected_shape(inputs[0])


def _rows(X):
    return (np.asarray(X).shape[0], N_FEATURES)


# ------------------------------------------------------------------------ tests
@FUZZ
@given(name=st.sampled_from(sorted(FITTED)), X=arrays(), t=times)
def test_velocity_and_potential(name, X, t):
    est = FITTED[name]
    _check_outcome(lambda: est.velocity(X, t), ("X", "t"), [X], _rows)
    _check_outcome(lambda: est.scalar_potential(X, t), ("X", "t"), [X],
                   lambda X_: (np.asarray(X_).shape[0],))


@FUZZ
@given(name=st.sampled_from(sorted(FITTED)), X=arrays(), t_from=times, t_to=times,
       return_weights=st.booleans(), t_eval=st.one_of(st.none(), st.lists(times, max_size=3)))
def test_push(name, X, t_from, t_to, return_weights, t_eval):
    est = FITTED[name]
    _check_outcome(
        lambda: est.push(X, t_from, t_to, return_weights=return_weights, t_eval=t_eval),
        ("X", "t_from", "t_to", "t_eval"), [X], _rows,
    )


@FUZZ
@given(name=st.sampled_from(sorted(FITTED)), X=arrays())
def test_transform_and_inverse(name, X):
    est = FITTED[name]
    _check_outcome(lambda: est.transform(X), ("X",), [X], _rows)
    if hasattr(est, "inverse_transform"):
        _check_outcome(lambda: est.inverse_transform(X), ("X",), [X], _rows)


@FUZZ
@given(name=st.sampled_from(sorted(FITTED)),
       n_samples=st.one_of(st.integers(-2, 20), st.sampled_from([0, 1.5, "3", None, True])),
       t=times, random_state=st.one_of(st.integers(0, 2**31), st.sampled_from([None, "a", -1])))
def test_sample(name, n_samples, t, random_state):
    est = FITTED[name]
    _check_outcome(lambda: est.sample(n_samples, t, random_state=random_state),
                   ("n_samples", "t", "random_state"), [np.zeros((0, 0))], None)


@FUZZ
@given(name=st.sampled_from(sorted(FITTED)), X=arrays(), y=arrays(n_features=1))
def test_score(name, X, y):
    est = FITTED[name]
    y = np.asarray(y).ravel() if isinstance(y, np.ndarray) and y.ndim == 2 else y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = est.score(X, y)
        except (ValueError, TypeError) as exc:
            assert any(n in str(exc) for n in ("X", "y")), str(exc)
        else:
            assert np.isfinite(value)


FIT_PARAMS = st.fixed_dictionaries({}, optional={
    "max_iter": st.sampled_from([1, 2, 0, -1, 2.5, None]),
    "batch_size": st.sampled_from([1, 2, 0, 10**6 + 1, "8"]),
    "learning_rate_init": st.sampled_from([1e-3, 0.0, -1.0, np.inf, 1e8, np.nan]),
    "hidden_layer_sizes": st.sampled_from([(2,), 3, (), (0,), (2, -1), "a", (2.5,)]),
    "n_steps": st.sampled_from([1, 0, 10**9]),
    "source_time": st.sampled_from([None, 0.5, np.nan, "a"]),
})


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(cls=st.sampled_from(ESTIMATORS), X=arrays(), t=st.one_of(arrays(n_features=1), times),
       params=FIT_PARAMS)
def test_fit(cls, X, t, params):
    t = np.asarray(t).ravel() if isinstance(t, np.ndarray) and t.ndim == 2 else t
    est = cls(**{**TINY, **params})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est.fit(X, t)
        except (ValueError, TypeError) as exc:
            names = ("X", "y", *params)
            assert any(n in str(exc) for n in names), str(exc)
            return
        except FloatingPointError as exc:  # diverged: reported with its fix
            assert "learning_rate_init" in str(exc)
    out = est.transform(np.zeros((3, np.asarray(X).shape[1])))
    assert np.all(np.isfinite(out))
