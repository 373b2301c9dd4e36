"""The run taken home: the exported notebook's code cells, run as a plain script in a subprocess
(transformers + peft, no ftlab import), give the lab's losses for the same config: every step of real
tiny-llama runs, and step 1 of the recorded SmolLM2 runs (LoRA and full) within 1e-4."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from app.cli import main
from app.config import Settings
from app.lesson.notebook_export import NotebookUnsupported, notebook_bytes, notebook_for_run
from app.lesson.recorded_runs import RECORDED_DIR

STEP_LOSS = re.compile(r"^step (\d+) loss ([0-9.]+)$", re.MULTILINE)


def run_notebook(events: list[dict[str, Any]], model: Path, tmp_path: Path, steps: int) -> dict[int, float]:
    """Write the notebook, read it back with nbformat, run its code cells as one script; step → loss."""
    path = tmp_path / "run.ipynb"
    path.write_bytes(notebook_bytes(notebook_for_run(events, "test")))
    notebook = nbformat.read(path, as_version=4)
    code = "\n\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert not re.search(r"^\s*(from|import) app\b", code, re.MULTILINE)  # no ftlab import
    (tmp_path / "run.py").write_text(code)
    env = {**os.environ, "FTLAB_NOTEBOOK_MODEL": str(model), "FTLAB_NOTEBOOK_STEPS": str(steps)}
    env |= {"FTLAB_NOTEBOOK_EVAL": "0", "PYTHONPATH": ""}  # PYTHONPATH empty: app is not importable
    done = subprocess.run(
        [sys.executable, "run.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "loss.html").is_file() and (tmp_path / "spectra.html").is_file()
    return {int(step): float(loss) for step, loss in STEP_LOSS.findall(done.stdout)}


def ftlab_run(*options: str) -> list[dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["train", *options, "--jsonl"]) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize("method", ["lora", "full"])
def test_tiny_run_is_reproduced_step_by_step(method: str, tmp_path: Path) -> None:
    options = ["--model", "tiny-llama", "--method", method, "--task", "tone", "--steps", "5", "--lr", "3e-3"]
    events = ftlab_run(*options, "--batch-size", "3", "--seq-len", "48", "--max-new-tokens", "4")
    lab = {e["step"]: e["loss"] for e in events if e["type"] == "step"}
    ours = run_notebook(events, Settings().model_dir / "tiny-llama", tmp_path, steps=5)
    assert sorted(ours) == sorted(lab) == [1, 2, 3, 4, 5]
    for step in lab:  # the data order, the seed of LoRA's A, the schedule and clipping all agree
        assert ours[step] == pytest.approx(lab[step], abs=1e-4), step


@pytest.mark.timeout(1800)  # two SmolLM2 steps on a CPU: 3 min idle, over 10 under a busy machine's load
@pytest.mark.parametrize("method", ["lora", "full"])
def test_recorded_smollm2_run_step_one(method: str, tmp_path: Path) -> None:
    model = Settings().model_dir / "smollm2-135m"
    if not (model / "model.safetensors").is_file():
        pytest.skip("SmolLM2 is not in the model cache (ftlab models fetch smollm2-135m)")
    path = RECORDED_DIR / f"{method}.jsonl"
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    lab = next(e["loss"] for e in events if e["type"] == "step" and e["step"] == 1)
    ours = run_notebook(events, model, tmp_path, steps=2)
    assert ours[1] == pytest.approx(lab, abs=1e-4)


def test_what_the_export_does_not_cover_is_refused() -> None:
    path = RECORDED_DIR / "prompt.jsonl"
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    with pytest.raises(NotebookUnsupported, match="methods full, lora"):
        notebook_for_run(events, "prompt")
    lora = [json.loads(line) for line in (RECORDED_DIR / "lora.jsonl").read_text().splitlines()]
    with pytest.raises(NotebookUnsupported, match="finished"):
        notebook_for_run(lora[:-1], "unfinished")
