"""The model's units: a centre, a length scale and the fitted time range.

Points are centred and divided by a length scale a; times are mapped to
τ = (t − t_first)/T, T the fitted time span. The learning problem is then the same
whatever the scale of the data, so defaults carry over. The scale is either

- one scalar, for the snapshot estimators (isotropic, so gradient fields stay
  gradient fields): if s' is the potential learnt in these units, the potential in
  the user's units is s = (a²/T)·s' and the velocity is ∇ₓs = (a/T)·∇s'; or
- one scale per feature (a vector aⱼ, the standard deviations), for
  :class:`~sklearn_am.ActionMatchingDensity`, which standardises rows and maps them
  back (:meth:`Units.to_model`, :meth:`Units.from_model`) but never converts a
  potential: under anisotropic scaling a potential has no single factor, so
  :attr:`Units.action` refuses a vector scale, while :attr:`Units.velocity` gives
  the factor aⱼ/T of each velocity component.
"""

from typing import NamedTuple

import numpy as np

__all__ = ["CHUNK_ROWS", "Units"]

#: Rows converted at once wherever whole data sets pass between units, so that
#: memory beyond inputs and outputs stays flat in the number of rows.
CHUNK_ROWS = 65_536


class Units(NamedTuple):
    """Centre, length scale a, time origin and time span T of the model units.

    ``scale`` is a float (the snapshot estimators) or an array of shape
    (n_features,) (one scale per feature, the density); see the module docstring.
    """

    center: np.ndarray  # (n_features,)
    scale: float  # a: a float, or an ndarray of shape (n_features,)
    origin: float  # t_first
    span: float  # T

    @classmethod
    def from_data(cls, X, times, rows=None):
        """Units of snapshots ``X`` at ``times``: mean, root mean feature variance, range.

        ``rows`` (indices, repeats allowed) selects the rows to use; default all.
        Computed in float64 over chunks of rows: no full-size copy of ``X`` is made.
        """
        n = X.shape[0] if rows is None else len(rows)

        def chunks():
            for a in range(0, n, CHUNK_ROWS):
                block = X[a : a + CHUNK_ROWS] if rows is None else X[rows[a : a + CHUNK_ROWS]]
                yield np.asarray(block, dtype=np.float64)

        center = sum(block.sum(axis=0) for block in chunks()) / n
        squares = sum(np.square(block - center).sum(axis=0) for block in chunks())
        scale = float(np.sqrt(np.mean(squares / n)))
        t = times if rows is None else times[rows]
        return cls(
            center=np.asarray(center, dtype=np.float64),
            scale=scale if scale > 0 else 1.0,
            origin=float(np.min(t)),
            span=float(np.max(t) - np.min(t)),
        )

    def to_model(self, X):
        """x' = (x − centre)/a."""
        return (np.asarray(X, dtype=np.float64) - self.center) / self.scale

    def from_model(self, x):
        """x = a·x' + centre."""
        return np.asarray(x, dtype=np.float64) * self.scale + self.center

    def to_tau(self, t):
        """τ = (t − t_first)/T."""
        return (np.asarray(t, dtype=np.float64) - self.origin) / self.span

    def from_tau(self, tau):
        """t = t_first + T·τ."""
        return np.asarray(tau, dtype=np.float64) * self.span + self.origin

    @property
    def velocity(self):
        """a/T: a model-unit velocity times this is a velocity in the user's units.

        A float for a scalar scale; for a per-feature scale, an array of shape
        (n_features,) with the factor aⱼ/T of each velocity component.
        """
        return self.scale / self.span

    @property
    def action(self):
        """a²/T: a model-unit potential (or loss) times this is one in the user's units.

        Only for a scalar scale: with one scale per feature the potential (a
        scalar) has no single factor, so a ``ValueError`` is raised.
        """
        if np.ndim(self.scale) != 0:
            raise ValueError(
                f"Units.action needs one scalar length scale; these units have one scale "
                f"per feature (shape {np.shape(self.scale)}), under which a potential has "
                "no single conversion factor. Convert points with to_model/from_model "
                "instead, or use scalar units (Units.from_data)."
            )
        return self.scale**2 / self.span
