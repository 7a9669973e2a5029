"""What every synthetic dataset shares: argument checks, the truth interface, assembly."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from ..utils._docstring import SHARED_DOCS, doc_filler
from ..utils._sklearn import Interval

__all__ = ["SnapshotTruth"]

#: Fixed RK4 steps per unit of time used to integrate the ODE datasets.
_STEPS_PER_UNIT_TIME = 200


# --------------------------------------------------------------------------- #
# Argument checks
# --------------------------------------------------------------------------- #


def _check_times(times):
    """Return ``times`` as a float64 array of >= 2 finite, strictly increasing values."""
    arr = np.asarray(times)
    if arr.ndim != 1:
        raise ValueError(
            f"times must be a 1-D sequence of floats; got an array of shape {arr.shape}."
        )
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"times must contain real numbers; got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if arr.shape[0] < 2:
        raise ValueError(f"times must contain at least 2 values; got {arr.shape[0]}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError("times must contain finite values.")
    if np.any(np.diff(arr) <= 0):
        raise ValueError(f"times must be strictly increasing; got {arr.tolist()}.")
    return arr


def _check_n_samples(n_samples, n_times):
    """Return the number of rows of every snapshot as an int array of length ``n_times``."""
    if isinstance(n_samples, Integral) and not isinstance(n_samples, bool):
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1; got {n_samples}.")
        return np.full(n_times, int(n_samples), dtype=np.intp)
    arr = np.asarray(n_samples)
    if arr.ndim != 1:
        raise ValueError(
            "n_samples must be an int or a 1-D sequence of ints; "
            f"got an array of shape {arr.shape}."
        )
    if arr.shape[0] != n_times:
        raise ValueError(
            f"n_samples must have one entry per time: got {arr.shape[0]} entries "
            f"for {n_times} times."
        )
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        arr = arr.astype(np.intp)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"n_samples must contain integers; got {arr.tolist()}.")
    if np.any(arr < 1):
        raise ValueError(f"n_samples must contain values >= 1; got {arr.tolist()}.")
    return arr.astype(np.intp)


def _assemble(truth, n_per_time, rng, shuffle):
    """Draw one independent snapshot per time, concatenate, optionally shuffle."""
    blocks = [truth.sample(int(n), t, random_state=rng) for n, t in zip(n_per_time, truth.times)]
    X = np.concatenate(blocks, axis=0)
    t = np.repeat(truth.times, n_per_time)
    if shuffle:
        perm = rng.permutation(X.shape[0])
        X, t = X[perm], t[perm]
    return np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(t, dtype=np.float64)


def _rk4(field, X, t_start, t_end, steps_per_unit_time):
    """Integrate the autonomous ODE ``dx/dt = field(x)`` with fixed-step RK4."""
    span = t_end - t_start
    if span == 0:
        return X.copy()
    n_steps = max(1, int(np.ceil(abs(span) * steps_per_unit_time)))
    h = span / n_steps
    for _ in range(n_steps):
        k1 = field(X)
        k2 = field(X + (0.5 * h) * k1)
        k3 = field(X + (0.5 * h) * k2)
        k4 = field(X + h * k3)
        X = X + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return X


#: Parameter and return entries shared by the ``make_*`` and truth docstrings.
fill_generator_docs = doc_filler({
    "X_t": SHARED_DOCS["X_t"],
    "velocity_returns": SHARED_DOCS["velocity_returns"],
    "velocity_doc": SHARED_DOCS["velocity_doc"],
    "t": """\
t : float
    Time in ``[times[0], times[-1]]``.""",
    "flow_tail": """\
steps_per_unit_time : int, default=200
    RK4 steps per unit of time.

Attributes
----------
times : ndarray of shape (n_times,)
    Observation times.
n_features : int
    Always 2.""",
    "n_samples": """\
n_samples : int or array-like of int, default=1000
    Number of rows per snapshot, or one count per time.""",
    "random_state": """\
random_state : int, RandomState instance or None, default=None
    Seed or generator for the samples and the shuffle.""",
    "shuffle": """\
shuffle : bool, default=True
    Whether to shuffle the rows (the same permutation for ``X`` and
    ``t``). Otherwise rows are grouped by snapshot, in time order.""",
    "return_truth": """\
return_truth : bool, default=False
    Whether to also return the {value}.""",
    "returns": """\
X : ndarray of shape (n_rows, n_features)
    The concatenated snapshots.
t : ndarray of shape (n_rows,)
    Observation time of every row.
