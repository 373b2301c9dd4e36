"""Queue position updates are coalesced: only changed positions, at most one per job per second,
the deferred ones flushed later (a fake clock decides what 'later' is)."""

from __future__ import annotations

from app.events import parse_event
from app.jobs.queue_policy import PositionUpdates
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


def _queued_events(runner, job_id: str) -> list[int]:  # noqa: ANN001
    events = [parse_event(e.data) for e in runner.store.events_after(job_id)]
    return [e.position for e in events if e.type == "queued"]


def test_a_burst_of_departures_costs_each_waiting_job_one_update(make_runner) -> None:  # noqa: ANN001
    runner = make_runner(tick_s=3600)  # no scheduler ticks: the test says when the flush happens
    # The pool's first start (its fork server importing torch: seconds) must not hold the scheduler
    # thread's dispatch, and its announcement, until the burst below is under way.
    runner.pool.ensure_started()
    clock = FakeClock()
    runner.position_updates = PositionUpdates(min_interval_s=1.0, now=clock)
    submitted = [runner.submit(LONG).id for _ in range(30)]
    waiting = [j for j in submitted if runner.get(j).state.value == "queued"]  # (one may have started)
    clock.advance(5)
    last = waiting[-1]
    start = _queued_events(runner, last)[-1]
    for job_id in waiting[:6]:  # six leave the line at once (like six starts)
        runner.cancel(job_id)
    # the first departure announced the new position; the next five (same fake second) were held back
    assert _queued_events(runner, last)[-2:] == [start, start - 1]
    clock.advance(1)
    runner._announce_positions()  # what the next scheduler tick does once the interval has passed
    assert _queued_events(runner, last)[-3:] == [start, start - 1, start - 6]  # one more, to the final place
    counts = [len(_queued_events(runner, j)) for j in waiting[6:]]
    assert max(counts) <= 4  # without coalescing: up to 1 + 1 + 6 each
    for job_id in submitted:
        runner.cancel(job_id)
