"""The accuracy targets of issue 10, with the estimators' defaults (one record per case × seed).

- **real** (Var-RUOT protocol: train on all times, chained rollout from t0, W1 at
  each later time): mouse and EMT with ``ActionMatchingRegressor``, the gene network
  with ``UnbalancedActionMatching`` (the estimator the README recommends there) and
  with ``ActionMatchingRegressor``;
- **diffusion** (``make_diffusing_gaussian``, 6 × 1200 rows on [0, 1]): relative
  velocity MSE at t = .05 … .95 of AM, and of eAM with σ = 0.5 and 1 (drift
  (1 − σ²)x/(2(1 + t)); for σ = 1, where it is 0, normalised by the σ = 0 field);
- **gaussian_ot** (the accuracy test's cases, d = 2 and 5): mean relative velocity MSE;
- **dense** (``make_gaussian_transport`` at 51 times, ``make_orbit`` at 51 times, 2000
  rows each): relative velocity MSE with the defaults (``interpolation="auto"``) and
  with each interpolation forced, so the rule is checked against the best setting;
- **hydrogen** (``benchmarks.data.make_hydrogen``: the paper's Schrödinger experiment, 101
  dense slices × 500 rows of |ψ_t|² for ψ_100 + ψ_211, a quarter turn about z): average
  |MMD²| (``metrics.mmd``, unbiased) at s = 0.1 … 1 of the span between 1000 fresh rows of |ψ_s|²
  and 1000 fresh rows of |ψ_0|² pushed to s, beside the same for the exact Bohmian flow
  (the floor of the sample sizes);
- **push**: field evaluations per point of ``transform`` and its error against a
  converged solve (Dopri5 at 1e-9), on the fitted mouse and EMT models.

    python -m benchmarks.run --sections targets --seeds 3
"""

import time

import numpy as np

from sklearn_am import ActionMatchingRegressor, EntropicActionMatching, UnbalancedActionMatching
from sklearn_am.datasets import make_diffusing_gaussian, make_gaussian_transport, make_orbit

from sklearn_am.metrics import mmd

from ..common import log, markdown_table, mean_std, relative_velocity_error
from ..data import _hydrogen_sample, hydrogen_exact_flow, load_real, make_hydrogen
from .rollout import rollout_distances

DIFFUSION_TIMES = (0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.95)
DENSE_TIMES = (0.05, 0.15, 0.3, 0.5, 0.7, 0.85, 0.95)
GAUSSIAN_OT = {
    2: dict(n_samples=(2000, 2500, 1500, 2200), n_features=2, times=(0.0, 0.3, 0.5, 1.0)),
    5: dict(n_samples=(3000, 3500, 2500, 3200, 2800), n_features=5,
            times=(0.0, 0.2, 0.45, 0.7, 1.0)),
}
REAL_CASES = (
    ("mouse_hematopoiesis", ActionMatchingRegressor),
    ("emt", ActionMatchingRegressor),
    ("simulation_gene", UnbalancedActionMatching),
    ("simulation_gene", ActionMatchingRegressor),
)


class _Pushes:
    """The rollout helper's method interface over a fitted estimator."""

    def __init__(self, estimator):
        self.estimator = estimator

    def push(self, X, t_from, t_to):
        return self.estimator.push(X, t_from, t_to, return_weights=True)


def _fit(estimator, X, t):
    start = time.perf_counter()
    estimator.fit(X, t)
    return time.perf_counter() - start


def _base_record(case, estimator, seed, fit_s):
    return {"case": case, "estimator": type(estimator).__name__, "seed": seed,
            "fit_s": fit_s, "n_iter": int(estimator.n_iter_),
            "interpolation": estimator.interpolation_}


def real_case(name, cls, seed, data_dir=None, params=None):
    X, t = load_real(name, data_dir)
    est = cls(random_state=seed, **(params or {}))
    fit_s = _fit(est, X, t)
    times = np.unique(t)
    rows, push_s = rollout_distances(_Pushes(est), [X[t == s] for s in times], times,
                                     orders=(1,))
    rec = _base_record(name, est, seed, fit_s)
    rec.update(w1=[r["w1"] for r in rows], push_s=push_s)
    return rec, est


