"""Leases with an injected clock: one scheduler at a time, taken over when its holder is gone (an
expired lease on any host; at once when the holder's process on this host is dead or a zombie)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from app.db import Base, make_engine, make_sessionmaker
from app.jobs.leases import SCHEDULER, LeaseRow, Leases, server_lease
from tests.jobs.conftest import wait_state
from tests.utils.jobs import TINY, stored_events


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def leases(database_url: str) -> Iterator[tuple[Leases, Clock]]:
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    clock = Clock()
    yield Leases(make_sessionmaker(engine), clock, ttl_s=15.0), clock
    engine.dispose()


def _move(leases: Leases, name: str, **values: object) -> None:
    with leases._sessions.begin() as session:
        session.execute(update(LeaseRow).where(LeaseRow.name == name).values(**values))


def test_one_scheduler_until_its_lease_lapses_on_another_host(leases: tuple[Leases, Clock]) -> None:
    store, clock = leases
    assert store.acquire(SCHEDULER, "a") and store.acquire(SCHEDULER, "a")  # taken, then renewed
    assert not store.acquire(SCHEDULER, "b")
    _move(store, SCHEDULER, host="another-host")  # as if "a" ran elsewhere
    clock.now += 14.9
    assert not store.acquire(SCHEDULER, "b")  # renewed at 1000: valid until 1015
    clock.now += 0.2
    assert store.acquire(SCHEDULER, "b") and store.holder_of(SCHEDULER).holder == "b"  # type: ignore[union-attr]
    assert not store.acquire(SCHEDULER, "a")


def test_a_dead_process_on_this_host_is_gone_at_once(leases: tuple[Leases, Clock]) -> None:
    store, _ = leases
    assert store.acquire(server_lease("a"), "a") and store.acquire(server_lease("b"), "b")
    assert store.gone({"a", "b", "never-seen"}) == {"never-seen"}
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    _move(store, server_lease("a"), pid=int(dead.stdout))  # its process has exited
    assert store.gone({"a", "b"}) == {"a"}  # no waiting for the lease to run out
    assert store.live_servers(other_than="b") == set()


def test_a_live_pid_on_this_host_does_not_outlast_the_expiry(leases: tuple[Leases, Clock]) -> None:
    """A killed server's pid reused by another process (here: this test's own pid, alive) keeps
    the lease only until it expires, and its scheduler lease passes on then."""
    store, clock = leases
    assert store.acquire(server_lease("a"), "a") and store.acquire(SCHEDULER, "a")
    clock.now += 14.9
    assert store.gone({"a"}) == set() and not store.acquire(SCHEDULER, "b")
    clock.now += 0.2  # past the expiry: a live pid does not revive a lease nobody renewed
    assert store.gone({"a"}) == {"a"} and store.acquire(SCHEDULER, "b")


def test_a_zombie_on_this_host_is_gone_at_once(leases: tuple[Leases, Clock]) -> None:
    store, _ = leases
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    while Path(f"/proc/{zombie.pid}/stat").read_text().split(") ")[1][0] != "Z":  # exited, not reaped
        time.sleep(0.01)
    assert store.acquire(server_lease("a"), "a")
    _move(store, server_lease("a"), pid=zombie.pid)
    assert store.gone({"a"}) == {"a"}  # os.kill(pid, 0) still succeeds on a zombie
    zombie.wait()


def test_a_runner_blocked_in_dispatch_keeps_its_leases(make_runner) -> None:  # noqa: ANN001
    """The real local executor's dispatch blocked (as placing a Ray actor may block for minutes) for
    more than twice the lease time: the renewal thread keeps both leases, so a second runner on the
    same database neither fails the job as lost nor takes over scheduling; unblocked, the job runs."""
    clock = Clock()
    first = make_runner(clock=clock, tick_s=0.05)
    second = make_runner(clock=clock, tick_s=0.05)
    assert first.is_scheduler and not second.is_scheduler
    blocked, unblock = threading.Event(), threading.Event()
    real_dispatch = first.pool.dispatch

    def slow_dispatch(job_id: str) -> str | None:
        blocked.set()
        unblock.wait(120)
        return real_dispatch(job_id)

    first.pool.dispatch = slow_dispatch
    try:
        job_id = first.submit(TINY).id
        assert blocked.wait(60), "the job was never dispatched"
        for _ in range(7):  # 7 × 5 s (the renewal interval, ttl/3) = 35 s of blocked dispatch
            clock.now += 5.0
            for runner in (first, second):  # each renews at the new time; second has swept before
                _until_renewed(runner, clock.now + first.leases.ttl_s)
            assert first.get(job_id).state.value == "running"  # type: ignore[union-attr]
            assert first.leases.holder_of(SCHEDULER).holder == first.holder  # type: ignore[union-attr]
            assert first.is_scheduler and not second.is_scheduler
    finally:
        unblock.set()
    wait_state(first, job_id, {"done", "failed", "cancelled"}, timeout=120)
    assert [e["type"] for e in stored_events(first, job_id)][-1] == "done"


def _until_renewed(runner, expires_at: float) -> None:  # noqa: ANN001
    lease = server_lease(runner.holder)
    deadline = time.monotonic() + 30
    while runner.leases.holder_of(lease).expires_at != expires_at:  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"{runner.holder}'s server lease was not renewed"
        time.sleep(0.01)


def test_a_runner_that_lost_the_scheduler_lease_dispatches_nothing(make_runner) -> None:  # noqa: ANN001
    """Its renewal finds the lease taken (here by a process on another host): the queue waits for
    whoever holds it; once that lease lapses this runner takes it back and the job runs."""
    clock = Clock()
    runner = make_runner(clock=clock, tick_s=0.05)
    assert runner.is_scheduler
    _move(runner.leases, SCHEDULER, holder="elsewhere", host="another-host", expires_at=clock.now + 15)
    clock.now += 5.0
    _until_renewed(runner, clock.now + 15)
    job_id = runner.submit(TINY).id
    time.sleep(1.0)  # 20 scheduler ticks, each of which would dispatch it if this runner still scheduled
    assert not runner.is_scheduler and runner.get(job_id).state.value == "queued"  # type: ignore[union-attr]
    clock.now += 11.0  # past the other holder's expiry
    wait_state(runner, job_id, {"done", "failed", "cancelled"}, timeout=120)
    assert runner.is_scheduler and runner.get(job_id).state.value == "done"  # type: ignore[union-attr]
