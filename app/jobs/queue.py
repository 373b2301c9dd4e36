"""The waiting line: round-robin between owners (FIFO within one), and start-time estimates."""

from __future__ import annotations

import heapq
import threading
from collections import OrderedDict, deque
from collections.abc import Hashable, Sequence


class FairQueue:
    """Job ids waiting to run. ``pop`` takes the oldest job of the owner whose turn it is, so one
    owner with many jobs delays another owner's job by at most one job per other owner ahead."""

    def __init__(self) -> None:
        self._by_owner: OrderedDict[Hashable, deque[str]] = OrderedDict()

    def push(self, job_id: str, owner: str | None) -> None:
        self._by_owner.setdefault(owner, deque()).append(job_id)

    def pop(self) -> str | None:
        if not self._by_owner:
            return None
        owner, jobs = next(iter(self._by_owner.items()))
        job_id = jobs.popleft()
        del self._by_owner[owner]
        if jobs:  # the owner goes to the back of the line
            self._by_owner[owner] = jobs
        return job_id

    def remove(self, job_id: str) -> bool:
        for owner, jobs in self._by_owner.items():
            if job_id in jobs:
                jobs.remove(job_id)
                if not jobs:
                    del self._by_owner[owner]
                return True
        return False

    def order(self) -> list[str]:
        """Every waiting job id, in the order ``pop`` would hand them out."""
        lines = [list(jobs) for jobs in self._by_owner.values()]
        order: list[str] = []
        for turn in range(max((len(line) for line in lines), default=0)):
            order.extend(line[turn] for line in lines if turn < len(line))
        return order

    def count(self, owner: str | None) -> int:
        return len(self._by_owner.get(owner, ()))

    def __len__(self) -> int:
        return sum(len(jobs) for jobs in self._by_owner.values())

    def __contains__(self, job_id: object) -> bool:
        return any(job_id in jobs for jobs in self._by_owner.values())


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
