"""A job through HTTP and the websocket: consecutive seq, terminal last, reconnects lose nothing."""

from __future__ import annotations

import httpx

from tests.api.conftest import TINY_JOB, submit
from tests.utils.streams import check_stream, read_stream


def test_job_over_http_and_websocket(server: str) -> None:
    created = submit(server, TINY_JOB)
    assert created["state"] == "queued" and created["queue_position"] == 0

    events, code = read_stream(server, created["id"])

    check_stream(events)
    assert code == 1000
    types = [e["type"] for e in events]
    assert types[0] == "queued" and types[-1] == "done"
    assert "started" in types and types.count("step") == TINY_JOB["steps"]
    assert {e["job_id"] for e in events} == {created["id"]}
    job = httpx.get(f"{server}/api/jobs/{created['id']}").json()
    assert job["state"] == "done" and job["summary"] == events[-1]["summary"]
    assert job["config"]["steps"] == TINY_JOB["steps"] and job["has_adapter"]
    assert httpx.get(f"{server}/api/jobs/{created['id']}/events").json() == events


def test_reconnect_with_after_returns_exactly_the_rest(server: str) -> None:
    job_id = submit(server, {**TINY_JOB, "steps": 8})["id"]
    # a browser that sees three events, then refreshes, then comes back with after=3
    first, code = read_stream(server, job_id, limit=3)
    assert code is None and [e["seq"] for e in first] == [1, 2, 3]
    rest, code = read_stream(server, job_id, after=3)
    assert code == 1000
    check_stream(first + rest)

    stored = httpx.get(f"{server}/api/jobs/{job_id}/events").json()
    assert first + rest == stored
    for after in (0, 1, len(stored) // 2, len(stored) - 1):
        replay, code = read_stream(server, job_id, after=after)
        assert replay == stored[after:] and code == 1000
        over_http = httpx.get(f"{server}/api/jobs/{job_id}/events", params={"after": after}).json()
        assert over_http == stored[after:]
    # after the terminal event there is nothing more; the socket still closes normally
    assert read_stream(server, job_id, after=len(stored)) == ([], 1000)


def test_unknown_job(server: str) -> None:
    assert httpx.get(f"{server}/api/jobs/nope").status_code == 404
    assert httpx.get(f"{server}/api/jobs/nope/events").status_code == 404
    assert read_stream(server, "nope") == ([], 4404)
