"""ActionMatchingRegressor: deterministic dynamics from snapshots (plain AM)."""

from ._dynamics import OBJECTIVES, Transport
from ._estimator.base import BaseActionMatching
from .utils._docstring import fill_shared_docs
from .utils._sklearn import StrOptions

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

    Read more in the :doc:`user guide </user_guide/objective>` ("Which interpolation when").

    Parameters
    ----------
    objective : {"auto", "regression", "action"}, default="auto"
        The Monte Carlo estimator of the loss on path batches. ``"regression"``
        regresses ∇ₓs onto the paths' velocities, the same objective with less
        variance; ``"action"`` evaluates the loss as written. ``"auto"``:
        regression, unless the snapshots change slowly (median relative step
        ≤ 0.2), where the pairs' velocities are mostly pairing noise; there the
        action form, with early stopping scored at the held-out snapshots.
        Quadrature batches have no paths and always use the action form.
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

    _parameter_constraints: dict = {
        **BaseActionMatching._parameter_constraints,
        "objective": [StrOptions({"auto", *OBJECTIVES})],
    }

    def __init__(
        self,
        *,
        objective="auto",
        potential=None,
        hidden_layer_sizes=(128, 128, 128),
        activation="silu",
        max_iter=3000,
        batch_size=256,
        learning_rate_init=1e-3,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        tol=1e-4,
        interpolation="auto",
        solver="adams",
        n_steps=31,
        solver_tol=1e-4,
        device="auto",
        random_state=None,
        verbose=0,
        source_time=None,
        target_time=None,
        warm_start=False,
        **potential__params,
    ):
        super().__init__(
            potential=potential, hidden_layer_sizes=hidden_layer_sizes, activation=activation,
            max_iter=max_iter, batch_size=batch_size,
            learning_rate_init=learning_rate_init, early_stopping=early_stopping,
            validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change,
            tol=tol, interpolation=interpolation,
            solver=solver, n_steps=n_steps, solver_tol=solver_tol, device=device,
            random_state=random_state, verbose=verbose, source_time=source_time,
            target_time=target_time, warm_start=warm_start, **potential__params,
        )
        self.objective = objective

    def _make_dynamics(self):
        return Transport(objective=self.objective)
