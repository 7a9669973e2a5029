"""Data frames with text columns are refused with the column named and the fix."""

import numpy as np
import pytest

from sklearn_am import (
    ActionMatchingDensity, ActionMatchingImputer, ActionMatchingRegressor,
    EntropicActionMatching, UnbalancedActionMatching,
)
from sklearn_am._estimator.validation import check_numeric_columns

pd = pytest.importorskip("pandas")

TINY = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
SNAPSHOT_ESTIMATORS = [ActionMatchingRegressor, EntropicActionMatching,
                       UnbalancedActionMatching]
ROW_ESTIMATORS = [
    lambda: ActionMatchingDensity(**TINY, n_steps=3),
    lambda: ActionMatchingImputer(density=ActionMatchingDensity(**TINY, n_steps=3),
                                  n_rounds=1, n_steps=2, langevin_steps=1),
]


def _frame(n=40, text=False, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x0": rng.normal(size=n), "x1": rng.normal(size=n),
                          "flag": rng.random(n) < 0.5})
    if text:
        frame["city"] = [f"c{i % 3}" for i in range(n)]
    return frame


def _times(n=40):
    return np.repeat([0.0, 1.0], n // 2)


def _refuses(call, column="city"):
    with pytest.raises(ValueError, match="encode") as info:
        call()
    assert repr(column) in str(info.value)
    assert "OneHotEncoder" in str(info.value)


@pytest.mark.parametrize("Estimator", SNAPSHOT_ESTIMATORS, ids=lambda c: c.__name__)
def test_snapshot_estimators_refuse_text_columns(Estimator):
    estimator = Estimator(**TINY)
    _refuses(lambda: estimator.fit(_frame(text=True), _times()))
    estimator.fit(_frame(), _times())  # numbers and bools still fit
    _refuses(lambda: estimator.transform(_frame(text=True).drop(columns="flag")))
    _refuses(lambda: estimator.score(_frame(text=True).drop(columns="flag"), _times()))


@pytest.mark.parametrize("make", ROW_ESTIMATORS, ids=["density", "imputer"])
def test_row_estimators_refuse_text_columns(make):
    estimator = make()
    _refuses(lambda: estimator.fit(_frame(text=True)))
    frame = _frame()
    if isinstance(estimator, ActionMatchingImputer):
        frame.iloc[::7, 0] = np.nan
    estimator.fit(frame)
    fitted_method = (estimator.transform if isinstance(estimator, ActionMatchingImputer)
                     else estimator.score_samples)
    fitted_method(frame)
    _refuses(lambda: fitted_method(_frame(text=True).drop(columns="flag")))


def test_message_lists_first_columns_and_counts_the_rest():
    frame = pd.DataFrame({f"t{i}": ["a", "b"] for i in range(8)})
    frame["n"] = [1.0, 2.0]
    with pytest.raises(ValueError) as info:
        check_numeric_columns(frame, name="X")
    message = str(info.value)
    assert "8 columns" in message and "and 3 more" in message
    assert "'t0' (object)" in message and "'t5'" not in message


def test_columns_that_convert_to_numbers_pass():
    frame = pd.DataFrame({
        "object_numbers": pd.Series([1.0, None], dtype=object),
        "string_numbers": pd.Series(["1.5", "2"], dtype="string"),
        "numeric_categories": pd.Categorical([1.0, 2.0]),
        "flag": [True, False],
        "count": pd.Series([1, None], dtype="Int64"),
    })
    check_numeric_columns(frame)
    with pytest.raises(ValueError, match="'labels' \\(category\\)"):
        check_numeric_columns(frame.assign(labels=pd.Categorical(["a", "b"])))


def test_arrays_and_lists_pass_unchanged():
    check_numeric_columns(np.array([["a", "b"]]))
    check_numeric_columns([["a", 1]])
