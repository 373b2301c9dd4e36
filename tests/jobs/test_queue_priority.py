"""The instructor's runs go first and have a reserved share of the queue."""

from __future__ import annotations

import pytest

from app.jobs.queue_policy import NORMAL, PRIVILEGED, admits, fair_order, queue_priority
from app.jobs.runner import QueueFull
from app.jobs.store import QueuedJob
from app.training.methods import resolve_job
from app.training.train_config import TrainConfig
from tests.jobs.conftest import wait_state

LONG = resolve_job(
    TrainConfig(model="tiny-llama", method="lora", task="tone", steps=2000, batch_size=1, seq_len=16)
)


def _job(job_id: str, owner: str | None, at: float) -> QueuedJob:
    return QueuedJob(job_id, owner, at, None, "tiny-llama", "lora", 10)


def test_privileged_jobs_go_first_and_owners_still_take_turns_within_a_priority() -> None:
    waiting = [
        _job("s1", "student:1", 1.0),
        _job("s2", "student:1", 2.0),
        _job("t1", "student:2", 3.0),
        _job("i1", "instructor", 4.0),
        _job("a1", None, 5.0),
        _job("i2", "instructor", 6.0),
    ]
    assert fair_order(waiting, {}) == ["i1", "i2", "s1", "t1", "a1", "s2"]


def test_a_pinned_run_waits_in_the_instructors_line_whoever_owns_it() -> None:
    waiting = [
        _job("s1", "student:1", 1.0),
        _job("t1", "student:2", 2.0)._replace(pinned=True),
        _job("i1", "instructor", 3.0),
    ]
    assert fair_order(waiting, {}) == ["t1", "i1", "s1"]


def test_priorities() -> None:
    assert queue_priority("instructor") == PRIVILEGED
    assert queue_priority(None) == NORMAL and queue_priority("student:x") == NORMAL


@pytest.mark.parametrize(
    ("queued", "priority", "admitted"),
    [
        (0, NORMAL, True),
        (449, NORMAL, True),
        (450, NORMAL, False),
        (450, PRIVILEGED, True),
        (499, PRIVILEGED, True),
    ],
)
def test_a_share_of_the_queue_is_reserved(queued: int, priority: int, admitted: bool) -> None:
    assert admits(queued, 500, priority) is admitted
    assert not admits(500, 500, PRIVILEGED)


def test_a_full_queue_still_takes_the_instructors_run_and_starts_it_first(make_runner) -> None:  # noqa: ANN001
    runner = make_runner(max_queued=10)
    running = runner.submit(LONG, owner=None)  # holds the worker
    wait_state(runner, running.id, {"running"})
    anonymous = []
    with pytest.raises(QueueFull):
        for _ in range(20):
            anonymous.append(runner.submit(LONG, owner=None))
    assert len(anonymous) == 9  # 10 places, 1 of them reserved
    teacher = runner.submit(LONG, owner="instructor")
    assert teacher.queue_position == 0  # ahead of every waiting student or anonymous job
    assert runner.get(anonymous[-1].id).queue_position == 9
    for job in [running, teacher, *anonymous]:
        runner.cancel(job.id)


def test_pinning_a_waiting_students_run_moves_it_to_the_front(make_runner) -> None:  # noqa: ANN001
    runner = make_runner(max_queued=10)
    running = runner.submit(LONG, owner=None)  # holds the worker
    wait_state(runner, running.id, {"running"})
    students = [runner.submit(LONG, owner=f"student:{i}") for i in range(4)]
    assert runner.get(students[3].id).queue_position == 3
    runner.pin(students[3].id)
    assert runner.get(students[3].id).queue_position == 0
    assert [runner.get(job.id).queue_position for job in students[:3]] == [1, 2, 3]
    announced = [e for e in runner.store.events_after(students[3].id) if e.type == "queued"]
    assert '"position":0' in announced[-1].data  # the room is told, not only a later GET
    runner.pin(students[3].id, False)
    assert runner.get(students[3].id).queue_position == 3
    for job in [running, *students]:
        runner.cancel(job.id)
