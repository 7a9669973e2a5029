"""EntropicActionMatching: stochastic dynamics dX = ∇ₓs dt + σ_t dW from snapshots (eAM)."""

from numbers import Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if

from ._base import BaseActionMatching, _as_real
from .couplings import entropic_reg
from .losses import action_loss, am_integrand, eam_integrand
from .paths import BrownianBridgePath
from .solvers import integrate
from .utils._docstring import fill_shared_docs
from .utils._sklearn import Interval, StrOptions

__all__ = ["EntropicActionMatching"]

#: ``laplacian="auto"`` takes the exact Hessian trace up to this many features
#: (one extra backward pass per feature), Hutchinson's estimator above.
EXACT_LAPLACIAN_MAX_FEATURES = 10
#: ``sigma="auto"``: σ·√T = AUTO_SIGMA_FRACTION·a, i.e. diffusion over the whole
#: fitted time span T spreads points by this fraction of the data's scale a.
AUTO_SIGMA_FRACTION = 0.1
#: Points at which a callable ``sigma`` is tabulated over the fitted time range.
SIGMA_GRID_POINTS = 1025

def _inverse_transform_unavailable(estimator):
    raise AttributeError(
        f"{type(estimator).__name__} has no inverse_transform: its dynamics are "
        "stochastic (an SDE), which has no inverse map; integrating backwards would "
        "need the score ∇log q_t, which entropic Action Matching does not learn."
    )


