"""The life of a job as a small state machine: illegal transitions raise."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED


FINISHED = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})

_ALLOWED: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.FAILED, JobState.CANCELLED}),
    JobState.RUNNING: frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED}),
    JobState.DONE: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}

# The terminal event type a finished state is announced with.
STATE_OF_TERMINAL_EVENT: dict[str, JobState] = {
    "done": JobState.DONE,
    "failed": JobState.FAILED,
    "cancelled": JobState.CANCELLED,
}


class IllegalTransition(RuntimeError):
    pass


def check_transition(current: JobState | str, new: JobState | str) -> JobState:
    """Return ``new`` as a JobState, or raise IllegalTransition if ``current`` cannot move there."""
    current, new = JobState(current), JobState(new)
    if new not in _ALLOWED[current]:
        raise IllegalTransition(f"a {current.value} job cannot become {new.value}")
    return new
