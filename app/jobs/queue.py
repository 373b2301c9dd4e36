"""The waiting line: priorities and a reserved share for the instructor's and pinned runs, round-robin
between owners (FIFO within one), and start-time estimates."""

from __future__ import annotations

import heapq
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Sequence

# Priorities: the instructor's runs and the run a class is watching (pinned) go first, and part
# of the queue is kept free for them, so a flood of student or anonymous jobs never delays or
# refuses the run everyone is looking at.
NORMAL, PRIVILEGED = 0, 1
RESERVED_SHARE = 0.1  # of max_queued, for privileged jobs only
INSTRUCTOR = "instructor"  # the instructor's owner name (app.classroom.auth.INSTRUCTOR_OWNER)


def queue_priority(owner: str | None, pinned: bool = False) -> int:
    return PRIVILEGED if owner == INSTRUCTOR or pinned else NORMAL


def admits(queued: int, max_queued: int, priority: int, reserved_share: float = RESERVED_SHARE) -> bool:
    """Whether a job of ``priority`` may join a queue holding ``queued`` jobs: ordinary jobs fill it
    up to ``max_queued`` minus the reserved share; privileged ones up to ``max_queued``."""
    reserved = max(1, round(max_queued * reserved_share)) if max_queued > 1 else 0
    return queued < (max_queued if priority >= PRIVILEGED else max_queued - reserved)


class FairQueue:
    """Job ids waiting to run. Higher priorities go first; within one priority ``pop`` takes the
    oldest job of the owner whose turn it is, so one owner with many jobs delays another owner's
    job by at most one job per other owner ahead."""

    def __init__(self) -> None:
        self._lines: dict[int, OrderedDict[Hashable, deque[str]]] = {}

    def push(self, job_id: str, owner: str | None, priority: int = NORMAL) -> None:
        self._lines.setdefault(priority, OrderedDict()).setdefault(owner, deque()).append(job_id)

    def pop(self) -> str | None:
        for priority in sorted(self._lines, reverse=True):
            by_owner = self._lines[priority]
            if not by_owner:
                continue
            owner, jobs = next(iter(by_owner.items()))
            job_id = jobs.popleft()
            del by_owner[owner]
            if jobs:  # the owner goes to the back of the line
                by_owner[owner] = jobs
            return job_id
        return None

    def remove(self, job_id: str) -> bool:
        for by_owner in self._lines.values():
            for owner, jobs in by_owner.items():
                if job_id in jobs:
                    jobs.remove(job_id)
                    if not jobs:
                        del by_owner[owner]
                    return True
        return False

    def promote(self, job_id: str, owner: str | None, priority: int = PRIVILEGED) -> bool:
        """Move a waiting job to ``priority`` (a run the instructor pinned while it waits)."""
        if not self.remove(job_id):
            return False
        self.push(job_id, owner, priority)
        return True

    def order(self) -> list[str]:
        """Every waiting job id, in the order ``pop`` would hand them out."""
        order: list[str] = []
        for priority in sorted(self._lines, reverse=True):
            lines = [list(jobs) for jobs in self._lines[priority].values()]
            for turn in range(max((len(line) for line in lines), default=0)):
                order.extend(line[turn] for line in lines if turn < len(line))
        return order

    def count(self, owner: str | None) -> int:
        return sum(len(by_owner.get(owner, ())) for by_owner in self._lines.values())

    def __len__(self) -> int:
        return sum(len(jobs) for by_owner in self._lines.values() for jobs in by_owner.values())

    def __contains__(self, job_id: object) -> bool:
        return any(job_id in jobs for by_owner in self._lines.values() for jobs in by_owner.values())


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
) -> float:
    """Seconds a running job still needs to train. After its first step: the steps left at the pace
    it has measured; while it is still loading (model, base answers, step-0 evaluation): the
    estimate less the time spent, but never less than all its steps at the estimated pace ``step_s``
    (a slow load must not make the queue behind it look free)."""
    if measured_step_s is not None and steps_done > 0:
        return max(0.0, steps - steps_done) * measured_step_s
    return max(estimate_s - elapsed_s, steps * step_s)


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
    """Running averages of load time and seconds per step, per (model, method), for ETAs. Running
    jobs report their measured pace as they go (``observe_step``), so estimates adapt to a busy
    machine within a few steps instead of after the first job ends."""

    def __init__(self, load_s: float = 5.0, step_s: float = 0.5, smoothing: float = 0.5) -> None:
        self._default = (load_s, step_s)
        self._seen: dict[tuple[str, str], tuple[float, float]] = {}
        self._smoothing = smoothing
        self._lock = threading.Lock()

    def record(self, model: str, method: str, load_s: float, step_s: float) -> None:
        with self._lock:
            old = self._seen.get((model, method))
            if old is None:
                self._seen[(model, method)] = (load_s, step_s)
            else:
                k = self._smoothing
                self._seen[(model, method)] = (k * old[0] + (1 - k) * load_s, k * old[1] + (1 - k) * step_s)

    def observe_step(self, model: str, method: str, step_s: float) -> None:
        """A running job's measured seconds per step so far (its load time is not known yet)."""
        with self._lock:
            load_s, _ = self._seen.get((model, method), self._default)
            self._seen[(model, method)] = (load_s, step_s)

    def step_s(self, model: str, method: str) -> float:
        with self._lock:
            return self._seen.get((model, method), self._default)[1]

    def estimate(self, model: str, method: str, steps: int) -> float:
        with self._lock:
            load_s, step_s = self._seen.get((model, method), self._default)
        return load_s + steps * step_s


class PositionUpdates:
    """Which waiting jobs get a fresh ``queued`` event now: those whose position (or start estimate)
    changed, at most one per job per ``min_interval_s`` after its first. With 500 jobs waiting, every
    start used to rewrite all 500 positions (2,979 events for 6 starts in 8 s); now a burst of starts
    costs each waiting job one event per interval, the deferred ones flushed once it has passed."""

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
