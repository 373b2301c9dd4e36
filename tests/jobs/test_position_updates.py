"""Queue position updates are coalesced: only changed positions, at most one per job per second,
the deferred ones flushed later (a fake clock decides what 'later' is)."""

from __future__ import annotations

import json
import time

from app.events import parse_event
from app.jobs.queue import PositionUpdates
from app.training.methods import resolve_job
from app.training.train_config import TrainConfig
from tests.limits.conftest import FakeClock

LONG = resolve_job(
    TrainConfig(model="tiny-llama", method="lora", task="tone", steps=2000, batch_size=1, seq_len=16)
)


def test_only_changed_announcements_and_at_most_one_per_interval() -> None:
    clock = FakeClock()
    updates = PositionUpdates(min_interval_s=1.0, now=clock)
    assert updates.plan({"a": True, "b": True}) == (["a", "b"], None)  # never announced
    updates.sent("a")
    updates.sent("b")
    assert updates.plan({"a": False, "b": False}) == ([], None)  # nothing changed
    clock.advance(0.25)
    assert updates.plan({"b": True}) == ([], 0.75)  # changed, but announced 0.25 s ago; "a" left
    clock.advance(0.75)
    assert updates.plan({"b": True}) == (["b"], None)
    updates.sent("c", first=True)  # a job's submit does not hold back its first move
    assert updates.plan({"c": True}) == (["c"], None)


def _queued_events(store, job_id: str) -> list[int]:  # noqa: ANN001
    events = [parse_event(json.loads(e.data)) for e in store.events_after(job_id)]
    return [e.position for e in events if e.type == "queued"]


def test_a_burst_of_starts_costs_each_waiting_job_one_update(make_runner) -> None:  # noqa: ANN001
    runner = make_runner()
    clock = FakeClock()
    runner.position_updates = PositionUpdates(min_interval_s=1.0, now=clock)
    running = runner.submit(LONG)
    while runner.get(running.id).state.value != "running":
        time.sleep(0.02)
    waiting = [runner.submit(LONG).id for _ in range(30)]
    clock.advance(5)
    for job_id in waiting[:6]:  # six leave the line at once (like six starts)
        runner.cancel(job_id)
    last = waiting[-1]
    # the first departure announced the new position; the next five (same fake second) were held back
    assert _queued_events(runner.store, last) == [29, 28]
    clock.advance(1)
    runner._announce_positions()  # what the flush timer does once the interval has passed
    assert _queued_events(runner.store, last) == [29, 28, 23]  # one more update, to the final position
    total = sum(len(_queued_events(runner.store, j)) for j in waiting[6:])
    assert total == 3 * len(waiting[6:])  # before: 1 + 6 updates each
    for job_id in [running.id, *waiting[6:]]:
        runner.cancel(job_id)
