"""The benchmark code (benchmarks/) runs, on tiny sizes; its helpers give known values.

Fast (a few seconds) and never asserts timings.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest.importorskip("ot")
from benchmarks import _common, accuracy, data, peers, run, speed  # noqa: E402


# --------------------------------------------------------------------------- helpers
def test_wasserstein_shifted_clouds():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 2))
    assert _common.wasserstein(X, X + [3.0, 4.0]) == pytest.approx(5.0, abs=1e-9)
    assert _common.wasserstein(X, X + [3.0, 4.0], p=2) == pytest.approx(5.0, abs=1e-9)
    assert _common.wasserstein(X, X[::-1]) == pytest.approx(0.0, abs=1e-12)


def test_wasserstein_point_masses():
    assert _common.wasserstein([[0.0, 0.0]], [[1.0, 1.0]]) == pytest.approx(np.sqrt(2))
    # Half the mass at 0 and 2 against all of it at 1: every unit moves 1.
    assert _common.wasserstein([[0.0], [2.0]], [[1.0]]) == pytest.approx(1.0)
    # Weights: 3/4 at 0, 1/4 at 4 against a point at 0: W1 = 1, W2 = sqrt(4) = 2.
    X, w = [[0.0], [4.0]], [3.0, 1.0]
    assert _common.wasserstein(X, [[0.0]], x_weights=w) == pytest.approx(1.0)
    assert _common.wasserstein(X, [[0.0]], p=2, x_weights=w) == pytest.approx(2.0)


def test_relative_velocity_error():
    from sklearn_am.datasets import make_gaussian_transport

    X, t, truth = make_gaussian_transport(100, n_features=3, random_state=0, return_truth=True)
    v = truth.velocity(X, t)
    assert _common.relative_velocity_error(v, v) == 0.0
    assert _common.relative_velocity_error(2.0 * v, v) == pytest.approx(1.0)
    assert _common.relative_velocity_error(0.5 * v, v) == pytest.approx(0.25)


def test_mean_std_and_format():
    assert _common.mean_std([1.0, 3.0]) == (2.0, 1.0)
    assert _common.fmt_ms(2.0, 1.0) == "2.000 ± 1.000"
    assert _common.fmt_ms(float("nan")) == "—"


# --------------------------------------------------------------------------- loaders
def _write_csv(path, rng):
    import pandas as pd

    t = np.array([2, 0, 1, 2, 0, 1, 1, 0, 2, 2], dtype=float)  # not sorted
    X = rng.normal(size=(10, 3)) + t[:, None]
    df = pd.DataFrame(X, columns=["x1", "x2", "x3"])
    df.insert(0, "samples", t)
    df.to_csv(path)  # with an unnamed index column, as pandas writes by default
    return X, t


def test_load_csv(tmp_path):
    X, t = _write_csv(tmp_path / "d.csv", np.random.RandomState(0))
    Xl, tl = data.load_csv(tmp_path / "d.csv")
    assert Xl.shape == (10, 3)
    assert np.all(np.diff(tl) >= 0)
    order = np.argsort(t, kind="stable")
    np.testing.assert_allclose(Xl, X[order])
    np.testing.assert_array_equal(tl, t[order])


def test_load_csv_other_time_column(tmp_path):
    import pandas as pd

    pd.DataFrame({"day": [1, 0], "a": [1.0, 2.0]}).to_csv(tmp_path / "e.csv", index=False)
    X, t = data.load_file(tmp_path / "e.csv", time_column="day")
    np.testing.assert_array_equal(t, [0.0, 1.0])
    np.testing.assert_array_equal(X[:, 0], [2.0, 1.0])
    with pytest.raises(ValueError, match="time column"):
        data.load_csv(tmp_path / "e.csv")


def test_load_npz_eb_format(tmp_path):
    rng = np.random.RandomState(0)
    labels = np.array(["Day 06-09", "Day 00-03", "Day 12-15", "Day 00-03", "Day 06-09"])
    pcs = rng.normal(size=(5, 8))
    np.savez(tmp_path / "eb.npz", pcs=pcs, sample_labels=labels)
    X, t = data.load_npz(tmp_path / "eb.npz", n_dims=5)
    assert X.shape == (5, 5)
    np.testing.assert_array_equal(t, [0, 0, 1, 1, 2])
    np.testing.assert_allclose(X[0], pcs[1, :5])
    np.savez(tmp_path / "num.npz", pcs=pcs, sample_labels=np.array([3, 1, 2, 1, 0]))
    X, t = data.load_file(tmp_path / "num.npz")
    np.testing.assert_array_equal(t, [0, 1, 1, 2, 3])


# --------------------------------------------------------------------------- protocols
def test_do_nothing_protocols_match_direct_w1():
    X, t, _ = data.make_synthetic("gaussian_2d", 40, random_state=0)
    recs = accuracy.evaluate(peers.DoNothing(), X, t, seed=0)
    snaps = [X[t == s] for s in np.unique(t)]
    loo = [r for r in recs if r["protocol"] == "loo"]
    assert [r["k"] for r in loo] == [1, 2, 3]
    assert loo[0]["w1"] == pytest.approx(_common.wasserstein(snaps[0], snaps[1]))
    chain = [r for r in recs if r["protocol"] == "chain"]
    assert chain[-1]["w1"] == pytest.approx(_common.wasserstein(snaps[0], snaps[-1]))


def test_mccann_midpoint_of_a_shift():
    X0 = np.random.RandomState(0).normal(size=(30, 2))
    X = np.concatenate([X0, X0 + 1.0, X0 + 2.0])
    t = np.repeat([0.0, 1.0, 2.0], 30)
    m = peers.McCannMethod("emd").fit(X[t != 1], t[t != 1], 0)
    np.testing.assert_allclose(m.push(X0, 0.0, 1.0), X0 + 1.0, atol=1e-8)


def test_quick_run_tiny(tmp_path, monkeypatch):
    _write_csv(tmp_path / "tiny.csv", np.random.RandomState(1))
    # Tiny solver steps for the peers, tiny speed sizes.
    monkeypatch.setattr(peers.CFMMethod, "__init__", _tiny_cfm_init(peers.CFMMethod.__init__))
    payload = run.main([
        "--quick", "--name", "tiny", "--out-dir", str(tmp_path / "res"),
        "--datasets", f"gaussian_2d,{tmp_path / 'tiny.csv'}", "--seeds", "1",
        "--max-iter", "3", "--n-per-time", "20", "--sections", "synthetic,real",
    ])
    saved = json.loads((tmp_path / "res" / "tiny.json").read_text())
    md = (tmp_path / "res" / "tiny.md").read_text()
    assert saved["mode"] == "quick"
    assert {"platform", "cpu_count", "torch", "sklearn", "pot", "device"} <= set(saved["machine"])
    names = {r["method"] for r in payload["records"]}
    assert {"AM (defaults)", "do-nothing", "POT McCann (EMD)"} <= names
    assert any(n.startswith("AM (best of grid") for n in names)
    assert any(n.startswith("OT-CFM") for n in names)
    for r in payload["records"]:
        if "w1" in r:
            assert np.isfinite(r["w1"]) and r["w1"] >= 0
    assert "| AM (defaults) |" in md


def _tiny_cfm_init(orig):
    def init(self, *args, **kwargs):
        orig(self, *args, **kwargs)
        self.solver, self.n_steps = "euler", 5
        if self.time_budget is None and getattr(self, "max_iter", 0) > 3:
            self.max_iter = 3

    return init


def test_speed_sections_tiny():
    res = {
        "device": "cpu",
        "throughput": speed.throughput(batch_sizes=(16,), dims=(2,), steps=2),
        "breakdown": [speed.breakdown(d=2, batch_size=16, steps=2, n_per_time=40, max_iter=4)],
        "inference": speed.inference(n_points=50, d=2, train_steps=2),
        "scaling_rows": speed.scaling_rows(rows=(200,), steps=2, batch_size=16, max_iter_pool=4),
        "scaling_dims": speed.scaling_dims(dims=(3,), steps=2, batch_size=16),
        "ot_cost": speed.ot_cost(batch_sizes=(8,), n_pairs=32, snapshot=40, repeats=1),
    }
    md = speed.speed_markdown(res)
    assert "Training throughput" in md and "OT pairing cost" in md
    assert res["throughput"][0]["ours_steps_per_s"] > 0
    assert set(res["breakdown"][0]["per_step_s"]) >= {"sample", "derivatives", "backward"}


def test_growth_factors_multiply_along_a_chain():
    assert accuracy._carry(None, None) is None
    np.testing.assert_allclose(accuracy._carry(None, np.array([2.0, 1.0])), [2.0, 1.0])
    np.testing.assert_allclose(accuracy._carry(np.array([2.0, 1.0]), np.array([0.5, 3.0])),
                               [1.0, 3.0])


def test_tuned_runs_on_a_tiny_csv(tmp_path):
    from benchmarks import tuned

    _write_csv(tmp_path / "tiny.csv", np.random.RandomState(0))
    settings = [("AM tiny", tuned.ActionMatchingRegressor,
                 {"hidden_layer_sizes": (8,), "max_iter": 5, "n_steps": 4}),
                ("uAM tiny", tuned.UnbalancedActionMatching,
                 {"hidden_layer_sizes": (8,), "max_iter": 5, "n_steps": 4})]
    records = tuned.run([str(tmp_path / "tiny.csv")], settings=settings)
    assert [r["setting"] for r in records] == ["AM tiny", "uAM tiny"]
    for r in records:
        assert len(r["chain_w1"]) == 2 and all(np.isfinite(r["chain_w1"]))
    assert "AM tiny" in tuned.markdown(records, "machine")


def test_tuned_chained_w1_is_zero_for_an_exact_model():
    # A model that maps each snapshot exactly onto the next scores W1 = 0 at every time.
    from benchmarks import tuned

    X = np.repeat(np.arange(3.0), 4)[:, None] + np.tile(np.linspace(0, 1, 4), 3)[:, None]
    t = np.repeat([0.0, 1.0, 2.0], 4)

    class Shift:
        def push(self, points, a, b):
            return points + (b - a)

    assert np.allclose(tuned.chained_w1(Shift(), X, t), [0.0, 0.0])
