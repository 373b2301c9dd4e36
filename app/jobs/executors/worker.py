"""A training worker: runs one job at a time and holds the tuned models (a spawned process here).

It keeps its own model cache warm between jobs, its own database engine, and stamps and stores every
event of the job it runs (``JobStore.emit``: the seq is given out by the database; PostgreSQL
notifies listeners in the same transaction). On SQLite it also hands each stored event to the web
process over its pipe for live fan-out. Requests against held models (``generate`` and the like)
are answered on threads of their own, so they do not wait for a training job.

Messages over the pipe are the typed ones of ``app.jobs.executors.protocol``: to the worker ``Run``,
``Call``, ``Ask`` (``fn(worker)``), ``Pin``, ``Stop``; from it ``Ready``, ``Reply`` and the reports
every executor sends (``EventStored``, ``StepPace``, ``JobFinished``).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from app.events import EventBase, Failed
from app.jobs.executors.protocol import (
    Ask,
    Call,
    EventStored,
    JobFinished,
    Pin,
    Ready,
    Reply,
    Report,
    Reporter,
    Run,
    StepPace,
    Stop,
)

logger = logging.getLogger(__name__)

STOPPED_REASON = "server stopped while this job ran (queued jobs stay queued and run after a restart)"
NO_RESULT = "the training loop ended without a result"
# Training takes every core it is given; the web process on the same machine must still answer
# requests, websockets and health checks in milliseconds, so workers run at a lower OS priority
# (it costs training nothing on an otherwise idle machine: niceness only matters when cores are short).
WORKER_NICENESS = 10


def lower_priority(increment: int = WORKER_NICENESS) -> None:
    """Lower this process's CPU priority (once per worker process; a no-op where not supported)."""
    try:
        os.nice(increment)
    except (AttributeError, OSError):  # Windows, or a sandbox that forbids it
        logger.warning("could not lower the worker's CPU priority")


@dataclass(frozen=True)
class WorkerConfig:
    name: str
    database_url: str
    model_dir: Path
    device: str
    data_dir: Path
    time_limit_s: float | None
    keep_finished: int
    report_events: bool  # SQLite: stored events are reported to the scheduling process for live fan-out


