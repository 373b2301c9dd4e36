"""A server killed mid-job: on restart the running job is failed 'server restarted', its events stay
readable, and the job that waited is still queued and runs."""

from __future__ import annotations

import signal

from fastapi.testclient import TestClient

from app.config import Settings
from app.jobs.store import RESTART_REASON
from app.main import create_app
from tests.api.conftest import LONG_JOB, submit
from tests.utils.processes import start_server
from tests.utils.server import free_port
from tests.utils.streams import check_stream, read_stream


def test_a_killed_server_fails_its_jobs_on_restart_and_keeps_their_events(settings: Settings) -> None:
    port = free_port()
    process = start_server(settings, port)
    base = f"http://127.0.0.1:{port}"
    try:
        running = submit(base, LONG_JOB)["id"]
        waiting = submit(base, LONG_JOB)["id"]
        before, _ = read_stream(base, running, until_type="step")
    finally:
        process.send_signal(signal.SIGKILL)  # a crash: no shutdown code runs
        process.wait(30)

    with TestClient(create_app(settings)) as client:
        job = client.get(f"/api/jobs/{running}").json()
        assert job["state"] == "failed" and job["error"] == RESTART_REASON
        events = client.get(f"/api/jobs/{running}/events").json()
        check_stream(events)
        assert events[-1]["type"] == "failed" and events[-1]["error"] == RESTART_REASON
        assert client.get(f"/api/jobs/{waiting}").json()["state"] in ("queued", "running")  # kept
        assert client.post(f"/api/jobs/{waiting}/cancel").status_code == 200
        events = client.get(f"/api/jobs/{running}/events").json()
        assert events[: len(before)] == before  # what a browser saw before the crash is all still there
        with client.websocket_connect(f"/ws/jobs/{running}?after={before[-1]['seq']}") as socket:
            rest = [socket.receive_json() for _ in range(len(events) - len(before))]
        assert before + rest == events
        # the restarted server runs new jobs as usual
        assert client.get("/api/health").json()["queue"]["queued"] == 0
