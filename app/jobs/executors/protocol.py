"""The one executor interface: what the scheduler asks of an executor, and the typed reports an
executor sends back. Both executors, ``local.WorkerPool`` (spawned worker processes) and
``ray_actors.RayPool`` (Ray actors), take the same ``report`` callback and implement ``Executor``;
the runner never asks which one it has.

    executor = make_executor(backend, size, config, report)   # report(EventStored | StepPace | ...)
    executor.dispatch(job_id)  → the worker's name, or None when every worker is busy

Reports (from the ``JobWorker`` wherever it runs, or from the executor itself):
``EventStored`` (SQLite only: an event the worker stored, for this process's live fan-out),
``StepPace`` (each step: the job's measured pace, for ETAs), ``JobFinished`` (state, load and step
seconds, for the duration model) and ``JobLost`` (the worker died or stopped: the job must fail).
A local worker sends them over its pipe; a Ray actor keeps them until its executor collects them.
Commands to a local worker process (``Run``, ``Call``, ``Ask``, ``Pin``, ``Stop``) and its answers
(``Ready``, ``Reply``) are typed the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from app.jobs.executors.tuned import TunedRequest

CALL_TIMEOUT_S = 600.0
WORKER_LOST = "training worker lost"


# -- reports: executor → scheduler ----------------------------------------------------------------
@dataclass(frozen=True)
class EventStored:
    job_id: str
    seq: int
    data: str  # the event's JSON text, as stored
    terminal: bool


@dataclass(frozen=True)
class StepPace:
    job_id: str
    model: str
    method: str
    step: int
    elapsed_s: float

    @property
    def step_s(self) -> float:
        return self.elapsed_s / max(1, self.step)


@dataclass(frozen=True)
class JobFinished:
    job_id: str
    state: str
    load_s: float | None  # claim → first step (None unless it finished `done`)
    step_s: float | None  # measured seconds per step
    tail_s: float | None = None  # last step → done stored (final evaluation, samples, saving)


@dataclass(frozen=True)
class JobLost:
    job_id: str
    reason: str


Report = EventStored | StepPace | JobFinished | JobLost
Reporter = Callable[[Report], None]


# -- commands: scheduler → a local worker process, and its answers --------------------------------
@dataclass(frozen=True)
class Run:
    job_id: str


@dataclass(frozen=True)
class Call:
    req_id: int
    job_id: str
    request: TunedRequest
    restore: bool


@dataclass(frozen=True)
class Ask:
    req_id: int
    fn: Callable[[Any], Any]


@dataclass(frozen=True)
class Pin:
    job_id: str
    pinned: bool


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Ready:
    pid: int


@dataclass(frozen=True)
class Reply:
    req_id: int
    ok: bool
    value: Any


Command = Run | Call | Ask | Pin | Stop


class Executor(Protocol):
    """Where jobs run. ``dispatch`` hands a claimed job to a free worker; every other call is about
    jobs already there or the tuned models the workers hold."""

    size: int
    replaced: int  # workers lost and replaced

    @property
    def started(self) -> bool: ...

    def ensure_started(self) -> None: ...

    def stop(self, timeout: float = 30.0) -> None: ...

    def free_slots(self) -> int: ...

    def running(self) -> dict[str, int | None]: ...

    def dispatch(self, job_id: str) -> str | None: ...

    def cancel(self, job_id: str) -> bool: ...

    def call(
        self, job_id: str, request: TunedRequest, restore: bool = True, timeout: float = CALL_TIMEOUT_S
    ) -> Any: ...

    def ask(self, fn: Callable[[Any], Any], timeout: float = CALL_TIMEOUT_S) -> list[Any]: ...

    def ask_one(self, key: str, fn: Callable[[Any], Any], timeout: float = CALL_TIMEOUT_S) -> Any: ...

    def pin(self, job_id: str, pinned: bool) -> None: ...
