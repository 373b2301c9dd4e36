"""A restart keeps the queue (issue 22, fault 5): ``ftlab serve`` gets SIGTERM with a job running,
jobs queued and a browser's websocket open. It exits inside 10 s (a container stop's grace before
SIGKILL); the running job fails saying the server stopped; every queued job is still queued, and
runs to the end once the server is back. No stored event is lost."""

from __future__ import annotations

import signal
import sys
import time

import httpx
from sqlalchemy import select
from websockets.sync.client import connect

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.jobs.runner import STOPPED_REASON
from app.rows import JobRow
from tests.api.conftest import LONG_JOB, TINY_JOB, submit, wait_for_state
from tests.utils.processes import start_server, stop_server
from tests.utils.server import free_port
from tests.utils.streams import check_stream, read_stream, ws_url

QUEUED = 6
GRACE_S = 10.0  # Docker's and podman's default stop timeout


def test_sigterm_keeps_the_queue_and_stops_within_the_grace(settings: Settings) -> None:
    port = free_port()
    process = start_server(settings, port, command=[sys.executable, "-m", "app.cli", "serve"])
    base = f"http://127.0.0.1:{port}"
    try:
        running = submit(base, LONG_JOB)["id"]
        waiting = [submit(base, TINY_JOB)["id"] for _ in range(QUEUED)]
        seen, _ = read_stream(base, running, until_type="step")
        with connect(ws_url(base, running, seen[-1]["seq"]), open_timeout=30):  # a student watching
            process.send_signal(signal.SIGTERM)
            start = time.monotonic()
            process.wait(60)
            took = time.monotonic() - start
    finally:
        if process.poll() is None:
            process.kill()
    # uvicorn re-raises the SIGTERM it handled once shut down: -15 is a clean, finished shutdown
    assert process.returncode in (0, -signal.SIGTERM) and took <= GRACE_S, (process.returncode, took)

    engine = make_engine(settings.resolved_database_url)
    with make_sessionmaker(engine)() as session:  # the database, with no server running
        states = dict(session.execute(select(JobRow.id, JobRow.state)).tuples().all())
    engine.dispose()
    assert states == {running: "failed", **dict.fromkeys(waiting, "queued")}

    port = free_port()
    restarted, url = start_server(settings, port), f"http://127.0.0.1:{port}"
    try:
        events = httpx.get(f"{url}/api/jobs/{running}/events", timeout=30).json()
        check_stream(events)
        assert events[: len(seen)] == seen and events[-1]["error"] == STOPPED_REASON
        for job_id in waiting:
            assert wait_for_state(url, job_id, {"done", "failed", "cancelled"})["state"] == "done"
            check_stream(httpx.get(f"{url}/api/jobs/{job_id}/events", timeout=30).json())
    finally:
        stop_server(restarted)
    print(f"SIGTERM with 1 running and {QUEUED} queued: exited in {took:.1f} s")
