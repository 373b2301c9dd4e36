"""Limits that hold across seats (state in the database, fake clock): joins per address, the
instructor removing and blocking a member, jobs per address however many seats it holds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from app.config import Settings
from app.limits import classes as class_limits
from app.limits.counters import Rate
from app.limits.policies import JOINS_PER_ADDRESS, WRONG_CODES_PER_ADDRESS
from app.main import create_app
from tests.classroom.conftest import settings  # noqa: F401  (fixture)
from tests.classroom.helpers import instructor, open_class, student
from tests.limits.conftest import FakeClock
from tests.utils.server import live_server

LONG = {
    "model": "tiny-llama",
    "method": "lora",
    "task": "tone",
    "steps": 2000,
    "batch_size": 1,
    "seq_len": 16,
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(300 * 10_000.0)


@pytest.fixture
def server(settings: Settings, clock: FakeClock) -> Iterator[str]:  # noqa: F811
    with live_server(create_app(settings, clock=clock)) as base:
        yield base


def _join(base: str, code: str, nickname: str) -> httpx.Response:
    return httpx.post(f"{base}/api/classes/{code}/join", json={"nickname": nickname}, timeout=30)


def test_joins_are_limited_per_address(server: str, clock: FakeClock) -> None:
    code = open_class(server)
    statuses = [_join(server, code, f"kid{i}").status_code for i in range(JOINS_PER_ADDRESS.limit + 5)]
    assert statuses == [201] * JOINS_PER_ADDRESS.limit + [429] * 5
    refused = _join(server, code, "late")
    assert "too many joins" in refused.json()["detail"] and int(refused.headers["Retry-After"]) >= 1
    with instructor(server) as teacher:
        assert teacher.get(f"/api/classes/{code}").json()["members"] == JOINS_PER_ADDRESS.limit
    clock.advance(2 * JOINS_PER_ADDRESS.window_s)
    assert _join(server, code, "real-student").status_code == 201


def test_the_instructor_removes_and_blocks_a_member(server: str) -> None:
    code = open_class(server, limits={"max_steps": 2000})
    ada, bob = student(server, code, "Ada"), student(server, code, "Bob")
    job = ada.post("/api/jobs", json=LONG)
    assert job.status_code == 201, job.text
    with instructor(server) as teacher:
        students = teacher.get(f"/api/classes/{code}/dashboard").json()["students"]
        ada_id = next(s["id"] for s in students if s["name"] == "Ada")
        assert teacher.delete(f"/api/classes/{code}/members/nobody").status_code == 404
        assert bob.delete(f"/api/classes/{code}/members/{ada_id}").status_code == 403  # students cannot
        removed = teacher.delete(f"/api/classes/{code}/members/{ada_id}", params={"block_address": True})
        assert removed.status_code == 200, removed.text
        assert removed.json()["cancelled_jobs"] == [job.json()["id"]]
        assert removed.json()["blocked_address"] == "127.0.0.1"
        names = [s["name"] for s in teacher.get(f"/api/classes/{code}/dashboard").json()["students"]]
        assert names == ["Bob"]  # off the roster
        assert "Ada" in teacher.get(f"/api/classes/{code}/results.csv").text  # still in the results
        assert teacher.delete(f"/api/classes/{code}/members/{ada_id}").status_code == 404  # once only
        deadline = time.monotonic() + 120  # a running job stops at its next step
        while teacher.get(f"/api/jobs/{job.json()['id']}").json()["state"] != "cancelled":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    # the removed seat no longer works, and the blocked address cannot join again
    assert ada.get("/api/classes/me").status_code == 404
    assert ada.post("/api/jobs", json=LONG).status_code == 403
    blocked = _join(server, code, "Ada again")
    assert blocked.status_code == 403 and "blocked" in blocked.json()["detail"]
    assert bob.get("/api/classes/me").status_code == 200  # other seats are untouched


def test_jobs_per_address_hold_across_seats(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(class_limits, "MAX_ACTIVE_PER_ADDRESS", 3)
    code = open_class(server, limits={"max_steps": 2000})  # one job at once per seat
    seats = [student(server, code, f"seat{i}") for i in range(5)]
    statuses = [seat.post("/api/jobs", json=LONG).status_code for seat in seats]
    assert statuses == [201, 201, 201, 429, 429]
    refused = seats[3].post("/api/jobs", json=LONG)
    assert "from your address are queued or running; the limit is 3" in refused.json()["detail"]
    with instructor(server) as teacher:  # the instructor is never limited by address
        pinned = teacher.post(f"/api/classes/{code}/runs", json=LONG)
        assert pinned.status_code == 201 and pinned.json()["queue_position"] == 0  # ahead of the seats
        for job in teacher.get("/api/jobs").json():
            if job["state"] in ("queued", "running"):
                teacher.post(f"/api/jobs/{job['id']}/cancel")


def test_anonymous_jobs_are_capped_per_address(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(class_limits, "MAX_ACTIVE_ANONYMOUS_PER_ADDRESS", 2)
    statuses = [httpx.post(f"{server}/api/jobs", json=LONG, timeout=30).status_code for _ in range(4)]
    assert statuses == [201, 201, 429, 429]
    with instructor(server) as teacher:
        assert teacher.post("/api/jobs", json=LONG).status_code == 201
        for job in teacher.get("/api/jobs").json():
            if job["state"] in ("queued", "running"):
                teacher.post(f"/api/jobs/{job['id']}/cancel")


def test_the_per_address_cap_holds_under_concurrent_submissions(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count and the insert happen in one serialised transaction: a burst of simultaneous
    submissions from one address gets exactly the cap, not the cap plus whatever raced past it."""
    monkeypatch.setattr(class_limits, "MAX_ACTIVE_ANONYMOUS_PER_ADDRESS", 3)
    barrier = threading.Barrier(12)

    def submit(_: int) -> int:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            return client.post(f"{server}/api/jobs", json=LONG).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = sorted(pool.map(submit, range(12)))
    assert statuses == [201] * 3 + [429] * 9
    with instructor(server) as teacher:
        for job in teacher.get("/api/jobs").json():
            if job["state"] in ("queued", "running"):
                teacher.post(f"/api/jobs/{job['id']}/cancel")


