"""The single door to scikit-learn's private API.

Every private scikit-learn name that sklearn_am needs is imported here and nowhere
else, so that a change in scikit-learn is fixed in one place.
"""

from sklearn.base import _fit_context
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    Options,
    StrOptions,
    validate_params,
)

__all__ = [
    "HasMethods",
    "Interval",
    "Options",
    "StrOptions",
    "_fit_context",
    "check_matplotlib_support",
    "validate_params",
]
