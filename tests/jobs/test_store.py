from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.exc import IntegrityError

from app.db import Base, make_engine, make_sessionmaker
from app.events import Done, Event, EventStamper, Loading, Step, parse_event
from app.jobs.state import IllegalTransition, JobState
from app.jobs.store import RESTART_REASON, JobStore, UnknownJob
from tests.utils.jobs import last_seq, set_state
from tests.utils.streams import check_stream

CONFIG = {"model": "tiny-llama", "method": "lora", "task": "tone", "steps": 3}


@pytest.fixture
def store(database_url: str) -> Iterator[JobStore]:
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    yield JobStore(make_sessionmaker(engine))
    engine.dispose()


def _append(store: JobStore, stamper: EventStamper, event: Event) -> None:
    store.append_event(stamper.stamp(event))


def test_job_lifecycle_and_events(store: JobStore) -> None:
    job = store.create_job("j1", CONFIG, owner="s1")
    assert job.state == JobState.QUEUED and job.owner == "s1" and job.model == "tiny-llama"
    set_state(store, "j1", JobState.RUNNING)
    stamper = EventStamper("j1")
    _append(store, stamper, Loading(stage="model", progress=1.0))
    for step in (1, 2):
        _append(
            store,
            stamper,
            Step(
                step=step, loss=1.0, lr=0.1, grad_norm=1, tokens_per_s=1, elapsed_s=1, eta_s=1, memory_bytes=0
            ),
        )
    _append(store, stamper, Done(summary={"final_loss": 0.5}))
    job = store.get_job("j1")
    assert job is not None and job.state == JobState.DONE and job.summary == {"final_loss": 0.5}
    assert job.started_at is not None and job.finished_at is not None
    events = [parse_event(e.data).model_dump() for e in store.events_after("j1")]
    check_stream(events)
    assert [(e.seq, e.type, e.terminal) for e in store.events_after("j1", after=2)] == [
        (3, "step", False),
        (4, "done", True),
    ]
    assert store.events_after("j1", after=4) == []
    assert last_seq(store, "j1") == 4


def test_a_seq_cannot_be_stored_twice(store: JobStore) -> None:
    store.create_job("j1", CONFIG)
    event = EventStamper("j1").stamp(Loading(stage="model", progress=0.0))
    store.append_event(event)
    with pytest.raises(IntegrityError):
        store.append_event(event)


def test_finished_jobs_reject_new_states(store: JobStore) -> None:
    store.create_job("j1", CONFIG)
    set_state(store, "j1", JobState.CANCELLED)
    with pytest.raises(IllegalTransition):
        set_state(store, "j1", JobState.RUNNING)
    with pytest.raises(UnknownJob):
        set_state(store, "nope", JobState.RUNNING)


def test_restart_fails_running_jobs_keeps_queued_ones_and_all_events(store: JobStore) -> None:
    store.create_job("running", CONFIG)
    store.create_job("queued", CONFIG)
    store.create_job("finished", CONFIG)
    set_state(store, "running", JobState.RUNNING)
    set_state(store, "finished", JobState.CANCELLED)
    _append(store, EventStamper("running"), Loading(stage="model", progress=0.5))

    assert store.fail_running() == ["running"]
    assert store.get_job("queued").state == JobState.QUEUED  # type: ignore[union-attr]

    for job_id in ("running",):
        job = store.get_job(job_id)
        assert job is not None and job.state == JobState.FAILED and job.error == RESTART_REASON
        events = [parse_event(e.data).model_dump() for e in store.events_after(job_id)]
        check_stream(events)
        assert events[-1]["error"] == RESTART_REASON
    assert len(store.events_after("running")) == 2
    assert store.get_job("finished").state == JobState.CANCELLED  # type: ignore[union-attr]
    assert store.fail_running() == []


def test_list_jobs_newest_first_and_by_owner(store: JobStore) -> None:
    for job_id, owner in (("a", "s1"), ("b", "s2"), ("c", "s1")):
        store.create_job(job_id, CONFIG, owner=owner)
    assert [j.id for j in store.list_jobs()] == ["c", "b", "a"]
    assert [j.id for j in store.list_jobs(owner="s1")] == ["c", "a"]


def test_uploaded_tasks(store: JobStore) -> None:
    store.add_task(
        name="mine",
        kind="chat",
        filename="mine.jsonl",
        path="tasks/mine.jsonl",
        n_examples=5,
        size_bytes=100,
        owner=None,
    )
    task = store.get_task("mine")
    assert task is not None and task.n_examples == 5 and task.path == "tasks/mine.jsonl"
    assert [t.name for t in store.list_tasks()] == ["mine"]
    assert store.get_task("other") is None
