"""Model selection by held-out time.

The estimators are fitted as ``est.fit(X, t)``, ``t`` the observation time of each
row. To ask how well a model predicts the population at a time it has not seen,
:class:`LeaveOneTimeOut` holds out every row of one snapshot time per split, and
:func:`held_out_time_scorer` scores the model's prediction at that time against
the held-out snapshot (minus a distance between point clouds, greater is better).
Together they go into :class:`~sklearn.model_selection.GridSearchCV` and
:func:`~sklearn.model_selection.cross_val_score`::

    GridSearchCV(est, grid, cv=LeaveOneTimeOut(), scoring=held_out_time_scorer())

The estimators' own ``score`` (minus the Action Matching loss) needs snapshots at
two times or more, so it cannot score a fold of one time: pass ``scoring``.
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils.validation import check_array, check_is_fitted

from ._estimator.validation import _check_times
from ._sampling.weights import _systematic_counts
from .metrics import energy_distance, wasserstein_distance
from .utils._docstring import doc_filler
from .utils._sklearn import Interval, StrOptions, validate_params

__all__ = ["LeaveOneTimeOut", "held_out_time_scorer"]

#: Distinct times a split needs: one held out, two or more left to fit on.
MIN_TIMES = 3

_METRICS = ("energy", "wasserstein")

_fill_docs = doc_filler({"y_groups": """\
y : array-like of shape (n_samples,)
    The observation time of each row; required.
