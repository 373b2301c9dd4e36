"""The web process's side of the local training workers: a few spawned, persistent processes.

Started on first use (a server that never trains never pays for importing torch twice). Where the
platform has one, workers fork from a fork server that imported the worker's code (torch,
transformers, peft) once: a first worker costs that import, every later one (a replacement for a lost
worker, another pool in the same process) starts in milliseconds instead of seconds. The fork server
is a fresh single-threaded process, so forking it is safe where forking the threaded web process is
not; elsewhere (Windows) each worker is spawned. One reader
thread waits on every worker's pipe and process sentinel and passes the workers' typed reports
(``protocol.EventStored``, ``StepPace``, ``JobFinished``) to ``report``; a worker that dies (kill -9,
out of memory, a segfault) is reported ``JobLost`` for the job it was running and is replaced, and the
queue goes on. ``RayPool`` implements the same ``protocol.Executor`` with the same reports.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from typing import Any

from app.jobs.executors.protocol import (
    CALL_TIMEOUT_S,
    WORKER_LOST,
    Ask,
    Call,
    Command,
    EventStored,
    JobFinished,
    JobLost,
    Pin,
    Ready,
    Reply,
    Reporter,
    Run,
    StepPace,
    Stop,
)
from app.jobs.executors.slots import Slots
from app.jobs.executors.tuned import NotInMemory, TunedRequest
from app.jobs.executors.worker import STOPPED_REASON, WorkerConfig, worker_main

logger = logging.getLogger(__name__)


# What every worker imports before its first job: the worker itself (torch with it), then the model
# libraries and the app modules it imports on first use (trl only for sft/dpo: left to those jobs).
PRELOAD = [
    worker_main.__module__,
    "transformers",
    "peft",
    "app.db",
    "app.jobs.store",
    "app.training.adapter_lab",
]


def _start_context() -> Any:
    """The multiprocessing context workers start in: a preloaded fork server, else plain spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)  # takes effect when the server starts
    return context


@dataclass(eq=False)
class _Slot:
    index: int
    process: Any
    conn: Connection
    cancel: Any  # a multiprocessing Event the worker's loop checks between steps
    job_id: str | None = None
    held: set[str] = field(default_factory=set)  # jobs whose models this worker ran or rebuilt
    send_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def send(self, message: Command) -> None:
        with self.send_lock:
            self.conn.send(message)


@dataclass(eq=False)
class _Pending:
    slot: _Slot
    done: threading.Event = field(default_factory=threading.Event)
    ok: bool = False
    value: Any = None


