"""Smoke test: ``python -m bench experiment --quick`` (a served class of 4 tiny-llama students) writes
its plan, latencies and wall time (no timing assertions: a shared machine's times are noisy)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_experiment_bench_writes_results(tmp_path: Path) -> None:
    env = {**os.environ, "FTLAB_BENCH_RESULTS": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "experiment", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "## experiment plan" in done.stdout and "## class run" in done.stdout
    result = json.loads((tmp_path / "experiment.quick.json").read_text())
    assert result["students"] == 4 and result["plan"]["runs"] == 4
    assert len(result["latency_s"]) == 4 and all(v >= 0 for v in result["latency_s"].values())
    assert [e["value"] for e in result["by_value"]] == [1, 2, 4]
    assert sum(e["n"] for e in result["by_value"]) == 4 and result["wall_s"] > 0
    assert {t["name"] for t in result["targets"]} == {
        "wall time to the last result",
        "stored done → result point (max)",
    }
