"""ActionMatchingNet: a skorch ``NeuralNet`` that trains a potential by Action Matching."""

import inspect
import warnings

import torch
from skorch import NeuralNet
from skorch.callbacks import GradientNormClipping
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state

from .._numerics.device import MAX_SEED, torch_generator
from .._numerics.training import MAX_GRAD_NORM
from ..networks import MLPPotential, as_potential
from ._criterion import ActionMatchingCriterion, units_of
from ._mirror import estimator_method, fitted_estimator
from ._prepare import prepare_fit
from ._split import SnapshotSplit
from ._steps import SamplerSteps


class ActionMatchingNet(SamplerSteps, NeuralNet):
    """A skorch ``NeuralNet`` that trains a potential s(x, t) by Action Matching.

    ``fit(X, y)`` takes snapshots, ``y`` holding each row's observation time,
    and does what the estimators do before their training loop: it validates
    the data, fits the model units (centre and scale of X, time mapped to
    [0, 1]), binds the dynamics and builds the snapshot sampler (OT pairing or
    bridges between consecutive snapshots). skorch then runs the loop: each
    epoch is ``steps_per_epoch`` optimiser steps on fresh batches of
    ``batch_size`` points, followed by the validation loss on fixed draws from
    the held-out rows (:class:`SnapshotSplit`), so ``EarlyStopping``,
    ``Checkpoint`` (which monitors ``valid_loss_best``), ``LRScheduler``,
    ``ProgressBar`` and the loggers work as usual.

    Read more in the :doc:`user guide </user_guide/networks>` ("skorch or the estimators").

    Parameters
    ----------
    module : torch.nn.Module class or instance
        The potential network s(x, t): any module whose ``forward(x, t)``
        returns one value per row, as the estimators' ``potential`` takes
        (e.g. ``MLPPotential``; a module without exact ``derivatives`` gets
        autograd ones). Its arguments go in ``module__<name>``, as in skorch.
    dynamics : {"transport", "noisy", "growing"}, default="transport"
        What moves the population, as in the estimator of that name:
        ``"transport"`` (dx/dt = ∇ₓs, ``ActionMatchingRegressor``),
        ``"noisy"`` (dX = ∇ₓs dt + σ dW, ``EntropicActionMatching``) or
        ``"growing"`` (growth g = λ·s, ``UnbalancedActionMatching``; then
        ``fit(X, y, sample_weight=w)`` takes row masses). Parameters are checked
        by that estimator, and :meth:`to_estimator` returns one.
    interpolation : {"ot", "independent", "quadrature", "bridge", "auto"} or None, \
            default=None
        How the training batches see the population between snapshots, as the
        mirrored estimator's ``interpolation`` (which checks it: ``"bridge"``
        only for noisy dynamics). None passes nothing, so the estimator's
        default applies, ``"auto"``: ``"quadrature"`` (the observed snapshots
        only) on dense snapshots (10 or more times and a median relative step
        of at most 0.35), else ``"bridge"`` for noisy dynamics and ``"ot"``
        for the others. The choice is made on the training rows at ``fit``;
        ``interpolation_`` holds it, and the criterion saves it.
    sigma : "auto", float, callable or array-like of shape (n_knots, 2), default="auto"
        Noise level of noisy dynamics, as ``EntropicActionMatching``'s; ignored
        otherwise.
    laplacian : {"auto", "hutchinson", "exact"}, default="auto"
        How noisy dynamics compute Δₓs; ignored otherwise.
    growth_scale : float, default=1.0
        λ of growing dynamics, as ``UnbalancedActionMatching``'s; ignored
        otherwise.
    steps_per_epoch : int, default=100
        Optimiser steps (sampler draws) per epoch.
    batch_size : int, default=256
        Points per optimiser step, as the estimators' ``batch_size``: on paths,
        ``batch_size`` in each interval between consecutive snapshots (with
        more than 4 intervals, 4 × ``batch_size`` spread over the whole time
        range); with ``"quadrature"``, ``batch_size`` observed points per
        interval, at most 2 × ``batch_size`` in all; and ``batch_size`` points
        from the first and from the last snapshot. It also sizes the pool of
        pairs the coupling prepares (for ``steps_per_epoch × batch_size ×
        max_epochs`` draws), and skorch's chunks of :meth:`forward` on data
        that are not sampler draws. Validation does not use it: it scores one
        fixed batch drawn from the held-out rows with a batch size of 2048,
        the draw the estimators' ``score`` makes.
    solver : {"euler", "heun", "rk4", "dopri5"}, default="rk4"
        ODE integrator of :meth:`push` and of the estimator; noisy dynamics use
        Euler–Maruyama.
    n_steps : int, default=100
        Solver steps to cross the whole fitted time range.
    solver_tol : float, default=1e-5
        Tolerance of ``"dopri5"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split (when the :class:`SnapshotSplit` has none),
        the OT pairing and every draw of training, and the initial weights of
        a module built from a class whose ``reset_parameters`` takes a
        ``generator`` (as ``MLPPotential``'s); seed torch yourself for others.
    criterion : type, default=ActionMatchingCriterion
        The loss module; it also holds the fitted units (see
        :class:`ActionMatchingCriterion`). Replace it only by a subclass.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Arguments go in ``optimizer__<name>``, as in skorch.
    lr : float, default=1e-3
        Learning rate, constant unless an ``LRScheduler`` callback changes it.
    max_epochs : int, default=20
        Epochs of ``fit`` (20 × 100 steps: the estimators' 2000 steps).
    train_split : callable or None, default=SnapshotSplit(5)
        ``train_split(dataset, times)`` returns the training and validation
        datasets (Subsets of ``dataset``, or a skorch ``Dataset(X_valid,
        t_valid)`` as from ``predefined_split``), or None for the second.
        The default holds out a fifth of every snapshot (rounded up), as the
        estimators' early stopping does, and nothing (with a warning) when a
        snapshot has fewer than 20 rows; None trains on all rows. Without
        validation rows no ``valid_loss`` is recorded.
    callbacks : list of callbacks, "disable" or None, default=None
        skorch callbacks, added to the defaults: skorch's (epoch timer,
        ``train_loss``, ``valid_loss``, print log) and ``gradient_clipping``,
        a ``GradientNormClipping(1.0)`` as the estimators use (drop it with
        ``callbacks__gradient_clipping=None``).
    warm_start : bool, default=False
        Keep the module, optimizer and fitted units between ``fit`` calls
        (``partial_fit`` always does).
    verbose : int, default=1
        skorch's per-epoch table when > 0.
    device : str, torch.device or None, default="cpu"
        Where the module and the batches live (``"cuda"`` for a GPU); None
        leaves the module where it is.
    **kwargs
        Any other ``NeuralNet`` argument (``iterator_valid``, ``compile``,
        ``torch_load_kwargs``...) and the ``module__``, ``optimizer__``,
        ``callbacks__`` prefixes. ``iterator_train``/``iterator_valid`` are
        not used for fitting: batches come from the snapshot sampler.

    Attributes
    ----------
    module_ : Potential
        The trained potential, in model units (x' = (x − centre)/scale,
        τ = (t − t_first)/T).
    criterion_ : ActionMatchingCriterion
        The loss, and the fitted units and snapshot state as buffers.
    units_ : Units
        The model units: ``center``, ``scale``, ``origin`` (first time) and
        ``span`` (time span T).
    times_ : ndarray of shape (n_times,)
        The distinct observation times trained on.
    interpolation_ : str
        The interpolation used ("auto" or None resolved).
    n_features_in_ : int
        Number of features of X.
    history_ : skorch.history.History
        ``train_loss`` and ``valid_loss`` per epoch (model units; lower is
        better, unbounded below), and per batch.

    See Also
    --------
    sklearn_am.ActionMatchingRegressor : The estimator with its own loop (faster per
        step, scikit-learn's full check suite).

    Notes
    -----
    Each ``fit`` or ``partial_fit`` call builds the sampler once (the OT
    pairing of consecutive snapshots is solved then). ``warm_start``,
    ``partial_fit`` and ``LoadInitState`` keep the units of the first fit, so
    the module keeps meaning the same thing. The losses in ``history`` are in
    model units: ``valid_loss`` times ``units_.scale**2 / units_.span`` is
    minus :meth:`score` of the held-out rows, up to Monte Carlo error.

    The loss is unbounded below and usually negative: give ``EarlyStopping``
    (and ``ReduceLROnPlateau``) ``threshold_mode="abs"``. skorch 1.4's relative
    threshold is inverted for negative scores: it counts a loss that stays
    level as an improvement, so it never stops on a plateau.

    ``predict`` does not apply (an AM model answers at a time): use
    :meth:`velocity`, :meth:`scalar_potential`, :meth:`push`, :meth:`score` (the
    estimators' methods, in the user's units) or :meth:`to_estimator`.
    ``net.forward({"x": x, "t": tau})`` gives ∇ₓs in model units.

    Examples
    --------
    >>> import numpy as np
    >>> from skorch.callbacks import EarlyStopping
    >>> from sklearn_am.networks import MLPPotential
    >>> from sklearn_am.skorch import ActionMatchingNet
    >>> rng = np.random.RandomState(0)
    >>> t = np.repeat([0.0, 1.0, 2.0], 200)
    >>> X = rng.normal(size=(600, 2)) + t[:, None] * [1.0, 0.0]  # drift to the right
    >>> net = ActionMatchingNet(
    ...     MLPPotential, module__n_features=2, module__hidden_layer_sizes=(32, 32),
    ...     steps_per_epoch=25, max_epochs=8,
    ...     callbacks=[EarlyStopping(patience=3, threshold_mode="abs")],
    ...     random_state=0, verbose=0).fit(X, t)
    >>> bool(net.history[-1, "valid_loss"] < net.history[0, "valid_loss"])
    True
    >>> float(net.velocity([[0.0, 0.0]], t=1.0)[0, 0].round())  # about 1 to the right
    1.0
    >>> am = net.to_estimator()  # a fitted ActionMatchingRegressor
    >>> am.transform(X[t == 0]).shape
    (200, 2)
    """

    def __init__(
        self,
        module,
        *,
        dynamics="transport",
        interpolation=None,
        sigma="auto",
        laplacian="auto",
        growth_scale=1.0,
        steps_per_epoch=100,
        batch_size=256,
        solver="rk4",
        n_steps=100,
        solver_tol=1e-5,
        random_state=None,
        criterion=ActionMatchingCriterion,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=20,
        train_split=SnapshotSplit(5),
        callbacks=None,
        warm_start=False,
        verbose=1,
        device="cpu",
        **kwargs,
    ):
        super().__init__(
            module, criterion, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
            batch_size=batch_size, train_split=train_split, callbacks=callbacks,
            warm_start=warm_start, verbose=verbose, device=device, **kwargs,
        )
        self.dynamics = dynamics
        self.interpolation = interpolation
        self.sigma = sigma
        self.laplacian = laplacian
        self.growth_scale = growth_scale
        self.steps_per_epoch = steps_per_epoch
        self.solver = solver
        self.n_steps = n_steps
        self.solver_tol = solver_tol
        self.random_state = random_state

    # ----------------------------------------------------------- set-up
    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        clip = ("gradient_clipping", GradientNormClipping(gradient_clip_value=MAX_GRAD_NORM))
        callbacks.insert(len(callbacks) - 1, clip)  # before print_log
        return callbacks

    def initialize_module(self):
        """Build the module; seed its initial weights from ``random_state``.

        Returns
        -------
        self : ActionMatchingNet
        """
        # skorch builds a new module from a class, or from an instance's type when
        # module__ arguments are given; an instance alone is used as it is.
        built = isinstance(self.module, type) or bool(self.get_params_for("module"))
        super().initialize_module()
        reset = getattr(self.module_, "reset_parameters", None)
        if built and self.random_state is not None and callable(reset) and \
                "generator" in inspect.signature(reset).parameters:
            seed = self._seeds()[0]
            reset(generator=torch_generator(seed, next(self.module_.parameters()).device))
        # Any module with forward(x, t), as the estimators' ``potential=`` takes:
        # modules without exact derivatives get autograd ones.
        self.module_ = as_potential(self.module_)
        return self

    def _seeds(self):
        """Independent seeds of (initial weights, split, training draws)."""
        return check_random_state(self.random_state).randint(MAX_SEED, size=3)

    def _device(self):
        return next(self.module_.parameters(), torch.empty(0)).device

    # ------------------------------------------------------------- data
    def get_split_datasets(self, X, y=None, **fit_params):
        """Validate the snapshots, fit the units and build the training and validation draws.

        What ``BaseActionMatching._fit`` does before its loop, by the same
        calls: validation, the dynamics' population, ``Units.from_data``
        (kept from an earlier fit under ``warm_start``, ``partial_fit`` or
        ``LoadInitState``), binding the dynamics, ``Snapshots`` and the
        dynamics' sampler. The rows are split first by ``train_split``; the
        validation draws are fixed (the same seeds as ``score``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observed points of every snapshot.
        y : array-like of shape (n_samples,)
            Observation time of each row.
        **fit_params : dict
            ``sample_weight`` (growing dynamics only); the rest is ignored.

        Returns
        -------
        dataset_train, dataset_valid : iterable datasets of batches
            ``dataset_valid`` is None when ``train_split`` is None.
        """
        self.draws_ = prepare_fit(self, X, y, fit_params.get("sample_weight"))
        return self.draws_["train"], self.draws_["valid"]

    # -------------------------------------------------------- inference
    @property
    def units_(self):
        """The fitted model units (a :class:`sklearn_am._sampling.units.Units`)."""
        return units_of(self._fitted_state())

    @property
    def times_(self):
        """The distinct observation times trained on."""
        return self._fitted_state()["times"]

    @property
    def interpolation_(self):
        """The interpolation used."""
        return fitted_estimator(self, copy_module=False).interpolation_

    def _fitted_state(self):
        criterion = getattr(self, "criterion_", None)
        if criterion is None or not criterion.fitted:
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted: call fit, or load_params with "
                "f_criterion (the criterion holds the fitted units) as well as f_params."
            )
        return criterion._state()

    def to_estimator(self):
        """A fitted scikit-learn estimator with this net's potential and units.

        An ``ActionMatchingRegressor``, ``EntropicActionMatching`` or
        ``UnbalancedActionMatching`` (after ``dynamics``) whose ``potential_`` is
        a CPU copy of ``module_`` and whose fitted attributes come from this
        net, so every library method applies: ``transform``, ``push``,
        ``sample``, ``velocity``, ``score``, ``TrajectoryDisplay``. With an
        ``MLPPotential`` module it pickles, and loads without skorch; the
        estimators persist MLP weights only, so for other modules (a warning
        says so) persist the net. Refitting it trains the estimator's own MLP.

        Returns
        -------
        estimator : BaseActionMatching
            A fitted estimator, independent of this net.
        """
        if not isinstance(self.module_, MLPPotential):
            warnings.warn(
                f"to_estimator: the estimator works in this process, but its pickles rebuild "
                f"an MLPPotential, not a {type(self.module_).__name__}; persist the net "
                "(pickle, or save_params with f_params and f_criterion) instead.",
                UserWarning, stacklevel=2,
            )
        return fitted_estimator(self, copy_module=True)

    # The estimator's own methods, on this net's module and fitted state.
    velocity = estimator_method("velocity")
    scalar_potential = estimator_method("scalar_potential")
    push = estimator_method("push")
    score = estimator_method("score")

    def predict_proba(self, X):
        """Not available: an Action Matching model answers at a time.

        Parameters
        ----------
        X : object
            Ignored.
        """
        raise TypeError(
            f"{type(self).__name__} has no predict/predict_proba: use velocity(X, t), "
            "push(X, t_from, t_to), score(X, y), or to_estimator() for every estimator "
            "method (transform, sample, ...)."
        )

    def predict(self, X):
        """Not available: an Action Matching model answers at a time.

        Parameters
        ----------
        X : object
            Ignored.
        """
        return self.predict_proba(X)
