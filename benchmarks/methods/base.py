"""The interface every compared method implements."""

import numpy as np

#: Every protocol of :mod:`benchmarks.protocols.accuracy` that moves points.
ALL_PROTOCOLS = frozenset({"loo", "whole", "chain", "chain_loo"})


class Method:
    """A compared method: ``fit(X, t, seed)``, then ``push(X, t_from, t_to)``.

    ``push`` always returns ``(X_to, weights)``: the points at ``t_to`` and each
    point's growth factor (the mass a point of mass 1 at ``t_from`` carries at
    ``t_to``; all ones where mass is conserved), like the estimators'
    ``push(..., return_weights=True)``. A method that conserves mass only writes
    ``move``. Class attributes say what the protocols may ask of it.
    """

    name = "method"
    #: "ours" | "peer" | "baseline"
    kind = "peer"
    #: The protocols it takes part in (``velocity`` is decided by ``has_velocity``).
    protocols = ALL_PROTOCOLS
    #: Whether ``velocity(X, t)`` exists.
    has_velocity = False
    #: A member of the grid behind "AM (best of grid)" (its rows are hidden in tables).
    grid = False
    #: Name of a method whose mean fit time on a dataset becomes this one's
    #: ``time_budget`` there (equal wall time); None for a fixed step count.
    match_time_of = None

    def fit(self, X, t, seed):
        return self

    def push(self, X, t_from, t_to):
        """``(X_to, weights)``: the points at ``t_to`` and their growth factors."""
        X_to = self.move(X, t_from, t_to)
        return X_to, np.ones(len(X_to))

    def move(self, X, t_from, t_to):
        """The points at ``t_to`` of a method that conserves mass."""
        raise NotImplementedError

    def steps(self):
        """Optimiser steps of the last fit (None for a method without training)."""
        return None

    def info(self):
        return {"name": self.name, "kind": self.kind}
