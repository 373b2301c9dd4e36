"""Swap, combine and merge over HTTP with tiny-llama jobs: the answers, the stored combination, its
download in plain peft, and the errors for what does not fit (naming the reason)."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
from fastapi import FastAPI
from peft import PeftModel
from sqlalchemy import delete

from app.jobs.executors.tuned import NotInMemory
from app.rows import EventRow, JobRow
from app.training import evaluation as ev
from app.training.models import ModelCache
from app.training.tasks import load_builtin_task
from tests.api.conftest import TINY_JOB, submit
from tests.utils.restore_cases import one_thread  # noqa: F401  (fixture)
from tests.utils.streams import read_stream
from tests.utils.worker_probes import lab_bases

PROMPT = "Tell me about the sea"
TRAINED = {**TINY_JOB, "steps": 30, "lr": 3e-2, "max_new_tokens": 6, "eval_every": 2000}


def finished(server: str, body: dict[str, Any]) -> str:
    job_id = submit(server, body)["id"]
    events, _ = read_stream(server, job_id)
    assert events[-1]["type"] == "done", events[-1]
    return job_id


def post(server: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(f"{server}{path}", json=body, timeout=300)


def test_swap_combine_download_generate_merge(app: FastAPI, server: str, tmp_path: Path) -> None:
    tone = finished(server, {**TRAINED, "task": "tone"})
    json_job = finished(server, {**TRAINED, "task": "json-extract"})

    # swap: tone's base answering with json's adapter = json's own generate
    own = post(server, f"/api/jobs/{json_job}/generate", {"prompt": PROMPT, "max_new_tokens": 6}).json()
    assert own["adapter"] == json_job and own["switch_ms"] is None
    swapped = post(
        server, f"/api/jobs/{tone}/generate", {"prompt": PROMPT, "max_new_tokens": 6, "adapter": json_job}
    )
    assert swapped.status_code == 200, swapped.text
    body = swapped.json()
    assert body["adapter"] == json_job and body["job_id"] == tone and body["switch_ms"] >= 0
    assert (body["tuned"], body["base"]) == (own["tuned"], own["base"])
    tone_own = post(server, f"/api/jobs/{tone}/generate", {"prompt": PROMPT, "max_new_tokens": 6}).json()
    assert tone_own["tuned"] != own["tuned"], "the two adapters must differ for the swap to show anything"

    # combine: scored on both tasks, beside each source and the base
    response = post(
        server, "/api/adapters/combine", {"jobs": [tone, json_job], "weights": [1, 1], "combination": "cat"}
    )
    assert response.status_code == 201, response.text
    combined = response.json()
    assert set(combined["eval"]) == set(combined["base_eval"]) == {"tone", "json-extract"}
    assert [s["job_id"] for s in combined["sources"]] == [tone, json_job]
    assert combined["rank"] == 16 and combined["trainable_params"] == sum(
        s["trainable_params"] for s in combined["sources"]
    )
    assert httpx.get(f"{server}/api/adapters/{combined['id']}").json() == combined

    # the download loads in plain peft and scores what the server said
    download = httpx.get(f"{server}/api/adapters/{combined['id']}/adapter")
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    zipfile.ZipFile(io.BytesIO(download.content)).extractall(tmp_path / "combined")
    cache = ModelCache(app.state.settings.model_dir, "cpu")
    model = PeftModel.from_pretrained(cache.get("tiny-llama").model, tmp_path / "combined").eval()
    loss = ev.eval_loss(model, cache.get_tokenizer("tiny-llama"), load_builtin_task("tone"), 32, "cpu")
    assert loss == pytest.approx(combined["eval"]["tone"]["eval_loss"], abs=1e-5)

    answer = post(server, f"/api/adapters/{combined['id']}/generate", {"prompt": PROMPT, "max_new_tokens": 6})
    assert answer.status_code == 200 and answer.json()["adapter"] == f"combined-{combined['id']}"
    with torch.no_grad():
        expected = ev.generate(model, cache.get_tokenizer("tiny-llama"), [PROMPT], 6, "cpu")[0]
    assert answer.json()["tuned"] == expected

    # merge: the lesson's "no cost at inference", measured
    merge = post(server, f"/api/jobs/{tone}/merge")
    assert merge.status_code == 200, merge.text
    report = merge.json()
    assert report["max_abs_logit_diff"] < 1e-4 and report["dtype"] == "float32"
    assert set(report["latency_ms"]) == {"adapter", "merged", "base"}


def test_what_does_not_fit_gets_409_or_422_naming_why(server: str) -> None:
    lora = finished(server, {**TINY_JOB, "task": "tone"})
    prompt = finished(server, {**TINY_JOB, "task": "tone", "method": "prompt"})
    qlora = finished(server, {**TINY_JOB, "task": "tone", "method": "qlora", "steps": 1})
    rank4 = finished(server, {**TINY_JOB, "task": "tone", "rank": 4, "alpha": 8})
    running = submit(server, {**TINY_JOB, "steps": 2000})["id"]
    try:
        cases = [
            ("/api/adapters/combine", {"jobs": [lora, prompt], "weights": [1, 1]}, 422, "'prompt'"),
            (
                "/api/adapters/combine",
                {"jobs": [lora, qlora], "weights": [1, 1], "combination": "cat"},
                422,
                "nf4",
            ),
            ("/api/adapters/combine", {"jobs": [lora, rank4], "weights": [1, 1]}, 422, "ranks must be equal"),
            ("/api/adapters/combine", {"jobs": [lora, running], "weights": [1, 1]}, 409, "queued|running"),
            ("/api/adapters/combine", {"jobs": [lora, rank4], "weights": [1]}, 422, "weights"),
            ("/api/adapters/combine", {"jobs": [lora, lora], "weights": [1, 1]}, 422, "once"),
            ("/api/adapters/combine", {"jobs": [lora, "nope"], "weights": [1, 1]}, 404, "nope"),
            (
                "/api/adapters/combine",
                {"jobs": [lora], "weights": [1], "combination": "ties"},
                422,
                "density",
            ),
            (
                "/api/adapters/combine",
                {"jobs": [lora], "weights": [1], "combination": "mean"},
                422,
                "combination",
            ),
            (f"/api/jobs/{lora}/generate", {"prompt": "hi", "adapter": qlora}, 422, "nf4"),
            (f"/api/jobs/{lora}/generate", {"prompt": "hi", "adapter": prompt}, 422, "'prompt'"),
            (f"/api/jobs/{lora}/generate", {"prompt": "hi", "adapter": running}, 409, "queued|running"),
            (f"/api/jobs/{prompt}/merge", None, 422, "no LoRA adapter"),
            (f"/api/jobs/{running}/merge", None, 409, "queued|running"),
            ("/api/adapters/0123456789abcdef/generate", {"prompt": "hi"}, 404, "no combined adapter"),
        ]
        for path, body, status, reason in cases:
            response = post(server, path, body)
            assert response.status_code == status, (path, body, response.text)
            assert re.search(reason, response.text), (reason, response.text)
        # the server keeps serving
        assert (
            post(server, f"/api/jobs/{lora}/generate", {"prompt": "hi", "adapter": rank4}).status_code == 200
        )
    finally:
        httpx.post(f"{server}/api/jobs/{running}/cancel")


def test_combined_adapters_are_bounded_per_owner_and_follow_their_jobs(app: FastAPI, server: str) -> None:
    app.state.adapters.max_combined_per_owner = 1
    job = finished(server, {**TINY_JOB, "task": "tone"})
    first = post(server, "/api/adapters/combine", {"jobs": [job], "weights": [1.0]}).json()
    second = post(server, "/api/adapters/combine", {"jobs": [job], "weights": [0.5]}).json()
    assert httpx.get(f"{server}/api/adapters/{first['id']}").status_code == 404  # the oldest made room
    assert httpx.get(f"{server}/api/adapters/{second['id']}").status_code == 200
    assert second["eval"]["tone"]["eval_loss"] != first["eval"]["tone"]["eval_loss"]  # weight 0.5 ≠ 1

    # a student's job (and so a combination of it) is not visible to others; a removed job takes it along
    app.state.store.update(job, owner="student:someone")
    assert post(server, "/api/adapters/combine", {"jobs": [job], "weights": [1.0]}).status_code == 404
    with app.state.sessionmaker.begin() as session:  # the job removed (as a class member's removal would)
        session.execute(delete(EventRow).where(EventRow.job_id == job))
        session.execute(delete(JobRow).where(JobRow.id == job))
    assert httpx.get(f"{server}/api/adapters/{second['id']}").status_code == 404
    assert not (app.state.settings.data_dir / "combined" / second["id"]).exists()


def _die(worker: Any) -> None:
    os._exit(3)  # a worker lost mid-request (as if killed or out of memory)


def test_the_lab_runs_in_a_training_worker_and_a_lost_worker_is_an_error(app: FastAPI, server: str) -> None:
    tone = finished(server, {**TINY_JOB, "task": "tone"})
    swap = {"prompt": PROMPT, "max_new_tokens": 4, "adapter": tone}
    swapped = post(server, f"/api/jobs/{tone}/generate", swap)
    assert swapped.status_code == 200, swapped.text
    assert post(server, f"/api/jobs/{tone}/merge").status_code == 200

    runner = app.state.runner
    workers = runner.pool.ask(lab_bases)
    assert [bases for _, bases in workers] == [["tiny-llama"]]  # the worker's lab holds the base...
    assert all(pid != os.getpid() for pid, _ in workers)  # ...in another process
    assert app.state.model_cache._bases == {}  # and the web process never loaded a model

    with pytest.raises(NotInMemory, match="training worker lost"):  # an error, not a hang
        runner.pool.ask_one("tiny-llama", _die)
    again = post(server, f"/api/jobs/{tone}/generate", swap)
    assert again.status_code == 200, again.text  # its replacement rebuilt the lab
    assert again.json()["tuned"] == swapped.json()["tuned"]
    assert runner.pool.replaced == 1
