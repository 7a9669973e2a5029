"""The estimator a net mirrors: its parameters checked, or fitted from the net's state."""

import copy
import functools

from .._am import ActionMatchingRegressor
from .._dynamics import FitPolicy
from .._eam import EntropicActionMatching
from .._estimator.base import BaseActionMatching
from .._estimator.fitting import fitted_attributes
from .._estimator.validation import check_positive_int
from .._numerics.training import TrainResult, validation_attributes
from .._uam import UnbalancedActionMatching
from ..networks import MLPPotential

#: ``dynamics`` name → the estimator whose dynamics, parameters and inference it mirrors.
DYNAMICS = {
    "transport": ActionMatchingRegressor,
    "noisy": EntropicActionMatching,
    "growing": UnbalancedActionMatching,
}


def checked_estimator(net):
    """The unfitted estimator ``net`` mirrors, its parameters checked."""
    try:
        cls = DYNAMICS[net.dynamics]
    except (KeyError, TypeError):
        raise ValueError(f"dynamics must be one of {sorted(DYNAMICS)}; "
                         f"got {net.dynamics!r}.") from None
    values = {"sigma": net.sigma, "laplacian": net.laplacian,
              "growth_scale": net.growth_scale, "interpolation": net.interpolation,
              "solver": net.solver, "n_steps": net.n_steps,
              "solver_tol": net.solver_tol, "random_state": net.random_state,
              "batch_size": net.batch_size}
    names = cls._get_param_names()
    estimator = cls(**{key: value for key, value in values.items()
                       if key in names and value is not None})
    estimator._validate_params()
    check_positive_int(net.steps_per_epoch, "steps_per_epoch")
    return estimator


def fitted_estimator(net, copy_module):
    """The mirrored estimator with every fitted attribute set from ``net``.

    ``copy_module``: the estimator gets a CPU copy of ``net.module_`` (else the
    module itself, where it lives).
    """
    state = net._fitted_state()
    estimator = checked_estimator(net)
    units = net.units_
    masses = state["masses"] if state["masses"].size else None
    dynamics = estimator._make_dynamics().bind(units, masses)
    device = net._device()
    net._set_training(False)
    module = net.module_
    potential = copy.deepcopy(module).to("cpu") if copy_module else module
    if isinstance(module, MLPPotential):
        sizes = tuple(layer.out_features for layer in module.hidden)
        estimator.set_params(hidden_layer_sizes=sizes, activation=module.activation)
    else:
        sizes = None
    estimator.set_params(device="cpu" if copy_module or device.type == "cpu"
                         else str(device))
    curve = [float(batch["train_loss"]) for epoch in (net.history or [])
             for batch in epoch["batches"] if "train_loss" in batch]
    policy = FitPolicy(state["interpolation"], state["objective"], None)
    training = {"potential_": potential, "loss_curve_": curve, "n_iter_": len(curve),
                **validation_attributes(TrainResult([], None, None))}
    attributes = fitted_attributes(
        units, dynamics, policy, times=state["times"], source_samples=state["source_samples"],
        device=device, hidden_layer_sizes=sizes, noise_seed=state["noise_seed"],
        training=training)
    attributes["n_features_in_"] = len(units.center)
    if hasattr(net, "feature_names_in_"):
        attributes["feature_names_in_"] = net.feature_names_in_
    for attribute, value in attributes.items():
        setattr(estimator, attribute, value)
    return estimator


def estimator_method(name):
    """``BaseActionMatching.<name>`` (signature and docstring), run by the mirrored estimator."""
    method = getattr(BaseActionMatching, name)

    @functools.wraps(method)
    def delegate(self, *args, **kwargs):
        return getattr(fitted_estimator(self, copy_module=False), name)(*args, **kwargs)

    return delegate
