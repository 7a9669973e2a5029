"""Parameter and attribute descriptions shared by the estimators' docstrings.

A class docstring names a shared entry with a line holding only ``{{name}}``
(indented like a parameter); :func:`fill_shared_docs` replaces it. Tokens are
double braces because numpydoc types already use single ones (``{"a", "b"}``).
"""

import re

__all__ = ["SHARED_PARAMETERS", "fill_shared_docs"]

SHARED_PARAMETERS = {
    "hidden_layer_sizes": """\
hidden_layer_sizes : int or tuple of int, default=(128, 128, 128)
    Width of each hidden layer of the potential network s(x, t) (an MLP on
    ``[x, t]``; the output layer starts at zero, so nothing happens before fit).""",
    "batch_size": """\
batch_size : int, default=256
    Points per step on the path between snapshots, and points per step from
    the first and from the last snapshot (boundary terms).""",
    "learning_rate_init": """\
learning_rate_init : float, default=1e-3
    Peak learning rate; a short linear warm-up is followed by cosine decay
    to 1 % of it, with gradient-norm clipping at 1.""",
    "device": """\
device : str, default="auto"
    Where to train and infer: ``"auto"`` (CUDA when available, else CPU),
    ``"cpu"``, ``"cuda"``, ``"cuda:N"``. The fitted network is kept on the CPU,
    so fitted models pickle and load on machines without a GPU.""",
    "verbose": """\
verbose : int, default=0
    Print the training loss about ten times during ``fit`` when > 0.""",
    "source_time": """\
source_time : float, default=None
    Time ``transform`` pushes from; default the earliest fitted time.""",
    "target_time": """\
target_time : float, default=None
    Time ``transform`` pushes to; default the latest fitted time.""",
    "warm_start": """\
warm_start : bool, default=False
    When True, ``fit`` continues training the current potential (keeping the
    units learnt at the first fit) instead of starting anew.""",
    # Fitted attributes shared by every estimator.
    "n_features_in_": """\
n_features_in_ : int
    Number of features seen during ``fit``.""",
    "feature_names_in_": """\
feature_names_in_ : ndarray of shape (n_features_in_,)
    Names of features seen during ``fit``; only when X has string column names.""",
    "device_": """\
device_ : str
    The device ``fit`` ran on.""",
    "interpolation_": """\
interpolation_ : str
    The interpolation used (``"auto"`` resolved).""",
    "hidden_layer_sizes_": """\
hidden_layer_sizes_ : tuple of int
    The validated layer widths.""",
}

_TOKEN = re.compile(r"^(?P<indent>[ ]*)\{\{(?P<name>\w+)\}\}[ ]*$", re.MULTILINE)


def fill_shared_docs(cls):
    """Class decorator: replace each ``{{name}}`` line of the docstring by its entry."""

    def entry(match):
        indent = match.group("indent")
        text = SHARED_PARAMETERS[match.group("name")]
        return "\n".join(indent + line if line else line for line in text.splitlines())

    if cls.__doc__:
        cls.__doc__ = _TOKEN.sub(entry, cls.__doc__)
    return cls
