"""Leases with an injected clock: one scheduler at a time, taken over when its holder is gone (an
expired lease on another host; at once when the holder's process on this host is dead)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import update

from app.db import Base, make_engine, make_sessionmaker
from app.jobs.leases import SCHEDULER, LeaseRow, Leases, server_lease


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


def test_a_slow_renewal_on_this_host_is_not_a_death(leases: tuple[Leases, Clock]) -> None:
    store, clock = leases
    assert store.acquire(server_lease("a"), "a")
    clock.now += 60  # a busy machine delayed the renewal; the process is alive
    assert store.gone({"a"}) == set()
