"""Distances between point clouds.

Three ways to compare two samples ``X`` of shape (n, d) and ``Y`` of shape
(m, d), e.g. a simulated snapshot against an observed one:

- :func:`wasserstein_distance`: exact optimal transport (POT's network simplex),
- :func:`mmd`: squared maximum mean discrepancy with Gaussian kernels,
- :func:`energy_distance`: the energy distance of Székely and Rizzo.

All three accept float32 or float64 array-likes, compute in float64 and return
a Python float. Pairwise distances are processed in row blocks, so memory stays
bounded by one (n, m) matrix whatever the sizes (the Wasserstein distance
needs the full (n, m) cost matrix for the transport solver, and nothing more).
"""

import warnings
from numbers import Integral, Real

import numpy as np
import ot
import scipy.sparse as sp
from scipy.spatial.distance import cdist, pdist
from sklearn.exceptions import ConvergenceWarning

from .utils._docstring import doc_filler
from .utils._sklearn import Interval, validate_params

_fill_docs = doc_filler({"clouds": """\
X : array-like of shape (n_samples_X, n_features)
    First point cloud.
Y : array-like of shape (n_samples_Y, n_features)
    Second point cloud."""})

__all__ = ["energy_distance", "mmd", "wasserstein_distance"]

#: Number of pairwise entries computed at once by the block-wise reductions
#: (2**22 float64 values, 32 MiB).
_BLOCK_ENTRIES = 2**22

#: Bandwidth multipliers of the default multi-scale kernel of :func:`mmd`.
_MMD_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)

#: At most this many pooled points enter the median heuristic of :func:`mmd`.
_MEDIAN_MAX_POINTS = 1000

# POT's network-simplex result codes.
_EMD_OPTIMAL = 1
_EMD_MAX_ITER_REACHED = 3


# --------------------------------------------------------------------------- #
# Input checks
# --------------------------------------------------------------------------- #


def _check_cloud(X, name):
    """Return ``X`` as a finite float64 array of shape (n, d), or raise."""
    if sp.issparse(X):
        raise ValueError(f"{name} must be a dense array; sparse input is not supported.")
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features); "
            f"got an array with {X.ndim} dimension(s) and shape {X.shape}."
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{name} must contain real numbers; got dtype {X.dtype}.")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(
            f"{name} must contain at least one sample and one feature; got shape {X.shape}."
        )
    X = X.astype(np.float64, copy=False)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return X


def _check_clouds(X, Y):
    X = _check_cloud(X, "X")
    Y = _check_cloud(Y, "Y")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            "X and Y must have the same number of features (columns); got "
            f"X with {X.shape[1]} and Y with {Y.shape[1]}."
        )
    return X, Y


def _check_weights(weights, n, name):
    """Uniform weights if ``weights`` is None, else normalised non-negative ones."""
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights)
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D array of length {n}; got shape {w.shape}.")
    if w.dtype.kind not in "biuf":
        raise ValueError(f"{name} must contain real numbers; got dtype {w.dtype}.")
    w = w.astype(np.float64)
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    if np.any(w < 0):
        raise ValueError(f"{name} must be non-negative.")
    total = w.sum()
    if total <= 0:
        raise ValueError(f"{name} must have a positive sum.")
    return w / total


def _check_gamma(gamma):
    """Return the kernel parameters as a 1-D float64 array of positive values."""
    g = np.atleast_1d(np.asarray(gamma))
    if g.ndim != 1 or g.shape[0] < 1:
        raise ValueError(
            "gamma must be a positive float or a non-empty 1-D sequence of them; "
            f"got shape {g.shape}."
        )
    if g.dtype.kind not in "biuf":
        raise ValueError(f"gamma must contain real numbers; got dtype {g.dtype}.")
    g = g.astype(np.float64)
    if not np.all(np.isfinite(g)) or np.any(g <= 0):
        raise ValueError(f"gamma must contain finite positive values; got {g.tolist()}.")
    return g


# --------------------------------------------------------------------------- #
# Block-wise reductions
# --------------------------------------------------------------------------- #


