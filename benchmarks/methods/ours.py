"""Our estimators as compared methods, and the grid behind "AM (best of grid)"."""

from sklearn_am import ActionMatchingRegressor, EntropicActionMatching, UnbalancedActionMatching

from .base import Method

#: The estimators of ``sklearn_am`` that are benchmarked, by name; extend here.
ESTIMATORS = {cls.__name__: cls for cls in (ActionMatchingRegressor, EntropicActionMatching,
                                            UnbalancedActionMatching)}

#: Label of ``ActionMatchingRegressor`` with its defaults.
DEFAULTS_LABEL = "AM (defaults)"

#: The grid behind "AM (best of grid)": max_iter × width × interpolation.
AM_GRID_FULL = [dict(max_iter=m, hidden_layer_sizes=h, interpolation=i)
                for m in (1000, 3000) for h in ((128,) * 3, (256,) * 3)
                for i in ("ot", "independent")]
AM_GRID_QUICK = [dict(interpolation="independent"), dict(hidden_layer_sizes=(64, 64, 64))]


class AMMethod(Method):
    """An ``sklearn_am`` estimator with fixed parameters (``random_state`` = seed).

    ``push`` asks the estimator for its growth factors (``return_weights=True``),
    all ones for the mass-conserving estimators.
    """

    kind = "ours"
    has_velocity = True

    def __init__(self, estimator="ActionMatchingRegressor", params=None, label=None, grid=False):
        self.estimator = estimator
        self.params = dict(params or {})
        self.name = label or estimator
        self.grid = grid
        self.model_ = None

    def fit(self, X, t, seed):
        self.model_ = ESTIMATORS[self.estimator](**self.params, random_state=seed).fit(X, t)
        return self

    def push(self, X, t_from, t_to):
        return self.model_.push(X, float(t_from), float(t_to), return_weights=True)

    def velocity(self, X, t):
        return self.model_.velocity(X, float(t))

    def steps(self):
        return self.model_.n_iter_

    def info(self):
        return {"name": self.name, "kind": self.kind, "estimator": self.estimator,
                "params": self.params}


def am_methods(base_params=None, names=None):
    """One method per estimator of :data:`ESTIMATORS` (or of ``names``), with its defaults."""
    return [AMMethod(name, base_params,
                     label=DEFAULTS_LABEL if name == "ActionMatchingRegressor"
                     else f"{name} (defaults)")
            for name in ESTIMATORS if not names or name in names]


def grid_methods(grid, base_params=None, max_iter=None):
    """``ActionMatchingRegressor`` at each point of ``grid`` (a list of parameter dicts).

    ``max_iter``, when given, overrides the grid's own (quick mode keeps steps tiny).
    """
    out = []
    for params in grid:
        p = {**(base_params or {}), **params}
        if max_iter is not None and "max_iter" in params:
            p["max_iter"] = max_iter
        label = "AM grid: " + ", ".join(f"{k}={v}" for k, v in params.items())
        out.append(AMMethod("ActionMatchingRegressor", p, label=label, grid=True))
    return out
