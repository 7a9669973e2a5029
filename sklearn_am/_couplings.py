"""Pairings between two snapshots: independent, exact OT and entropic OT.

A coupling is computed in two steps, kept apart: :func:`plan` solves a transport
problem between two small point sets (POT's network simplex for exact OT, its
Sinkhorn solver for entropic OT), and :func:`pair` draws one partner per source
point from the plan. :func:`pair_pool` repeats this on random subsets of two
snapshots, once before training, so that training draws pairs from a pool on the
device with no transport solve in its loop.

Pure NumPy/POT: nothing here sees torch or an estimator.
"""

import warnings

import numpy as np
import ot

__all__ = ["OT_BATCH_SIZE", "entropic_reg", "pair", "pair_pool", "plan"]

#: Points per side of one exact-OT solve when building a pool. Minibatch OT is
#: biased towards the independent coupling as the batch shrinks; 512 costs about
#: 50 ms per solve with POT's network simplex and keeps that bias small.
OT_BATCH_SIZE = 512

_EMD_MAX_ITER = 10_000_000

#: Below this ratio of ``reg`` to the median cost, the entropic plan is taken as the
#: exact one: plain Sinkhorn underflows there and log-domain solvers need seconds
#: per 512-point solve (measured with POT 0.9.7), for a plan that differs from the
#: exact plan by a blur far below the spacing between points.
SINKHORN_MIN_RELATIVE_REG = 0.005
#: Plain Sinkhorn works with exp(−cost/reg), which underflows in float64 past ~700.
_SINKHORN_MAX_COST_OVER_REG = 500.0


def entropic_reg(sigma, dt):
    """Entropic regularisation 2σ²Δt that makes Sinkhorn's plan the Schrödinger bridge's."""
    return 2.0 * sigma**2 * dt


def plan(a, b, method="exact", reg=None):
    """Transport plan between two point sets with uniform weights.

    Parameters
    ----------
    a : ndarray of shape (m, d)
    b : ndarray of shape (n, d)
    method : {"exact", "sinkhorn"}, default="exact"
        Exact OT by network simplex (``ot.emd``) or entropic OT. Entropic OT is
        solved by plain Sinkhorn when ``reg`` is at least
        ``SINKHORN_MIN_RELATIVE_REG`` times the median cost (milliseconds), else
        the entropic plan is within numerical noise of the exact one and the exact
        plan is returned; if plain Sinkhorn does not reach its marginals, POT's
        ε-scaling solver (slower, robust) takes over.
    reg : float, default=None
        Entropic regularisation, required for ``"sinkhorn"``, in units of the
        squared-Euclidean cost.

    Returns
    -------
    P : ndarray of shape (m, n)
        Non-negative, rows sum to 1/m and columns to 1/n.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    cost = ot.dist(a, b, metric="sqeuclidean")
    wa = np.full(a.shape[0], 1.0 / a.shape[0])
    wb = np.full(b.shape[0], 1.0 / b.shape[0])
    if method == "exact":
        return ot.emd(wa, wb, cost, numItermax=_EMD_MAX_ITER)
    if method == "sinkhorn":
        if reg < SINKHORN_MIN_RELATIVE_REG * np.median(cost):
            return ot.emd(wa, wb, cost, numItermax=_EMD_MAX_ITER)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", UserWarning)  # POT's convergence note
            if cost.max() < _SINKHORN_MAX_COST_OVER_REG * reg:  # exp(-cost/reg) stays finite
                P = ot.sinkhorn(wa, wb, cost, reg, stopThr=1e-6, numItermax=2000)
                if np.all(np.isfinite(P)) and np.abs(P.sum(axis=0) - wb).max() < 1e-2 * wb[0]:
                    return P
            # Plain Sinkhorn needs O(cost/reg) iterations and underflows at small
            # reg; ε-scaling in the log domain converges there.
            return ot.sinkhorn(wa, wb, cost, reg, method="sinkhorn_epsilon_scaling",
                               numItermax=1000)
    raise ValueError(f"method={method!r} is not 'exact' or 'sinkhorn'.")


def pair(P, rng):
    """Draw one partner for each row of a plan, with probability ∝ its row.

    Parameters
    ----------
    P : ndarray of shape (m, n)
    rng : numpy.random.RandomState

    Returns
    -------
    cols : ndarray of shape (m,)
        Column index paired with each row. For an exact plan between equal-size
        sets (a permutation) this is the permutation itself.
    """
    row_mass = P.sum(axis=1, keepdims=True)
    cdf = np.cumsum(P / np.where(row_mass > 0, row_mass, 1.0), axis=1)
    u = rng.uniform(size=(P.shape[0], 1))
    cols = (cdf < u).sum(axis=1)
    return np.minimum(cols, P.shape[1] - 1)


def pair_pool(n_a, n_b, n_pairs, rng, *, method="independent", points=None, reg=None,
              batch_size=OT_BATCH_SIZE):
    """Indices of ``n_pairs`` or more pairs (i, j) drawn from a coupling of two snapshots.

    Parameters
    ----------
    n_a, n_b : int
        Sizes of the two snapshots.
    n_pairs : int
        Number of pairs wanted (rounded up to whole solves).
    rng : numpy.random.RandomState
    method : {"independent", "exact", "sinkhorn"}, default="independent"
        Independent pairs, minibatch exact OT, or minibatch entropic OT.
    points : tuple of two ndarrays, default=None
        The snapshots ``(A, B)``; required by the OT methods.
    reg : float, default=None
        Entropic regularisation for ``"sinkhorn"``.
    batch_size : int, default=OT_BATCH_SIZE
        Points per side of each transport solve.

    Returns
    -------
    idx_a, idx_b : ndarrays of int64
        Row indices into A and B; each side's rows are drawn uniformly, so both
        marginals of the pool are the snapshots' empirical measures.
    """
    if method == "independent":
        return rng.randint(n_a, size=n_pairs), rng.randint(n_b, size=n_pairs)
    A, B = points
    m = min(n_a, n_b, batch_size)
    n_rounds = -(-n_pairs // m)
    idx_a, idx_b = [], []
    for _ in range(n_rounds):
        ia = rng.choice(n_a, size=m, replace=False)
        ib = rng.choice(n_b, size=m, replace=False)
        cols = pair(plan(A[ia], B[ib], method=method, reg=reg), rng)
        idx_a.append(ia)
        idx_b.append(ib[cols])
    return np.concatenate(idx_a), np.concatenate(idx_b)
