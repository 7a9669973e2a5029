"""Pairings between two snapshots: independent, exact OT and entropic OT.

A coupling is computed in two steps, kept apart: :func:`transport_plan` solves a transport
problem between two small point sets (POT's network simplex for exact OT, its
Sinkhorn solver for entropic OT), and :func:`pair` draws one partner per source
point from the plan. :func:`pair_pool` repeats this on random subsets of two
snapshots, once before training, so that training draws pairs from a pool on the
device with no transport solve in its loop.

NumPy and POT, and torch for the log-domain Sinkhorn; nothing here sees an estimator.
"""

import math
from typing import NamedTuple

import numpy as np
import ot
import torch

__all__ = ["OT_BATCH_SIZE", "UnbalancedPool", "entropic_reg", "pair", "pair_pool",
           "transport_plan", "unbalanced_marginals", "unbalanced_pool"]

#: Points per side of one entropic-OT solve (Brownian-bridge pools): the blur of
#: the entropic plan makes the minibatch bias smaller than for exact OT.
SINKHORN_BATCH_SIZE = 256

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


def entropic_reg(sigma, dt):
    """Entropic regularisation 2σ²Δt that makes Sinkhorn's plan the Schrödinger bridge's."""
    return 2.0 * sigma**2 * dt


def transport_plan(a, b, method="exact", reg=None):
    """Transport plan between two point sets with uniform weights.

    Parameters
    ----------
    a : ndarray of shape (m, d)
    b : ndarray of shape (n, d)
    method : {"exact", "sinkhorn"}, default="exact"
        Exact OT by network simplex (``ot.emd``) or entropic OT by
        :func:`log_sinkhorn`. Where ``reg`` is below ``SINKHORN_MIN_RELATIVE_REG``
        times the median cost the entropic plan is within numerical noise of
        the exact one, and the exact plan is returned.
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
        return log_sinkhorn(cost, reg)
    raise ValueError(f"method={method!r} is not 'exact' or 'sinkhorn'.")


#: Log-domain Sinkhorn with ε-scaling: the regularisation halves from the median cost
#: down to its target, ``LOG_SINKHORN_STAGE_ITER`` iterations per stage, then at most
#: ``LOG_SINKHORN_MAX_ITER`` at the target, stopping once every row's log-mass is
#: within ``LOG_SINKHORN_TOL`` of its own (columns are exact after each iteration).
#: A pool of pairs needs each row's conditional law, not the plan's last digits: on
#: 256 × 256 points this takes about 0.05 s where POT's ε-scaling solver took
#: 0.3–1 s on 512 × 512 (an eAM fit spent 38 of its 41 s there; measured).
LOG_SINKHORN_STAGE_ITER = 10
LOG_SINKHORN_MAX_ITER = 300
LOG_SINKHORN_TOL = 1e-2


def epsilon_stages(start, target):
    """ε-scaling: ``start`` halved while above ``target``, then ``target`` (the last stage)."""
    stages = []
    while start > target:
        stages.append(start)
        start /= 2
    return [*stages, target]


def log_sinkhorn(cost, reg):
    """Entropic OT plan between uniform weights: Sinkhorn in the log domain, ε-scaled.

    Parameters
    ----------
    cost : ndarray of shape (m, n)
        Squared-Euclidean costs.
    reg : float
        Entropic regularisation, in units of the cost.

    Returns
    -------
    P : ndarray of shape (m, n)
        Columns sum to 1/n exactly; rows to 1/m within ``LOG_SINKHORN_TOL`` in log.
    """
    C = torch.as_tensor(cost, dtype=torch.float64)
    m, n = C.shape
    log_a, log_b = -math.log(m), -math.log(n)
    f = torch.zeros(m, dtype=torch.float64)  # dual potentials, in units of the cost
    g = torch.zeros(n, dtype=torch.float64)
    stages = epsilon_stages(float(np.median(cost)), reg)
    for i, eps in enumerate(stages):
        final = i == len(stages) - 1
        for it in range(LOG_SINKHORN_MAX_ITER if final else LOG_SINKHORN_STAGE_ITER):
            f = eps * (log_a - torch.logsumexp((g[None, :] - C) / eps, dim=1))
            g = eps * (log_b - torch.logsumexp((f[:, None] - C) / eps, dim=0))
            if final and it % 5 == 4:
                rows = torch.logsumexp((f[:, None] + g[None, :] - C) / eps, dim=1)
                if float((rows - log_a).abs().max()) < LOG_SINKHORN_TOL:
                    break
    return torch.exp((f[:, None] + g[None, :] - C) / reg).numpy()


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
              batch_size=None):
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
    batch_size : int, default=None
        Points per side of each transport solve; default ``OT_BATCH_SIZE`` for
        exact OT, ``SINKHORN_BATCH_SIZE`` for entropic OT.

    Returns
    -------
    idx_a, idx_b : ndarrays of int64
        Row indices into A and B; each side's rows are drawn uniformly, so both
        marginals of the pool are the snapshots' empirical measures.
    """
    if method == "independent":
        return rng.randint(n_a, size=n_pairs), rng.randint(n_b, size=n_pairs)
    A, B = points
    if batch_size is None:
        batch_size = SINKHORN_BATCH_SIZE if method == "sinkhorn" else OT_BATCH_SIZE
    m = min(n_a, n_b, batch_size)
    n_rounds = -(-n_pairs // m)
    idx_a, idx_b = [], []
    for _ in range(n_rounds):
        ia = rng.choice(n_a, size=m, replace=False)
        ib = rng.choice(n_b, size=m, replace=False)
        cols = pair(transport_plan(A[ia], B[ib], method=method, reg=reg), rng)
        idx_a.append(ia)
        idx_b.append(ib[cols])
    return np.concatenate(idx_a), np.concatenate(idx_b)


#: Iterations of the unbalanced Sinkhorn at each ε-scaling stage above the target, and
#: at the target ε.
UNBALANCED_STAGE_ITER = 10
UNBALANCED_FINAL_ITER = 200
#: Points per side of one unbalanced solve; larger snapshots are subsampled in rounds.
UNBALANCED_MAX_POINTS = 1024


def unbalanced_marginals(A, B, mass_a, mass_b, rho, eps):
    """Marginals (p, q) of the KL-unbalanced entropic OT plan between two point sets.

    Point i of A carries mass ``mass_a / len(A)`` and point j of B ``mass_b / len(B)``;
    the plan minimises ⟨π, C⟩ + ρ·KL(π1 | a) + ρ·KL(πᵀ1 | b) + ε·KL(π | a⊗b) for the
    squared-Euclidean cost C: log-domain Sinkhorn, ε-scaled from the median cost down.

    Returns
    -------
    p : ndarray of shape (len(A),)
    q : ndarray of shape (len(B),)
    C : ndarray of shape (len(A), len(B))
        The cost matrix.
    """
    C = torch.as_tensor(ot.dist(np.asarray(A, np.float64), np.asarray(B, np.float64)))
    m, n = C.shape
    log_a = torch.full((m,), math.log(mass_a / m), dtype=torch.float64)
    log_b = torch.full((n,), math.log(mass_b / n), dtype=torch.float64)
    f = torch.zeros(m, dtype=torch.float64)
    g = torch.zeros(n, dtype=torch.float64)
    stages = epsilon_stages(float(C.median()), eps)
    for i, e in enumerate(stages):
        damping = rho / (rho + e)  # the KL marginal penalty's shrinkage of each update
        final = i == len(stages) - 1
        for _ in range(UNBALANCED_FINAL_ITER if final else UNBALANCED_STAGE_ITER):
            f = -damping * e * torch.logsumexp(log_b[None, :] + (g[None, :] - C) / e, dim=1)
            g = -damping * e * torch.logsumexp(log_a[:, None] + (f[:, None] - C) / e, dim=0)
    log_plan = log_a[:, None] + log_b[None, :] + (f[:, None] + g[None, :] - C) / eps
    return (torch.logsumexp(log_plan, dim=1).exp().numpy(),
            torch.logsumexp(log_plan, dim=0).exp().numpy(), C.numpy())


class UnbalancedPool(NamedTuple):
    """Pairs of an unbalanced coupling and the mass factors of their two ends."""

    idx_a: np.ndarray  # rows of A
    idx_b: np.ndarray  # rows of B
    log_a: np.ndarray  # log(a_i / p_i): the row's mass over its share in the plan
    log_b: np.ndarray  # log(b_j / q_j)
    mass: float  # the plan's total mass


def unbalanced_pool(A, B, mass_a, mass_b, n_pairs, rng, *, rho, eps,
                    max_points=UNBALANCED_MAX_POINTS):
    """Pairs (i, j) drawn ∝ a sharp plan between the unbalanced marginals of A and B.

    The marginals (p, q) come from :func:`unbalanced_marginals`; the pairing is then
    exact OT between them (sharp, as for balanced pools), and each pair keeps the
    log mass factors of its ends, so that a path's mass can change from a_i/p_i to
    b_j/q_j: where q exceeds b the coupling created mass, where p falls short of a
    it destroyed it.

    Returns
    -------
    UnbalancedPool
    """
    n_a, n_b = len(A), len(B)
    rounds = 1 if max(n_a, n_b) <= max_points else \
        max(1, math.ceil(n_pairs / min(n_a, n_b, max_points)))
    per_round = math.ceil(n_pairs / rounds)
    parts, totals = [], []
    for _ in range(rounds):
        sa = np.arange(n_a) if n_a <= max_points else np.sort(rng.choice(n_a, max_points, False))
        sb = np.arange(n_b) if n_b <= max_points else np.sort(rng.choice(n_b, max_points, False))
        p, q, C = unbalanced_marginals(A[sa], B[sb], mass_a, mass_b, rho, eps)
        P = ot.emd(p / p.sum(), q / q.sum(), C, numItermax=_EMD_MAX_ITER)
        rows, cols = np.nonzero(P > 0)
        pick = rng.choice(len(rows), size=per_round, p=P[rows, cols] / P[rows, cols].sum())
        i, j = rows[pick], cols[pick]
        parts.append((sa[i], sb[j], np.log(mass_a / len(sa) / p[i]),
                      np.log(mass_b / len(sb) / q[j])))
        totals.append(0.5 * (p.sum() + q.sum()))
    return UnbalancedPool(*(np.concatenate(column) for column in zip(*parts)),
                          float(np.mean(totals)))