def diffusion_case(sigma, seed, cls=None, params=None, model_seed=None):
    """Relative velocity MSE at ``DIFFUSION_TIMES`` (``cls``: AM or eAM by ``sigma``).

    ``seed`` draws the data; ``model_seed`` (default: ``seed``) seeds the estimator.
    """
    if cls is None:
        cls = ActionMatchingRegressor if sigma is None else EntropicActionMatching
    X, t = make_diffusing_gaussian(1200, random_state=seed)
    est = cls(random_state=seed if model_seed is None else model_seed,
              **({} if sigma is None else {"sigma": sigma}), **(params or {}))
    fit_s = _fit(est, X, t)
    rng = np.random.RandomState(1234)
    errors = []
    for s in DIFFUSION_TIMES:
        P = rng.standard_normal((4000, 2)) * np.sqrt(1 + s)
        field = P / (2 * (1 + s))  # the σ = 0 field
        drift = (1 - (sigma or 0.0) ** 2) * field
        scale = np.sum(field**2) if sigma == 1.0 else np.sum(drift**2)
        errors.append(float(np.sum((est.velocity(P, s) - drift) ** 2) / scale))
    rec = _base_record("diffusion" if sigma is None else f"diffusion eAM σ={sigma:g}", est,
                       seed, fit_s)
    rec.update(velocity=errors, velocity_max=max(errors), draw=seed,
               model_seed=seed if model_seed is None else model_seed)
    return rec


def gaussian_ot_case(d, seed):
    X, t, truth = make_gaussian_transport(**GAUSSIAN_OT[d], random_state=seed,
                                          return_truth=True)
    est = ActionMatchingRegressor(random_state=seed)
    fit_s = _fit(est, X, t)
    errors = []
    for i, s in enumerate((0.1, 0.25, 0.4, 0.6, 0.85)):
        P = truth.sample(4000, s, random_state=seed + 1 + i)
        errors.append(relative_velocity_error(est.velocity(P, s), truth.velocity(P, s)))
    rec = _base_record(f"gaussian_ot_{d}d", est, seed, fit_s)
    rec.update(velocity=errors, velocity_mean=float(np.mean(errors)))
    return rec


def dense_case(name, seed, interpolation="auto"):
    if name == "gaussian_dense":
        X, t, truth = make_gaussian_transport(2000, n_features=2, times=np.linspace(0, 1, 51),
                                              random_state=seed, return_truth=True)
    else:
        X, t, truth = make_orbit(2000, random_state=seed, return_truth=True)
    est = ActionMatchingRegressor(random_state=seed, interpolation=interpolation)
    fit_s = _fit(est, X, t)
    errors = []
    for i, s in enumerate(DENSE_TIMES):
        P = truth.sample(3000, s, random_state=100 + i)
        errors.append(relative_velocity_error(est.velocity(P, s), truth.velocity(P, s)))
    rec = _base_record(name if interpolation == "auto" else f"{name} ({interpolation})", est,
                       seed, fit_s)
    rec.update(velocity=errors, velocity_mean=float(np.mean(errors)),
               velocity_max=max(errors))
    return rec


#: Fractions of the span at which the hydrogen case is scored, and rows per sample.
HYDROGEN_FRACTIONS = tuple(np.linspace(0.1, 1.0, 10))
HYDROGEN_ROWS = 1000


def hydrogen_case(seed, params=None):
    """Average MMD² of pushed against fresh |ψ_s|² rows, and the exact flow's."""
    X, t = make_hydrogen(500, 101, random_state=seed)
    est = ActionMatchingRegressor(random_state=seed, **(params or {}))
    fit_s = _fit(est, X, t)
    rng = np.random.RandomState(1000 + seed)
    X0 = _hydrogen_sample(HYDROGEN_ROWS, 0.0, rng)
    ours, exact = [], []
    for fraction in HYDROGEN_FRACTIONS:
        s = fraction * t.max()
        reference = _hydrogen_sample(HYDROGEN_ROWS, s, rng)
        ours.append(abs(mmd(est.push(X0, 0.0, s), reference, unbiased=True)))
        exact.append(abs(mmd(hydrogen_exact_flow(X0, 0.0, s, 200), reference, unbiased=True)))
    rec = _base_record("hydrogen", est, seed, fit_s)
    rec.update(mmd=float(np.mean(ours)), mmd_exact=float(np.mean(exact)))
    return rec


def push_cost(name, est, X0):
    """Field evaluations per point of ``transform`` and its error against a converged solve."""
    import torch

    from sklearn_am._numerics.solvers import integrate

    potential, units = est.potential_, est._units
    calls = []

    def counted(z, tau):
        calls.append(len(z))
        return potential.velocity(z, tau)

    field = est._dynamics.field(potential)
    x = torch.as_tensor(units.to_model(X0), dtype=torch.float32)
    reference = integrate(field, x, 0.0, 1.0, method="dopri5", rtol=1e-9, atol=1e-9).double()
    options = est._solver_options()
    original = est._dynamics.field
    est._dynamics.field = lambda p: counted  # count the evaluations of the default push
    try:
        out = torch.as_tensor(units.to_model(est.transform(X0)))
    finally:
        est._dynamics.field = original
    displacement = (reference - x.double()).norm(dim=1)
    error = (out - reference).norm(dim=1)
    return {"case": f"push {name}", "solver": options["method"],
            "evals_per_point": sum(calls) / len(X0),
            "error_rel_total": float(error.norm() / displacement.norm()),
            "error_rel_p99": float((error / displacement.clamp_min(1e-12)).quantile(0.99))}


