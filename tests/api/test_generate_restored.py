"""POST /api/jobs/{id}/generate after a server restart: adapter jobs answer from their rebuilt models
as before the restart; a full fine-tuning job gets a 409 that says why."""

from __future__ import annotations

import time

import torch
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.utils.jobs import restores
from tests.utils.restore_cases import (
    ADAPTER_JOBS,
    FULL_JOB,
    NEW_TOKENS,
    PROMPT,
    logits_of,
    one_thread,  # noqa: F401  (autouse fixture)
)


def _generate(client: TestClient, job_id: str) -> tuple[int, dict]:
    response = client.post(
        f"/api/jobs/{job_id}/generate", json={"prompt": PROMPT, "max_new_tokens": NEW_TOKENS}
    )
    return response.status_code, response.json()


def _wait_done(client: TestClient, job_ids: list[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    for job_id in job_ids:
        while (state := client.get(f"/api/jobs/{job_id}").json()["state"]) in ("queued", "running"):
            assert time.monotonic() < deadline, f"job {job_id} still {state}"
            time.sleep(0.05)
        assert state == "done", client.get(f"/api/jobs/{job_id}").json()


def test_generate_works_after_a_server_restart(settings: Settings) -> None:
    with TestClient(
        create_app(settings), base_url="http://localhost"
    ) as client:  # keeps the last 4 models: all of these
        jobs = {
            method: client.post("/api/jobs", json=body).json()["id"] for method, body in ADAPTER_JOBS.items()
        }
        full = client.post("/api/jobs", json=FULL_JOB).json()["id"]
        _wait_done(client, [*jobs.values(), full])
        before = {method: _generate(client, job_id) for method, job_id in jobs.items()}
        runner = client.app.state.runner  # type: ignore[attr-defined]
        logits = {method: runner.call(j, logits_of, restore=False) for method, j in jobs.items()}
        assert _generate(client, full)[0] == 200

    with TestClient(
        create_app(settings), base_url="http://localhost"
    ) as client:  # the same data dir and database
        runner = client.app.state.runner  # type: ignore[attr-defined]
        for method, job_id in jobs.items():
            assert _generate(client, job_id) == before[method], method
            tuned = runner.call(job_id, logits_of, restore=False)
            torch.testing.assert_close(tuned, logits[method], atol=1e-5, rtol=0)
        assert restores(runner) == len(jobs)
        assert all(_generate(client, job_id)[0] == 200 for job_id in jobs.values())
        assert restores(runner) == len(jobs)  # held now: no second rebuild

        status, body = _generate(client, full)
        assert status == 409 and "changes the model itself and saves no adapter" in body["detail"], body
