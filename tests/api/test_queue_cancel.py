"""Queue order and positions, cancelling while queued and while running."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.api.conftest import LONG_JOB, TINY_JOB, submit, wait_for_state
from tests.utils.streams import check_stream, read_stream
from tests.utils.worker_probes import track_model, tracked_models_freed


def test_jobs_queue_in_order_with_positions_and_cancel_while_queued(server: str) -> None:
    first = submit(server, LONG_JOB)
    wait_for_state(server, first["id"], {"running"})
    # long enough that the fourth job's move to the front is announced before it starts: position
    # updates go out at most once a second per job, and a warm worker runs TINY_JOB in well under that
    second = submit(server, {**TINY_JOB, "steps": 300})
    third = submit(server, TINY_JOB)
    fourth = submit(server, TINY_JOB)
    assert [j["queue_position"] for j in (second, third, fourth)] == [0, 1, 2]
    assert httpx.get(f"{server}/api/jobs/{third['id']}").json()["queue_position"] == 1
    assert httpx.get(f"{server}/api/health").json()["queue"] == {"queued": 3, "running": 1, "workers": 1}

    cancelled = httpx.post(f"{server}/api/jobs/{third['id']}/cancel").json()
    assert cancelled["state"] == "cancelled" and cancelled["queue_position"] is None
    assert httpx.get(f"{server}/api/jobs/{fourth['id']}").json()["queue_position"] == 1
    assert httpx.post(f"{server}/api/jobs/{third['id']}/cancel").status_code == 409

    third_events, _ = read_stream(server, third["id"])
    check_stream(third_events)
    assert [e["type"] for e in third_events] == ["queued", "cancelled"]

    httpx.post(f"{server}/api/jobs/{first['id']}/cancel")
    second_events, _ = read_stream(server, second["id"])
    fourth_events, _ = read_stream(server, fourth["id"])
    for events in (second_events, fourth_events):
        check_stream(events)
        assert events[-1]["type"] == "done"
    # each waiting job heard its position change as the line moved, with an estimate
    positions = [e["position"] for e in fourth_events if e["type"] == "queued"]
    moves = [p for i, p in enumerate(positions) if i == 0 or p != positions[i - 1]]  # not ETA refreshes
    assert moves == [2, 1, 0], positions
    assert all(e["eta_s"] is not None and e["eta_s"] >= 0 for e in fourth_events if e["type"] == "queued")
    jobs = {j["id"]: j for j in httpx.get(f"{server}/api/jobs").json()}
    assert jobs[second["id"]]["started_at"] < jobs[fourth["id"]]["started_at"]
    assert jobs[first["id"]]["state"] == "cancelled"


def test_cancel_while_running_ends_the_stream_and_frees_the_model(app: FastAPI, server: str) -> None:
    job_id = submit(server, LONG_JOB)["id"]
    head, _ = read_stream(server, job_id, until_type="step")
    assert head[-1]["type"] == "step"
    runner = app.state.runner
    assert runner.call(job_id, track_model, restore=False)  # in the worker that trains it

    response = httpx.post(f"{server}/api/jobs/{job_id}/cancel")
    assert response.status_code == 200
    rest, code = read_stream(server, job_id, after=head[-1]["seq"])
    events = head + rest
    check_stream(events)
    assert events[-1]["type"] == "cancelled" and code == 1000
    assert max(e["step"] for e in events if e["type"] == "step") < LONG_JOB["steps"]
    job = wait_for_state(server, job_id, {"cancelled"})
    assert job["finished_at"] is not None

    assert runner.holds(job_id) is None
    assert runner.pool.ask(tracked_models_freed) == [True], "the cancelled job's model is still referenced"
