"""The waiting line: the instructor's runs first with a reserved share of the queue, round-robin
between owners (FIFO within one), start-time estimates, and coalesced position updates.

Policies only (pure functions over rows read from the database), so every process agrees."""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from app.jobs.store import QueuedJob, QueueSnapshot

# Priorities: the instructor's runs (a class's pinned run is one) go first, and part of the queue
# is kept free for them, so a flood of student or anonymous jobs never delays or refuses the run
# everyone is looking at.
NORMAL, PRIVILEGED = 0, 1
RESERVED_SHARE = 0.1  # of max_queued, for privileged jobs only
INSTRUCTOR = "instructor"  # the instructor's owner name (app.classroom.auth.INSTRUCTOR_OWNER)


def queue_priority(owner: str | None) -> int:
    return PRIVILEGED if owner == INSTRUCTOR else NORMAL


def admits(queued: int, max_queued: int, priority: int, reserved_share: float = RESERVED_SHARE) -> bool:
    """Whether a job of ``priority`` may join a queue holding ``queued`` other jobs: ordinary jobs
    fill it up to ``max_queued`` minus the reserved share; privileged ones up to ``max_queued``."""
    reserved = max(1, round(max_queued * reserved_share)) if max_queued > 1 else 0
    return queued < (max_queued if priority >= PRIVILEGED else max_queued - reserved)


def fair_order(waiting: Sequence[QueuedJob], last_start: Mapping[str | None, float]) -> list[str]:
    """Privileged jobs first (the instructor's, and any run a class has pinned, even a student's:
    the whole class waits for it), then the rest; each group in ``_round_robin``."""

    def privileged(job: QueuedJob) -> bool:
        return job.pinned or queue_priority(job.owner) >= PRIVILEGED

    first = [job for job in waiting if privileged(job)]
    rest = [job for job in waiting if not privileged(job)]
    return _round_robin(first, last_start) + _round_robin(rest, last_start)


def _round_robin(waiting: Sequence[QueuedJob], last_start: Mapping[str | None, float]) -> list[str]:
    """Waiting job ids in the order they will run: round-robin between owners, FIFO within one.

    An owner's place in the line is when they (re)joined it: their oldest waiting job's arrival, or
    the start of their latest job if that came later (a started job sends its owner to the back). So
    one owner with many jobs delays another owner's job by at most one job per other owner ahead.
    Pure: every process computes the same order from the same rows."""
    lines: dict[str | None, list[QueuedJob]] = {}
    for job in sorted(waiting, key=lambda j: (j.created_at, j.id)):
        lines.setdefault(job.owner, []).append(job)

    def joined(owner: str | None) -> tuple[float, str]:
        return (max(lines[owner][0].created_at, last_start.get(owner, 0.0)), owner or "")

    ordered = [lines[owner] for owner in sorted(lines, key=joined)]
    order: list[str] = []
    for turn in range(max((len(line) for line in ordered), default=0)):
        order.extend(line[turn].id for line in ordered if turn < len(line))
    return order


def schedule(
    snapshot: QueueSnapshot,
    estimate: Callable[[QueuedJob], float],
    time_left: Callable[[QueuedJob], float],
    workers: int,
) -> dict[str, tuple[int, float]]:
    """Queue position and estimated seconds to start of every waiting job (``estimate``: a waiting
    job's whole run; ``time_left``: what a running job still needs, see ``time_left_s``)."""
    order = fair_order(snapshot.waiting, snapshot.last_start)
    by_id = {job.id: job for job in snapshot.waiting}
    running_left = [time_left(job) for job in snapshot.running]
    starts = start_times(running_left, [estimate(by_id[j]) for j in order], workers)
    return {
        job_id: (index, round(start, 1))
        for index, (job_id, start) in enumerate(zip(order, starts, strict=True))
    }


def start_times(running_left_s: Sequence[float], queued_s: Sequence[float], workers: int) -> list[float]:
    """Seconds from now until each queued job starts, given how long the running jobs still need
    and how long each queued job (in queue order) will take on one of ``workers`` workers."""
    free_at = sorted(max(0.0, t) for t in running_left_s)[:workers]
    free_at += [0.0] * (workers - len(free_at))
    heapq.heapify(free_at)
    starts = []
    for duration in queued_s:
        start = heapq.heappop(free_at)
        starts.append(start)
        heapq.heappush(free_at, start + duration)
    return starts


