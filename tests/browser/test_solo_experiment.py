"""A solo learner's class experiments in real Chromium: each lesson section that raises a preset's
question shows its recorded class result (real SmolLM2 runs, scripts/record_experiment.py): one plot
point per finished run with the recorded primary measure, each value's (and series') mean, the text
summary naming every value with its mean, the table per value; for *Does rank matter?* the measure
picker redraws the same runs' effective ranks of ΔW."""

from __future__ import annotations

import time

import httpx
import pytest

from app.experiments.presets import experiments_dir, recorded_result
from tests.browser.conftest import mount_all, open_lesson

pytestmark = pytest.mark.browser

RECORDED = sorted(p.stem for p in (experiments_dir() / "recorded").glob("*.json"))
# the summary's words for a measure (static/js/experiment/results-data.js: MEASURE_LABELS)
MEASURE_WORDS = {"eval_loss": "held-out loss", "effective_rank": "effective rank of ΔW"}

# The y values of the recorded plot's traces whose name starts with ``name``, read from plotly itself.
TRACE_Y = """([preset, name]) => {
  const plot = document.querySelector(`[data-solo-experiment="${preset}"] .plot`);
  return (plot && plot.data ? plot.data : []).filter((t) => t.name.startsWith(name)).flatMap((t) => t.y);
}"""


def trace_y(page, name: str, preset: str = "rank") -> list[float]:  # noqa: ANN001
    return page.evaluate(TRACE_Y, [preset, name])


def show_recorded(page, base_url: str, preset_id: str):  # noqa: ANN001, ANN201
    """Opens the lesson at the preset's recorded result and waits until every finished run with its
    primary measure is a plot point. Returns (recorded, preset, done, box)."""
    recorded = httpx.get(f"{base_url}/api/experiments/presets/{preset_id}/recorded", timeout=30).json()
    listed = httpx.get(f"{base_url}/api/experiments/presets", timeout=30).json()
    preset = next(p for p in listed if p["id"] == preset_id)
    primary = preset["primary"]
    done = [r for r in recorded["runs"] if r["state"] == "done" and r["measures"].get(primary) is not None]
    assert done, "the recording has no finished run"
    open_lesson(page)
    box = page.locator(f"#{preset['section']} [data-solo-experiment={preset_id}]")
    box.wait_for(timeout=60_000)
    box.scroll_into_view_if_needed()
    page.wait_for_function(f"({TRACE_Y})(['{preset_id}', 'one run']).length === {len(done)}", timeout=60_000)
    return recorded, preset, done, box


@pytest.mark.parametrize("preset_id", RECORDED)
def test_each_recorded_result_is_drawn_where_its_question_is_raised(
    page,  # noqa: ANN001
    base_url: str,
    preset_id: str,
) -> None:
    recorded, preset, done, box = show_recorded(page, base_url, preset_id)
    primary = preset["primary"]
    assert sorted(trace_y(page, "one run", preset_id)) == pytest.approx(
        sorted(r["measures"][primary] for r in done)
    )
    assert sorted(trace_y(page, "mean", preset_id)) == pytest.approx(
        sorted(v["mean"] for v in recorded["by_value"])
    )
    summary = box.locator(".chart-summary").inner_text()
    words = MEASURE_WORDS.get(primary, primary.replace("_", " "))
    assert summary.startswith(f"{words} against {preset['variable']}: {len(done)} finished runs"), summary
    for entry in recorded["by_value"]:
        where = f"{entry['series']}, " if entry.get("series") else ""
        assert f"{where}{preset['variable']} {entry['label']}: " in summary, (entry, summary)
        assert f"{entry['mean']:#.4g}" in summary, (entry["mean"], summary)
    assert box.locator("[data-class-result] tbody tr").count() == len(recorded["by_value"])
    if preset["note"]:  # what the preset leaves out, or how to read a measure, is on the page
        assert box.locator("[data-preset-note]").inner_text() == preset["note"]
    # the learner's own cell offers every value the class ran
    options = box.locator(".solo-cell select").first.locator("option")
    assert options.count() == len(preset["values"])


@pytest.mark.skipif(
    recorded_result("rank") is None,
    reason="no recorded rank result yet (scripts/record_experiment.py --preset rank)",
)
def test_the_lora_section_shows_the_recorded_rank_result(page, base_url: str) -> None:  # noqa: ANN001
    recorded, preset, done, box = show_recorded(page, base_url, "rank")

    losses = sorted(trace_y(page, "one run"))
    assert losses == pytest.approx(sorted(r["measures"]["eval_loss"] for r in done))
    means = trace_y(page, "mean")
    assert sorted(means) == pytest.approx(sorted(v["mean"] for v in recorded["by_value"]))

    summary = box.locator(".chart-summary").inner_text()
    total = len(recorded["runs"])
    assert summary.startswith(f"held-out loss against rank: {len(done)} finished runs of {total}."), summary
    for entry in recorded["by_value"]:
        assert f"rank {entry['label']}: " in summary, (entry["label"], summary)
        assert f"{entry['mean']:#.4g}" in summary, (entry["mean"], summary)
    rows = box.locator("[data-class-result] tbody tr")
    assert rows.count() == len(preset["values"])
    status = box.locator("[data-result-status]").inner_text()
    assert status.startswith(f"Complete: {len(done)} run(s) finished"), status

    box.locator("[data-measure]").select_option("effective_rank")
    page.wait_for_function(
        '([p, y]) => { const d = document.querySelector(`[data-solo-experiment="${p}"] .plot`).data;'
        " return d.some((t) => t.name.startsWith('one run') && t.y.includes(y)); }",
        arg=["rank", done[0]["measures"]["effective_rank"]],
        timeout=30_000,
    )
    ranks = sorted(trace_y(page, "one run"))
    assert ranks == pytest.approx(sorted(r["measures"]["effective_rank"] for r in done))
    assert "effective rank of ΔW against rank" in box.locator(".chart-summary").inner_text()


def test_mount_all_waits_for_recordings_that_arrive_late(page, base_url: str) -> None:  # noqa: ANN001
    """The experiment figures come after their recordings load; on a busy server that is after every
    widget's slot has mounted. mount_all (and anything reading the page as whole) waits for the
    page's "placed" signal, so each figure is there, in lesson order, and counted once."""

    def slow(route) -> None:  # noqa: ANN001
        time.sleep(1.5)
        route.continue_()

    page.route("**/api/experiments/presets/*/recorded", slow)
    open_lesson(page)
    mount_all(page)
    shown = page.evaluate("[...document.querySelectorAll('[data-solo-experiment]')].map(f => f.id)")
    listed = httpx.get(f"{base_url}/api/experiments/presets", timeout=30).json()
    sections = page.evaluate("[...document.querySelectorAll('section.lesson-section')].map(s => s.id)")
    in_order = sorted(listed, key=lambda p: sections.index(p["section"]))
    assert shown == [f"widget-experiment-{p['id']}" for p in in_order if p["id"] in RECORDED]