CASES = ("real", "diffusion", "gaussian_ot", "dense", "hydrogen")


def run(seeds=(0, 1, 2), data_dir=None, cases=CASES):
    records = []
    for seed in seeds:
        if "real" in cases:
            for name, cls in REAL_CASES:
                rec, est = real_case(name, cls, seed, data_dir)
                log(f"  {name} {cls.__name__} seed {seed}: W1 "
                    f"{' / '.join(f'{v:.3f}' for v in rec['w1'])} ({rec['fit_s']:.0f} s, "
                    f"{rec['n_iter']} steps)")
                records.append(rec)
                if seed == seeds[0] and name in ("mouse_hematopoiesis", "emt"):
                    X, t = load_real(name, data_dir)
                    records.append(push_cost(name, est, X[t == t.min()][:2000]))
                    log(f"  {records[-1]}")
        if "diffusion" in cases:
            for sigma in (None, 0.5, 1.0):
                records.append(diffusion_case(sigma, seed))
                log(f"  {records[-1]['case']} seed {seed}: max velocity error "
                    f"{records[-1]['velocity_max']:.3f} ({records[-1]['fit_s']:.0f} s)")
        if "gaussian_ot" in cases:
            for d in (2, 5):
                records.append(gaussian_ot_case(d, seed))
                log(f"  gaussian_ot_{d}d seed {seed}: {records[-1]['velocity_mean']:.4f}")
        if "dense" in cases:
            for name in ("gaussian_dense", "orbit"):
                for interpolation in ("auto", "ot", "quadrature"):
                    records.append(dense_case(name, seed, interpolation))
                    log(f"  {records[-1]['case']} seed {seed}: mean "
                        f"{records[-1]['velocity_mean']:.4f} ({records[-1]['fit_s']:.0f} s, "
                        f"{records[-1]['interpolation']})")
        if "hydrogen" in cases:
            records.append(hydrogen_case(seed))
            log(f"  hydrogen seed {seed}: MMD² {records[-1]['mmd']:.2e} (exact flow "
                f"{records[-1]['mmd_exact']:.2e}; {records[-1]['fit_s']:.0f} s, "
                f"{records[-1]['n_iter']} steps)")
    return records


def _fmt(values):
    m, s = mean_std(values)
    return f"{m:.3f} ± {s:.3f}" if len(values) > 1 else f"{m:.3f}"


def markdown(records, machine):
    """One table: every case, mean ± std over seeds."""
    rows, order = [], list(dict.fromkeys((r["case"], r.get("estimator", "")) for r in records))
    for case, estimator in order:
        mine = [r for r in records if r["case"] == case and r.get("estimator", "") == estimator]
        first = mine[0]
        if "w1" in first:
            per_time = np.array([r["w1"] for r in mine])
            value = " / ".join(_fmt(per_time[:, j]) for j in range(per_time.shape[1]))
        elif "velocity_max" in first and "velocity_mean" not in first:
            value = "max over t: " + _fmt([r["velocity_max"] for r in mine]) + "; per t: " + \
                " / ".join(f"{v:.3f}" for v in np.mean([r["velocity"] for r in mine], axis=0))
        elif "mmd" in first:
            ours, exact = [r["mmd"] for r in mine], [r["mmd_exact"] for r in mine]
            value = (f"mean abs MMD² {np.mean(ours):.2e} ± {np.std(ours):.1e} (exact flow "
                     f"{np.mean(exact):.2e}; ratio {np.mean(ours) / np.mean(exact):.2f})")
        elif "velocity_mean" in first:
            value = "mean " + _fmt([r["velocity_mean"] for r in mine])
            if "velocity_max" in first:
                value += ", max " + _fmt([r["velocity_max"] for r in mine])
        else:
            value = (f"{first['evals_per_point']:.1f} evaluations per point, error "
                     f"{first['error_rel_total']:.1e} of the displacement (p99 "
                     f"{first['error_rel_p99']:.1e}), {first['solver']}")
        fit = _fmt([r["fit_s"] for r in mine]) if "fit_s" in first else ""
        steps = _fmt([r["n_iter"] for r in mine]) if "n_iter" in first else ""
        interp = first.get("interpolation", "")
        rows.append([case, estimator, value, fit, steps, interp, str(len(mine))])
    return (
        "# Accuracy targets with defaults (issue 10)\n\n"
        f"Machine: {machine['platform']}, torch {machine['torch']} "
        f"({machine['torch_threads']} thread(s)). Mean ± std over seeds. Real data: Var-RUOT "
        "chained rollout, W1 per later time. Velocity: relative MSE Σ‖v̂ − v‖²/Σ‖v‖².\n\n"
        + markdown_table(["case", "estimator", "result", "fit s", "steps", "interpolation",
                          "seeds"], rows)
    )
