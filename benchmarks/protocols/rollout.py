"""The chained rollout of the Var-RUOT protocols, written once.

Start from the observed points of the first snapshot, push them t0→t1, then those
points t1→t2, and so on; each point carries a weight, the product of the growth
factors of its pushes (all ones where mass is conserved), and the weighted cloud
is compared with the observed snapshot at each later time.
"""

import time

import numpy as np

from ..common import wasserstein


def rollout(method, X0, times):
    """Chained pushes of ``X0`` (observed at ``times[0]``) through ``times[1:]``.

    Returns ``[(X_j, w_j)]`` for j = 1, 2, …: the points at ``times[j]`` and their
    weights (the product of the growth factors of the pushes so far).
    """
    x, w = X0, np.ones(len(X0))
    states = []
    for a, b in zip(times[:-1], times[1:]):
        x, growth = method.push(x, a, b)
        w = w * np.asarray(growth, dtype=np.float64)
        states.append((np.asarray(x, dtype=np.float64), w))
    return states


def rollout_distances(method, snapshots, times, orders=(1, 2), last_only=False):
    """W_p of a chained rollout from ``snapshots[0]`` against each later snapshot.

    Parameters
    ----------
    method : Method
        A fitted method.
    snapshots : list of ndarray
        The observed points at each of ``times``.
    times : sequence of float
    orders : tuple of int, default=(1, 2)
        The orders p of the distances.
    last_only : bool, default=False
        Measure at the last time only (the hold-one-out chain).

    Returns
    -------
    rows : list of dict
        ``{"time": t_j, "w1": ..., "w2": ...}`` per measured time.
    seconds : float
        Wall time of the pushes alone.
    """
    start = time.perf_counter()
    states = rollout(method, snapshots[0], times)
    seconds = time.perf_counter() - start
    measured = range(len(states) - 1, len(states)) if last_only else range(len(states))
    rows = []
    for j in measured:
        x, w = states[j]
        rows.append({"time": float(times[j + 1]),
                     **{f"w{p}": wasserstein(x, snapshots[j + 1], p=p, x_weights=w)
                        for p in orders}})
    return rows, seconds