@fill_shared_docs
class EntropicActionMatching(BaseActionMatching):
    """Learn stochastic dynamics dX = ∇ₓs(X, t) dt + σ_t dW from snapshots.

    Entropic Action Matching fits a scalar potential s(x, t) such that the
    Fokker–Planck equation ∂ₜq = −∇·(q∇s) + (σ_t²/2)·Δq carries the observed
    distribution at each time to the next, by minimising

        L(s) = E_{q_t0}[s(x, t0)] − E_{q_tK}[s(x, tK)]
               + ∫ E_{q_t}[½‖∇ₓs‖² + ∂ₜs + (σ_t²/2)·Δₓs] dt

    (Neklyudov et al., ICML 2023). The noise level σ_t is given, not learnt;
    among the drifts that reproduce the marginals with that noise, the gradient
    field is unique. ``transform``, ``push`` and ``sample`` simulate the SDE by
    Euler–Maruyama with the σ_t used in training.

    Parameters
    ----------
    sigma : "auto", float, callable or array-like of shape (n_knots, 2), default="auto"
        Noise level σ_t of dX = ∇s dt + σ_t dW, in units of X per square root of
        the unit of time (so data in mm over hours take σ in mm/√h):

        - ``"auto"``: a constant σ = 0.1·a/√T, with a the root mean feature
          variance's square root and T the fitted time span: over the whole range
          the noise alone spreads points by 10 % of the data's scale, whatever
          the units (a σ in the wrong units swamps the drift);
        - a float ≥ 0: constant σ (0 gives plain Action Matching);
        - a callable ``sigma(t) -> float`` of one time (in the units of ``y``);
          it is tabulated at 1025 evenly spaced times over the fitted range and
          interpolated linearly, so it need not pickle with the fitted model;
        - an array of ``(time, sigma)`` rows with strictly increasing times:
          linear interpolation between knots, constant beyond the end knots.

        The schedule used is stored in ``sigma_schedule_``; outside the fitted
        time range σ is held at its end values.
    laplacian : {"auto", "hutchinson", "exact"}, default="auto"
        How the Δₓs of the loss is computed:

        - ``"hutchinson"``: unbiased estimate εᵀ∇²s ε with one Rademacher probe
          per point (the authors' choice; one Hessian-vector product);
        - ``"exact"``: the trace of the Hessian (one backward pass per feature);
        - ``"auto"``: ``"exact"`` up to 10 features, ``"hutchinson"`` above.
    {{hidden_layer_sizes}}
    activation : {"silu", "tanh", "softplus"}, default="silu"
        Smooth activation of the hidden layers.
    max_iter : int, default=1000
        Number of optimiser (Adam) steps.
    {{batch_size}}
    {{learning_rate_init}}
    interpolation : {"bridge", "ot", "independent", "quadrature", "auto"}, \
            default="bridge"
        How the time integral sees q_t between snapshots:

        - ``"bridge"``: pair points of consecutive snapshots by entropic optimal
          transport with regularisation 2σ²Δt (minibatches of 512, Sinkhorn, in
          model units) and join them by a Brownian bridge of noise σ: the
          Schrödinger-bridge path, the natural path for noisy dynamics. A
          time-varying σ_t uses, for the path only, the constant σ̄ with the
          same mean σ² over the fitted range (the loss and the sampler use σ_t).
          With σ ≡ 0 this is ``"ot"``;
        - ``"ot"``: exact-OT pairs joined by straight lines (McCann
          interpolation);
        - ``"independent"``: random pairs joined by straight lines;
        - ``"quadrature"``: the observed snapshots only, with trapezoid weights
          (for dense snapshots);
        - ``"auto"``: ``"quadrature"`` from 20 distinct times up, else
          ``"bridge"``.
    n_steps : int, default=100
        Euler–Maruyama steps to cross the whole fitted time range; a shorter
        push uses proportionally fewer (at least one).
    {{device}}
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, pairing, every draw of training, and the
        default noise of ``transform``/``push`` (see Notes).
    {{verbose}}
    {{source_time}}
    {{target_time}}
    {{warm_start}}

    Attributes
    ----------
    potential_ : MLPPotential
        The trained network s'(x', τ) in model units, on the CPU.
    sigma_schedule_ : ndarray of shape (n_knots, 2)
        The noise schedule of training and sampling, as ``(time, sigma)`` knots in
        the user's units (linear in between, constant beyond).
    laplacian_ : str
        The Laplacian used (``"auto"`` resolved).
    noise_seed_ : int
        Seed of the noise of ``transform`` and ``push`` when no ``random_state``
        is given to them.
    times_ : ndarray of shape (n_times,)
        Sorted distinct observation times seen in ``fit``.
    n_iter_ : int
        Optimiser steps run (summed over warm-started fits).
    loss_curve_ : list of shape (n_iter_,)
        Loss at each step (model units); unbounded below, usually negative.
    {{n_features_in_}}
    {{feature_names_in_}}
    {{device_}}
    {{interpolation_}}
    {{hidden_layer_sizes_}}
    x_center_ : ndarray of shape (n_features_in_,)
        Centre of the model units (the mean of X at the first fit).
    x_scale_ : float
        Length scale a of the model units (root mean feature variance).
    time_origin_, time_scale_ : float
        Earliest fitted time and fitted time span T.
    source_samples_ : ndarray of shape (n_kept, n_features_in_)
        Up to 10 000 rows of the earliest snapshot, for :meth:`sample`.

    See Also
    --------
    ActionMatchingRegressor : Deterministic dynamics (σ = 0), with an inverse.
    UnbalancedActionMatching : Dynamics with growth and death.

    Notes
    -----
    **Units.** With x' = (x − x_center_)/a and τ = (t − t_first)/T the SDE
    dx = v dt + σ dW becomes dx' = (T/a)·v dτ + (σ·√T/a) dW_τ (a Wiener process
    in t has √T times the spread of one in τ), so training uses σ' = σ·√T/a.

    **Noise.** The SDE has no inverse, so there is no ``inverse_transform``, and
    ``push`` only runs forwards in time. Each row's noise is a function of the
    seed, the row's values and how many identical rows precede it: the result
    for a row does not depend on the other rows or their order (as a
    scikit-learn transformer must), while duplicated rows still get independent
    noise. ``transform`` and ``push`` without ``random_state`` use
    ``noise_seed_``, so they are deterministic for a fitted model.

    References
    ----------
    K. Neklyudov, R. Brekelmans, D. Severo, A. Makhzani. "Action Matching:
    Learning Stochastic Dynamics from Samples", ICML 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am import EntropicActionMatching
    >>> rng = np.random.RandomState(0)
    >>> t = np.repeat([0.0, 0.5, 1.0], 200)
    >>> X = rng.normal(size=(600, 1)) * np.sqrt(1 + t[:, None])  # pure diffusion
    >>> eam = EntropicActionMatching(sigma=1.0, hidden_layer_sizes=(32, 32),
    ...                              max_iter=200, random_state=0).fit(X, t)
    >>> eam.transform(X[t == 0]).shape
    (200, 1)
    >>> float(abs(eam.velocity([[1.0]], t=0.5)[0, 0]) < 0.3)  # the noise does it all
    1.0
    """

    _parameter_constraints: dict = {
        **{
            key: value
            for key, value in BaseActionMatching._parameter_constraints.items()
            if key not in ("solver", "solver_tol")
        },
        "sigma": [
            StrOptions({"auto"}), Interval(Real, 0, None, closed="left"), "array-like", callable,
        ],
        "laplacian": [StrOptions({"auto", "hutchinson", "exact"})],
        "interpolation": [StrOptions({"bridge", "ot", "independent", "quadrature", "auto"})],
    }

    def __init__(
        self,
        *,
        sigma="auto",
        laplacian="auto",
        hidden_layer_sizes=(128, 128, 128),
        activation="silu",
        max_iter=1000,
        batch_size=256,
        learning_rate_init=1e-3,
        interpolation="bridge",
        n_steps=100,
        device="auto",
        random_state=None,
        verbose=0,
        source_time=None,
        target_time=None,
        warm_start=False,
    ):
        self.sigma = sigma
        self.laplacian = laplacian
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.interpolation = interpolation
        self.n_steps = n_steps
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.source_time = source_time
        self.target_time = target_time
        self.warm_start = warm_start

    # ------------------------------------------------------------ fitting
    def _fit(self, X, y, masses=None, sample_weight=None):
        super()._fit(X, y, masses=masses, sample_weight=sample_weight)
        self.noise_seed_ = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        return self

    def _set_dynamics(self):
        self.sigma_schedule_ = self._sigma_schedule()
        if self.laplacian == "auto":
            exact = self.n_features_in_ <= EXACT_LAPLACIAN_MAX_FEATURES
            self.laplacian_ = "exact" if exact else "hutchinson"
        else:
            self.laplacian_ = self.laplacian

    def _sigma_schedule(self):
        """``sigma`` as validated (time, σ) knots in the user's units."""
        t_first = self.time_origin_
        t_last = self.time_origin_ + self.time_scale_
        if isinstance(self.sigma, str):  # "auto", the only string the constraints allow
            value = AUTO_SIGMA_FRACTION * self.x_scale_ / np.sqrt(self.time_scale_)
            return np.array([[t_first, value], [t_last, value]])
        if isinstance(self.sigma, Real) and not isinstance(self.sigma, bool):
            return np.array([[t_first, float(self.sigma)], [t_last, float(self.sigma)]])
        if callable(self.sigma):
            grid = np.linspace(t_first, t_last, SIGMA_GRID_POINTS)
            try:
                values = np.array([float(self.sigma(float(t))) for t in grid])
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    "sigma, a callable, must map one time (a float) to one noise "
                    f"level (a float); calling it failed: {exc}"
                ) from exc
            knots = np.column_stack([grid, values])
            what = "sigma(t)"
        else:
            knots = np.asarray(self.sigma, dtype=np.float64)
            if knots.ndim != 2 or knots.shape[1] != 2 or len(knots) < 1:
                raise ValueError(
                    "sigma, given as an array, must hold (time, sigma) rows, shape "
                    f"(n_knots, 2); got shape {knots.shape}."
                )
            if np.any(np.diff(knots[:, 0]) <= 0) or not np.all(np.isfinite(knots[:, 0])):
                raise ValueError(
                    "sigma, given as (time, sigma) knots, needs finite, strictly "
                    f"increasing times; got {knots[:, 0].tolist()}."
                )
            what = "sigma's knots"
        if not np.all(np.isfinite(knots[:, 1])) or np.any(knots[:, 1] < 0):
            raise ValueError(f"{what} must be finite and >= 0; got a value "
                             f"{knots[:, 1][~(knots[:, 1] >= 0)][:1].tolist()}.")
        return knots

    # ------------------------------------------------------ σ in model units
    def _sigma_knots_model(self):
        """(τ, σ') knots: σ' = σ·√T/a, τ = (t − origin)/T."""
        tau = self._to_model_time(self.sigma_schedule_[:, 0])
        sigma = self.sigma_schedule_[:, 1] * np.sqrt(self.time_scale_) / self.x_scale_
        return tau, sigma

    def _sigma_model(self, tau):
        """σ' at model time(s) ``tau`` (floats), held constant beyond the knots."""
        knots, values = self._sigma_knots_model()
        return np.interp(tau, knots, values)

    def _sigma_model_tensor(self, tau):
        """σ' at a tensor of model times: a float when σ is constant."""
        knots, values = self._sigma_knots_model()
        if np.all(values == values[0]):
            return float(values[0])
        xp = torch.as_tensor(knots, dtype=tau.dtype, device=tau.device)
        fp = torch.as_tensor(values, dtype=tau.dtype, device=tau.device)
        idx = torch.searchsorted(xp, tau.detach().contiguous()).clamp(1, len(xp) - 1)
        lo, hi = xp[idx - 1], xp[idx]
        frac = ((tau.detach() - lo) / (hi - lo)).clamp(0.0, 1.0)
        return fp[idx - 1] + frac * (fp[idx] - fp[idx - 1])

    def _sigma_bar_model(self):
        """√(mean σ'²) over the fitted range: the constant σ of the bridge path."""
        knots, values = self._sigma_knots_model()
        if len(knots) == 1:
            return float(values[0])
        grid = np.linspace(0.0, 1.0, SIGMA_GRID_POINTS)
        return float(np.sqrt(np.mean(np.interp(grid, knots, values) ** 2)))

    # ----------------------------------------------------------------- hooks
    def _loss(self, potential, batch, generator):
        if np.all(self.sigma_schedule_[:, 1] == 0):
            return action_loss(potential, batch, am_integrand)
        return action_loss(
            potential, batch, eam_integrand, sigma_t=self._sigma_model_tensor(batch.t),
            laplacian=self.laplacian_, generator=generator,
        )

    def _resolve_interpolation(self, n_times):
        resolved = super()._resolve_interpolation(n_times)
        return "bridge" if resolved == "ot" and self.interpolation == "auto" else resolved

    def _coupling(self, interpolation):
        """Entropic OT with reg = 2σ'²Δτ for the bridge (exact OT when σ = 0)."""
        if interpolation != "bridge":
            return super()._coupling(interpolation)
        sigma = self._sigma_bar_model()
        if sigma == 0:
            return "exact", None
        return "sinkhorn", lambda dt: entropic_reg(sigma, dt)

    def _path(self, interpolation):
        """A Brownian bridge of the training σ for ``"bridge"``, else straight lines."""
        sigma = self._sigma_bar_model()
        if interpolation == "bridge" and sigma > 0:
            return BrownianBridgePath(sigma)
        return super()._path(interpolation)

    def _integrate(self, potential, x, tau_from, tau_to, *, return_path, t_eval,
                   random_state):
        """Euler–Maruyama from τ_from to τ_to; ``random_state`` is a :class:`_RowNoise`."""
        n_steps = max(1, int(np.ceil(self.n_steps * abs(tau_to - tau_from))))

        def field(z, tau):
            return potential.velocity(z, torch.full_like(z[:, 0], tau))

        return integrate(
            field, x, tau_from, tau_to, method="euler_maruyama", n_steps=n_steps,
            t_eval=t_eval, return_path=return_path,
            sigma=lambda tau: float(self._sigma_model(tau)),
            noise=random_state.take(len(x)),
        )

    # ------------------------------------------------------------ inference
    def push(self, X, t_from, t_to, return_path=False, t_eval=None, random_state=None):
        """Simulate dX = ∇ₓs dt + σ_t dW from ``t_from`` to ``t_to`` (Euler–Maruyama).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at time ``t_from``.
        t_from, t_to : float
            Start and end time, inside the fitted range (else a warning);
            ``t_to >= t_from``: the SDE runs forwards only.
        return_path : bool, default=False
            Also return the intermediate states.
        t_eval : array-like of float, default=None
            Times of the returned path (increasing from ``t_from`` to ``t_to``);
            default: the solver's steps. Implies ``return_path=True``.
        random_state : int, RandomState instance or None, default=None
            Seed of the noise; None uses ``noise_seed_`` (fixed at fit), so
            repeated calls give the same paths. Each row's noise depends only on
            the seed and the row (see Notes of the class).

        Returns
        -------
        X_to : ndarray of shape (n_samples, n_features)
            The points at ``t_to``, in the dtype of ``X``.
        path : ndarray of shape (n_times, n_samples, n_features)
            States along the way, ``path[-1]`` equal to ``X_to``. Only with
            ``return_path`` or ``t_eval``.
        path_times : ndarray of shape (n_times,)
            The time of each state of ``path``. Only with ``return_path`` or
            ``t_eval``.
        """
        X = self._check_X(X)
        return self._push(X, t_from, t_to, return_path=return_path, t_eval=t_eval,
                          random_state=random_state)

    def _push(self, X, t_from, t_to, *, return_path=False, t_eval=None, random_state=None):
        if _as_real(t_to, "t_to") < _as_real(t_from, "t_from"):
            raise ValueError(
                f"t_to={t_to:g} is before t_from={t_from:g}: {type(self).__name__} "
                "simulates the SDE forwards in time only (running it backwards would "
                "need the score ∇log q_t, which is not learnt)."
            )
        if random_state is None:
            seed = self.noise_seed_
        else:
            seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        noise = _RowNoise(_row_keys(X, seed))
        return super()._push(X, t_from, t_to, return_path=return_path, t_eval=t_eval,
                             random_state=noise)

    @available_if(_inverse_transform_unavailable)
    def inverse_transform(self, X):
        """Not available: an SDE has no inverse map."""


# ---------------------------------------------------------------- row noise
_U64 = np.uint64
_GOLDEN_GAMMA = _U64(0x9E3779B97F4A7C15)
#: Mixed into every key, so that the noise differs from other uses of the seed.
_NOISE_SALT = _U64(0x6541_4D5F_6E6F_6973)  # "eAM_nois"
_TWO_POW_M32 = 2.0**-32


def _splitmix64(z):
    """The SplitMix64 finaliser, elementwise on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = z + _GOLDEN_GAMMA
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        return z ^ (z >> _U64(31))


def _row_keys(X, seed):
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


class _RowNoise:
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
