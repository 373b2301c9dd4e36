"""The instructor's and pinned runs go first and have a reserved share of the queue."""

from __future__ import annotations

import time

import pytest

from app.jobs.queue import NORMAL, PRIVILEGED, FairQueue, admits, queue_priority
from app.jobs.runner import QueueFull
from app.training.methods import resolve_job
from app.training.train_config import TrainConfig

LONG = resolve_job(
    TrainConfig(model="tiny-llama", method="lora", task="tone", steps=2000, batch_size=1, seq_len=16)
)


def test_privileged_jobs_go_first_and_owners_still_take_turns_within_a_priority() -> None:
    queue = FairQueue()
    for job in ("s1", "s2"):
        queue.push(job, "student:1")
    queue.push("t1", "student:2")
    queue.push("i1", "instructor", queue_priority("instructor"))
    queue.push("s3", "student:1")
    assert queue.order() == ["i1", "s1", "t1", "s2", "s3"]
    assert queue.promote("s3", "student:1")  # pinned while waiting
    assert queue.order() == ["i1", "s3", "s1", "t1", "s2"]
    assert [queue.pop() for _ in range(6)] == ["i1", "s3", "s1", "t1", "s2", None]
    assert len(queue) == 0 and queue.count("student:1") == 0


def test_priorities() -> None:
    assert (
        queue_priority("instructor") == PRIVILEGED and queue_priority("student:x", pinned=True) == PRIVILEGED
    )
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
    deadline = time.monotonic() + 120
    while runner.get(running.id).state.value != "running":
        assert time.monotonic() < deadline, "the first job never started"
        time.sleep(0.02)
    anonymous = []
    with pytest.raises(QueueFull):
        for _ in range(20):
            anonymous.append(runner.submit(LONG, owner=None))
    assert len(anonymous) == 9  # 10 places, 1 of them reserved
    teacher = runner.submit(LONG, owner="instructor")
    assert teacher.queue_position == 0  # ahead of every waiting student or anonymous job
    assert runner.get(anonymous[-1].id).queue_position == 9
    runner.cancel(running.id)
