"""The downloaded adapter loads in peft and gives the server's tuned logits; generation before/after."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx
import pytest
import torch
from fastapi import FastAPI
from peft import PeftModel

from app.jobs.files.adapter_zip import ADAPTER_FILES
from app.training.models import ModelCache
from tests.api.conftest import TINY_JOB, submit
from tests.utils.restore_cases import INPUT_IDS, logits_of
from tests.utils.streams import read_stream


@pytest.mark.parametrize("method", ["lora", "prompt"])
def test_adapter_round_trip_through_peft(app: FastAPI, server: str, tmp_path: Path, method: str) -> None:
    job_id = submit(server, {**TINY_JOB, "method": method, "steps": 3})["id"]
    events, _ = read_stream(server, job_id)
    assert events[-1]["type"] == "done", events[-1]

    response = httpx.get(f"{server}/api/jobs/{job_id}/adapter")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == sorted(ADAPTER_FILES)
        archive.extractall(tmp_path / "adapter")

    # what a student does at home: the base model, fresh, plus the downloaded adapter
    settings = app.state.settings
    base = ModelCache(settings.model_dir, "cpu").get("tiny-llama").model.float()
    loaded = PeftModel.from_pretrained(base, tmp_path / "adapter").eval()
    expected = app.state.runner.call(job_id, logits_of, restore=False)  # the model in the worker
    with torch.no_grad():
        got = loaded(input_ids=INPUT_IDS).logits.float()
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_generate_gives_tuned_and_base_completions(server: str) -> None:
    job_id = submit(server, TINY_JOB)["id"]
    read_stream(server, job_id)
    response = httpx.post(
        f"{server}/api/jobs/{job_id}/generate", json={"prompt": "Tell me about the sea", "max_new_tokens": 5}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["job_id"] == job_id and isinstance(body["tuned"], str) and isinstance(body["base"], str)


def test_adapter_and_generate_need_a_finished_job(server: str) -> None:
    job_id = submit(server, {**TINY_JOB, "steps": 2000})["id"]
    assert httpx.get(f"{server}/api/jobs/{job_id}/adapter").status_code == 409
    assert httpx.post(f"{server}/api/jobs/{job_id}/generate", json={"prompt": "hi"}).status_code == 409
    httpx.post(f"{server}/api/jobs/{job_id}/cancel")
