"""The data container of every fit: snapshots of a population, sorted by time, on a device.

:class:`Snapshots` holds the rows of every observed time in model units (one float32
copy, shared with the host on the CPU), their per-time masses and the index
arithmetic the samplers draw rows with; :func:`relative_steps` measures how far each
snapshot is from the next relative to its spread, which the dynamics' policy reads
(slowly changing or dense snapshots).
"""

import functools

import numpy as np
import torch

from .units import CHUNK_ROWS

__all__ = ["Snapshots", "relative_steps"]


class Snapshots:
    """Snapshots of a population, sorted by time, held on a device.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Points, in the model's units.
    t : ndarray of shape (n_samples,)
        Time of each row, in the model's units.
    device : torch.device
    masses : ndarray of shape (n_times,), default=None
        Total mass at each time (unbalanced dynamics); all ones when None.
    dtype : torch.dtype, default=torch.float32
    """

    def __init__(self, X, t, device, masses=None, dtype=torch.float32):
        t = np.asarray(t, dtype=np.float64)
        if np.all(np.diff(t) >= 0):  # already sorted (from_data): no copy of X
            t_sorted, self.X_host = t, np.asarray(X)
        else:
            order = np.argsort(t, kind="stable")
            t_sorted, self.X_host = t[order], np.asarray(X)[order]
        self.times, first_rows, self.counts = np.unique(
            t_sorted, return_index=True, return_counts=True
        )
        self.offsets = first_rows
        # On the CPU a float32 X_host is shared with the tensor, not copied.
        self.x = torch.as_tensor(self.X_host, dtype=dtype, device=device)
        self.device = device
        self.dtype = dtype
        masses = np.ones(len(self.times)) if masses is None else np.asarray(masses, float)
        self.masses = torch.as_tensor(masses, dtype=dtype, device=device)
        self.knots = torch.as_tensor(self.times, dtype=torch.float64, device=device)
        self._offsets = torch.as_tensor(self.offsets, device=device)
        self._counts = torch.as_tensor(self.counts, device=device)

    @classmethod
    def from_data(cls, X, times, units, device, *, rows=None, masses=None):
        """Snapshots of the user's rows in model units, with one float32 copy of the data.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Rows in the user's units (not copied).
        times : ndarray of shape (n_samples,)
            Time of each row, in the user's units.
        units : Units
        device : torch.device
        rows : ndarray of int, default=None
            Which rows of ``X`` to use, repeats allowed (default: all, once).
        masses : ndarray of shape (n_times,), default=None
            Total mass at each time.
        """
        t = times if rows is None else times[rows]
        order = np.argsort(t, kind="stable")
        index = order if rows is None else rows[order]
        x = np.empty((len(index), X.shape[1]), dtype=np.float32)
        for a in range(0, len(index), CHUNK_ROWS):
            x[a : a + CHUNK_ROWS] = units.to_model(X[index[a : a + CHUNK_ROWS]])
        return cls(x, units.to_tau(t[order]), device, masses=masses)

    @property
    def n_times(self):
        return len(self.times)

    @property
    def span(self):
        return float(self.times[-1] - self.times[0])

    @functools.cached_property
    def relative_steps(self):
        """:func:`relative_steps` of these snapshots, computed once (the interpolation
        rule and the choice of the objective's estimator both read it)."""
        return relative_steps(self)

    def snapshot(self, k):
        """Rows of snapshot k, on the host."""
        return self.X_host[self.offsets[k] : self.offsets[k] + self.counts[k]]

    def draw_rows(self, k, generator):
        """One uniformly drawn global row index per entry of the index tensor k."""
        u = torch.rand(k.shape, generator=generator, device=self.device, dtype=torch.float64)
        return self._offsets[k] + (u * self._counts[k]).long().clamp_max(self._counts[k] - 1)

    def boundary(self, batch_size, generator):
        """Boundary samples: rows of the first and last snapshot with weights mass/n."""
        ends = []
        for k in (0, self.n_times - 1):
            index = torch.full((batch_size,), k, device=self.device)
            rows = self.draw_rows(index, generator)
            t = torch.full((batch_size,), self.times[k], device=self.device, dtype=self.dtype)
            w = self.masses[k].expand(batch_size) / batch_size
            ends.append((self.x[rows], t, w))
        return ends


def relative_steps(snapshots):
    """How far each snapshot is from the next, relative to its spread.

    For each pair of consecutive snapshots, the 2-Wasserstein distance between
    Gaussians with their means and covariances (the Bures–Wasserstein distance),
    divided by the root mean of their total variances √((tr S_k + tr S_{k+1})/2).
    Small values mean the population barely changes between observations.

    Returns
    -------
    steps : ndarray of shape (n_times - 1,)
    """
    moments = []
    for k in range(snapshots.n_times):
        X = np.asarray(snapshots.snapshot(k), dtype=np.float64)
        cov = np.cov(X, rowvar=False).reshape(X.shape[1], X.shape[1]) if len(X) > 1 else \
            np.zeros((X.shape[1], X.shape[1]))
        moments.append((X.mean(axis=0), cov))
    steps = []
    for (m0, s0), (m1, s1) in zip(moments[:-1], moments[1:]):
        root0 = _psd_sqrt(s0)
        cross = _psd_sqrt(root0 @ s1 @ root0)
        w2_squared = np.sum((m0 - m1) ** 2) + np.trace(s0) + np.trace(s1) - 2 * np.trace(cross)
        spread = np.sqrt(max((np.trace(s0) + np.trace(s1)) / 2, 1e-300))
        steps.append(np.sqrt(max(w2_squared, 0.0)) / spread)
    return np.asarray(steps)


def _psd_sqrt(S):
    values, vectors = np.linalg.eigh((S + S.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
