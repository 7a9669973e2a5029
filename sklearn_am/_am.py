"""ActionMatchingRegressor: deterministic dynamics from snapshots (plain AM)."""

from ._base import BaseActionMatching
from .utils._docstring import fill_shared_docs

__all__ = ["ActionMatchingRegressor"]


@fill_shared_docs
class ActionMatchingRegressor(BaseActionMatching):
    """Learn the gradient velocity field that moves a population between snapshots.

    Action Matching fits a scalar potential s(x, t) so that dx/dt = ∇ₓs(x, t)
    carries the observed distribution at each time to the next (continuity
    equation ∂ₜq = −∇·(q∇s)), by minimising

        L(s) = E_{q_t0}[s(x, t0)] − E_{q_tK}[s(x, tK)] + ∫ E_{q_t}[½‖∇ₓs‖² + ∂ₜs] dt

    (Neklyudov et al., ICML 2023). Samples of q_t between snapshots come from
    ``interpolation``. Among all velocity fields that reproduce the marginals,
    the gradient field is unique.

    Read more in the README ("Which interpolation when").

    Parameters
    ----------
    {{ode_estimator:max_iter=3000;batch_size=256;early_stopping=True}}

    Attributes
    ----------
    {{common_attributes}}

    See Also
    --------
    EntropicActionMatching : The same with noise, dX = ∇s dt + σ dW.
    UnbalancedActionMatching : Dynamics with growth and death.

    Notes
    -----
    Points are centred and scaled by one scalar, and time is mapped to [0, 1],
    before training; every method answers in the user's units.

    ``GridSearchCV(cv=5)`` on rows sorted by time drops whole snapshots from
    folds; pass ``cv=KFold(5, shuffle=True)``. ``score`` is minus the AM loss
    (greater is better), so no ``scoring`` is needed.

    {{references}}

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am import ActionMatchingRegressor
    >>> rng = np.random.RandomState(0)
    >>> t = np.repeat([0.0, 1.0, 2.0], 200)
    >>> X = rng.normal(size=(600, 2)) + t[:, None] * [1.0, 0.0]  # drift to the right
    >>> am = ActionMatchingRegressor(hidden_layer_sizes=(64, 64), max_iter=300,
    ...                              random_state=0).fit(X, t)
    >>> am.transform(X[t == 0]).shape
    (200, 2)
    >>> float(am.velocity([[0.0, 0.0]], t=1.0)[0, 0].round())  # about 1 to the right
    1.0
    """
