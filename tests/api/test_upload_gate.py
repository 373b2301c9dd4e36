"""Uploads follow the rules of training (a class open on the server means a seat or the
instructor), are named per owner, and are capped per owner (rate in the database, on a fake clock)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from app.config import Settings
from app.jobs.files.uploads import MAX_UPLOADS_PER_OWNER
from app.limits.policies import UPLOADS_PER_OWNER
from app.main import create_app
from tests.classroom.conftest import settings  # noqa: F401  (fixture)
from tests.classroom.helpers import instructor, open_class, student
from tests.limits.conftest import FakeClock
from tests.utils.server import live_server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(settings: Settings, clock: FakeClock) -> Iterator[str]:  # noqa: F811
    with live_server(create_app(settings, clock=clock)) as base:
        yield base


def _rows(tag: str) -> bytes:
    return b"".join(
        json.dumps({"prompt": f"{tag} {i}", "answer": f"a{i}"}).encode() + b"\n" for i in range(12)
    )


def _upload(client: httpx.Client, name: str, tag: str = "q") -> httpx.Response:
    return client.post("/api/tasks", data={"name": name}, files={"file": (f"{name}.jsonl", _rows(tag))})


def _job(client: httpx.Client, task: str) -> httpx.Response:
    return client.post("/api/jobs", json={"model": "tiny-llama", "method": "lora", "task": task, "steps": 1})


def test_uploads_need_a_seat_or_the_instructor_while_a_class_is_open(server: str) -> None:
    anonymous = httpx.Client(base_url=server, timeout=30)
    assert _upload(anonymous, "before").status_code == 201  # no class: the single-user laptop
    code = open_class(server)
    refused = _upload(anonymous, "during")
    assert refused.status_code == 403 and "class is open" in refused.json()["detail"]
    shared = _upload(instructor(server), "shared")
    assert shared.status_code == 201 and shared.json()["name"] == "shared"  # the instructor's keep their name
    ada = student(server, code, "Ada")
    assert _upload(ada, "mine").status_code == 201
    with instructor(server) as teacher:
        limits = teacher.get(f"/api/classes/{code}").json()["limits"]
        teacher.put(f"/api/classes/{code}/limits", json={**limits, "students_can_train": False})
    off = _upload(ada, "again")
    assert off.status_code == 403 and "uploads are off" in off.json()["detail"]


def test_names_are_scoped_to_their_owner(server: str) -> None:
    code = open_class(server)
    ada, bob = student(server, code, "Ada"), student(server, code, "Bob")
    first, second = _upload(ada, "mine", "ada"), _upload(bob, "mine", "bob")
    assert first.status_code == second.status_code == 201  # no first come, first served
    ada_task, bob_task = first.json()["name"], second.json()["name"]
    assert ada_task != bob_task and ada_task.startswith("mine~") and bob_task.startswith("mine~")
    assert _upload(instructor(server), "for-class").status_code == 201
    # each sees their own and the instructor's, never the other student's
    seen_by_ada = {t["name"] for t in ada.get("/api/tasks").json()}
    assert ada_task in seen_by_ada and "for-class" in seen_by_ada and bob_task not in seen_by_ada
    # "mine" means each one's own task; the other's stored name is unknown to them
    job = _job(ada, "mine")
    assert job.status_code == 201, job.text
    assert ada.get(f"/api/jobs/{job.json()['id']}").json()["task"] == ada_task
    stolen = _job(ada, bob_task)
    assert stolen.status_code == 422 and stolen.json()["detail"][0]["loc"] == ["body", "task"]
    shared = _job(bob, "for-class")  # the instructor's upload is everyone's
    assert (
        shared.status_code == 201
        and bob.get(f"/api/jobs/{shared.json()['id']}").json()["task"] == "for-class"
    )


def test_uploads_per_owner_are_rate_limited_and_capped(server: str, clock: FakeClock) -> None:
    anonymous = httpx.Client(base_url=server, timeout=30)
    statuses = [_upload(anonymous, f"t{i}").status_code for i in range(UPLOADS_PER_OWNER.limit + 1)]
    assert statuses == [201] * UPLOADS_PER_OWNER.limit + [429]
    made = UPLOADS_PER_OWNER.limit
    while made < MAX_UPLOADS_PER_OWNER:
        clock.advance(2 * UPLOADS_PER_OWNER.window_s)
        for _ in range(min(UPLOADS_PER_OWNER.limit, MAX_UPLOADS_PER_OWNER - made)):
            assert _upload(anonymous, f"t{made}").status_code == 201
            made += 1
    clock.advance(2 * UPLOADS_PER_OWNER.window_s)
    capped = _upload(anonymous, "one-too-many")
    assert capped.status_code == 413 and f"limit is {MAX_UPLOADS_PER_OWNER}" in capped.json()["detail"]
    assert _upload(instructor(server), "teacher-is-not-capped").status_code == 201
