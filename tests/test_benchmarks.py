"""The benchmark package (benchmarks/) runs, on tiny sizes; its helpers give known values.

Run from the repository root (``python -m pytest``), which puts ``benchmarks`` on the
path. Fast (seconds) and never asserts timings.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import ot
import pytest
from scipy.spatial.distance import cdist

from benchmarks import common, data, run
from benchmarks.methods import AMMethod, CFMMethod, DoNothing, McCannMethod, Method
from benchmarks.protocols import accuracy, speed, tuned
from benchmarks.protocols.rollout import rollout, rollout_distances

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- distances
def test_wasserstein_shifted_clouds():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 2))
    assert common.wasserstein(X, X + [3.0, 4.0]) == pytest.approx(5.0, abs=1e-9)
    assert common.wasserstein(X, X + [3.0, 4.0], p=2) == pytest.approx(5.0, abs=1e-9)
    assert common.wasserstein(X, X[::-1]) == pytest.approx(0.0, abs=1e-12)


def test_wasserstein_point_masses_and_weights():
    assert common.wasserstein([[0.0, 0.0]], [[1.0, 1.0]]) == pytest.approx(np.sqrt(2))
    # Half the mass at 0 and 2 against all of it at 1: every unit moves 1.
    assert common.wasserstein([[0.0], [2.0]], [[1.0]]) == pytest.approx(1.0)
    # Weights: 3/4 at 0, 1/4 at 4 against a point at 0: W1 = 1, W2 = sqrt(4) = 2.
    X, w = [[0.0], [4.0]], [3.0, 1.0]
    assert common.wasserstein(X, [[0.0]], x_weights=w) == pytest.approx(1.0)
    assert common.wasserstein(X, [[0.0]], p=2, x_weights=w) == pytest.approx(2.0)


def test_wasserstein_is_the_published_metric():
    # ot.emd2, uniform weights, Euclidean cost, cost^(1/p): the old benchmark helper.
    rng = np.random.RandomState(1)
    X, Y = rng.normal(size=(40, 3)), rng.normal(size=(30, 3)) + 0.5
    M = cdist(X, Y)
    for p in (1, 2):
        expected = ot.emd2(ot.unif(40), ot.unif(30), M**p) ** (1 / p)
        assert common.wasserstein(X, Y, p=p) == pytest.approx(expected, rel=1e-12)


def test_wasserstein_of_a_diverged_prediction_is_nan():
    X = np.zeros((3, 2))
    assert np.isnan(common.wasserstein(np.full((3, 2), np.nan), X))
    assert np.isnan(common.wasserstein(X, X, x_weights=[1.0, np.inf, 1.0]))


def test_relative_velocity_error():
    from sklearn_am.datasets import make_gaussian_transport

    X, t, truth = make_gaussian_transport(100, n_features=3, random_state=0, return_truth=True)
    v = truth.velocity(X, t)
    assert common.relative_velocity_error(v, v) == 0.0
    assert common.relative_velocity_error(2.0 * v, v) == pytest.approx(1.0)
    assert common.relative_velocity_error(0.5 * v, v) == pytest.approx(0.25)


def test_mean_std_and_format():
    assert common.mean_std([1.0, 3.0]) == (2.0, 1.0)
    assert common.mean_std([1.0, float("nan"), 3.0]) == (2.0, 1.0)
    assert common.fmt_ms(2.0, 1.0) == "2.000 ± 1.000"
    assert common.fmt_ms(float("nan")) == "—"


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
    order = np.argsort(t, kind="stable")
    np.testing.assert_allclose(Xl, X[order])
    np.testing.assert_array_equal(tl, t[order])
    # get_dataset reads a path as a real dataset (no truth).
    Xg, tg, truth = data.get_dataset(str(tmp_path / "d.csv"))
    np.testing.assert_array_equal(Xg, Xl)
    assert truth is None


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


def test_dataset_names():
    assert data.is_real("emt") and data.is_real("/x/eb.npz") and not data.is_real("gaussian_2d")
    X, t, truth = data.get_dataset("gaussian_5d", n_per_time=10, seed=0)
    assert X.shape == (50, 5) and truth is not None


# --------------------------------------------------------------------------- rollout
class Translate(Method):
    """Moves points by (t_to − t_from) along the axis; a point at x ≥ 1 grows ×3 per push."""

    name = "translate"

    def push(self, X, t_from, t_to):
        return X + (t_to - t_from), np.where(X[:, 0] >= 1, 3.0, 1.0)


# Snapshots at t = 0, 1, 2: {0, 1}, {1, 2}, {0}.
SNAPS = [np.array([[0.0], [1.0]]), np.array([[1.0], [2.0]]), np.array([[0.0]])]
TIMES = np.array([0.0, 1.0, 2.0])


def test_rollout_chains_pushes_and_multiplies_growth_factors():
    states = rollout(Translate(), SNAPS[0], TIMES)
    # 0→1: points 1, 2; growth of 0, 1 is 1, 3.  1→2: points 2, 3; growth of 1, 2 is 3, 3.
    np.testing.assert_array_equal(states[0][0], [[1.0], [2.0]])
    np.testing.assert_array_equal(states[0][1], [1.0, 3.0])
    np.testing.assert_array_equal(states[1][0], [[2.0], [3.0]])
    np.testing.assert_array_equal(states[1][1], [3.0, 9.0])


def test_rollout_distances_by_hand():
    rows, seconds = rollout_distances(Translate(), SNAPS, TIMES)
    assert [r["time"] for r in rows] == [1.0, 2.0] and seconds >= 0
    # t=1: mass 1/4 at 1, 3/4 at 2 against 1/2, 1/2: move 1/4 by 1.
    assert rows[0]["w1"] == pytest.approx(0.25)
    assert rows[0]["w2"] == pytest.approx(0.5)
    # t=2: mass 1/4 at 2, 3/4 at 3 against a point at 0.
    assert rows[1]["w1"] == pytest.approx(0.25 * 2 + 0.75 * 3)
    assert rows[1]["w2"] == pytest.approx(np.sqrt(0.25 * 4 + 0.75 * 9))
    last, _ = rollout_distances(Translate(), SNAPS, TIMES, orders=(1,), last_only=True)
    assert last == [{"time": 2.0, "w1": pytest.approx(2.75)}]


# --------------------------------------------------------------------------- protocols
def test_protocols_of_a_weighted_translation_by_hand():
    X, t = np.concatenate(SNAPS), np.repeat(TIMES, [2, 2, 1])
    recs = {r["protocol"]: r for r in accuracy.evaluate(Translate(), X, t, seed=0)}
    assert set(recs) == {"chain", "whole", "loo", "chain_loo"}  # no velocity
    assert recs["loo"]["w1"] == pytest.approx(0.25)  # snapshot 0 pushed to t=1, weights 1, 3
    assert recs["chain_loo"]["w1"] == pytest.approx(0.25)
    assert recs["chain_loo"]["w2"] == pytest.approx(0.5)
    assert recs["whole"]["w1"] == pytest.approx(0.25 * 2 + 0.75 * 3)  # one push, weights 1, 3
    assert recs["chain"]["time"] == 2.0 and recs["chain"]["w1"] == pytest.approx(2.75)
    assert recs["loo"]["steps"] is None


def test_do_nothing_protocols_match_direct_w1():
    X, t, _ = data.make_synthetic("gaussian_2d", 40, random_state=0)
    recs = accuracy.evaluate(DoNothing(), X, t, seed=0)
    snaps = [X[t == s] for s in np.unique(t)]
    loo = [r for r in recs if r["protocol"] == "loo"]
    assert [r["k"] for r in loo] == [1, 2, 3]
    assert loo[0]["w1"] == pytest.approx(common.wasserstein(snaps[0], snaps[1]))
    chain = [r for r in recs if r["protocol"] == "chain"]
    assert chain[-1]["w1"] == pytest.approx(common.wasserstein(snaps[0], snaps[-1]))


def test_mccann_midpoint_of_a_shift():
    X0 = np.random.RandomState(0).normal(size=(30, 2))
    X = np.concatenate([X0, X0 + 1.0, X0 + 2.0])
    t = np.repeat([0.0, 1.0, 2.0], 30)
    m = McCannMethod("emd").fit(X[t != 1], t[t != 1], 0)
    X1, w = m.push(X0, 0.0, 1.0)
    np.testing.assert_allclose(X1, X0 + 1.0, atol=1e-8)
    np.testing.assert_array_equal(w, np.ones(30))
    assert [r["protocol"] for r in accuracy.evaluate(m, X, t, seed=0)] == ["loo"]


@pytest.mark.parametrize("estimator", ["ActionMatchingRegressor", "EntropicActionMatching",
                                       "UnbalancedActionMatching"])
def test_am_method_pushes_with_weights(estimator, fast_params):
    X, t, _ = data.make_synthetic("gaussian_2d", 30, random_state=0)
    params = {k: v for k, v in fast_params.items() if k != "random_state"}
    m = AMMethod(estimator, params).fit(X, t, seed=0)
    X1, w = m.push(X[t == 0], 0.0, 0.5)
    assert X1.shape == (30, 2) and w.shape == (30,) and np.all(w > 0)
    if estimator != "UnbalancedActionMatching":
        np.testing.assert_array_equal(w, 1.0)
    assert m.steps() == params["max_iter"]


def test_aggregate_of_known_records():
    def rec(seed, k, w1, time):
        return {"dataset": "d", "method": "m", "seed": seed, "protocol": "loo", "k": k,
                "time": time, "w1": w1, "train_s": 1.0 + seed, "peak_mb": 10.0 * (seed + 1),
                "steps": 5, "infer_s": 0.5, "grid": False}

    recs = [rec(0, 1, 1.0, 1.0), rec(0, 2, 3.0, 2.0), rec(1, 1, 2.0, 1.0), rec(1, 2, 6.0, 2.0)]
    e = accuracy.aggregate(recs)[("d", "m")]
    assert e["seeds"] == [0, 1]
    assert e["loo"]["w1"] == pytest.approx((3.0, 1.0))  # per-seed means 2 and 4
    assert e["loo"]["times"] == [1.0, 2.0]
    assert e["loo"]["w1_per_time"] == [pytest.approx((1.5, 0.5)), pytest.approx((4.5, 1.5))]
    assert e["train_s"] == pytest.approx(1.5) and e["peak_mb"] == 20.0 and e["steps"] == 5.0


# --------------------------------------------------------------------------- entry point
def _tiny_cfm_init(orig):
    def init(self, *args, **kwargs):
        orig(self, *args, **kwargs)
        self.solver, self.n_steps = "euler", 5
        if self.time_budget is None and self.max_iter > 3:
            self.max_iter = 3

    return init


def test_quick_run_tiny(tmp_path, monkeypatch):
    _write_csv(tmp_path / "tiny.csv", np.random.RandomState(1))
    monkeypatch.setattr(CFMMethod, "__init__", _tiny_cfm_init(CFMMethod.__init__))
    payload = run.main([
        "--quick", "--name", "tiny", "--out-dir", str(tmp_path / "res"),
        "--datasets", f"gaussian_2d,{tmp_path / 'tiny.csv'}", "--seeds", "1",
        "--max-iter", "3", "--n-per-time", "20", "--sections", "synthetic,real",
    ])
    saved = json.loads((tmp_path / "res" / "tiny.json").read_text())
    md = (tmp_path / "res" / "tiny.md").read_text()
    assert set(saved) == {"name", "mode", "machine", "seeds", "settings", "grid", "data_dir",
                          "argv", "methods", "published", "records", "aggregates", "speed",
                          "total_seconds"}
    assert saved["mode"] == "quick"
    assert {"platform", "cpu_count", "torch", "sklearn", "pot", "device"} <= set(saved["machine"])
    names = {r["method"] for r in payload["records"]}
    assert {"AM (defaults)", "UnbalancedActionMatching (defaults)", "do-nothing",
            "POT McCann (EMD)", "OT-CFM (dopri5, equal wall time)"} <= names
    assert any(n.startswith("AM (best of grid") for n in names)
    for r in payload["records"]:
        assert {"dataset", "method", "seed", "protocol", "grid", "train_s", "infer_s"} <= set(r)
        if "w1" in r:
            assert np.isfinite(r["w1"]) and r["w1"] >= 0
    assert "| AM (defaults) |" in md


def test_tuned_section_tiny(tmp_path, monkeypatch):
    _write_csv(tmp_path / "tiny.csv", np.random.RandomState(0))
    tiny = {"hidden_layer_sizes": (8,), "max_iter": 5, "n_steps": 4}
    monkeypatch.setattr(tuned, "SETTINGS", [("AM tiny", "ActionMatchingRegressor", tiny),
                                            ("uAM tiny", "UnbalancedActionMatching", tiny)])
    run.main(["--sections", "tuned", "--datasets", str(tmp_path / "tiny.csv"),
              "--out-dir", str(tmp_path)])
    saved = json.loads((tmp_path / "tuned.json").read_text())
    assert set(saved) == {"machine", "records"}
    assert [r["setting"] for r in saved["records"]] == ["AM tiny", "uAM tiny"]
    for r in saved["records"]:
        assert set(r) == {"dataset", "setting", "params", "seed", "chain_w1", "fit_s"}
        assert len(r["chain_w1"]) == 2 and all(np.isfinite(r["chain_w1"]))
    assert "| AM tiny |" in (tmp_path / "tuned.md").read_text()
    assert not (tmp_path / "quick.json").exists()


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


def test_runs_as_a_module_from_the_repository_root():
    out = subprocess.run([sys.executable, "-m", "benchmarks.run", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "--sections" in out.stdout and "tuned" in out.stdout


# Layers of the package: a module imports only from its own layer or lower ones.
LAYERS = {"common": 0, "data": 0, "methods": 1, "protocols": 2, "run": 3}


def test_imports_go_one_way_without_path_edits():
    package = ROOT / "benchmarks"
    for path in package.rglob("*.py"):
        module = path.relative_to(package).with_suffix("").parts
        source = path.read_text()
        assert "sys.path" not in source, path
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = module[: len(module) - node.level]  # the package it is relative to
                names = node.module.split(".") if node.module else [node.names[0].name]
                target = (list(base) + names)[0]
                assert LAYERS[target] <= LAYERS[module[0]], (path, ast.unparse(node))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("benchmarks"):
                pytest.fail(f"{path}: absolute import of the package itself: {ast.unparse(node)}")


def test_ablation_forces_the_estimator_of_the_objective():
    from benchmarks.protocols import ablation

    rng = np.random.RandomState(0)
    t = np.repeat([0.0, 1.0, 2.0], 60)
    X = rng.normal(size=(180, 2)) + t[:, None] * [1.0, 0.0]  # fast: defaults regress
    fast = dict(hidden_layer_sizes=(8,), max_iter=5, batch_size=16, random_state=0)
    for label, cls, params in ablation.VARIANTS:
        if "form" in label:  # forced through the estimator's public parameter
            est = cls(**fast, **params).fit(X, t)
            assert est.objective_ == params["objective"] == label.split()[0]
    records = [{"case": "mouse", "variant": v, "score": s, "fit_s": 1.0, "n_iter": 5}
               for v, s in (("defaults", 0.1), ("defaults", 0.3), ("action form", 0.2))]
    table = ablation.markdown(records, {"platform": "p", "torch": "t", "torch_threads": 1})
    assert "| mouse | defaults | 0.200 ± 0.100 | 0.100 / 0.300 |" in table


def test_gpu_section_table_and_settings():
    from benchmarks.protocols import gpu

    assert gpu._settings({}) == "defaults"
    assert gpu._settings({"batch_size": 1024, "max_iter": 700}) == "batch_size=1024, max_iter=700"
    records = [{"case": "emt", "estimator": "ActionMatchingRegressor", "settings": "defaults",
                "device": "cuda", "n_iter": 3000, "fit_s": 14.04, "w1": [0.2467, 0.2574]}]
    table = gpu.markdown(records, {"platform": "p", "gpu": "H200", "torch": "t"})
    assert "| emt | ActionMatchingRegressor | defaults | cuda | 3000 | 14.0 | 0.247 / 0.257 |" in table
    assert {name for name, _, _ in gpu.RUNS} == {"mouse_hematopoiesis", "emt", "simulation_gene"}
