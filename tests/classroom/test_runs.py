"""Runs in a class: the limits a student's job must pass, who sees and cancels what, and one pinned
run (tiny-llama, trained for real) reaching every connected student."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from websockets.asyncio.client import connect

from tests.classroom.helpers import instructor, open_class, student
from tests.utils.streams import check_stream

TINY = {"model": "tiny-llama", "method": "lora", "task": "tone", "steps": 4}
LIMITS = {
    "allowed_models": ["tiny-llama"],
    "allowed_methods": ["lora"],
    "max_steps": 10,
    "max_active_jobs": 1,
    "max_submissions": 2,
    "window_s": 600,
}


def test_student_jobs_within_the_class_limits(server: str) -> None:
    code = open_class(server, limits=LIMITS)
    ada, bo = student(server, code, "Ada"), student(server, code, "Bo")
    teacher = instructor(server)
    # Anonymous training is closed while a class is open (else clearing a cookie skips the limits).
    anonymous = httpx.post(f"{server}/api/jobs", json=TINY, timeout=30)
    assert anonymous.status_code == 403 and "/join" in anonymous.json()["detail"]

    for change, field in (
        ({"model": "smollm2-135m"}, "model"),
        ({"method": "full"}, "method"),
        ({"steps": 11}, "steps"),
    ):
        refused = ada.post("/api/jobs", json={**TINY, **change})
        assert refused.status_code == 422, refused.text
        detail = refused.json()["detail"][0]
        assert detail["loc"] == ["body", field], detail
        assert field in detail["msg"] or "allowed" in detail["msg"]

    # The instructor's long job holds the worker, so the student's job stays queued.
    blocker = teacher.post("/api/jobs", json={**TINY, "steps": 2000}).json()
    first = ada.post("/api/jobs", json=TINY)
    assert first.status_code == 201, first.text
    job = first.json()["id"]
    busy = ada.post("/api/jobs", json=TINY)
    assert busy.status_code == 429 and "at once" in busy.json()["detail"]

    # Students see their own jobs only; they cannot cancel the instructor's.
    assert [j["id"] for j in ada.get("/api/jobs").json()] == [job]
    assert bo.get(f"/api/jobs/{job}").status_code == 404
    assert bo.post(f"/api/jobs/{job}/cancel").status_code == 404
    assert httpx.get(f"{server}/api/jobs/{job}/events", timeout=30).status_code == 404
    assert ada.post(f"/api/jobs/{blocker['id']}/cancel").status_code == 403
    assert teacher.get(f"/api/jobs/{job}").json()["owner"].startswith("student:")
    assert ada.post(f"/api/jobs/{job}/cancel").status_code == 200

    second = ada.post("/api/jobs", json=TINY)  # one active allowed again; two in the window so far
    assert second.status_code == 201
    ada.post(f"/api/jobs/{second.json()['id']}/cancel")
    rate = ada.post("/api/jobs", json=TINY)
    assert rate.status_code == 429 and int(rate.headers["retry-after"]) > 500
    assert bo.post("/api/jobs", json=TINY).status_code == 201  # Bo has his own allowance

    board = teacher.get(f"/api/classes/{code}/dashboard").json()
    assert sorted(r["who"] for r in board["runs"]) == ["Ada", "Ada", "Bo"]
    assert {s["name"]: s["runs"] for s in board["students"]} == {"Ada": 2, "Bo": 1}

    teacher.put(f"/api/classes/{code}/limits", json={**LIMITS, "students_can_train": False})
    assert student(server, code, "Cy").post("/api/jobs", json=TINY).status_code == 403
    bad = teacher.put(f"/api/classes/{code}/limits", json={**LIMITS, "max_steps": 0})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "max_steps"

    teacher.post(f"/api/classes/{code}/close")
    assert httpx.post(f"{server}/api/jobs", json=TINY, timeout=30).status_code == 201  # no class open
    for job_id in [blocker["id"], *[j["id"] for j in teacher.get("/api/jobs").json()]]:
        teacher.post(f"/api/jobs/{job_id}/cancel")


async def _follow_class(base: str, code: str, cookies: dict[str, str]) -> list[dict[str, Any]]:
    """One student's page: the class socket until a run is pinned, then that run's stream to the end."""
    header = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    ws_base = base.replace("http://", "ws://")
    async with connect(f"{ws_base}/ws/classes/{code}", additional_headers=header, open_timeout=30) as socket:
        state = json.loads(await asyncio.wait_for(socket.recv(), 30))
        while state["pinned_job_id"] is None:
            state = json.loads(await asyncio.wait_for(socket.recv(), 60))
    events = []
    job_url = f"{ws_base}/ws/jobs/{state['pinned_job_id']}?after=0"
    async with connect(job_url, additional_headers=header, open_timeout=30) as stream:
        async for message in stream:
            events.append(json.loads(message))
    return events


def test_a_pinned_run_reaches_every_student(server: str) -> None:
    code = open_class(server)
    students = [student(server, code, f"s{i}") for i in range(30)]
    cookies = [dict(s.cookies) for s in students]

    async def scenario() -> tuple[str, list[list[dict[str, Any]]]]:
        watchers = [asyncio.create_task(_follow_class(server, code, c)) for c in cookies]
        await asyncio.sleep(1.0)  # every page is connected before the instructor pins
        async with httpx.AsyncClient(
            base_url=server, headers=instructor(server).headers, timeout=30
        ) as teacher:
            started = await teacher.post(f"/api/classes/{code}/runs", json=TINY)
            assert started.status_code == 201, started.text
        return started.json()["id"], await asyncio.wait_for(asyncio.gather(*watchers), 600)

    job_id, seen = asyncio.run(scenario())
    assert len(seen) == 30
    check_stream(seen[0])  # consecutive seqs from 1, one terminal event at the end
    assert seen[0][-1]["type"] == "done" and seen[0][0]["job_id"] == job_id
    assert sum(e["type"] == "step" for e in seen[0]) == TINY["steps"]
    assert all(events == seen[0] for events in seen)  # everyone saw the same real run
    with instructor(server) as teacher:
        board = teacher.get(f"/api/classes/{code}/dashboard").json()
    assert board["class"]["pinned_job_id"] == job_id
    assert [(r["who"], r["pinned"], r["state"]) for r in board["runs"]] == [("instructor", True, "done")]
