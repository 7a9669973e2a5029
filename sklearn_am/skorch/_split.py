"""SnapshotSplit, and the rows of what a ``train_split`` returns."""

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from skorch.dataset import Dataset
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from .._estimator.fitting import MIN_ROWS_FOR_VALIDATION, validation_split
from .._estimator.validation import _check_times, check_numeric_columns
from ..utils._sklearn import _safe_indexing


class SnapshotSplit:
    """Hold out a fraction of the rows of every snapshot for validation.

    skorch's ``ValidSplit`` splits rows, so each time keeps a different share of
    its rows (and a small snapshot may lose all of them); this split draws the
    same fraction from each distinct time, rounded up, and always leaves a
    snapshot at least one training row. It is the estimators' early-stopping
    split (``validation_fraction``): for the same times, fraction and random
    state it holds out the same rows. Like it, it holds out nothing when a
    snapshot has fewer than 20 rows, or when fewer than 2 times would have
    held-out rows: then it warns and returns every row for training and None
    for validation, and the net records no ``valid_loss``.

    Parameters
    ----------
    cv : int or float, default=5
        An int k ≥ 2 holds out 1/k of each snapshot (as ``ValidSplit(k)``
        holds out 1/k of the rows); a float in (0, 1) is the fraction itself.
    random_state : int, RandomState instance or None, default=None
        Which rows are held out. None: drawn from the ``random_state`` of the
        :class:`ActionMatchingNet` that calls it.

    Examples
    --------
    >>> import numpy as np
    >>> from skorch.dataset import Dataset
    >>> from sklearn_am.skorch import SnapshotSplit
    >>> t = np.repeat([0.0, 1.0], [20, 60])
    >>> train, valid = SnapshotSplit(5, random_state=0)(Dataset(np.zeros((80, 1)), t), t)
    >>> np.bincount(t[valid.indices].astype(int)).tolist()  # 1/5 of each time
    [4, 12]
    """

    def __init__(self, cv=5, random_state=None):
        self.cv = cv
        self.random_state = random_state

    def fraction(self):
        """The fraction of each snapshot held out.

        Returns
        -------
        fraction : float
            ``1/cv`` for an int ``cv``, else ``cv``.
        """
        cv = self.cv
        if isinstance(cv, Integral) and not isinstance(cv, bool) and cv >= 2:
            return 1.0 / cv
        if isinstance(cv, Real) and not isinstance(cv, (bool, Integral)) and 0 < cv < 1:
            return float(cv)
        raise ValueError(f"SnapshotSplit's cv must be an int >= 2 or a float in (0, 1); "
                         f"got {cv!r}.")

    def __call__(self, dataset, y=None, groups=None):
        """Split ``dataset`` into training and validation rows, time by time.

        Parameters
        ----------
        dataset : torch Dataset
            The rows, in the order of ``y``.
        y : array-like of shape (n_samples,)
            The observation time of each row.
        groups : None
            Unused; present for skorch's ``train_split`` signature.

        Returns
        -------
        dataset_train : torch.utils.data.Subset or torch Dataset
            The training rows (in their order in ``dataset``); ``dataset``
            itself when nothing is held out.
        dataset_valid : torch.utils.data.Subset or None
            The held-out rows (in their order in ``dataset``); None when the
            snapshots are too small for a held-out share.
        """
        if y is None:
            raise ValueError("SnapshotSplit needs the observation times y.")
        times = np.asarray(y, dtype=np.float64).ravel()
        train, valid = validation_split(times, None, self.fraction(),
                                        check_random_state(self.random_state))
        if valid is None:
            smallest = np.unique(times, return_counts=True)[1].min()
            warnings.warn(
                f"SnapshotSplit holds out no rows: a held-out share needs at least "
                f"{MIN_ROWS_FOR_VALIDATION} rows in every snapshot (the smallest has "
                f"{smallest}) and held-out rows at 2 or more times. Training uses every "
                "row and records no valid_loss; pass train_split=None to train so "
                "without this warning, or predefined_split(Dataset(X_valid, t_valid)) to "
                "validate on rows of your own.",
                UserWarning,
            )
            return dataset, None
        return (torch.utils.data.Subset(dataset, np.sort(train)),
                torch.utils.data.Subset(dataset, np.sort(valid)))

    def __repr__(self):
        return f"SnapshotSplit(cv={self.cv!r}, random_state={self.random_state!r})"


def split_rows(net, X, times, weights, seed):
    """``(X, times, weights)`` of the training and the validation rows (None: none).

    ``net.train_split`` is given a skorch ``Dataset`` of row numbers; a
    :class:`SnapshotSplit` without a ``random_state`` gets ``seed``. A part
    that is not taken from that dataset (a user's ``Dataset(X_valid,
    t_valid)``, e.g. from ``predefined_split``) is validated against ``net``.
    """
    split = net.train_split
    if not split:
        return (X, times, weights), None
    if isinstance(split, SnapshotSplit) and split.random_state is None:
        split = SnapshotSplit(split.cv, random_state=seed)
    dataset = Dataset(np.arange(len(X)), times)
    parts = []
    for part in split(dataset, times):
        if part is None:  # no validation rows (e.g. SnapshotSplit on small snapshots)
            parts.append(None)
            continue
        values, part_times = _rows(part)
        if _root(part) is dataset:  # the values are row numbers of X
            index = np.asarray(values, dtype=np.intp)
            parts.append((X[index], times[index],
                          None if weights is None else weights[index]))
        else:  # a user's Dataset(X_valid, t_valid), e.g. from predefined_split
            check_numeric_columns(values, name="the validation Dataset's X")
            X_part = validate_data(net, values, reset=False, dtype=[np.float64, np.float32])
            parts.append((X_part, _check_times(part_times, len(X_part)), None))
    return parts


def _root(dataset):
    """The dataset that (nested) ``Subset`` s are taken from."""
    while isinstance(dataset, torch.utils.data.Subset):
        dataset = dataset.dataset
    return dataset


def _rows(dataset):
    """The (X, y) arrays of a skorch ``Dataset`` or of (nested) ``Subset`` s of one."""
    if isinstance(dataset, torch.utils.data.Subset):
        X, y = _rows(dataset.dataset)
        index = np.asarray(dataset.indices)
        return _safe_indexing(X, index), _safe_indexing(y, index)
    if isinstance(dataset, Dataset) and dataset.y is not None:
        return dataset.X, dataset.y
    raise TypeError(
        "train_split must return skorch Datasets holding (X, times), or Subsets of the "
        "dataset it is given (e.g. SnapshotSplit, or predefined_split(Dataset(X_valid, "
        f"t_valid))); got {type(dataset).__name__}."
    )