groups : None
    Ignored; present for the splitter interface."""})


@_fill_docs
class LeaveOneTimeOut(BaseCrossValidator):
    """Hold out every row of one observation time per split.

    The target ``y`` of the estimators is the observation time of each row. Split
    ``k`` tests on the rows observed at the ``k``-th held-out time (in increasing
    order of time) and trains on all the others. By default only interior times
    are held out: a model fitted on the remaining snapshots learns a field
    between its first and last times, so predicting an interior snapshot is
    interpolation, while predicting the first or last one is extrapolation.

    Parameters
    ----------
    interior_only : bool, default=True
        Hold out only the times strictly between the first and the last one
        (``n_times - 2`` splits). False holds out every time (``n_times``
        splits); the end snapshots are then predicted outside the fitted time
        range, which the estimators warn about (and which an entropic model,
        simulated forwards only, cannot do for the first time).

    See Also
    --------
    held_out_time_scorer : Scores the prediction at the held-out time.
    sklearn.model_selection.LeaveOneGroupOut : The same with ``groups=t``, every
        time held out and no check of the times.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am.model_selection import LeaveOneTimeOut
    >>> t = np.array([0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 3.0])
    >>> X = np.zeros((7, 2))
    >>> cv = LeaveOneTimeOut()
    >>> cv.get_n_splits(X, t)
    2
    >>> for train, test in cv.split(X, t):
    ...     print(train, test)
    [0 2 3 5 6] [1 4]
    [0 1 3 4 6] [2 5]
    """

    def __init__(self, *, interior_only=True):
        if not isinstance(interior_only, (bool, np.bool_)):
            raise TypeError(
                f"interior_only must be True or False; got {interior_only!r}."
            )
        self.interior_only = interior_only

    def _held_out_times(self, X, y):
        """The validated times of the rows and the sorted times to hold out."""
        if y is None:
            raise ValueError(
                "LeaveOneTimeOut splits by observation time and needs y, the time of "
                "each row: call split(X, t) (GridSearchCV and cross_val_score pass the "
                "y of fit(X, y) on)."
            )
        n_rows = len(y) if X is None else (X.shape[0] if hasattr(X, "shape") else len(X))
        times = _check_times(y, n_rows)
        distinct = np.unique(times)
        if len(distinct) < MIN_TIMES:
            raise ValueError(
                f"LeaveOneTimeOut needs at least {MIN_TIMES} distinct times in y (one held "
                "out, two left to fit a model on); got "
                f"{len(distinct)}: {distinct.tolist()}. Use another splitter, e.g. "
                "KFold(shuffle=True), to hold out rows instead of times."
            )
        return times, (distinct[1:-1] if self.interior_only else distinct)

    def split(self, X, y=None, groups=None):
        """Indices of the training and test rows of each held-out time.

        The inputs are checked when ``split`` is called, before any split is drawn.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows (only their number is used).
        {{y_groups}}

        Returns
        -------
        splits : generator of (train, test) pairs
            ``train`` and ``test`` are ndarrays of row indices, in increasing
            order; ``test`` holds every row of one time.
        """
        times, held_out = self._held_out_times(X, y)
        return self._splits(times, held_out)

    @staticmethod
    def _splits(times, held_out):
        rows = np.arange(len(times))
        for value in held_out:
            test = times == value
            yield rows[~test], rows[test]

    def get_n_splits(self, X=None, y=None, groups=None):
        """The number of splits: the number of held-out times in ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            Checked against ``y`` for its number of rows if given.
        {{y_groups}}

        Returns
        -------
        n_splits : int
            ``n_times - 2`` with ``interior_only``, else ``n_times``.
        """
        return len(self._held_out_times(X, y)[1])


class _HeldOutTimeScorer:
    """``scorer(estimator, X, y)``: see :func:`held_out_time_scorer`."""

    def __init__(self, metric, max_samples, random_state):
        self.metric = metric
        self.max_samples = max_samples
        self.random_state = random_state

    def __repr__(self):
        return (f"held_out_time_scorer(metric={self.metric!r}, "
                f"max_samples={self.max_samples}, random_state={self.random_state})")

    def __call__(self, estimator, X, y):
        if not hasattr(estimator, "push"):
            raise TypeError(
                "held_out_time_scorer scores a snapshot estimator that pushes points in "
                "time (ActionMatchingRegressor, EntropicActionMatching, "
                f"UnbalancedActionMatching); got {type(estimator).__name__}, which has no "
                "push. In a Pipeline, transform X first and tune the estimator alone."
            )
        check_is_fitted(estimator, ["source_samples_", "times_"])
        X = check_array(X, dtype=[np.float64, np.float32])
        times = _check_times(y, X.shape[0])
        source = _evenly_spaced(estimator.source_samples_, self.max_samples)
        distances = []
        for t in np.unique(times):
            with warnings.catch_warnings():  # the estimator's own rows, not the user's
                warnings.filterwarnings("ignore", "X does not have valid feature names")
                pushed, weights = estimator.push(
                    source, estimator.times_[0], float(t), return_weights=True,
                    random_state=self.random_state)
            observed = _evenly_spaced(X[times == t], self.max_samples)
            distances.append(self._distance(pushed, weights, observed))
        return -float(np.mean(distances))

    def _distance(self, pushed, weights, observed):
        if self.metric == "wasserstein":
            return wasserstein_distance(pushed, observed, x_weights=weights)
        if np.ptp(weights) > 1e-12 * np.max(weights):  # unequal masses: resample
            pushed = np.repeat(pushed, _systematic_counts(weights, len(pushed)), axis=0)
        return energy_distance(pushed, observed)


def _evenly_spaced(X, limit):
    """At most ``limit`` evenly spaced rows of ``X`` (all of them if it has fewer)."""
    if len(X) <= limit:
        return X
    return X[np.linspace(0, len(X) - 1, limit).round().astype(np.intp)]


@validate_params(
    {
        "metric": [StrOptions(set(_METRICS))],
        "max_samples": [Interval(Integral, 2, None, closed="left")],
        "random_state": [Interval(Integral, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def held_out_time_scorer(metric="energy", *, max_samples=1000, random_state=0):
    """A scorer of a fitted model's prediction at held-out times (greater is better).

    ``scorer(estimator, X, y)`` pushes the rows of the earliest fitted snapshot
    that the estimator keeps (``source_samples_``, up to ``max_samples`` evenly
    spaced ones) from the first fitted time ``times_[0]`` to each distinct time
    of ``y``, and returns minus the distance, in the user's units, between the
    pushed points and the rows of ``X`` observed at that time, averaged over the
    distinct times of ``y`` (one time per fold of :class:`LeaveOneTimeOut`).

    Parameters
    ----------
    metric : {"energy", "wasserstein"}, default="energy"
        The distance: :func:`sklearn_am.metrics.energy_distance` (units of
        length) or the 1-Wasserstein distance
        :func:`sklearn_am.metrics.wasserstein_distance` (exact optimal transport,
        cubic in the number of points).
    max_samples : int, default=1000
        At most this many pushed points and held-out rows per time enter the
        distance (evenly spaced rows, so no randomness).
    random_state : int, default=0
        Seed of the noise of stochastic pushes (:class:`~sklearn_am.EntropicActionMatching`),
        the same on every call, so a fitted model always gets the same score on
        the same data. Ignored by deterministic dynamics.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``, scikit-learn's scorer convention:
        pass it as ``scoring`` to :class:`~sklearn.model_selection.GridSearchCV`
        or :func:`~sklearn.model_selection.cross_val_score`.

    See Also
    --------
    LeaveOneTimeOut : Splits that hold out one time each.

    Notes
    -----
    **Why push from the first snapshot.** The benchmarks of TrajectoryNet push
    the snapshot just before the held-out time to it. A fitted estimator keeps
    only its earliest snapshot (for ``sample``), and a scorer sees only the test
    fold, so pushing the previous snapshot would need either more fitted state
    or the training data handed to the scorer. The scorer pushes the stored
    earliest snapshot instead: it scores the whole learnt flow up to the
    held-out time (the chained protocol of this package's demo and benchmarks),
    and for the first interior time the two protocols coincide.

    **Unbalanced dynamics.** The pushed points carry their growth factors
    (``push(..., return_weights=True)``; ones where mass is conserved). The
    Wasserstein distance weighs the points by them; the energy distance takes no
    weights, so the pushed points are first resampled in proportion to them
    (systematic resampling, deterministic). Both compare the normalised
    distributions: the predicted total mass is not scored.

    A test fold whose rows span several times (e.g. of ``KFold``) is scored at
    each of its times, all weighing the same. The first fitted time is then
    scored on the kept rows of the training snapshot pushed nowhere; times
    before it are pushed backwards, which only deterministic dynamics do.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn_am import ActionMatchingRegressor
    >>> from sklearn_am.model_selection import LeaveOneTimeOut, held_out_time_scorer
    >>> rng = np.random.RandomState(0)
    >>> t = np.repeat([0.0, 1.0, 2.0], 100)
    >>> X = rng.normal(size=(300, 2)) + t[:, None] * [1.0, 0.0]  # drift to the right
    >>> am = ActionMatchingRegressor(hidden_layer_sizes=(16, 16), max_iter=50,
    ...                              random_state=0)
    >>> scores = cross_val_score(am, X, t, cv=LeaveOneTimeOut(),
    ...                          scoring=held_out_time_scorer())
    >>> scores.shape  # one split: t = 1 held out
    (1,)
    >>> bool(scores[0] <= 0)
    True
    """
    return _HeldOutTimeScorer(metric, max_samples, random_state)
