"""The adapter-lab section states, in words, what its recorded session shows; if the session is
re-recorded with other results, these fail and the words must change with the numbers."""

from __future__ import annotations

import json

import pytest

from app.lesson.adapter_lab_figures import adapter_lab_figures, kept_share
from app.lesson.figures import lesson_figures
from app.lesson.paths import ADAPTER_LAB_SESSION as RECORDED

SESSION = json.loads(RECORDED.read_text(encoding="utf-8"))
TEXT = (RECORDED.parents[1] / "sections" / "adapter-lab.md").read_text(encoding="utf-8")


def test_the_session_is_a_real_model_whose_adapters_learned_their_tasks() -> None:
    assert SESSION["model"] == "smollm2-135m"
    combined = SESSION["combinations"][0]
    for source in combined["sources"]:
        task = source["task"]
        assert source["eval"][task]["metric"] > combined["base_eval"][task]["metric"], task


@pytest.mark.parametrize("combination", ["linear", "cat"])
def test_the_sum_kept_the_voice_but_not_the_json(combination: str) -> None:
    """ "the sum did not keep both skills: the voice survives, and pirate talk is not exact JSON" """
    assert "the voice\nsurvives" in TEXT or "the voice survives" in TEXT
    combined = next(c for c in SESSION["combinations"] if c["combination"] == combination)
    json_alone = next(s for s in combined["sources"] if s["task"] == "json-extract")
    assert combined["eval"]["tone"]["metric"] >= 0.75
    assert kept_share(combined, "tone") >= 0.75
    assert combined["eval"]["json-extract"]["metric"] < json_alone["eval"]["json-extract"]["metric"] / 2


def test_merged_and_unmerged_differ_by_rounding_and_by_less_work_than_timing_noise() -> None:
    """ "rounding error" and "These differ by noise ... too little to time here" """
    for merge in SESSION["merges"]:
        assert merge["max_abs_logit_diff"] < 1e-3
    share = float(lesson_figures()["lab_adapter_work_pct"].rstrip("%"))
    assert share < 2.0  # percent of the forward pass's multiply-adds
    tone = next(m for m in SESSION["merges"] if m["job_id"] == "tone")["latency_ms"]
    spread = (max(tone.values()) - min(tone.values())) / min(tone.values())
    assert spread < 0.25  # the three timings agree to within a quarter: noise, not a 2x effect


def test_every_lab_figure_the_text_names_exists() -> None:
    figures = adapter_lab_figures() | lesson_figures()
    for name in {w.strip() for w in TEXT.split("{{")[1:] for w in [w.split("}}")[0]]}:
        assert name in figures, name
