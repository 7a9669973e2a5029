"""UnbalancedActionMatching: transport with growth and death, g = λ·s (uAM)."""

from numbers import Real

from ._dynamics import GrowingTransport
from ._estimator.base import BaseActionMatching
from .utils._docstring import fill_shared_docs
from .utils._sklearn import Interval, _fit_context

__all__ = ["UnbalancedActionMatching"]


@fill_shared_docs
class UnbalancedActionMatching(BaseActionMatching):
    """Learn transport with growth and death from snapshots of changing mass.

    Unbalanced Action Matching fits a scalar potential s(x, t) that drives both
    the motion, dx/dt = ∇ₓs, and the growth rate, g = λ·s (mass grows where
    s > 0, dies where s < 0), so that the unbalanced continuity equation
    ∂ₜq = −∇·(q∇s) + g·q carries the observed (unnormalised) population at each
    time to the next. It minimises

        L(s) = E_{q_t0}[s(x, t0)] − E_{q_tK}[s(x, tK)]
               + ∫ E_{q_t}[½‖∇ₓs‖² + ∂ₜs + (λ/2)·s²] dt

    with expectations against unnormalised measures whose total mass is the
    mass observed at each time (Neklyudov et al., 2023; the growth tied to the
    potential as in Neklyudov et al., 2024). Its minimiser also minimises the
    kinetic-plus-growth action ∫∫ (½‖v‖² + g²/(2λ)) dq dt among the dynamics
    that reproduce the path: λ prices growth against motion.

    Parameters
    ----------
    growth_scale : float, default=1.0
        λ in the model's units: dimensionless, the price of growth relative to
        motion. In the user's units λ = growth_scale / x_scale_² (stored as
        ``growth_scale_``), i.e. a growth rate of 1/T over the time span T costs
        as much as moving by ``x_scale_/√growth_scale`` over it. Larger values
        explain mass changes more by growth, smaller by transport. A uniform
        growth rate is recovered for any value.
    {{ode_estimator:max_iter=2000;batch_size=256;early_stopping=False}}

    Attributes
    ----------
    masses_ : ndarray of shape (n_times,)
        Observed mass at each fitted time: the number of rows, or the sum of
        ``sample_weight``.
    growth_scale_ : float
        λ in the user's units (1 / squared units of X): g = ``growth_scale_`` · s.
    {{common_attributes}}

    See Also
    --------
    ActionMatchingRegressor : Balanced dynamics (mass conserved).
    EntropicActionMatching : Balanced stochastic dynamics.

    Notes
    -----
    **Units.** With x' = (x − ``x_center_``)/a, τ = (t − t_first)/T and s = (a²/T)·s',
    the growth rate per unit of τ is g' = T·g and the loss in user units is
    (a²/T) times the loss in model units with λ' = λ·a². Hence
    ``growth_scale`` = λ' and ``growth_scale_`` = λ = λ'/a²; the growth rate in
    the user's units (1/time) is g = λ·s = λ'·s'/T, which :meth:`growth` returns.

    **Paths between snapshots** (``interpolation="ot"``, the default on sparse
    snapshots) join the pairs of an unbalanced optimal-transport coupling
    (KL-penalised marginals, ρ = 4/λ' in model units): each pair's mass changes
    geometrically from its share of one snapshot to its share of the next, so mass
    is created or lost where the snapshots gain or lose it rather than carried
    between distant regions. On these paths the objective is fitted in its
    regression form, ½∫E_w[‖∇ₓs − ẋ‖² + (λs − γ)²/λ] dt with γ the pair's growth
    rate (the same minimiser as the action form, with lower variance). On the other
    interpolations mass is interpolated geometrically between the snapshots' masses
    and the action form is used.

    **Weights.** The fitted model depends on the data only through the weighted
    population at each time: rows are put in a canonical order, rows of zero
    weight dropped, and integer weights applied by repeating rows, so fitting
    with integer ``sample_weight`` is exactly fitting with repeated rows.
    Fractional weights (or integer ones that would repeat the data more than
    100-fold) are applied by systematic resampling of each snapshot to its
    number of rows of positive weight, rows drawn ∝ weight; the masses always
    use the exact sums of weights.

    {{references}}
    K. Neklyudov, R. Brekelmans, A. Tong, L. Atanackovic, Q. Liu, A. Makhzani.
    "A Computational Framework for Solving Wasserstein Lagrangian Flows",
    ICML 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am import UnbalancedActionMatching
    >>> rng = np.random.RandomState(0)
    >>> t = np.repeat([0.0, 0.5, 1.0], [200, 330, 540])  # mass grows ~e^t
    >>> X = rng.normal(size=(len(t), 2))  # but nothing moves
    >>> uam = UnbalancedActionMatching(hidden_layer_sizes=(32, 32), max_iter=200,
    ...                                random_state=0).fit(X, t)
    >>> float(uam.growth([[0.0, 0.0]], t=0.5)[0].round())  # rate about 1 per unit time
    1.0
    >>> X1, w = uam.sample(500, t=1.0, random_state=0, return_weights=True)  # sum: mass
    >>> bool(abs(w.sum() / 540 - 1) < 0.1)
    True
    """

    _parameter_constraints: dict = {
        **BaseActionMatching._parameter_constraints,
        "growth_scale": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        growth_scale=1.0,
        potential=None,
        hidden_layer_sizes=(128, 128, 128),
        activation="silu",
        max_iter=2000,
        batch_size=256,
        learning_rate_init=1e-3,
        early_stopping=False,
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
        self.growth_scale = growth_scale

    # ------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Learn the potential s(x, t), hence motion and growth, from snapshots.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observed points, all snapshots stacked.
        y : array-like of shape (n_samples,)
            Observation time of each row (at least 2 distinct values). Named
            ``y`` for scikit-learn; it is the time label, not a target.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative mass of each row. The mass of a snapshot is the sum of
            its rows' weights (default: its number of rows), and rows are drawn
            in proportion to their weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight)

    def _make_dynamics(self):
        return GrowingTransport(growth_scale=self.growth_scale)

    def growth(self, X, t):
        """The learnt growth rate g(x, t) = λ·s(x, t), per unit of time.

        Parameters
        ----------
        {{X_t}}

        Returns
        -------
        g : ndarray of shape (n_samples,)
            Positive where mass grows, negative where it dies.
        """
        s = self.scalar_potential(X, t)
        return (s * self.growth_scale_).astype(s.dtype, copy=False)
