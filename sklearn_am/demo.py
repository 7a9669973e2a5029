"""The main job on an embedded dataset: fit, push, measure, plot.

Run ``python -m sklearn_am.demo`` (or the ``sklearn-am-demo`` script). It draws
snapshots of a branching population (a cloud that splits in two, like
differentiating cells), leaves one intermediate snapshot out, fits an
:class:`~sklearn_am.ActionMatchingRegressor` with default settings, and prints
the 1-Wasserstein distance from the pushed points to held-out snapshots, beside
the distance of not moving at all. It writes a PNG of trajectories and, next
to it, one of the learnt velocity field (``am_demo_velocity.png``).
"""

import argparse
import os
import time

from . import ActionMatchingRegressor
from .datasets import make_branching
from .metrics import wasserstein_distance

#: The velocity-field plot, written next to the trajectories one.
VELOCITY_PNG = "am_demo_velocity.png"


def run(output="am_demo_trajectories.png", n_samples=800, random_state=0, verbose=True):
    """Fit on branching snapshots, report W1 to held-out snapshots, save two plots.

    Parameters
    ----------
    output : str or None, default="am_demo_trajectories.png"
        Where to write the trajectory PNG; the velocity-field PNG
        (``am_demo_velocity.png``) goes in the same folder. None skips both plots.
    n_samples : int, default=800
        Points per snapshot.
    random_state : int, default=0
        Seed of the data and of the model.
    verbose : bool, default=True
        Print the report.

    Returns
    -------
    report : dict
        W1 of the model and of the do-nothing baseline, per held-out time, and the
        fit time in seconds.
    """
    X, t, truth = make_branching(n_samples, random_state=random_state, return_truth=True)
    times = truth.times
    left_out = times[2]
    train = t != left_out
    say = print if verbose else (lambda *a, **k: None)
    say(f"Branching population: {len(times)} snapshots at t = {[float(v) for v in times]}, "
        f"{n_samples} points each; t = {left_out:g} is left out of training.")

    model = ActionMatchingRegressor(random_state=random_state)
    start = time.perf_counter()
    model.fit(X[train], t[train])
    fit_seconds = time.perf_counter() - start
    say(f"Fitted {model.n_iter_} steps on {model.device_} in {fit_seconds:.1f} s.")

    # Fresh cells at the first time, pushed through every later time in one rollout.
    start_cells = truth.sample(n_samples, times[0], random_state=random_state + 100)
    _, path, path_times = model.push(start_cells, times[0], times[-1], t_eval=times[1:])
    report = {"fit_seconds": fit_seconds, "rows": []}
    say(f"\n{'time':>6} {'W1 model':>10} {'W1 do-nothing':>14}   held-out snapshot")
    for k, tk in enumerate(path_times):
        held_out = X[t == tk] if tk == left_out else truth.sample(
            n_samples, tk, random_state=random_state + 200 + k)
        w1_model = wasserstein_distance(path[k], held_out)
        w1_still = wasserstein_distance(start_cells, held_out)
        note = "left out of training" if tk == left_out else "fresh draw"
        say(f"{tk:6g} {w1_model:10.3f} {w1_still:14.3f}   {note}")
        report["rows"].append({"time": float(tk), "w1_model": w1_model, "w1_still": w1_still})
    final = report["rows"][-1]
    say(f"\nAt t = {times[-1]:g}: pushed points are {final['w1_model']:.3f} (W1) from the "
        f"held-out snapshot; not moving is {final['w1_still']:.3f}.")

    if output:
        for line in _save_plots(model, X, t, output, random_state):
            say(line)
    return report


def _save_plots(model, X, t, output, random_state):
    """Write the trajectories to ``output`` and the velocity field next to it.

    Returns the lines to report.
    """
    try:
        import matplotlib
    except ImportError:
        return ["matplotlib is not installed: no plot (pip install 'sklearn-am[plot]')."]
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import TrajectoryDisplay, VelocityFieldDisplay

    velocity_output = os.path.join(os.path.dirname(output), VELOCITY_PNG)
    trajectories = TrajectoryDisplay.from_estimator(
        model, X, t, n_trajectories=150, random_state=random_state
    )
    trajectories.ax_.set_title("Action Matching: learnt trajectories (branching data)")
    field = VelocityFieldDisplay.from_estimator(model, X, t)
    field.ax_.set_title(f"Action Matching: learnt velocity at t = {field.time:g}, "
                        "over that snapshot")
    written = []
    for display, path, what in ((trajectories, output, "Trajectories"),
                                (field, velocity_output, "Velocity field")):
        display.figure_.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(display.figure_)
        written.append(f"{what} written to {path}")
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="am_demo_trajectories.png",
                        help="PNG file for the trajectory plot (the velocity-field "
                             f"plot, {VELOCITY_PNG}, goes in the same folder)")
    parser.add_argument("--n-samples", type=int, default=800, help="points per snapshot")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args(argv)
    run(output=args.output, n_samples=args.n_samples, random_state=args.seed)


if __name__ == "__main__":
    main()