def time_left_s(
    estimate_s: float,
    elapsed_s: float,
    steps: int,
    steps_done: int,
    step_s: float,
    measured_step_s: float | None,
    tail_s: float = 0.0,
) -> float:
    """Seconds a running job still holds its worker. After its first step: the steps left at the
    pace it has measured, then its tail (``tail_s``: the last evaluation, samples, spectra and saving
    the adapter, after the last step); while it is still loading (model, base answers, step-0
    evaluation): the estimate less the time spent, but never less than all its steps at the
    estimated pace ``step_s`` and the tail (a slow load must not make the queue behind it look free)."""
    if measured_step_s is not None and steps_done > 0:
        return max(0.0, steps - steps_done) * measured_step_s + tail_s
    return max(estimate_s - elapsed_s, steps * step_s + tail_s)


def eta_changed(
    old_s: float | None, new_s: float, *, absolute_s: float = 10.0, relative: float = 0.2
) -> bool:
    """Whether a waiting job should hear its new start estimate: it moved by more than
    ``absolute_s`` and by more than ``relative`` of the old one (no chatter for every step)."""
    if old_s is None:
        return True
    change = abs(new_s - old_s)
    return change > absolute_s and change > relative * max(old_s, 1.0)


class DurationModel:
    """Running averages per (model, method), for ETAs: load time (claimed → first step), seconds per
    step, and the tail after the last step (final evaluation, samples, saving). Running jobs report
    their measured pace as they go (``observe_step``), so estimates adapt to a busy machine within a
    few steps instead of after the first job ends."""

    def __init__(self, load_s: float = 5.0, step_s: float = 0.5, smoothing: float = 0.5, tail_s: float = 0.0):
        self._default = (load_s, step_s, tail_s)
        self._seen: dict[tuple[str, str], tuple[float, float, float]] = {}
        self._smoothing = smoothing
        self._lock = threading.Lock()

    def record(self, model: str, method: str, load_s: float, step_s: float, tail_s: float = 0.0) -> None:
        with self._lock:
            old = self._seen.get((model, method))
            new = (load_s, step_s, tail_s)
            if old is None:
                self._seen[(model, method)] = new
            else:
                k = self._smoothing
                load, step, tail = (k * a + (1 - k) * b for a, b in zip(old, new, strict=True))
                self._seen[(model, method)] = (load, step, tail)

    def estimate_job(self, job: QueuedJob) -> float:
        return self.estimate(job.model, job.method, job.steps)

    def observe_step(self, model: str, method: str, step_s: float) -> None:
        """A running job's measured seconds per step so far (its load time is not known yet)."""
        with self._lock:
            load_s, _, tail_s = self._seen.get((model, method), self._default)
            self._seen[(model, method)] = (load_s, step_s, tail_s)

    def step_s(self, model: str, method: str) -> float:
        with self._lock:
            return self._seen.get((model, method), self._default)[1]

    def tail_s(self, model: str, method: str) -> float:
        with self._lock:
            return self._seen.get((model, method), self._default)[2]

    def estimate(self, model: str, method: str, steps: int) -> float:
        with self._lock:
            load_s, step_s, tail_s = self._seen.get((model, method), self._default)
        return load_s + steps * step_s + tail_s


class PositionUpdates:
    """Which waiting jobs get a fresh ``queued`` event now: those whose position (or start estimate)
    changed, at most one per job per ``min_interval_s`` after its first. With 500 jobs waiting, every
    start used to rewrite all 500 positions (2,979 events for 6 starts in 8 s); now a burst of starts
    costs each waiting job one event per interval, the deferred ones sent once it has passed. The
    times are this process's (an announcer's memory, not a limit on anyone)."""

    def __init__(self, min_interval_s: float = 1.0, now: Callable[[], float] = time.monotonic) -> None:
        self.min_interval_s, self._now = min_interval_s, now
        self._last: dict[str, float] = {}  # job -> when its last update was sent

    def plan(self, changed: dict[str, bool]) -> tuple[list[str], float | None]:
        """``changed``: every waiting job, and whether its announcement would differ from the last.
        Returns (jobs to announce now, seconds until the next deferred one is due, or None)."""
        now = self._now()
        for job_id in [j for j in self._last if j not in changed]:  # no longer waiting
            del self._last[job_id]
        due: list[str] = []
        wait: float | None = None
        for job_id, differs in changed.items():
            if not differs:
                continue
            since = now - self._last.get(job_id, float("-inf"))
            if since >= self.min_interval_s:
                due.append(job_id)
            else:
                left = self.min_interval_s - since
                wait = left if wait is None else min(wait, left)
        return due, wait

    def sent(self, job_id: str, first: bool = False) -> None:
        """Record an announcement; a job's ``first`` (its submit) does not hold back the next one."""
        self._last[job_id] = float("-inf") if first else self._now()
