"""A server killed mid-job: on restart the job is failed 'server restarted' and its events stay readable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from app.config import Settings
from app.events import check_stream
from app.jobs.store import RESTART_REASON
from app.main import create_app
from tests.api.conftest import LONG_JOB, submit
from tests.utils.server import free_port
from tests.utils.streams import read_stream

ROOT = Path(__file__).resolve().parents[2]


def _start_server(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FTLAB_DATA_DIR": str(settings.data_dir),
        "FTLAB_MODEL_DIR": str(settings.model_dir),
        "FTLAB_DATABASE_URL": settings.resolved_database_url,
        "FTLAB_DEVICE": "cpu",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "server died")
    process.kill()
    raise RuntimeError("the server did not start")


def test_a_killed_server_fails_its_jobs_on_restart_and_keeps_their_events(settings: Settings) -> None:
    port = free_port()
    process = _start_server(settings, port)
    base = f"http://127.0.0.1:{port}"
    try:
        running = submit(base, LONG_JOB)["id"]
        waiting = submit(base, LONG_JOB)["id"]
        before, _ = read_stream(base, running, until_type="step")
    finally:
        process.send_signal(signal.SIGKILL)  # a crash: no shutdown code runs
        process.wait(30)

    with TestClient(create_app(settings)) as client:
        for job_id in (running, waiting):
            job = client.get(f"/api/jobs/{job_id}").json()
            assert job["state"] == "failed" and job["error"] == RESTART_REASON
            events = client.get(f"/api/jobs/{job_id}/events").json()
            check_stream(events)
            assert events[-1]["type"] == "failed" and events[-1]["error"] == RESTART_REASON
        events = client.get(f"/api/jobs/{running}/events").json()
        assert events[: len(before)] == before  # what a browser saw before the crash is all still there
        with client.websocket_connect(f"/ws/jobs/{running}?after={before[-1]['seq']}") as socket:
            rest = [socket.receive_json() for _ in range(len(events) - len(before))]
        assert before + rest == events
        # the restarted server runs new jobs as usual
        assert client.get("/api/health").json()["queue"]["queued"] == 0
