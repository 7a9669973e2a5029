"""EntropicActionMatching: stochastic dynamics dX = ∇ₓs dt + σ_t dW from snapshots (eAM)."""

from numbers import Real

import numpy as np

from ._dynamics import NoisyTransport
from ._estimator.base import BaseActionMatching
from ._estimator.potential_param import store_potential_params
from .utils._docstring import fill_shared_docs
from .utils._sklearn import Interval, StrOptions

__all__ = ["EntropicActionMatching"]


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
          interpolated linearly. A fitted model pickles (``pickle``, ``joblib``,
          ``skops``) even when the callable does not (a lambda, a local
          function): its state holds that table, not the callable, so once
          unpickled ``get_params()["sigma"]`` is a copy of the
          ``sigma_schedule_`` array, a valid ``sigma`` that gives the same
          fitted model. An unfitted estimator holds the callable as given and
          pickles only if the callable does (define it at module level);
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
    {{training:max_iter=1000;batch_size=128;early_stopping=False}}
    interpolation : {"bridge", "ot", "independent", "quadrature", "auto"}, \
            default="auto"
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
        - ``"auto"``: ``"quadrature"`` for dense snapshots (10 or more times and
          a median relative step of at most 0.35, as for
          :class:`ActionMatchingRegressor`), else ``"bridge"``.
    n_steps : int, default=100
        Euler–Maruyama steps to cross the whole fitted time range; a shorter
        push uses proportionally fewer (at least one).
    {{device}}
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, pairing, every draw of training, and the
        default noise of ``transform``/``push`` (see Notes).
    {{tail}}

    Attributes
    ----------
    sigma_schedule_ : ndarray of shape (n_knots, 2)
        The noise schedule of training and sampling, as ``(time, sigma)`` knots in
        the user's units (linear in between, constant beyond).
    laplacian_ : str
        The Laplacian used (``"auto"`` resolved).
    noise_seed_ : int
        Seed of the noise of ``transform`` and ``push`` when no ``random_state``
        is given to them.
    {{common_attributes}}

    See Also
    --------
    ActionMatchingRegressor : Deterministic dynamics (σ = 0), with an inverse.
    UnbalancedActionMatching : Dynamics with growth and death.

    Notes
    -----
    **Units.** With x' = (x − ``x_center_``)/a and τ = (t − t_first)/T the SDE
    dx = v dt + σ dW becomes dx' = (T/a)·v dτ + (σ·√T/a) dW_τ (a Wiener process
    in t has √T times the spread of one in τ), so training uses σ' = σ·√T/a.

    **Noise.** The SDE has no inverse, so there is no ``inverse_transform``, and
    ``push`` only runs forwards in time. Each row's noise is a function of the
    seed, the row's values and how many identical rows precede it: the result
    for a row does not depend on the other rows or their order (as a
    scikit-learn transformer must), while duplicated rows still get independent
    noise. ``transform`` and ``push`` without ``random_state`` use
    ``noise_seed_``, so they are deterministic for a fitted model.

    {{references}}

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_am import EntropicActionMatching
    >>> t = np.repeat([0.0, 0.5, 1.0], 200)
    >>> X = np.random.RandomState(0).normal(size=(600, 1)) * np.sqrt(1 + t[:, None])
    >>> # pure diffusion: the spread grows like √(1 + t)
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
        "interpolation": [StrOptions(set(NoisyTransport.interpolations) | {"auto"})],
    }

    def __init__(
        self,
        *,
        sigma="auto",
        laplacian="auto",
        potential=None,
        hidden_layer_sizes=(128, 128, 128),
        activation="silu",
        max_iter=1000,
        batch_size=128,
        learning_rate_init=1e-3,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=20,
        tol=1e-4,
        interpolation="auto",
        n_steps=100,
        device="auto",
        random_state=None,
        verbose=0,
        source_time=None,
        target_time=None,
        warm_start=False,
        **potential__params,
    ):
        self.sigma = sigma
        self.laplacian = laplacian
        self.potential = potential
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.interpolation = interpolation
        self.n_steps = n_steps
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.source_time = source_time
        self.target_time = target_time
        self.warm_start = warm_start
        store_potential_params(self, potential__params)

    def __getstate__(self):
        """The state, a callable ``sigma`` replaced by its table once fitted.

        The table (``sigma_schedule_``) is what the fitted model uses, so the
        restored model behaves the same, and the state pickles whatever the
        callable is.
        """
        state = super().__getstate__()  # a copy: the live estimator keeps its callable
        if callable(state.get("sigma")) and "sigma_schedule_" in state:
            state["sigma"] = np.array(state["sigma_schedule_"])
        return state

    def _make_dynamics(self):
        return NoisyTransport(sigma=self.sigma, laplacian=self.laplacian)

    def _solver_options(self):
        return {"method": "euler_maruyama", "n_steps": self.n_steps}
