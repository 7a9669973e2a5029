"""The worked examples run (small mode) and beat doing nothing."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("SKLEARN_AM_DATA") or REPO_ROOT / ".." / "shared" / "data")
DATA_FILES = ("mouse_hematopoiesis.csv", "simulation_gene_data.csv")


def test_single_cell_example_small(tmp_path):
    pytest.importorskip("anndata", reason='needs the [sc] extra: pip install "sklearn-am[sc]"')
    pytest.importorskip("matplotlib")
    missing = [name for name in DATA_FILES if not (DATA_DIR / name).is_file()]
    if missing:
        pytest.skip(f"{missing} not in {DATA_DIR}; set SKLEARN_AM_DATA to the data folder")
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "examples" / "single_cell.py"), "--small",
         "--out", str(tmp_path), "--data-dir", str(DATA_DIR)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    forwards = re.search(r"day 2 cells pushed to day 4\s+([\d.]+)\s+([\d.]+)", out)
    assert forwards, out
    model, baseline = map(float, forwards.groups())
    assert model < baseline, out
    growth = re.search(r"day 0 cells pushed to day 4 \(weighted\): W1 ([\d.]+) "
                       r"\(not moving: ([\d.]+)\)", out)
    assert growth, out
    assert float(growth[1]) < float(growth[2]), out
    for png in ("mouse_velocity_stream.png", "mouse_heldout_day4.png",
                "gene_network_growth.png"):
        assert (tmp_path / png).stat().st_size > 10_000, png
