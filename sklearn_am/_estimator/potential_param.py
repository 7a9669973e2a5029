"""Your own network as the potential: the ``potential`` parameter, routing and persistence.

:class:`PotentialParamsMixin` gives an estimator skorch's convention for a network
parameter: ``potential`` is None (the built-in MLP), a ``torch.nn.Module`` class or
an instance, and ``potential__<name>=value`` arguments reach the class's
``__init__`` through ``get_params``/``set_params`` (so ``clone`` keeps them and
``GridSearchCV`` tunes them). It also keeps the fitted network out of the pickled
state: the weights are stored as NumPy arrays and the network is rebuilt from the
parameters on load (see ``_persistence``).
"""

import copy
import inspect
import threading

import torch

from .._numerics.device import MAX_SEED, torch_generator
from .._sampling.gaussian_base import on_base, stored_moments
from .._sampling.time_basis import smooth_in_time
from .._version import __version__
from ..networks import MLPPotential, as_potential
from .persistence import VERSION_KEY, check_version, module_arrays, restore_module

__all__ = ["POTENTIAL_PREFIX", "PotentialParamsMixin", "store_potential_params"]



class PotentialParamsMixin:
    """``potential`` / ``potential__<name>`` parameters, network building, persistence."""

    def get_params(self, deep=True):
        """Parameters of this estimator, with the ``potential__<name>`` arguments.

        Parameters
        ----------
        deep : bool, default=True
            Ignored beyond scikit-learn's meaning (no sub-estimators here).

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep)
        params.update(self._potential_params())
        return params

    def set_params(self, **params):
        """Set parameters, ``potential__<name>`` ones included (skorch's convention).

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            The estimator.
        """
        routed = {k: params.pop(k) for k in list(params) if k.startswith(POTENTIAL_PREFIX)}
        for key, value in routed.items():
            setattr(self, key, value)
        return super().set_params(**params)

    def _potential_params(self):
        return {k: v for k, v in vars(self).items() if k.startswith(POTENTIAL_PREFIX)}

    def _starting_potential(self, n_features, hidden_layer_sizes, seed, device):
        """The network a fit trains, on ``device``: a copy of ``potential_`` when
        warm-starting (``seed`` None), else a fresh one with weights drawn from ``seed``."""
        if seed is None:
            potential = copy.deepcopy(self.potential_)
        else:
            potential = self._build_potential(n_features, hidden_layer_sizes,
                                              torch_generator(seed, "cpu"))
        return potential.to(device)

    def _build_potential(self, n_features, hidden_layer_sizes, generator=None):
        """A fresh potential network for ``n_features`` (weights drawn from ``generator``).

        ``potential=None`` gives the built-in MLP; a module class is instantiated
        with the ``potential__<name>`` arguments (and ``n_features`` when its
        ``__init__`` takes it and it is not given); a module instance is copied.
        Modules without exact ``derivatives`` get autograd ones.
        """
        spec, kwargs = self.potential, {k[len(POTENTIAL_PREFIX):]: v
                                        for k, v in self._potential_params().items()}
        if spec is None:
            if kwargs:
                raise ValueError(
                    f"{sorted(self._potential_params())} given with potential=None; the "
                    "built-in MLP takes hidden_layer_sizes and activation. Pass a module "
                    "class as potential to use potential__<name> arguments."
                )
            return MLPPotential(n_features, hidden_layer_sizes, self.activation,
                                generator=generator)
        if isinstance(spec, torch.nn.Module):
            if kwargs:
                raise ValueError(
                    f"{sorted(self._potential_params())} apply to a potential class, but "
                    f"potential is an instance of {type(spec).__name__}; pass the class, or "
                    "configure the instance yourself."
                )
            module = copy.deepcopy(spec)
        elif isinstance(spec, type) and issubclass(spec, torch.nn.Module):
            module = _instantiate(spec, kwargs, n_features, generator)
        else:
            raise TypeError(
                f"potential must be None, a torch.nn.Module subclass or an instance of "
                f"one; got {spec!r}."
            )
        return check_potential(as_potential(module), n_features)

    def __getstate__(self):
        """The state with the network as NumPy arrays (see ``_persistence``)."""
        state = dict(super().__getstate__())  # object.__getstate__ is the live __dict__
        state[VERSION_KEY] = __version__
        if "potential_" in state:
            state["potential_"] = module_arrays(state["potential_"])
        return state

    def __setstate__(self, state):
        state = dict(state)
        check_version(state, type(self).__name__)
        super().__setstate__(state)
        if isinstance(self.__dict__.get("potential_"), dict):
            network = self._build_potential(self.n_features_in_, self.hidden_layer_sizes_)
            # Smooth in time and a residual on a Gaussian base field where it was so.
            network = assemble_network(network,
                                       stored_moments(self.__dict__.get("gaussian_base_")),
                                       self.__dict__.get("time_degree_"))
            self.potential_ = restore_module(network, self.potential_)


def assemble_network(network, moments=None, time_degree=None):
    """The network a fit trains: ``network`` made a polynomial of ``time_degree`` in τ
    (``_time_basis``; None: as is), as a residual on the Gaussian base field of
    ``moments`` (``_gaussian_base``; None: none).

    The one place it is assembled: at fit, and when a fitted estimator's network is
    rebuilt from its ``time_degree_`` and ``gaussian_base_`` (unpickling).
    """
    return on_base(smooth_in_time(network, time_degree), moments)


#: Prefix of the keyword arguments routed to a potential class (skorch's convention).
POTENTIAL_PREFIX = "potential__"
#: Serialises seeded construction of user modules (it borrows torch's global RNG).
_GLOBAL_RNG_LOCK = threading.Lock()


def store_potential_params(estimator, params):
    for key, value in params.items():
        if not key.startswith(POTENTIAL_PREFIX) or key == POTENTIAL_PREFIX:
            raise TypeError(
                f"{type(estimator).__name__}.__init__() got an unexpected keyword argument "
                f"{key!r}; only potential__<name> arguments are routed to the potential."
            )
        setattr(estimator, key, value)


def _instantiate(cls, kwargs, n_features, generator):
    """``cls(**kwargs)`` (+ ``n_features``), its initial weights drawn from ``generator``."""
    accepted = inspect.signature(cls).parameters
    if "n_features" in accepted and "n_features" not in kwargs:
        kwargs = {**kwargs, "n_features": n_features}
    seed = None if generator is None else int(
        torch.randint(MAX_SEED, (1,), generator=generator, device=generator.device))
    try:
        if seed is None:
            return cls(**kwargs)
        # torch.nn layers draw their initial weights from torch's global generator:
        # seed a private fork of it, restored afterwards (locked against other threads).
        with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return cls(**kwargs)
    except TypeError as exc:
        raise TypeError(
            f"potential={cls.__name__} could not be built from "
            f"{ {POTENTIAL_PREFIX + k: v for k, v in kwargs.items()} }: {exc}. Give its "
            "__init__ arguments as potential__<name>=value."
        ) from exc


def check_potential(module, n_features):
    """``module`` after checking that ``forward(x, t)`` returns one value per row."""
    probe_x = torch.zeros(2, n_features)
    name = type(getattr(module, "module", module)).__name__  # the user's, not a wrapper's
    with torch.no_grad():
        try:
            out = module(probe_x, torch.zeros(2))
        except Exception as exc:
            raise ValueError(
                f"potential: calling {name}(x, t) with x of shape "
                f"(2, {n_features}) and t of shape (2,) failed: {exc}"
            ) from exc
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2,):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"potential: {name}(x, t) must return one value per row, a "
            f"tensor of shape (n,); got {shape} for n = 2 (squeeze a trailing axis)."
        )
    return module
