"""Smoke test: ``python -m bench spectra fanout --quick`` writes well-formed JSON (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_bench_writes_results(tmp_path: Path) -> None:
    env = {**__import__("os").environ, "FTLAB_BENCH_RESULTS": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "spectra", "fanout", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "## spectra" in done.stdout and "## fanout" in done.stdout

    spectra = json.loads((tmp_path / "spectra.quick.json").read_text())
    assert spectra["name"] == "spectra" and spectra["quick"] is True
    assert {"cpu_count", "torch", "device"} <= set(spectra["machine"])
    assert spectra["rows"] and all(
        {"d", "r", "qr_ms", "dense_ms", "speedup", "max_rel_diff"} <= set(r) for r in spectra["rows"]
    )
    assert all(r["max_rel_diff"] < 1e-3 for r in spectra["rows"])  # the QR route agrees with dense
    assert spectra["whole_model"]["modules"] > 0
    assert all({"name", "value", "limit", "met"} <= set(t) for t in spectra["targets"])

    fanout = json.loads((tmp_path / "fanout.quick.json").read_text())
    assert [r["clients"] for r in fanout["rows"]] == [1, 10]
    for row in fanout["rows"]:
        assert {"p50_ms", "p99_ms", "slowdown", "lost_events", "complete_in_order"} <= set(row)
        assert row["complete_in_order"] == row["clients"] and row["lost_events"] == 0
    stalled = fanout["stall"]["stalled"]  # whether it gets cut off depends on socket buffers: not asserted
    assert {"received", "close_code", "error"} <= set(stalled) and stalled["received"] <= fanout["stall"][
        "events"
    ]


def test_unknown_benchmark_exits_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and "unknown benchmark" in done.stderr
