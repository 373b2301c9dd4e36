"""Test-only views of the jobs package: moving a stored job's state by hand, its last seq, and how
many tuned models the live workers rebuilt (the app itself never needs these)."""

from __future__ import annotations

from typing import Any

from app.events import parse_event
from app.jobs.executors.worker import count_restores
from app.jobs.runner import Runner
from app.jobs.state import JobState
from app.jobs.store import JobStore, JobView
from app.training.methods import resolve_job
from app.training.train_config import TrainConfig

TINY_CONFIG = TrainConfig(
    model="tiny-llama", method="lora", task="tone", steps=3, batch_size=2, seq_len=32, max_new_tokens=4
)
TINY = resolve_job(TINY_CONFIG)
LONG = resolve_job(TINY_CONFIG.model_copy(update={"steps": 2000}))


def set_state(store: JobStore, job_id: str, state: JobState, **fields: Any) -> JobView:
    """Move a job to ``state`` (the transition checked as the store checks it) and set other columns."""
    with store._sessions.begin() as session:
        row = store._row(session, job_id)
        store._apply_state(row, state)
        for name, value in fields.items():
            setattr(row, name, value)
        return JobView.of(row)


def last_seq(store: JobStore, job_id: str) -> int:
    events = store.events_after(job_id)
    return events[-1].seq if events else 0


def restores(runner: Runner) -> int:
    """Models rebuilt from adapters by the live workers."""
    return sum(runner.pool.ask(count_restores)) if runner.pool.started else 0


def stored_events(runner: Runner, job_id: str) -> list[dict]:
    return [parse_event(e.data).model_dump() for e in runner.store.events_after(job_id)]