truth : {value}
    Only returned if ``return_truth`` is True.""",
})


# --------------------------------------------------------------------------- #
# Ground truth
# --------------------------------------------------------------------------- #


@fill_generator_docs
class SnapshotTruth:
    """Ground truth of a synthetic time course: the interface of every truth object.

    Subclasses implement ``_sample_initial(n, rng)`` (draws of the marginal at
    ``times[0]``), ``_flow(X, t, t_start)``, ``_velocity(X, t)`` and
    ``_potential(X, t)``, the last two with ``t`` one time per row.

    Parameters
    ----------
    times : array-like of shape (n_times,)
        Strictly increasing observation times.
    n_features : int
        Dimension of the space.
    """

    #: Whether ``velocity`` and ``potential`` accept times outside ``[times[0], times[-1]]``.
    _autonomous = False

    def __init__(self, times, n_features):
        self.times = _check_times(times)
        self.n_features = int(n_features)

    # -- checks -------------------------------------------------------------- #

    def _check_X(self, X, name="X"):
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"{name} must be a 2-D array with {self.n_features} columns; got shape {X.shape}."
            )
        if X.dtype.kind not in "biuf":
            raise ValueError(f"{name} must contain real numbers; got dtype {X.dtype}.")
        X = X.astype(np.float64)
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{name} contains NaN or infinite values.")
        return X

    def _check_in_range(self, t, name):
        t0, t1 = self.times[0], self.times[-1]
        if np.any(t < t0) or np.any(t > t1):
            raise ValueError(f"{name} must lie in [times[0], times[-1]] = [{t0}, {t1}]; got {t}.")

    def _check_scalar_t(self, t, name="t"):
        if not isinstance(t, Real) and not (np.ndim(t) == 0 and np.asarray(t).dtype.kind in "biuf"):
            raise ValueError(f"{name} must be a real number; got {t!r}.")
        t = float(t)
        if not np.isfinite(t):
            raise ValueError(f"{name} must be finite; got {t}.")
        self._check_in_range(t, name)
        return t

    def _check_row_times(self, t, n):
        """Return ``t`` (a scalar or one time per row) as a float64 array of shape (n,)."""
        arr = np.asarray(t)
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"t must contain real numbers; got dtype {arr.dtype}.")
        arr = arr.astype(np.float64)
        if arr.ndim == 0:
            arr = np.full(n, float(arr))
        elif arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1 or arr.shape[0] != n:
            raise ValueError(
                f"t must be a scalar or hold one time per row of X ({n}); got shape {np.shape(t)}."
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError("t contains NaN or infinite values.")
        if not self._autonomous:
            self._check_in_range(arr, "t")
        return arr

    # -- public interface ---------------------------------------------------- #

    def velocity(self, X, t):
        """True velocity field at points ``X`` and time(s) ``t``.

        {{velocity_doc}}
        """
        X = self._check_X(X)
        return self._velocity(X, self._check_row_times(t, X.shape[0]))

    def potential(self, X, t):
        """Potential ``phi(x, t)`` whose gradient in ``x`` is the velocity.

        It is defined up to a function of time only.

        Parameters
        ----------
        {{X_t}}

        Returns
        -------
        phi : ndarray of shape (n_samples,)
            The potential at every row.
        """
        X = self._check_X(X)
        return self._potential(X, self._check_row_times(t, X.shape[0]))

    def flow(self, X, t, *, t_start=None):
        """Transport particles along the true dynamics.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Positions of the particles at time ``t_start``.
        t : float
            Time to move them to, in ``[times[0], times[-1]]`` (it may be
            before ``t_start``).
        t_start : float, default=None
            Time at which the particles are at ``X``; None means ``times[0]``.

        Returns
        -------
        X_t : ndarray of shape (n_samples, n_features)
            Positions at time ``t``.
        """
        X = self._check_X(X)
        t = self._check_scalar_t(t, "t")
        t_start = self.times[0] if t_start is None else self._check_scalar_t(t_start, "t_start")
        return self._flow(X, t, t_start)

    def sample(self, n_samples, t, random_state=None):
        """Fresh draws from the true marginal at time ``t``.

        Parameters
        ----------
        n_samples : int
            Number of points, at least 1.
        t : float
            Time in ``[times[0], times[-1]]``.
        random_state : int, RandomState instance or None, default=None
            Seed or generator of the draws.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Independent draws of the marginal at time ``t``.
        """
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"n_samples must be an int >= 1; got {n_samples!r}.")
        t = self._check_scalar_t(t, "t")
        return self._sample_at(int(n_samples), t, check_random_state(random_state))

    def _sample_at(self, n, t, rng):
        """``n`` draws of the marginal at ``t``: initial draws moved by the true flow.
        A truth whose marginals are known in closed form overrides this."""
        return self._flow(self._sample_initial(n, rng), t, self.times[0])

    def __repr__(self):
        times = ", ".join(f"{v:g}" for v in self.times)
        return f"{type(self).__name__}(n_features={self.n_features}, times=[{times}])"


_COMMON_CONSTRAINTS = {
    "n_samples": [Interval(Integral, 1, None, closed="left"), "array-like"],
    "times": ["array-like"],
    "random_state": ["random_state"],
    "shuffle": ["boolean"],
    "return_truth": ["boolean"],
}





def snapshots_of(truth, n_samples, random_state, shuffle, return_truth):
    """Draw the snapshots of ``truth`` at its times; the common tail of every ``make_*``."""
    n_per_time = _check_n_samples(n_samples, truth.times.shape[0])
    X, t = _assemble(truth, n_per_time, check_random_state(random_state), shuffle)
    return (X, t, truth) if return_truth else (X, t)
