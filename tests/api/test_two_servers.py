"""A second server on the same database never touches the first one's live jobs (it used to mark
them `failed: server restarted`, after which the first died on a duplicate seq); it can submit,
watch and cancel them, and the first one's scheduler runs what it submits."""

from __future__ import annotations

import httpx

from app.config import Settings
from tests.api.conftest import LONG_JOB, TINY_JOB, submit, wait_for_state
from tests.utils.processes import start_server, stop_server
from tests.utils.server import free_port
from tests.utils.streams import check_stream, read_stream


def test_a_second_server_leaves_live_jobs_alone(settings: Settings) -> None:
    first_port, second_port = free_port(), free_port()
    first = start_server(settings, first_port)
    a, b = f"http://127.0.0.1:{first_port}", f"http://127.0.0.1:{second_port}"
    second = None
    try:
        running = submit(a, LONG_JOB)["id"]
        head, _ = read_stream(a, running, until_type="step")
        second = start_server(settings, second_port)  # the same data dir and database

        job = httpx.get(f"{b}/api/jobs/{running}", timeout=30).json()
        assert job["state"] == "running" and job["error"] is None
        more, _ = read_stream(b, running, after=head[-1]["seq"], limit=3)  # still training, seen on B
        assert [e["type"] for e in more] == ["step"] * 3 and more[0]["seq"] == head[-1]["seq"] + 1

        other = submit(b, TINY_JOB)["id"]  # submitted on B, scheduled by A (one scheduler)
        assert httpx.post(f"{b}/api/jobs/{running}/cancel", timeout=30).status_code == 200
        assert wait_for_state(a, running, {"cancelled", "failed", "done"})["state"] == "cancelled"
        assert wait_for_state(b, other, {"cancelled", "failed", "done"})["state"] == "done"
        for job_id in (running, other):
            events = httpx.get(f"{a}/api/jobs/{job_id}/events", timeout=30).json()
            check_stream(events)
            assert events == read_stream(b, job_id)[0]
        assert {httpx.get(f"{b}/api/jobs/{j}", timeout=30).json()["node"] for j in (running, other)} != {None}

        stop_server(second)
        third = submit(a, TINY_JOB)["id"]  # the first server's queue is alive and well
        assert wait_for_state(a, third, {"cancelled", "failed", "done"})["state"] == "done"
    finally:
        for process in (first, second):
            if process is not None:
                stop_server(process)
