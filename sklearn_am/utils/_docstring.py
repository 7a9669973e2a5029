"""Parameter and attribute descriptions shared by the estimators' docstrings.

A class docstring names a shared entry with a line holding only ``{{name}}``,
``{{name:value}}`` or ``{{name:key=value;key=value}}`` (indented like a parameter);
:func:`fill_shared_docs` replaces it, putting ``value`` where the entry says
``{value}`` (or each value where it says ``{key}``): defaults that differ between
estimators. Tokens are double braces because numpydoc types already use single
ones (``{"a", "b"}``).
"""

import re

__all__ = ["SHARED_DOCS", "doc_filler", "fill_shared_docs"]

SHARED_DOCS = {
    # ------------------------------------------------------------ parameters
    # potential, hidden_layer_sizes, activation, max_iter (default: the token's
    # value), batch_size, learning_rate_init: the network and its training.
    "training": """\
potential : None, torch.nn.Module class or instance, default=None
    The network s(x, t). None: the built-in MLP (``hidden_layer_sizes``,
    ``activation``). A class: built at fit with the ``potential__<name>``
    arguments (and ``n_features``, when its ``__init__`` takes it), its
    initial weights seeded by ``random_state``. An instance: copied at fit
    (never trained in place). Any module with ``forward(x, t) -> (n,)`` works
    (derivatives by autograd); :class:`~sklearn_am.networks.Potential`
    subclasses may give exact ``derivatives`` (as ``MLPPotential`` does).
    See :mod:`sklearn_am.networks` for ``ResidualMLPPotential`` and
    ``ICNNPotential`` (convex in x).
hidden_layer_sizes : int or tuple of int, default=(128, 128, 128)
    Width of each hidden layer of the potential network s(x, t) (an MLP on
    ``[x, t]``; the output layer starts at zero, so nothing happens before fit).
activation : {"silu", "tanh", "softplus"}, default="silu"
    Smooth activation of the hidden layers (ReLU is not offered: its gradient
    is piecewise constant).
max_iter : int, default={max_iter}
    Most optimiser (Adam) steps.
batch_size : int, default={batch_size}
    Points per step in each interval between consecutive snapshots (with more
    than 4 intervals, 4 × batch_size spread over the whole time range), and
    points per step from the first and from the last snapshot.
learning_rate_init : float, default=1e-3
    Peak learning rate; a short linear warm-up is followed by cosine decay
    to 1 % of it, with gradient-norm clipping at 1. An exponential moving
    average of the weights (decay 0.99) is what is checked and kept.
early_stopping : bool, default={early_stopping}
    Hold out ``validation_fraction`` of the rows of every snapshot and score
    the loss on fixed draws from them every 50 steps; stop when it has not
    improved by ``tol`` for ``n_iter_no_change`` checks, and keep the best
    checked weights. So ``max_iter`` is a budget, not a count. Skipped when a
    snapshot has fewer than 20 rows.
validation_fraction : float, default=0.1
    Share of each snapshot's rows held out for early stopping (rounded up,
    at least one row left to train on).
n_iter_no_change : int, default=20
    Checks (every 50 steps) without improvement before stopping.
tol : float, default=1e-4
    The improvement of the held-out loss that counts, in the model's units
    (the loss of data scaled to unit size and unit time span).""",
    "interpolation": """\
interpolation : {"ot", "independent", "quadrature", "auto"}, default="auto"
    How the time integral sees q_t between snapshots:

    - ``"ot"``: pair points of consecutive snapshots by exact optimal
      transport (minibatches of 512, POT's network simplex, solved once
      before training) and interpolate linearly: McCann's displacement
      interpolation, the right path for sparse snapshots (3–10 times);
    - ``"independent"``: pair points at random and interpolate linearly (a
      valid but blurrier path; cheaper);
    - ``"quadrature"``: no interpolation; evaluate the integrand at the
      observed snapshots with trapezoid weights (right for dense snapshots);
    - ``"auto"``: ``"quadrature"`` for dense snapshots (10 or more times, and
      a median relative step between consecutive snapshots of at most 0.35:
      their Gaussian W2 distance over their spread; or snapshots too small to
      have a covariance), else ``"ot"``.""",
    # solver, n_steps, solver_tol: how ODE pushes are integrated.
    "ode_solver": """\
solver : {"adams", "rk4", "heun", "euler", "dopri5"}, default="adams"
    ODE integrator of ``push``/``transform``/``sample`` (of the positions
    and, for unbalanced dynamics, the log-weights). ``"adams"``: fourth-order
    Adams–Bashforth started by RK4, one field evaluation per step (31 steps
    cost 40 evaluations per point and err by under 1e-3 of the displacement
    on the fitted real-data models; RK4 needs 64 for that). ``"dopri5"`` is
    adaptive, with its step size controlled separately for every row. Every
    solver's result for a row does not depend on the rows pushed with it.
n_steps : int, default=31
    Steps of a fixed-step solver to cross the whole fitted time range; a
    shorter push uses proportionally fewer (at least one). For ``"dopri5"``,
    the first step is the same fraction of the range, and a path asked for
    without ``t_eval`` is reported at that many evenly spaced times.
solver_tol : float, default=1e-4
    Relative and absolute tolerance of ``"dopri5"`` (in the model's units,
    where the data have unit scale).""",
    "device": """\
device : str, default="auto"
    Where to train and infer: ``"auto"`` (CUDA when available, else CPU),
    ``"cpu"``, ``"cuda"``, ``"cuda:N"``. The fitted network is kept on the CPU,
    so fitted models pickle and load on machines without a GPU.""",
    "random_state": """\
random_state : int, RandomState instance or None, default=None
    Seeds weight initialisation, pairing and every draw of training; an int
    gives identical fits on the CPU.""",
    # verbose, source_time, target_time, warm_start.
    "tail": """\
verbose : int, default=0
    Show a progress bar with the training loss during ``fit`` when > 0 (tqdm
    or rich when installed, else about ten printed lines). With scikit-learn
    ≥ 1.9, ``set_callbacks`` takes its callbacks too (e.g. ``ProgressBar``).
source_time : float, default=None
    Time ``transform`` pushes from; default the earliest fitted time.
target_time : float, default=None
    Time ``transform`` pushes to; default the latest fitted time.
warm_start : bool, default=False
    When True, ``fit`` continues training the current potential (keeping the
    units learnt at the first fit) instead of starting anew.
**potential__params : dict
    ``potential__<name>=value`` arguments of a ``potential`` class (skorch's
    convention): part of ``get_params``/``set_params``, so ``clone`` keeps
    them and ``GridSearchCV`` tunes them.""",
    # The (X, t) parameters of methods that evaluate a field.
    "X_t": """\
X : array-like of shape (n_samples, n_features)
    Points.
t : float or array-like of shape (n_samples,)
    One time for all rows, or one per row.""",
    # Every parameter of an ODE estimator after its own (AM, uAM); max_iter's
    # default is the token's value.
    "ode_estimator": """\
{{training:{value}}}
{{interpolation}}
{{ode_solver}}
{{device}}
{{random_state}}
{{tail}}""",
    "velocity_returns": """\
V : ndarray of shape (n_samples, n_features)
    The velocity at each point, in units of X per unit of time.""",
    # The whole body of a ``velocity(X, t)`` docstring.
    "velocity_doc": """\
Parameters
----------
{{X_t}}

Returns
-------
{{velocity_returns}}""",
    "references": """\
References
----------
K. Neklyudov, R. Brekelmans, D. Severo, A. Makhzani. "Action Matching:
Learning Stochastic Dynamics from Samples", ICML 2023.""",
    # ------------------------------------------------------ fitted attributes
    "potential_": """\
potential_ : MLPPotential
    The trained network s'(x', τ) in model units, on the CPU.""",
    "times_": """\
times_ : ndarray of shape (n_times,)
    Sorted distinct observation times seen in ``fit``.""",
    "n_iter_": """\
n_iter_ : int
    Optimiser steps run (summed over warm-started fits).""",
    "loss_curve_": """\
loss_curve_ : list of shape (`n_iter_`,)
    Loss at each step (model units). Action Matching losses are unbounded
    below and usually negative; compare them, do not expect them to reach 0.""",
    "n_features_in_": """\
n_features_in_ : int
    Number of features seen during ``fit``.""",
    "feature_names_in_": """\
feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Names of features seen during ``fit``; only when X has string column names.""",
    "device_": """\
device_ : str
    The device ``fit`` ran on.""",
    "interpolation_": """\
interpolation_ : str
    The interpolation used (``"auto"`` resolved).""",
    "hidden_layer_sizes_": """\
hidden_layer_sizes_ : tuple of int
    The validated layer widths.""",
    "validation_scores_": """\
validation_scores_ : list of float or None
    Minus the held-out loss at every early-stopping check, in the user's
    units (greater is better, as ``score``); None without early stopping.""",
    "validation_steps_": """\
validation_steps_ : list of int or None
    The step of each entry of ``validation_scores_``.""",
    "best_validation_score_": """\
best_validation_score_ : float or None
    The best of ``validation_scores_``: the kept weights'.""",
    "x_center_": """\
x_center_ : ndarray of shape (`n_features_in_`,)
    Centre of the model units (the mean of X at the first fit).""",
    "x_scale_": """\
x_scale_ : float
    Length scale a of the model units (root mean feature variance).""",
    "time_origin_": """\
time_origin_ : float
    Earliest fitted time (model time τ = (t − ``time_origin_``) / ``time_scale_``).""",
    "time_scale_": """\
time_scale_ : float
    Fitted time span T.""",
    "source_samples_": """\
source_samples_ : ndarray of shape (n_kept, `n_features_in_`)
    Up to 10 000 rows of the earliest snapshot, for :meth:`sample`.""",
    "objective_": """\
objective_ : {"regression", "action"}
    The Monte Carlo estimator of the loss the fit used (path regression or the
    action form; see ``ActionMatchingRegressor``'s ``objective``).""",
    "gaussian_base_": """\
gaussian_base_ : dict or None
    On slowly changing snapshots (``objective="auto"``) whose means lie on
    straight lines in time within their sampling noise, the network is a
    penalised residual on the gradient field of the Gaussian path whose means
    and covariances are fitted linearly in time to the snapshots; this holds
    their polynomial coefficients (``mean_coef``, ``cov_coef``, model units)
    and the noise variance of entropic AM (``noise_variance``). None otherwise.""",
    "time_degree_": """\
time_degree_ : int or None
    Where the fit trained by quadrature over sparse snapshots (slowly changing
    ones with ``interpolation="auto"``, or ``interpolation="quadrature"``), the
    potential is a polynomial of this degree in time, fixed between the snapshots
    by its values at this many plus one times; None otherwise (the network as it
    is).""",
}