class JobWorker:
    """What runs jobs and holds their models, wherever it lives (a spawned process, a Ray actor):
    its own engine, store, warm model cache and tuned models it holds. ``report`` receives its typed
    reports: each step's pace, and on SQLite each stored event (on PostgreSQL listeners hear NOTIFY)."""

    def __init__(
        self, config: WorkerConfig, cancel: Any, stopping: Any, report: Reporter | None = None
    ) -> None:
        from app.db import make_engine, make_sessionmaker
        from app.jobs.executors.tuned import TunedModels
        from app.jobs.store import JobStore
        from app.training.models import ModelCache

        lower_priority()  # one JobWorker per process (a spawned worker, a Ray actor)
        self.config, self.cancel, self.stopping = config, cancel, stopping
        self.report: Reporter = report or (lambda _report: None)
        self.engine = make_engine(config.database_url)
        self.store = JobStore(make_sessionmaker(self.engine))
        self.cache = ModelCache(config.model_dir, config.device)
        self.tuned = TunedModels(self.store, self.cache, config.data_dir, config.keep_finished)
        self._lab: Any = None  # the adapter lab (swap/combine/merge), made on first use
        self._lab_lock = threading.Lock()  # one lab call at a time: set_adapter changes its shared model

    def on_adapter_lab(self, fn: Callable[[Any], Any]) -> Any:
        """``fn(lab)`` on this worker's AdapterLab, which shares this worker's warm model cache."""
        from app.training.adapter_lab import AdapterLab

        with self._lab_lock:
            if self._lab is None:
                self._lab = AdapterLab(self.cache)
            return fn(self._lab)

    def run_safely(self, job_id: str) -> JobFinished:
        """``run``, never raising: a store failure ends the job `failed`, not the worker."""
        try:
            return self.run(job_id)
        except Exception:
            logger.exception("job %s crashed in worker %s", job_id, self.config.name)
            self.emit(job_id, Failed(error="internal error (see the server log)"))
            self.tuned.drop(job_id)
            return JobFinished(job_id, "failed", None, None)

    def emit(self, job_id: str, event: EventBase) -> bool:
        stored = self.store.emit(job_id, event)
        if stored is None:
            return False
        if self.config.report_events:
            self.report(EventStored(job_id, stored.seq, stored.data, stored.terminal))
        return True

    def run(self, job_id: str) -> JobFinished:
        """Train one claimed job, emitting its events; its final state, load seconds and seconds per step."""
        from app.jobs.executors.tuned import adapter_dir
        from app.jobs.files.uploads import load_task
        from app.training.loop import TrainingRun
        from app.training.methods import ResolvedJob
        from app.training.tasks import load_builtin_task
        from app.training.train_config import TrainConfig

        view = self.store.get_job(job_id)
        if view is None:
            return JobFinished(job_id, "failed", None, None)
        config = TrainConfig.model_validate(view.config)  # resolved at submission: trained as it is
        try:
            task = load_task(self.store, self.config.data_dir, config.task) or load_builtin_task(config.task)
        except (LookupError, ValueError) as exc:  # gone, or its file no longer parses
            self.emit(job_id, Failed(error=str(exc.args[0]) if exc.args else str(exc)))
            return JobFinished(job_id, "failed", None, None)
        submitted = self.store.task_digest(job_id)
        if submitted is not None and task.digest() != submitted:
            changed = f"task {config.task} changed after this job was submitted; submit the job again"
            self.emit(job_id, Failed(error=changed))
            return JobFinished(job_id, "failed", None, None)
        job = ResolvedJob(config, task)
        run = TrainingRun(job, self.cache, cancel=self.cancel, time_limit_s=self.config.time_limit_s)
        self.tuned.training(job_id, run)
        claimed_at = view.started_at or time.time()
        first_step_at, last_step, last_step_at, last_type = None, None, 0.0, ""
        for event in run.events():
            if event.type == "step":
                last_step_at = time.time()
                first_step_at, last_step = first_step_at or last_step_at, event
                self.report(StepPace(job_id, config.model, config.method, event.step, event.elapsed_s))
            elif event.type == "done":
                self._save_adapter(job_id, run, adapter_dir(self.config.data_dir, job_id))
                self.tuned.keep(job_id)  # held before `done` is stored: whoever sees done can use it
            elif event.type == "cancelled" and self.stopping.is_set():
                event = Failed(error=STOPPED_REASON)
            if not self.emit(job_id, event):  # finished by someone else (e.g. it was declared lost)
                self.cancel.set()
                break
            last_type = event.type
        if last_type not in ("done", "failed", "cancelled"):
            self.emit(job_id, Failed(error=NO_RESULT))
            last_type = "failed"
        if last_type != "done":
            self.tuned.drop(job_id)
        if first_step_at and last_step is not None and last_type == "done":
            load_s, step_s = first_step_at - claimed_at, last_step.elapsed_s / max(1, last_step.step)
            return JobFinished(job_id, last_type, load_s, step_s, time.time() - last_step_at)
        return JobFinished(job_id, last_type, None, None)

    def _save_adapter(self, job_id: str, run: Any, directory: Path) -> None:
        try:
            run.save_adapter(directory)
        except (NotImplementedError, ValueError) as exc:  # methods without an adapter (full, head)
            logger.info("job %s has no adapter: %s", job_id, exc)
            return
        self.store.update(job_id, has_adapter=True)

    def close(self) -> None:
        self.tuned.release_all()
        with self._lab_lock:
            if self._lab is not None:
                self._lab.release()
        self.engine.dispose()


