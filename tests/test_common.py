"""scikit-learn's estimator checks, every one of them, with no expected failures."""

import pytest
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    parametrize_with_checks,
)

from conftest import FAST
from sklearn_am import (
    ActionMatchingDensity,
    ActionMatchingImputer,
    ActionMatchingRegressor,
    EntropicActionMatching,
    UnbalancedActionMatching,
)


def _estimators():
    return [
        ActionMatchingRegressor(**FAST),
        EntropicActionMatching(**FAST),
        UnbalancedActionMatching(**FAST),
    ]


def _imputer():
    density = ActionMatchingDensity(hidden_layer_sizes=(16, 16), max_iter=20, batch_size=32)
    return ActionMatchingImputer(density=density, n_rounds=1, n_steps=5, langevin_steps=2,
                                 random_state=0)


@parametrize_with_checks(_estimators() + [ActionMatchingDensity(**FAST), _imputer()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


OPT_IN_CHECKS = [
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_dataframe_column_names_consistency,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
]


@pytest.mark.parametrize("estimator", _estimators() + [_imputer()],
                         ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("check", OPT_IN_CHECKS, ids=lambda c: c.__name__)
def test_opt_in_checks(estimator, check):
    pytest.importorskip("pandas")
    check(type(estimator).__name__, estimator)
