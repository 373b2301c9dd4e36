"""The recorded class results shipped with the lesson (scripts/record_experiment.py): each is a
complete record of real runs whose per-value numbers follow from its runs; the API serves each as
stored (404 naming the preset where none is recorded), and the preset list says which have one."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import httpx
import pytest

from app.experiments.planner import MIN_STEPS
from app.experiments.presets import experiments_dir, get_preset
from app.experiments.spec import value_label

RECORDED = experiments_dir() / "recorded"
FILES = sorted(RECORDED.glob("*.json"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_a_recorded_result_is_a_whole_class_of_real_runs(path: Path) -> None:
    record = json.loads(path.read_text(encoding="utf-8"))
    preset = get_preset(path.stem)
    assert record["preset"] == preset.id and record["primary"] == preset.primary
    plan, runs = record["plan"], record["runs"]
    assert len(runs) == plan["runs"] == record["students"] >= preset.run_count()
    assert plan["steps"] >= MIN_STEPS and plan["est_total_s"] <= record["budget_s"]
    assert {r["state"] for r in runs} <= {"done", "failed", "cancelled"}
    done = [r for r in runs if r["state"] == "done"]
    assert {value_label(r["value"]) for r in done} == {value_label(v) for v in preset.values}
    for run in done:
        assert set(preset.measures) <= set(run["measures"]), run
        assert run["measures"]["wall_s"] > 0
    # the numbers per value are those of its finished runs' primary measure
    for entry in record["by_value"]:
        ys = [
            r["measures"][preset.primary]
            for r in done
            if value_label(r["value"]) == entry["label"] and r.get("series") == entry.get("series")
        ]
        assert entry["n"] == len(ys) > 0
        assert entry["mean"] == pytest.approx(statistics.fmean(ys))
        assert (entry["min"], entry["max"]) == pytest.approx((min(ys), max(ys)))
    machine = record["machine"]
    assert machine["cpu_count"] >= 1 and machine["load_1min_during"]["samples"] >= 1
    assert 0 < record["wall_s"] <= record["total_s"]


def test_the_api_serves_each_recorded_result_as_stored(server: str) -> None:
    listed = {p["id"]: p for p in httpx.get(f"{server}/api/experiments/presets", timeout=30).json()}
    assert set(listed) >= {"rank", *(p.stem for p in FILES)}
    for preset_id, preset in listed.items():
        path = RECORDED / f"{preset_id}.json"
        assert preset["recorded"] is path.is_file()
        got = httpx.get(f"{server}/api/experiments/presets/{preset_id}/recorded", timeout=30)
        if path.is_file():
            assert got.status_code == 200 and got.json() == json.loads(path.read_text(encoding="utf-8"))
        else:
            assert got.status_code == 404 and preset_id in got.json()["detail"]
    unknown = httpx.get(f"{server}/api/experiments/presets/no-such-preset/recorded", timeout=30)
    assert unknown.status_code == 404 and "no-such-preset" in unknown.json()["detail"]