#: The fitted attributes every estimator has, in the order they are documented.
COMMON_ATTRIBUTES = (
    "potential_", "times_", "n_iter_", "loss_curve_", "n_features_in_",
    "feature_names_in_", "device_", "interpolation_", "objective_", "gaussian_base_",
    "time_degree_", "hidden_layer_sizes_",
    "x_center_", "x_scale_", "time_origin_", "time_scale_", "source_samples_",
    "validation_scores_", "validation_steps_", "best_validation_score_",
)
SHARED_DOCS["common_attributes"] = "\n".join(SHARED_DOCS[name] for name in COMMON_ATTRIBUTES)

_TOKEN = re.compile(r"^(?P<indent>[ ]*)\{\{(?P<name>\w+)(:(?P<value>[^}]*))?\}\}[ ]*$",
                    re.MULTILINE)


def doc_filler(entries):
    """A decorator that replaces each ``{{name}}`` line of a docstring by ``entries[name]``.

    It works on classes and functions alike; an unknown name raises ``KeyError``
    at import time, so a typo never reaches the rendered documentation.
    """

    def entry(match):
        indent = match.group("indent")
        text = entries[match.group("name")]
        value = match.group("value")
        if value is not None:
            text = text.replace("{value}", value)  # passed on whole to nested entries
            for pair in value.split(";") if "=" in value else ():  # {{name:key=v;key=v}}
                key, _, setting = pair.partition("=")
                text = text.replace("{" + key.strip() + "}", setting.strip())
        text = _TOKEN.sub(entry, text)  # entries may name other entries
        return "\n".join(indent + line if line else line for line in text.splitlines())

    def fill(obj):
        if obj.__doc__:
            obj.__doc__ = _TOKEN.sub(entry, obj.__doc__)
        if isinstance(obj, type):  # a class: its own methods too
            for member in vars(obj).values():
                func = getattr(member, "__func__", member)
                if callable(func) and getattr(func, "__doc__", None):
                    func.__doc__ = _TOKEN.sub(entry, func.__doc__)
        return obj

    return fill


#: Class decorator for the estimators: fills entries of :data:`SHARED_DOCS`.
fill_shared_docs = doc_filler(SHARED_DOCS)
