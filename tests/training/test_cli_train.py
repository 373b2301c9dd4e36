"""``ftlab train`` in-process: the JSONL stream, the readable display, exit codes, bad options."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.config import get_settings
from tests.utils.streams import check_stream

TINY = ["train", "--model", "tiny-llama", "--method", "lora", "--steps", "2", "--max-new-tokens", "2"]


@pytest.fixture(autouse=True)
def model_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path_factory.getbasetemp() / "cli-models"  # tiny-llama is built here once
    monkeypatch.setenv("FTLAB_MODEL_DIR", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_jsonl_prints_a_valid_stream_that_ends_in_done(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    code = main([*TINY, "--target-modules", "q_proj", "--jsonl", "--save-adapter", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    events = [json.loads(line) for line in lines]
    check_stream(events)
    assert code == 0 and events[-1]["type"] == "done"
    started = next(e for e in events if e["type"] == "started")
    assert started["config"]["target_modules"] == ["q_proj"] and started["steps"] == 2
    assert started["weights"] == "built in-process (random weights)"  # the source of the base weights
    assert len({e["job_id"] for e in events}) == 1 and events[0]["job_id"].startswith("cli-")
    assert (tmp_path / "adapter_model.safetensors").stat().st_size == started["adapter_bytes"]


@pytest.mark.parametrize(("method", "task"), [("dpo", "tone-preference"), ("sft", "tone")])
def test_trl_methods_print_only_events_on_stdout(
    capsys: pytest.CaptureFixture, method: str, task: str
) -> None:
    """trl's trainer must not print its own logs into the JSONL stream."""
    code = main(["train", "--model", "tiny-llama", "--method", method, "--task", task, "--steps", "2",
                 "--eval-every", "1", "--max-new-tokens", "2", "--jsonl"])  # fmt: skip
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    check_stream(events)
    assert code == 0 and events[-1]["type"] == "done" and events[-1]["summary"]["method"] == method
    assert [e["step"] for e in events if e["type"] == "eval"] == [0, 1, 2]


def test_readable_display_and_time_limit(capsys: pytest.CaptureFixture) -> None:
    assert main([*TINY, "--time-limit", "0.001"]) == 1
    assert "failed: time limit" in capsys.readouterr().out
    assert main(TINY) == 0
    out = capsys.readouterr().out
    assert "lora on tiny-llama / tone (cpu)" in out and "step    2/2" in out and "done in" in out


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--rank", "999"], "--rank: Input should be less than or equal to 256"),
        (["--steps", "abc"], "argument --steps: invalid int value: 'abc'"),  # argparse's own check
        (["--method", "head"], "--method: head needs"),
        (["--task", "nope"], "--task: unknown task 'nope'; valid tasks: tone"),
        (["--model", "nope"], "--model: unknown model 'nope'; valid models: smollm2-135m"),
        (
            ["--method", "dpo"],
            "--task: tone is a chat task; dpo on smollm2-135m (causal) trains on preference",
        ),
        (
            ["--method", "dpo", "--task", "tone-preference", "--dropout", "0.1"],
            "--dropout: dpo trains without",
        ),
    ],
)
def test_bad_options_exit_2_naming_the_option(
    capsys: pytest.CaptureFixture, options: list, expected: str
) -> None:
    try:
        code = main(["train", *options])
    except SystemExit as exit_:  # argparse refuses a number option's text before pydantic sees it
        code = exit_.code
    assert code == 2
    captured = capsys.readouterr()
    assert expected in captured.err and captured.out == ""
