"""Progress and callbacks: scikit-learn's callback API (>= 1.9) and ``verbose`` bars."""

import io

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conftest import FAST
from sklearn_am import ActionMatchingRegressor, EntropicActionMatching, UnbalancedActionMatching
from sklearn_am._estimator.progress import ProgressReport


def _data(n=40, seed=0):
    rng = np.random.RandomState(seed)
    t = np.repeat([0.0, 1.0, 2.0], n)
    return rng.normal(size=(3 * n, 2)) + t[:, None] * [1.0, 0.0], t


class Recorder:
    """A fit callback that records the tasks it sees; stops after ``stop_after`` steps."""

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.tasks = []
        self.seen = None

    def setup(self, estimator, context):
        self.tasks.append(("setup", context.estimator_name))

    def teardown(self, estimator, context):
        self.tasks.append(("teardown", context.estimator_name))

    def on_fit_task_begin(self, estimator, context, **kwargs):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.tasks.append((context.estimator_name, context.task_name, context.task_id))
        if context.task_name == "step" and self.stop_after is not None \
                and context.task_id + 1 >= self.stop_after:
            X, _ = _data(3)
            self.seen = fitted_estimator.transform(X)  # a usable model mid-fit
            return True
        return False


class PropagatedRecorder(Recorder):
    max_propagation_depth = None


needs_callbacks = pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9")


@pytest.mark.parametrize("Estimator",
                         [ActionMatchingRegressor, EntropicActionMatching, UnbalancedActionMatching])
def test_a_callback_stops_training_cleanly_with_the_model_kept(Estimator):
    X, t = _data()
    recorder = Recorder(stop_after=7)
    est = Estimator(**{**FAST, "max_iter": 50}).set_callbacks(recorder).fit(X, t)
    assert est.n_iter_ == 7 and len(est.loss_curve_) == 7
    X0, _ = _data(3)
    assert_allclose(est.transform(X0), recorder.seen)  # fitted_estimator = the final model
    steps = [task for task in recorder.tasks if task[1:2] == ("step",)]
    assert [task[2] for task in steps] == list(range(7))
    assert recorder.tasks[0] == ("setup", Estimator.__name__)
    assert recorder.tasks[-1] == ("teardown", Estimator.__name__)
    assert (Estimator.__name__, "fit", 0) in recorder.tasks


def test_callbacks_reach_the_estimator_inside_pipeline_and_grid_search():
    X, t = _data()
    recorder = PropagatedRecorder()
    search = GridSearchCV(
        make_pipeline(StandardScaler(), ActionMatchingRegressor(**FAST)),
        {"actionmatchingregressor__max_iter": [3, 4]}, cv=KFold(2, shuffle=True, random_state=0),
    )
    search.set_callbacks(recorder).fit(X, t)
    steps = [task for task in recorder.tasks
             if task[0] == "ActionMatchingRegressor" and task[1] == "step"]
    # 2 folds x (3 + 4 steps) + the refit's 4 steps (best of the two)
    assert len(steps) in (2 * 7 + 3, 2 * 7 + 4)


def test_progress_bar_callback_runs():
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar

    X, t = _data()
    est = ActionMatchingRegressor(**FAST).set_callbacks(ProgressBar()).fit(X, t)
    assert est.n_iter_ == FAST["max_iter"]


def test_no_callbacks_no_context_left_behind():
    X, t = _data()
    est = ActionMatchingRegressor(**FAST).fit(X, t)
    assert not hasattr(est, "_callback_fit_ctx") and not hasattr(est, "_skl_callbacks")


# ------------------------------------------------------------ verbose progress
@pytest.mark.parametrize("backend", ["plain", "tqdm", "rich"])
def test_progress_report_backends(backend):
    pytest.importorskip(backend) if backend != "plain" else None
    import torch

    stream = io.StringIO()
    report = ProgressReport("AM", total=50, stream=stream, backend=backend)
    for step in range(50):
        report.begin(step)
        assert report.end(step, torch.tensor(-0.5 * step)) is False
    report.close()
    text = stream.getvalue()
    if backend == "plain":
        lines = text.strip().splitlines()
        assert len(lines) == 10 and lines[-1].startswith("[AM] step 50/50  loss -24.5")
    else:
        assert "AM" in text and ("50" in text or "100%" in text)


def test_verbose_shows_progress(capsys, monkeypatch):
    import sklearn_am._estimator.progress as progress

    monkeypatch.setattr(progress, "_pick_backend", lambda backend: "plain")
    X, t = _data()
    ActionMatchingRegressor(**{**FAST, "verbose": 1}).fit(X, t)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 10 and out[-1].startswith(f"[ActionMatchingRegressor] step 20/20")
