"""UnbalancedActionMatching: transport with growth and death, g = λ·s (uAM)."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._base import BaseActionMatching
from .losses import action_loss, uam_integrand
from .solvers import integrate
from .utils._docstring import fill_shared_docs
from .utils._sklearn import Interval, _fit_context

__all__ = ["UnbalancedActionMatching"]

#: Integer sample weights are applied by repeating rows while the repeated data
#: stay below this many times the number of rows (and 10 million rows); beyond,
#: and for fractional weights, by systematic resampling (see ``fit``).
MAX_EXPANSION_FACTOR = 100
MAX_EXPANDED_ROWS = 10_000_000


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
    {{hidden_layer_sizes}}
    activation : {"silu", "tanh", "softplus"}, default="silu"
        Smooth activation of the hidden layers.
    max_iter : int, default=2000
        Number of optimiser (Adam) steps.
    {{batch_size}}
    {{learning_rate_init}}
    interpolation : {"ot", "independent", "quadrature", "auto"}, default="ot"
        How the time integral sees q_t between snapshots (as for
        :class:`ActionMatchingRegressor`); between snapshots the total mass is
        interpolated geometrically (exact for a constant growth rate).
    solver : {"euler", "heun", "rk4", "dopri5"}, default="rk4"
        ODE integrator of the joint dynamics of positions and log-weights,
        dx/dt = ∇ₓs, d(log w)/dt = g.
    n_steps : int, default=100
        Steps of a fixed-step solver to cross the whole fitted time range.
    solver_tol : float, default=1e-5
        Relative and absolute tolerance of ``"dopri5"``.
    {{device}}
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, OT pairing and every draw of training.
    {{verbose}}
    {{source_time}}
    {{target_time}}
    {{warm_start}}

    Attributes
    ----------
    potential_ : MLPPotential
        The trained network s'(x', τ) in model units, on the CPU.
    masses_ : ndarray of shape (n_times,)
        Observed mass at each fitted time: the number of rows, or the sum of
        ``sample_weight``.
    growth_scale_ : float
        λ in the user's units (1 / squared units of X): g = growth_scale_ · s.
    times_ : ndarray of shape (n_times,)
        Sorted distinct observation times seen in ``fit``.
    n_iter_ : int
        Optimiser steps run (summed over warm-started fits).
    loss_curve_ : list of shape (n_iter_,)
        Loss at each step (model units, masses relative to the first time).
    {{n_features_in_}}
    {{feature_names_in_}}
    {{device_}}
    {{interpolation_}}
    {{hidden_layer_sizes_}}
    x_center_ : ndarray of shape (n_features_in_,)
        Centre of the model units.
    x_scale_ : float
        Length scale a of the model units (root mean feature variance).
    time_origin_, time_scale_ : float
        Earliest fitted time and fitted time span T.
    source_samples_ : ndarray of shape (n_kept, n_features_in_)
        Up to 10 000 rows of the earliest snapshot, for :meth:`sample`.

    See Also
    --------
    ActionMatchingRegressor : Balanced dynamics (mass conserved).
    EntropicActionMatching : Balanced stochastic dynamics.

    Notes
    -----
    **Units.** With x' = (x − x_center_)/a, τ = (t − t_first)/T and s = (a²/T)·s',
    the growth rate per unit of τ is g' = T·g and the loss in user units is
    (a²/T) times the loss in model units with λ' = λ·a². Hence
    ``growth_scale`` = λ' and ``growth_scale_`` = λ = λ'/a²; the growth rate in
    the user's units (1/time) is g = λ·s = λ'·s'/T, which :meth:`growth` returns.

    **Weights.** The fitted model depends on the data only through the weighted
    population at each time: rows are put in a canonical order, rows of zero
    weight dropped, and integer weights applied by repeating rows, so fitting
    with integer ``sample_weight`` is exactly fitting with repeated rows.
    Fractional weights (or integer ones that would repeat the data more than
    100-fold) are applied by systematic resampling of each snapshot to its
    number of rows of positive weight, rows drawn ∝ weight; the masses always
    use the exact sums of weights.

    References
    ----------
    K. Neklyudov, R. Brekelmans, D. Severo, A. Makhzani. "Action Matching:
    Learning Stochastic Dynamics from Samples", ICML 2023.
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
    >>> X1, w = uam.sample(500, t=1.0, random_state=0)  # weights sum to the mass
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
        hidden_layer_sizes=(128, 128, 128),
        activation="silu",
        max_iter=2000,
        batch_size=256,
        learning_rate_init=1e-3,
        interpolation="ot",
        solver="rk4",
        n_steps=100,
        solver_tol=1e-5,
        device="auto",
        random_state=None,
        verbose=0,
        source_time=None,
        target_time=None,
        warm_start=False,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation,
            max_iter=max_iter, batch_size=batch_size,
            learning_rate_init=learning_rate_init, interpolation=interpolation,
            solver=solver, n_steps=n_steps, solver_tol=solver_tol, device=device,
            random_state=random_state, verbose=verbose, source_time=source_time,
            target_time=target_time, warm_start=warm_start,
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

    def _snapshot_masses(self, X, times, sample_weight):
        weights = _check_weights(sample_weight, X.shape[0])
        keep = weights > 0
        X, times, weights = X[keep], times[keep], weights[keep]
        distinct = np.unique(times)
        if len(distinct) < 2:
            raise ValueError(
                f"sample_weight is zero on every row of all but {len(distinct)} distinct "
                f"time(s); {type(self).__name__} needs rows of positive weight at 2 or "
                "more times."
            )
        # Canonical order (time, then the row's values): the fit then depends on
        # the weighted population only, not on how its rows were ordered.
        order = np.lexsort((*X.T[::-1], times))
        X, times, weights = X[order], times[order], weights[order]
        self.masses_ = np.array([weights[times == t].sum() for t in distinct])
        integer = np.all(weights == np.round(weights))
        if integer and weights.sum() <= min(MAX_EXPANSION_FACTOR * len(weights),
                                             MAX_EXPANDED_ROWS):
            repeats = weights.astype(np.int64)
        else:
            repeats = np.concatenate([
                _systematic_counts(weights[times == t], np.count_nonzero(times == t))
                for t in distinct
            ])
        X, times = np.repeat(X, repeats, axis=0), np.repeat(times, repeats)
        return X, times, self.masses_ / self.masses_[0]

    def _set_dynamics(self):
        self.growth_scale_ = float(self.growth_scale) / self.x_scale_**2

    def _growth_scale_model(self):
        return self.growth_scale_ * self.x_scale_**2

    # ----------------------------------------------------------------- hooks
    def _loss(self, potential, batch, generator):
        return action_loss(potential, batch, uam_integrand,
                           growth_scale=self._growth_scale_model())

    def _score_masses(self, X, times):
        counts = np.unique(times, return_counts=True)[1].astype(np.float64)
        return counts / counts[0]

    def _integrate(self, potential, x, tau_from, tau_to, *, return_path, t_eval,
                   random_state):
        """Push (x, log w) jointly: dx/dτ = ∇s', d(log w)/dτ = λ'·s'; returns (n, d+1)."""
        n_steps = max(1, int(np.ceil(self.n_steps * abs(tau_to - tau_from))))
        d = x.shape[1]
        lam = self._growth_scale_model()

        def field(z, tau):
            s, grad, _ = potential.derivatives(
                z[:, :d], torch.full_like(z[:, 0], tau), create_graph=False
            )
            return torch.cat([grad.detach(), lam * s.detach().unsqueeze(-1)], dim=1)

        z0 = torch.cat([x, torch.zeros_like(x[:, :1])], dim=1)
        return integrate(
            field, z0, tau_from, tau_to, method=self.solver, n_steps=n_steps,
            t_eval=t_eval, rtol=self.solver_tol, atol=self.solver_tol,
            return_path=return_path,
        )

    def _from_model(self, x):
        """Positions back to user units; a trailing log-weight column passes unchanged."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape[-1] == self.n_features_in_ + 1:
            return np.concatenate([super()._from_model(x[..., :-1]), x[..., -1:]], axis=-1)
        return super()._from_model(x)

    # ------------------------------------------------------------ inference
    def push(self, X, t_from, t_to, return_path=False, t_eval=None, return_weights=False):
        """Push points from ``t_from`` to ``t_to``, with their growth factors.

        Integrates dx/dt = ∇ₓs(x, t) and d(log w)/dt = g(x, t) from w = 1.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at time ``t_from``.
        t_from, t_to : float
            Start and end time, inside the fitted range (else a warning);
            ``t_to < t_from`` integrates backwards.
        return_path : bool, default=False
            Also return the intermediate positions.
        t_eval : array-like of float, default=None
            Times of the returned path; implies ``return_path=True``.
        return_weights : bool, default=False
            Also return each point's growth factor w = exp(∫ g dt): the mass a
            point of mass 1 at ``t_from`` has become at ``t_to``. If X samples the
            population at ``t_from`` (total mass M), ``w · M / n_samples`` are the
            masses of the pushed points.

        Returns
        -------
        X_to : ndarray of shape (n_samples, n_features)
            The points at ``t_to``.
        weights : ndarray of shape (n_samples,)
            Growth factors; only with ``return_weights``.
        path : ndarray of shape (n_times, n_samples, n_features)
            Positions along the way; only with ``return_path`` or ``t_eval``.
        path_times : ndarray of shape (n_times,)
            The time of each state of ``path``; only with ``return_path`` or
            ``t_eval``.
        """
        X = self._check_X(X)
        return self._push(X, t_from, t_to, return_path=return_path, t_eval=t_eval,
                          return_weights=return_weights)

    def _push(self, X, t_from, t_to, *, return_path=False, t_eval=None, random_state=None,
              return_weights=False):
        out = super()._push(X, t_from, t_to, return_path=return_path, t_eval=t_eval,
                            random_state=random_state)
        final, path, path_times = out if isinstance(out, tuple) else (out, None, None)
        X_to = np.ascontiguousarray(final[:, :-1])
        result = [X_to]
        if return_weights:
            result.append(np.exp(final[:, -1].astype(np.float64)).astype(X.dtype))
        if path is not None:
            result += [np.ascontiguousarray(path[..., :-1]), path_times]
        return result[0] if len(result) == 1 else tuple(result)

    def growth(self, X, t):
        """The learnt growth rate g(x, t) = λ·s(x, t), per unit of time.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        t : float or array-like of shape (n_samples,)
            One time for all rows, or one per row.

        Returns
        -------
        g : ndarray of shape (n_samples,)
            Positive where mass grows, negative where it dies.
        """
        return (self.potential(X, t) * self.growth_scale_).astype(
            self._check_X(X).dtype, copy=False
        )

    def sample(self, n_samples=1, t=None, random_state=None):
        """Draw points of the earliest snapshot and push them, with their masses, to ``t``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of points.
        t : float, default=None
            Target time; default ``target_time`` (the latest fitted time).
        random_state : int, RandomState instance or None, default=None
            Which stored points are drawn.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The pushed points.
        weights : ndarray of shape (n_samples,)
            Their masses: growth factors times ``masses_[0] / n_samples``, so
            they sum to the predicted total mass at ``t`` in the units of
            ``masses_`` (rows, or sums of ``sample_weight``). Normalise them for
            a probability distribution.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}.")
        rng = check_random_state(random_state)
        t = self._default_times()[1] if t is None else t
        rows = rng.randint(len(self.source_samples_), size=n_samples)
        X, weights = self._push(self.source_samples_[rows], self.times_[0], t,
                                return_weights=True)
        return X, weights * (self.masses_[0] / n_samples)


def _check_weights(sample_weight, n_samples):
    """``sample_weight`` as finite non-negative float64 of length n_samples (ones if None)."""
    if sample_weight is None:
        return np.ones(n_samples)
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sample_weight must be numeric: {exc}") from exc
    if weights.ndim == 0:
        weights = np.full(n_samples, float(weights))
    if weights.ndim != 1 or weights.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), one weight per row of X; "
            f"got shape {weights.shape}."
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("sample_weight must be finite and non-negative.")
    return weights


def _systematic_counts(weights, n_draws):
    """How often each row is drawn by systematic resampling of n_draws rows ∝ weights.

    Draw j takes the row whose cumulative-weight interval holds (j + ½)/n_draws of
    the total: every row is drawn ⌊n·w/W⌋ or ⌈n·w/W⌉ times, deterministically.
    """
    edges = np.cumsum(weights) / weights.sum()
    positions = (np.arange(n_draws) + 0.5) / n_draws
    rows = np.minimum(np.searchsorted(edges, positions, side="right"), len(weights) - 1)
    return np.bincount(rows, minlength=len(weights))
