"""Synthetic time courses of population snapshots with known dynamics.

Each ``make_*`` function draws independent snapshots of a population whose
particles move under a known velocity field, and returns them the way real
time-course data comes: a matrix ``X`` of shape (n_samples, n_features) and
the observation time ``t`` of every row. No particle is followed from one
snapshot to the next: every snapshot is a fresh sample of the marginal at its
time.

With ``return_truth=True`` the functions also return a *truth* object that
knows the ground truth: the velocity field ``velocity(X, t)``, its potential
``potential(X, t)`` (the fields are gradients, as Action Matching assumes),
the particle flow ``flow(X, t, t_start=...)`` and fresh draws
``sample(n_samples, t)`` of the true marginal at any time in
``[times[0], times[-1]]``.

- :func:`make_gaussian_transport`: McCann's displacement interpolation between
  two random Gaussians (closed-form marginals, any dimension),
- :func:`make_nonlinear`: a 2-D cloud bent into a crescent by a nonlinear
  gradient field,
- :func:`make_branching`: a 2-D cloud that splits into two branches ("cell
  differentiation"),
- :func:`make_diffusing_gaussian`: N(0, (1 + t) I), slowly changing snapshots,
- :func:`make_orbit`: 51 dense snapshots of blobs carried along a circle,
- :func:`make_diffusing_mixture`: a Gaussian mixture whose clusters diffuse, slowly
  changing snapshots that are not Gaussian.
"""

from ._base import SnapshotTruth
from ._benchmarks import DiffusingGaussianTruth, OrbitTruth, make_diffusing_gaussian, make_orbit
from ._flows import BranchingTruth, NonlinearTruth, make_branching, make_nonlinear
from ._gaussian import GaussianTransportTruth, make_gaussian_transport
from ._mixtures import DiffusingMixtureTruth, make_diffusing_mixture

__all__ = [
    "BranchingTruth",
    "DiffusingGaussianTruth",
    "DiffusingMixtureTruth",
    "GaussianTransportTruth",
    "NonlinearTruth",
    "OrbitTruth",
    "SnapshotTruth",
    "make_branching",
    "make_diffusing_gaussian",
    "make_diffusing_mixture",
    "make_gaussian_transport",
    "make_nonlinear",
    "make_orbit",
]