def _blockwise_sum(X, Y, metric, func):
    """``sum_ij func(metric(X_i, Y_j))`` computed by row blocks of ``X``.

    ``func`` maps a block of pairwise values to an array (or a scalar per
    kernel) whose sum over the block is accumulated.
    """
    block = max(1, _BLOCK_ENTRIES // max(1, Y.shape[0]))
    total = 0.0
    for start in range(0, X.shape[0], block):
        D = cdist(X[start : start + block], Y, metric=metric)
        total = total + func(D)
    return total


def _median_sq_distance(X, Y):
    """Median squared Euclidean distance between distinct points of the pooled sample.

    At most ``_MEDIAN_MAX_POINTS`` evenly spaced rows of ``vstack([X, Y])``
    are used (deterministic, no randomness). Zero distances are discarded if
    they make up half the pairs or more; returns 1.0 if all points coincide.
    """
    Z = np.vstack([X, Y])
    if Z.shape[0] > _MEDIAN_MAX_POINTS:
        idx = np.unique(np.linspace(0, Z.shape[0] - 1, _MEDIAN_MAX_POINTS).round().astype(np.intp))
        Z = Z[idx]
    if Z.shape[0] < 2:
        return 1.0
    d2 = pdist(Z, metric="sqeuclidean")
    med = float(np.median(d2))
    if med > 0:
        return med
    positive = d2[d2 > 0]
    return float(np.median(positive)) if positive.size else 1.0


# --------------------------------------------------------------------------- #
# Public functions
# --------------------------------------------------------------------------- #


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "p": [Interval(Real, 1, None, closed="left")],
        "x_weights": ["array-like", None],
        "y_weights": ["array-like", None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
@_fill_docs
def wasserstein_distance(X, Y, *, p=1, x_weights=None, y_weights=None, max_iter=10_000_000):
    """Exact p-Wasserstein distance between two weighted point clouds.

    Solves the discrete optimal transport problem between the empirical
    measures ``sum_i a_i delta_{X_i}`` and ``sum_j b_j delta_{Y_j}`` with
    ground cost ``||x - y||_2 ** p`` using POT's network simplex
    (:func:`ot.emd2`), and returns ``cost ** (1 / p)``.

    Parameters
    ----------
    {{clouds}}
    p : float, default=1
        Order of the distance, ``p >= 1`` (typically 1 or 2).
    x_weights : array-like of shape (n_samples_X,), default=None
        Non-negative weights of the rows of ``X``, normalised to sum to one.
        None means uniform weights.
    y_weights : array-like of shape (n_samples_Y,), default=None
        Non-negative weights of the rows of ``Y``, normalised to sum to one.
        None means uniform weights.
    max_iter : int, default=10_000_000
        Maximum number of network-simplex iterations. If it is reached before
        optimality a :class:`~sklearn.exceptions.ConvergenceWarning` is
        issued and the returned value is not reliable (it is the cost of the
        solver's last, non-optimal and possibly incomplete, plan).

    Returns
    -------
    distance : float
        The p-Wasserstein distance ``W_p(X, Y)``.

    See Also
    --------
    mmd : Squared maximum mean discrepancy, cheaper for large samples.
    energy_distance : Energy distance between two samples.

    Notes
    -----
    The cost matrix holds ``n_samples_X * n_samples_Y`` float64 values and the
    network simplex scales roughly cubically with the sample size, so this is
    meant for clouds of up to a few thousand points.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am.metrics import wasserstein_distance
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> round(wasserstein_distance(X, X + [3.0, 4.0]), 6)
    5.0
    >>> round(wasserstein_distance(X, X + [3.0, 4.0], p=2), 6)
    5.0
    """
    X, Y = _check_clouds(X, Y)
    a = _check_weights(x_weights, X.shape[0], "x_weights")
    b = _check_weights(y_weights, Y.shape[0], "y_weights")

    # scipy's cdist rather than ot.dist: ot.dist expands ||x||^2 + ||y||^2 - 2 x.y,
    # whose round-off gives ~1e-8 instead of 0 for coinciding points.
    M = cdist(X, Y, metric="euclidean")
    if p != 1:
        np.power(M, p, out=M)

    with warnings.catch_warnings():
        # POT warns (twice) when the iteration limit is hit; the result code is
        # inspected below and turned into one ConvergenceWarning instead.
        warnings.filterwarnings("ignore", message="numItermax reached", category=UserWarning)
        cost, log = ot.emd2(a, b, M, numItermax=int(max_iter), log=True)

    code = log["result_code"]
    if code == _EMD_MAX_ITER_REACHED:
        warnings.warn(
            f"The exact transport solver stopped after max_iter={max_iter} "
            "iterations before reaching optimality; the returned Wasserstein "
            "distance is not reliable. Increase max_iter.",
            ConvergenceWarning,
            stacklevel=3,
        )
    elif code != _EMD_OPTIMAL:  # pragma: no cover - infeasible/unbounded cannot happen here
        raise RuntimeError(f"The exact transport solver failed: {log['warning']}")

    cost = max(float(cost), 0.0)
    return float(cost ** (1.0 / p))


@validate_params(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "gamma": [Interval(Real, 0, None, closed="neither"), "array-like", None],
        "unbiased": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
@_fill_docs
def mmd(X, Y, *, gamma=None, unbiased=False):
    r"""Squared maximum mean discrepancy with a (multi-scale) Gaussian kernel.

    With the kernel ``k(x, y) = sum_g exp(-g * ||x - y||^2)`` (one term per
    value ``g`` of ``gamma``), returns the biased V-statistic estimate

    .. math::

        \mathrm{MMD}^2 = \frac{1}{n^2}\sum_{i,i'} k(x_i, x_{i'})
        + \frac{1}{m^2}\sum_{j,j'} k(y_j, y_{j'})
        - \frac{2}{nm}\sum_{i,j} k(x_i, y_j),

    which is the squared MMD between the two empirical measures. It is always
    non-negative and exactly zero for identical samples, but biased upwards by
    ``O(1/n + 1/m)`` as an estimate of the population MMD.

    Parameters
    ----------
    {{clouds}}
    gamma : float or array-like of float, default=None
        Inverse squared length scale(s) of the Gaussian kernel(s). A sequence
        gives the sum of the corresponding kernels. None uses five scales
        around the median heuristic: ``gamma = 1 / (s * median)`` for ``s`` in
        ``(0.25, 0.5, 1, 2, 4)``, where ``median`` is the median squared
        Euclidean distance between distinct points of the pooled sample
        ``vstack([X, Y])`` (computed on at most 1000 evenly spaced rows).

    unbiased : bool, default=False
        Return the unbiased U-statistic instead (the self-pairs i = i' and
        j = j' left out): centred on the population MMD², so it can be
        negative, and its expectation is 0 for two samples of one law. Use it
        to compare models against a floor set by finite samples.

    Returns
    -------
    mmd2 : float
        The squared MMD, in ``[0, 2 * len(gamma)]`` (the unbiased estimate may
        be negative).

    See Also
    --------
    energy_distance : Kernel-free alternative with no length scale to choose.
    wasserstein_distance : Exact optimal transport distance.

    Notes
    -----
    The default kernel depends on both samples, so values obtained for
    different pairs ``(X, Y)`` use different kernels. To compare several
    candidate samples against one reference, pass the same explicit
    ``gamma`` to every call.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am.metrics import mmd
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 2))
    >>> mmd(X, X)
    0.0
    >>> mmd(X, X + 1.0, gamma=0.5) > mmd(X, X + 0.1, gamma=0.5)
    True
    """
    X, Y = _check_clouds(X, Y)
    if gamma is None:
        median = _median_sq_distance(X, Y)
        gammas = np.array([1.0 / (s * median) for s in _MMD_SCALES])
    else:
        gammas = _check_gamma(gamma)

    def kernel_sum(D):
        # D holds squared distances; one buffer is reused for all the scales.
        buf = np.empty_like(D)
        total = 0.0
        for g in gammas:
            np.multiply(D, -g, out=buf)
            np.exp(buf, out=buf)
            total += buf.sum()
        return total

    n, m = X.shape[0], Y.shape[0]
    sxx = _blockwise_sum(X, X, "sqeuclidean", kernel_sum)
    syy = _blockwise_sum(Y, Y, "sqeuclidean", kernel_sum)
    kxy = _blockwise_sum(X, Y, "sqeuclidean", kernel_sum) / (n * m)
    if unbiased:  # each self-pair contributes exp(0) = 1 per scale
        if n < 2 or m < 2:
            raise ValueError("mmd(unbiased=True) needs at least 2 rows in X and in Y.")
        kxx = (sxx - n * len(gammas)) / (n * (n - 1))
        kyy = (syy - m * len(gammas)) / (m * (m - 1))
        return float(kxx + kyy - 2.0 * kxy)
    return float(max(sxx / (n * n) + syy / (m * m) - 2.0 * kxy, 0.0))


@validate_params(
    {"X": ["array-like"], "Y": ["array-like"]},
    prefer_skip_nested_validation=True,
)
@_fill_docs
def energy_distance(X, Y):
    """Energy distance between two point clouds.

    Returns the V-statistic

    ``2 E||X - Y|| - E||X - X'|| - E||Y - Y'||``

    where the expectations are averages over all pairs of rows (Euclidean
    norm, diagonal pairs included). It is non-negative, zero for identical
    samples, and equals the squared MMD with the distance-induced kernel.

    Parameters
    ----------
    {{clouds}}

    Returns
    -------
    distance : float
        The energy distance (in units of length).

    See Also
    --------
    mmd : Squared maximum mean discrepancy with Gaussian kernels.
    wasserstein_distance : Exact optimal transport distance.

    Notes
    -----
    This is the *squared* form of Székely and Rizzo's statistic (no square
    root): for 1-D samples, :func:`scipy.stats.energy_distance` returns
    ``sqrt(2 E|X-Y| - E|X-X'| - E|Y-Y'|)``, the square root of this value.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am.metrics import energy_distance
    >>> X = np.array([[0.0], [1.0]])
    >>> energy_distance(X, X)
    0.0
    >>> round(energy_distance(X, X + 2.0), 6)
    3.0
    """
    X, Y = _check_clouds(X, Y)
    n, m = X.shape[0], Y.shape[0]
    dxy = _blockwise_sum(X, Y, "euclidean", np.sum) / (n * m)
    dxx = _blockwise_sum(X, X, "euclidean", np.sum) / (n * n)
    dyy = _blockwise_sum(Y, Y, "euclidean", np.sum) / (m * m)
    return float(max(2.0 * dxy - dxx - dyy, 0.0))