@dataclass(frozen=True)
class OnAdapterLab:
    """An ``ask`` probe (picklable) that runs ``fn(lab)`` on the asked worker's adapter lab."""

    fn: Callable[[Any], Any]

    def __call__(self, worker: Any) -> Any:  # a _ProcessWorker or a TrainingActor: both wrap a JobWorker
        return worker.worker.on_adapter_lab(self.fn)


@dataclass(frozen=True)
class HoldsModel:
    """An ``ask`` probe: whether the asked worker holds a job's tuned model (training or kept)."""

    job_id: str

    def __call__(self, worker: Any) -> Any:
        return worker.tuned.holds(self.job_id)


def count_restores(worker: Any) -> int:
    """An ``ask`` probe: tuned models the asked worker rebuilt from adapters."""
    return worker.tuned.restores


class _ProcessWorker:
    """A JobWorker in a spawned process, talking to the web process over a pipe."""

    def __init__(self, conn: Connection, cancel: Any, stopping: Any, config: WorkerConfig) -> None:
        self.conn, self.config = conn, config
        self._send_lock = threading.Lock()
        self.worker = JobWorker(config, cancel, stopping, self.send)
        self.tuned = self.worker.tuned  # what ``ask`` probes look at
        self.jobs: queue.Queue[str | None] = queue.Queue()
        self.answers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ftlab-tuned")

    def send(self, message: Report | Ready | Reply) -> None:
        """Send to the web process; if it is gone, exit as ``listen`` does. A training thread that
        reports a step into a closed pipe must not fail its job as an internal error: the job
        belongs to a dead process, and the surviving ones fail it, naming that process."""
        with self._send_lock:
            try:
                self.conn.send(message)
            except (EOFError, OSError):  # BrokenPipeError, ConnectionResetError: the other end closed
                _web_process_gone(self.config.name)

    def listen(self) -> None:
        """Reads commands until the web process closes the pipe (it stopped, or died: then so do we)."""
        try:
            while True:
                match self.conn.recv():
                    case Run(job_id):
                        self.jobs.put(job_id)
                    case Call(req_id, job_id, request, restore):
                        self.answers.submit(self._answer, req_id, self.tuned.call, job_id, request, restore)
                    case Ask(req_id, fn):
                        self.answers.submit(self._answer, req_id, fn, self)
                    case Pin(job_id, pinned):
                        self.tuned.pin(job_id, pinned)
                    case Stop():
                        self.jobs.put(None)
                        return
        except (EOFError, OSError):
            _web_process_gone(self.config.name)

    def _answer(self, req_id: int, fn: Any, *args: Any) -> None:
        try:
            value, ok = fn(*args), True
        except Exception as exc:  # sent back and raised in the web process
            value, ok = exc, False
        try:
            self.send(Reply(req_id, ok, value))
        except Exception as exc:  # e.g. the result does not pickle
            self.send(Reply(req_id, False, RuntimeError(f"{type(exc).__name__}: {exc}")))

    def serve(self) -> None:
        threading.Thread(target=self.listen, name="ftlab-worker-commands", daemon=True).start()
        self.send(Ready(os.getpid()))
        while (job_id := self.jobs.get()) is not None:
            self.send(self.worker.run_safely(job_id))
        self.answers.shutdown(wait=True)
        self.worker.close()


def _web_process_gone(name: str) -> None:
    """The pipe to the web process closed (it stopped, or died): end this worker process now, whatever
    job it runs. That job's lease lapses and a surviving web process fails it (``runner.OWNER_LOST``)."""
    logger.warning("worker %s: the web process is gone; exiting", name)
    logging.shutdown()
    os._exit(0)


def worker_main(conn: Connection, cancel: Any, stopping: Any, config: WorkerConfig) -> None:
    """The spawned process's entry point."""
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {config.name} %(levelname)s %(message)s")
    _ProcessWorker(conn, cancel, stopping, config).serve()
    # Everything is sent and closed: skip the interpreter's teardown of torch and the loaded models
    # (seconds on a loaded machine, inside a container's 10 s stop grace).
    logging.shutdown()
    os._exit(0)
