"""API tests run against the real app (lifespan, runner, tiny-llama), on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.utils.databases import database_url  # noqa: F401  (fixture)
from tests.utils.server import live_server

# A fast real job: tiny-llama is a real (randomly initialised) Llama built in-process.
TINY_JOB: dict[str, Any] = {
    "model": "tiny-llama",
    "method": "lora",
    "task": "tone",
    "steps": 4,
    "batch_size": 2,
    "seq_len": 32,
    "max_new_tokens": 4,
}
# Long enough to still be running when a test acts on it (cancelled long before the end).
LONG_JOB: dict[str, Any] = {**TINY_JOB, "steps": 2000}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:  # noqa: F811
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        instructor_token="test-token-0123456789",
        device="cpu",
        cpu_workers=1,
        job_time_limit_s=600,
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    with live_server(app) as base:
        yield base


def submit(base: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{base}/api/jobs", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def wait_for_state(base: str, job_id: str, states: set[str], timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = httpx.get(f"{base}/api/jobs/{job_id}", timeout=30).json()
        if job["state"] in states:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stayed {job['state']}, wanted {states}")
        time.sleep(0.05)
