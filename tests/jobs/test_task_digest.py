"""The worker trains the config resolved at submission and refuses a task whose content changed since
(its content hash is stored with the job), instead of silently reading the new file."""

from __future__ import annotations

import json

from app.jobs.files.uploads import load_task, save_upload
from app.training.methods import resolve_job
from app.training.train_config import TrainConfig
from tests.jobs.conftest import wait_state
from tests.utils.jobs import LONG, stored_events


def _chat_file(answer: str) -> bytes:
    rows = [{"prompt": f"question {i}?", "answer": f"{answer} {i}"} for i in range(12)]
    return "\n".join(json.dumps(row) for row in rows).encode()


def test_a_task_changed_after_submission_is_refused(make_runner, tmp_path) -> None:  # noqa: ANN001
    runner = make_runner()
    blocker = runner.submit(LONG).id  # holds the only worker while the upload changes
    wait_state(runner, blocker, {"running"})
    save_upload(runner.store, tmp_path, "mine", "mine.jsonl", _chat_file("yes"))
    config = TrainConfig(model="tiny-llama", method="lora", task="mine", steps=2, batch_size=2, seq_len=32)
    job = resolve_job(config, load_task(runner.store, tmp_path, "mine"))
    waiting = runner.submit(job).id
    (tmp_path / "tasks" / "mine.jsonl").write_bytes(_chat_file("no"))  # same name, other content
    runner.cancel(blocker)
    wait_state(runner, waiting, {"done", "failed", "cancelled"})
    last = stored_events(runner, waiting)[-1]
    assert last["type"] == "failed"
    assert last["error"] == "task mine changed after this job was submitted; submit the job again"


def test_an_unchanged_upload_trains(make_runner, tmp_path) -> None:  # noqa: ANN001
    runner = make_runner()
    save_upload(runner.store, tmp_path, "same", "same.jsonl", _chat_file("yes"))
    config = TrainConfig(model="tiny-llama", method="lora", task="same", steps=2, batch_size=2, seq_len=32)
    job_id = runner.submit(resolve_job(config, load_task(runner.store, tmp_path, "same"))).id
    wait_state(runner, job_id, {"done", "failed", "cancelled"})
    assert stored_events(runner, job_id)[-1]["type"] == "done"
