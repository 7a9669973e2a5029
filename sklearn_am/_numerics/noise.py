"""Per-row noise for stochastic dynamics, independent of the other rows and their order.

Each row's noise is a function of a seed, the row's values and how many identical
rows precede it, drawn by a counter-based generator (SplitMix64 + Box–Muller). A
scikit-learn transformer's output for a row must not depend on the other rows or
their order; duplicated rows still get independent noise.
"""

import numpy as np
import torch

__all__ = ["RowNoise", "row_keys", "row_signs"]

_U64 = np.uint64
_GOLDEN_GAMMA = _U64(0x9E3779B97F4A7C15)
#: Mixed into every key, so that the noise differs from other uses of the seed.
_NOISE_SALT = _U64(0x6541_4D5F_6E6F_6973)  # "eAM_nois"
#: Mixed into the counters of :func:`row_signs`, so signs and normals of a key differ.
_SIGN_SALT = _U64(0x5369_676E_735F_6B65)  # "Signs_ke"
_TWO_POW_M32 = 2.0**-32


def _splitmix64(z):
    """The SplitMix64 finaliser, elementwise on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = z + _GOLDEN_GAMMA
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        return z ^ (z >> _U64(31))


def row_keys(X, seed):
    """One 64-bit key per row from (seed, the row's values, its rank among equal rows)."""
    X = np.ascontiguousarray(X, dtype=np.float64) + 0.0  # + 0.0 turns −0.0 into 0.0
    n = X.shape[0]
    keys = np.full(n, _splitmix64(_U64(int(seed)) ^ _NOISE_SALT), dtype=np.uint64)
    bits = X.view(np.uint64)
    for j in range(X.shape[1]):
        keys = _splitmix64(keys ^ bits[:, j])
    if n:
        _, inverse = np.unique(X, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        order = np.argsort(inverse, kind="stable")
        starts = np.r_[0, np.flatnonzero(np.diff(inverse[order])) + 1]
        rank = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
        occurrence = np.empty(n, dtype=np.uint64)
        occurrence[order] = rank.astype(np.uint64)
        keys = _splitmix64(keys ^ _splitmix64(occurrence))
    return keys


def row_signs(keys, n_signs):
    """``n_signs`` fixed ±1 (Rademacher) values per row from the row's key: (n, n_signs).

    Entry (i, j) is the top bit of SplitMix64(key_i + SplitMix64(j)), the generator
    of :class:`RowNoise`, so a row's signs depend on its key alone.
    """
    counters = _splitmix64(np.arange(n_signs, dtype=np.uint64) ^ _SIGN_SALT)
    with np.errstate(over="ignore"):
        z = _splitmix64(keys[:, None] + counters[None, :])
    return 2.0 * (z >> _U64(63)).astype(np.float64) - 1.0


class RowNoise:
    """Per-row noise streams, handed out to consecutive chunks of rows in order."""

    def __init__(self, keys):
        self.keys = keys
        self._next = 0

    def take(self, n):
        keys = self.keys[self._next : self._next + n]
        self._next += n
        return _StepNoise(keys)


class _StepNoise:
    """``noise(x)``: standard normals for one solver step, one counter per call.

    Entry (i, j) of step k is Box–Muller applied to two 32-bit halves of
    SplitMix64(key_i + SplitMix64(k·d + j)): a counter-based generator, so row
    i's draws depend on its key alone.
    """

    def __init__(self, keys):
        self.keys = keys
        self.step = 0

    def __call__(self, x):
        d = x.shape[1]
        counters = _U64(self.step * d) + np.arange(d, dtype=np.uint64)
        self.step += 1
        with np.errstate(over="ignore"):
            z = _splitmix64(self.keys[:, None] + _splitmix64(counters)[None, :])
        u1 = ((z >> _U64(32)).astype(np.float64) + 0.5) * _TWO_POW_M32
        u2 = ((z & _U64(0xFFFFFFFF)).astype(np.float64) + 0.5) * _TWO_POW_M32
        normal = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        return torch.as_tensor(normal, dtype=x.dtype, device=x.device)