class WorkerPool(Slots[_Slot]):
    def __init__(self, size: int, config: WorkerConfig, report: Reporter) -> None:
        super().__init__(size)
        self.config, self.report = config, report
        self._context = _start_context()
        self._stopping_flag = self._context.Event()  # workers turn a stop's cancel into 'server stopped'
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._reader: threading.Thread | None = None
        self.replaced = 0  # workers lost and replaced

    # -- lifecycle ------------------------------------------------------------------------------
    def ensure_started(self) -> None:
        with self._lock:
            if self._members or self._stopping:
                return
            self._members = [self._spawn(index) for index in range(self.size)]
            self._reader = threading.Thread(target=self._read, name="ftlab-pool-reader", daemon=True)
            self._reader.start()

    def _spawn(self, index: int) -> _Slot:
        parent, child = self._context.Pipe()
        cancel = self._context.Event()
        config = replace(self.config, name=f"{self.config.name}-w{index}")
        process = self._context.Process(
            target=worker_main,
            args=(child, cancel, self._stopping_flag, config),
            name=config.name,
            daemon=True,
        )
        process.start()
        child.close()
        slot = _Slot(index, process, parent, cancel)
        for job_id in self._pinned:  # a replacement keeps what its predecessor was told to keep
            slot.send(Pin(job_id, True))
        return slot

    def stop(self, timeout: float = 30.0) -> None:
        """Running jobs end 'server stopped' (their workers see the cancel flag), then workers exit."""
        with self._lock:
            self._stopping = True
            slots = list(self._members)
        self._stopping_flag.set()
        for slot in slots:
            slot.cancel.set()
            try:
                slot.send(Stop())
            except OSError:
                pass
        deadline = time.monotonic() + timeout  # one budget for all workers: they stop side by side
        for slot in slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():  # e.g. still loading a model: the cancel flag waits for a step
                logger.warning("worker %s did not stop in %.0f s; killing it", slot.process.name, timeout)
                slot.process.kill()
                slot.process.join(5)
                with self._lock:
                    job_id, slot.job_id = slot.job_id, None
                if job_id:  # its job ends as every running job of a stopping server does
                    self.report(JobLost(job_id, STOPPED_REASON))
        if self._reader is not None:
            self._reader.join(5)

    # -- jobs -----------------------------------------------------------------------------------
    def dispatch(self, job_id: str) -> str | None:
        """Hand a claimed job to a free worker; its name, or None if every worker is busy."""
        self.ensure_started()
        with self._lock:
            slot = self._take_free(job_id)
            if slot is None:
                return None
            slot.cancel.clear()  # a cancel meant for its previous job
        slot.send(Run(job_id))
        return slot.process.name

    def cancel(self, job_id: str) -> bool:
        slot = self._running(job_id)
        if slot is None:
            return False
        slot.cancel.set()  # the loop sees it between steps and ends the job `cancelled`
        return True

    # -- requests against tuned models ----------------------------------------------------------
    def call(
        self, job_id: str, request: TunedRequest, restore: bool = True, timeout: float = CALL_TIMEOUT_S
    ) -> Any:
        """``request(run)`` on the job's model, on the worker that holds it (or any, to rebuild it)."""
        self.ensure_started()
        slot = self._holder(job_id, restore)
        return self._request(slot, lambda req_id: Call(req_id, job_id, request, restore), timeout)

    def ask(self, fn: Callable[[Any], Any], timeout: float = CALL_TIMEOUT_S) -> list[Any]:
        """``fn(worker)`` on every worker (introspection: held models, cache contents, memory)."""
        self.ensure_started()
        with self._lock:
            slots = list(self._members)
        return [self._request(slot, lambda req_id: Ask(req_id, fn), timeout) for slot in slots]

    def ask_one(self, key: str, fn: Callable[[Any], Any], timeout: float = CALL_TIMEOUT_S) -> Any:
        """``fn(worker)`` on the worker chosen by ``key`` (the same one every time: see ``_stable``)."""
        self.ensure_started()
        return self._request(self._stable(key), lambda req_id: Ask(req_id, fn), timeout)

    def pin(self, job_id: str, pinned: bool) -> None:
        for slot in self._pin(job_id, pinned):
            slot.send(Pin(job_id, pinned))

    def _request(self, slot: _Slot, command: Callable[[int], Call | Ask], timeout: float) -> Any:
        req_id = next(self._ids)
        pending = _Pending(slot)
        with self._lock:
            self._pending[req_id] = pending
        try:
            try:
                slot.send(command(req_id))
            except OSError:  # its pipe closed: the reader thread is replacing it
                raise NotInMemory(f"{WORKER_LOST} before it could answer; try again") from None
            if not pending.done.wait(timeout):
                raise NotInMemory(f"the training worker did not answer in {timeout:.0f} s")
        finally:
            with self._lock:
                self._pending.pop(req_id, None)
        if not pending.ok:
            raise pending.value
        return pending.value

    # -- the reader thread ----------------------------------------------------------------------
    def _read(self) -> None:
        while True:
            with self._lock:
                if self._stopping and not any(s.process.is_alive() for s in self._members):
                    return
                slots = list(self._members)
            by_handle: dict[Any, _Slot] = {}
            for slot in slots:
                by_handle[slot.conn] = slot
                by_handle[slot.process.sentinel] = slot
            for ready in wait(list(by_handle), timeout=0.5):
                slot = by_handle[ready]
                if ready is slot.conn:
                    self._drain(slot)
                elif not self._drain(slot):  # messages first: they were sent before it died
                    self._lost(slot)

    def _drain(self, slot: _Slot) -> bool:
        """Handle every message waiting on the slot's pipe; False once the pipe is closed."""
        try:
            while slot.conn.poll():
                self._handle(slot, slot.conn.recv())
        except (EOFError, OSError):
            return False
        return slot.process.is_alive()

    def _handle(self, slot: _Slot, message: EventStored | StepPace | JobFinished | Ready | Reply) -> None:
        match message:
            case JobFinished(job_id, state):
                self._finished(slot, job_id, state)
                self.report(message)
            case EventStored() | StepPace():
                self.report(message)
            case Reply(req_id, ok, value):
                with self._lock:
                    pending = self._pending.get(req_id)
                if pending is not None:
                    pending.ok, pending.value = ok, value
                    pending.done.set()
            case Ready():
                pass

    def _lost(self, slot: _Slot) -> None:
        slot.process.join(1)
        code = slot.process.exitcode
        with self._lock:
            if slot not in self._members:
                return
            stopping = self._stopping
            job_id = slot.job_id
            orphans = [p for p in self._pending.values() if p.slot is slot]
            if not stopping:
                self._members[self._members.index(slot)] = self._spawn(slot.index)
                self.replaced += 1
            else:
                self._members.remove(slot)
        for pending in orphans:
            pending.value = NotInMemory(f"{WORKER_LOST} (exit code {code}) while answering")
            pending.done.set()
        slot.conn.close()
        if job_id:
            logger.error("worker %s died (exit code %s) running job %s", slot.process.name, code, job_id)
            self.report(JobLost(job_id, STOPPED_REASON if stopping else f"{WORKER_LOST} (exit code {code})"))