def test_class_code_guessing_is_throttled_per_address(server: str, clock: FakeClock) -> None:
    code = open_class(server)
    guesses = [
        _join(server, f"ZZZ{i:03d}", f"g{i}").status_code for i in range(WRONG_CODES_PER_ADDRESS.limit)
    ]
    assert guesses == [404] * WRONG_CODES_PER_ADDRESS.limit
    refused = _join(server, code, "Ada")  # past the limit even the right code waits: guessing stops
    assert refused.status_code == 429 and "unknown class codes" in refused.json()["detail"]
    clock.advance(2 * WRONG_CODES_PER_ADDRESS.window_s)
    assert _join(server, code, "Ada").status_code == 201


def test_a_flood_keeps_the_class_out_at_most_two_windows_and_one_action_clears_it(
    server: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind one NAT address: a flood uses up the address's joins; a real student waits at most two
    windows (the sliding counter's reach), or until the instructor's one action: joining locked, the
    flood's seats removed, the window cleared; reopening lets the class in at once."""
    rate = Rate(20, JOINS_PER_ADDRESS.window_s)  # the policy's shape, small enough to flood quickly
    monkeypatch.setattr(class_limits, "JOINS_PER_ADDRESS", rate)
    code = open_class(server)
    assert _join(server, code, "Ada").status_code == 201  # a real student, before the flood
    flood = [_join(server, code, f"flood{i}").status_code for i in range(rate.limit + 5)]
    assert flood == [201] * (rate.limit - 1) + [429] * 6
    assert _join(server, code, "Bob").status_code == 429  # the class is kept out...
    with instructor(server) as teacher:
        roster = teacher.get(f"/api/classes/{code}/dashboard").json()["students"]
        first = next(s["id"] for s in roster if s["name"] == "flood0")
        undone = teacher.post(f"/api/classes/{code}/flood", json={"first_member": first})
        assert undone.status_code == 200, undone.text
        assert len(undone.json()["removed"]) == rate.limit - 1 and undone.json()["joining_locked"]
        names = [s["name"] for s in teacher.get(f"/api/classes/{code}/dashboard").json()["students"]]
        assert names == ["Ada"]  # the flood is gone, the real student stays
        locked = _join(server, code, "Bob")
        assert locked.status_code == 403 and "locked joining" in locked.json()["detail"]
        assert teacher.post(f"/api/classes/{code}/joining", json={"open": True}).status_code == 200
    assert _join(server, code, "Bob").status_code == 201  # ...until the one action, then at once


def test_without_the_instructor_a_flood_ends_within_two_windows(
    server: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    rate = Rate(20, JOINS_PER_ADDRESS.window_s)
    monkeypatch.setattr(class_limits, "JOINS_PER_ADDRESS", rate)
    code = open_class(server)
    assert [_join(server, code, f"flood{i}").status_code for i in range(rate.limit + 1)][-1] == 429
    clock.advance(rate.window_s)
    assert _join(server, code, "Bob").status_code == 429  # the previous window still weighs
    clock.advance(rate.window_s)
    assert _join(server, code, "Bob").status_code == 201  # the stated bound: two windows (600 s)
