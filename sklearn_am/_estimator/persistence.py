"""Persistence: fitted state as NumPy arrays and plain Python, safe for skops.

A fitted estimator's state holds no torch object: ``__getstate__`` replaces the
network by its weights (a dict of NumPy arrays) and ``__setstate__`` rebuilds the
network from the estimator's parameters and loads them. Pickles therefore load on
machines without a GPU, and ``skops.io`` can persist the estimators with only
``sklearn_am`` types to trust. Every state carries the library version; loading a
state written by another version warns, as scikit-learn does for its own.
"""

import warnings

import numpy as np
import torch

from .._version import __version__

__all__ = ["InconsistentVersionWarning", "module_arrays", "restore_module"]

#: Key of the library version in a pickled state.
VERSION_KEY = "_sklearn_am_version"


class InconsistentVersionWarning(UserWarning):
    """A model is loaded by another version of sklearn-am than the one that saved it.

    Parameters
    ----------
    estimator_name : str
        The class of the loaded estimator.
    current_version : str
        The installed sklearn-am version.
    original_version : str
        The version that saved the model (``"unknown"`` for states without one).
    """

    def __init__(self, *, estimator_name, current_version, original_version):
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version
        super().__init__(
            f"Loading {estimator_name} saved by sklearn-am {original_version} with sklearn-am "
            f"{current_version}: the result may be wrong or fail. Refit the model with this "
            "version, or install the version that saved it."
        )


def module_arrays(module):
    """The weights of a torch module as a dict of NumPy arrays (copies, on the host)."""
    return {name: value.detach().to("cpu").numpy().copy()
            for name, value in module.state_dict().items()}


def restore_module(module, arrays):
    """Load a dict of NumPy arrays made by :func:`module_arrays` into ``module``."""
    state = {name: torch.as_tensor(np.asarray(value)) for name, value in arrays.items()}
    module.load_state_dict(state)
    module.eval()
    return module


def check_version(state, estimator_name):
    """Pop the saved version from ``state`` and warn if it is not this one."""
    original = state.pop(VERSION_KEY, "unknown")
    if original != __version__:
        warnings.warn(
            InconsistentVersionWarning(estimator_name=estimator_name,
                                       current_version=__version__,
                                       original_version=original),
            stacklevel=3,
        )
