"""The single door to scikit-learn's private API.

Every private scikit-learn name that sklearn_am needs is imported here and nowhere
else, so that a change in scikit-learn is fixed in one place.
"""

from sklearn.base import _fit_context
from sklearn.utils.validation import _check_feature_names_in

try:  # scikit-learn >= 1.9: fit callbacks (progress bars, monitors, early stopping)
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # pragma: no cover - older scikit-learn: no callback API

    class CallbackSupportMixin:
        """Stand-in for scikit-learn < 1.9, which has no callback API."""

from sklearn.utils import _safe_indexing
from sklearn.utils._mask import _get_mask
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    Options,
    StrOptions,
    validate_params,
)

__all__ = [
    "CallbackSupportMixin",
    "HasMethods",
    "Interval",
    "Options",
    "StrOptions",
    "_check_feature_names_in",
    "_fit_context",
    "_get_mask",
    "_safe_indexing",
    "check_matplotlib_support",
    "validate_params",
]
