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
    {{hidden_layer_sizes}}
    activation : {"silu", "tanh", "softplus"}, default="silu"
        Smooth activation of the hidden layers (ReLU is not offered: its
        gradient is piecewise constant).
    max_iter : int, default=2000
        Number of optimiser (Adam) steps.
    {{batch_size}}
    {{learning_rate_init}}
    interpolation : {"ot", "independent", "quadrature", "auto"}, default="ot"
        How the time integral sees q_t between snapshots:

        - ``"ot"``: pair points of consecutive snapshots by exact optimal
          transport (minibatches of 512, POT's network simplex, solved once
          before training) and interpolate linearly: McCann's displacement
          interpolation, the right path for sparse snapshots (3–10 times);
        - ``"independent"``: pair points at random and interpolate linearly (a
          valid but blurrier path; cheaper);
        - ``"quadrature"``: no interpolation; evaluate the integrand at the
          observed snapshots with trapezoid weights (right for dense snapshots);
        - ``"auto"``: ``"quadrature"`` from 20 distinct times up, else ``"ot"``.
    solver : {"euler", "heun", "rk4", "dopri5"}, default="rk4"
        ODE integrator of ``push``/``transform``/``sample``. ``"dopri5"`` is
        adaptive; its single step size is chosen from the whole batch, so its
        output depends (within ``solver_tol``) on which points are pushed together.
    n_steps : int, default=100
        Steps of a fixed-step solver to cross the whole fitted time range; a
        shorter push uses proportionally fewer (at least one). The first step
        size of ``"dopri5"``.
    solver_tol : float, default=1e-5
        Relative and absolute tolerance of ``"dopri5"``.
    {{device}}
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, OT pairing and every draw of training;
        an int gives identical fits on the CPU.
    {{verbose}}
    {{source_time}}
    {{target_time}}
    {{warm_start}}

    Attributes
    ----------
    potential_ : MLPPotential
        The trained network s'(x', τ) in model units, on the CPU.
    times_ : ndarray of shape (n_times,)
        Sorted distinct observation times seen in ``fit``.
    n_iter_ : int
        Optimiser steps run (summed over warm-started fits).
    loss_curve_ : list of shape (n_iter_,)
        Loss at each step (model units). AM losses are unbounded below and
        usually negative; compare them, do not expect them to reach 0.
    {{n_features_in_}}
    {{feature_names_in_}}
    {{device_}}
    {{interpolation_}}
    {{hidden_layer_sizes_}}
    x_center_ : ndarray of shape (n_features_in_,)
        Centre of the model units (the mean of X at the first fit).
    x_scale_ : float
        Length scale of the model units (root mean feature variance).
    time_origin_, time_scale_ : float
        Earliest fitted time and fitted time span (model time τ = (t − origin)/scale).
    source_samples_ : ndarray of shape (n_kept, n_features_in_)
        Up to 10 000 rows of the earliest snapshot, for :meth:`sample`.

    See Also
    --------
    EntropicActionMatching : The same with noise, dX = ∇s dt + σ dW.

    Notes
    -----
    Points are centred and scaled by one scalar, and time is mapped to [0, 1],
    before training; every method answers in the user's units.

    ``GridSearchCV(cv=5)`` on rows sorted by time drops whole snapshots from
    folds; pass ``cv=KFold(5, shuffle=True)``. ``score`` is minus the AM loss
    (greater is better), so no ``scoring`` is needed.

    References
    ----------
    K. Neklyudov, R. Brekelmans, D. Severo, A. Makhzani. "Action Matching:
    Learning Stochastic Dynamics from Samples", ICML 2023.

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
