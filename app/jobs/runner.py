"""The local runner: a fair queue and worker threads that run TrainingRuns and publish their events.

Every event of a job goes through ``_emit``: stamped with the next seq, appended to the store, then
published to the broadcaster, under the job's own lock, so the stored order is the published
order. A job runs on a worker thread and never waits for a browser.
"""

from __future__ import annotations

import gc
import logging
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from app.events import Cancelled, EventStamper, Failed, Queued
from app.events import _Event as AnyEvent
from app.jobs.broadcast import Broadcaster, Message
from app.jobs.keyed_lock import KeyedLocks
from app.jobs.queue import (
    PRIVILEGED,
    DurationModel,
    FairQueue,
    PositionUpdates,
    admits,
    eta_changed,
    queue_priority,
    start_times,
    time_left_s,
)
from app.jobs.state import STATE_OF_TERMINAL_EVENT, JobState
from app.jobs.store import JobStore, JobView
from app.jobs.uploads import load_task
from app.training.loop import TrainingRun
from app.training.methods import ResolvedJob, resolve_job
from app.training.models import ModelCache
from app.training.registry import ModelNotAvailable
from app.training.restore import restore_run
from app.training.tasks import Task
from app.training.train_config import TrainConfig

logger = logging.getLogger(__name__)

STOPPED_REASON = "server stopped"


class QueueFull(RuntimeError):
    pass


class NotInMemory(LookupError):
    """The job's tuned model is no longer held (evicted, failed, or from before a restart)."""


class JobInfo(JobView):
    queue_position: int | None = None
    eta_s: float | None = None


class SubmitResult(BaseModel):
    id: str
    state: JobState
    queue_position: int | None


@dataclass(eq=False)
class _Handle:
    id: str
    owner: str | None
    config: TrainConfig
    task: Task
    stamper: EventStamper
    cancel: threading.Event = field(default_factory=threading.Event)
    emit_lock: threading.RLock = field(default_factory=threading.RLock)
    state: JobState = JobState.QUEUED
    finished: bool = False  # the terminal event was emitted
    last_type: str = ""
    started_at: float | None = None
    last_position: int | None = None
    last_eta_s: float | None = None
    steps_done: int = 0
    step_s: float | None = None  # measured seconds per step so far
    run: TrainingRun | None = None


class Runner:
    def __init__(
        self,
        store: JobStore,
        broadcaster: Broadcaster,
        cache: ModelCache,
        data_dir: Path,
        *,
        workers: int = 1,
        time_limit_s: float | None = None,
        keep_finished: int = 4,
        max_queued: int = 500,
    ) -> None:
        self.store, self.broadcaster, self.cache = store, broadcaster, cache
        self.data_dir, self.adapter_root = data_dir, data_dir / "adapters"
        self.workers, self.time_limit_s = workers, time_limit_s
        self.keep_finished, self.max_queued = keep_finished, max_queued
        self.durations = DurationModel()
        self._queue = FairQueue()
        self._handles: dict[str, _Handle] = {}  # queued and running
        self._finished: OrderedDict[str, _Handle] = OrderedDict()  # tuned models kept for generate
        self._pinned: set[str] = set()
        self._restoring = KeyedLocks()  # a lock per job whose model is being rebuilt
        self.restores = 0  # tuned models rebuilt from their adapters (after eviction or a restart)
        self._lock = threading.Lock()
        self._work_ready = threading.Condition(self._lock)
        self._announce_lock = threading.Lock()
        self.position_updates = PositionUpdates()  # coalesces `queued` events (app.jobs.queue)
        self._flush_timer: threading.Timer | None = None
        self._stopping = False
        self._threads: list[threading.Thread] = []

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"ftlab-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Fail queued jobs, stop running ones ('server stopped'), wait for the workers."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        with self._lock:
            self._stopping = True
            waiting = [self._handles[job_id] for job_id in self._queue.order()]
            while self._queue.pop() is not None:
                pass
            running = [h for h in self._handles.values() if h.state == JobState.RUNNING]
            self._work_ready.notify_all()
        for handle in waiting:
            self._emit(handle, Failed(error=STOPPED_REASON))
        for handle in running:
            handle.cancel.set()
        for thread in self._threads:
            thread.join(timeout)
        with self._lock:
            kept = list(self._finished.values())
            self._finished.clear()
        for handle in kept:
            self._release(handle)

    # -- submitting and asking ----------------------------------------------------------------
    def submit(self, job: ResolvedJob, owner: str | None = None) -> SubmitResult:
        """Queue a job, resolved once by ``resolve_job`` (its config is what the store keeps)."""
        with self._lock:
            if self._stopping:
                raise QueueFull("the server is stopping")
            priority = queue_priority(owner)
            if not admits(len(self._queue), self.max_queued, priority):
                raise QueueFull(f"the queue is full ({len(self._queue)} jobs waiting); try again later")
        job_id = secrets.token_hex(8)
        self.store.create_job(job_id, job.config.model_dump(mode="json"), owner=owner)
        handle = _Handle(job_id, owner, job.config, job.task, EventStamper(job_id))
        with handle.emit_lock:  # the job's first event is its queued event, whatever a worker does
            with self._lock:
                self._handles[job_id] = handle
                self._queue.push(job_id, owner, queue_priority(owner, job_id in self._pinned))
                position, eta_s = self._schedule_locked()[job_id]
                self._work_ready.notify()
            handle.last_position, handle.last_eta_s = position, eta_s
            self._emit(handle, Queued(position=position, eta_s=eta_s, run_s=self._run_s(handle)))
            with self._announce_lock:
                self.position_updates.sent(job_id, first=True)
        self._announce_positions()
        return SubmitResult(id=job_id, state=JobState.QUEUED, queue_position=position)

    def get(self, job_id: str) -> JobInfo | None:
        """The job as stored, plus its live queue position (any job: queued, running or finished)."""
        view = self.store.get_job(job_id)
        if view is None:
            return None
        with self._lock:
            position, eta_s = self._schedule_locked().get(job_id, (None, None))
        return JobInfo(**view.model_dump(), queue_position=position, eta_s=eta_s)

    def list(self, owner: str | None = None, limit: int = 100) -> list[JobInfo]:
        views = self.store.list_jobs(owner=owner, limit=limit)
        with self._lock:
            schedule = self._schedule_locked()
        infos = []
        for view in views:
            position, eta_s = schedule.get(view.id, (None, None))
            infos.append(JobInfo(**view.model_dump(), queue_position=position, eta_s=eta_s))
        return infos

    def queued_count(self, owner: str | None) -> int:
        with self._lock:
            return self._queue.count(owner)

    def stats(self) -> dict[str, int]:
        with self._lock:
            running = sum(1 for h in self._handles.values() if h.state == JobState.RUNNING)
            return {"queued": len(self._queue), "running": running, "workers": self.workers}

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job; False if it is not queued or running here."""
        with self._lock:
            handle = self._handles.get(job_id)
            if handle is None:
                return False
            was_queued = self._queue.remove(job_id)
            if was_queued:
                del self._handles[job_id]
        if was_queued:
            self._emit(handle, Cancelled())
            self._announce_positions()
        else:
            handle.cancel.set()  # the loop checks it between steps, then yields `cancelled`
        return True

    # -- the tuned model after a run ----------------------------------------------------------
    def generate(self, job_id: str, prompt: str, max_new_tokens: int) -> tuple[str, str]:
        """(tuned, base) completions from a finished job's model: the one held in memory, else the
        model rebuilt from the job's saved adapter (then kept like a just-finished one). Raises
        NotInMemory when neither is possible (e.g. full and head save no adapter)."""
        handle = self._kept(job_id)
        if handle is not None:
            with handle.emit_lock:  # serialises generation on this model with its release
                if handle.run is not None:
                    return handle.run.generate(prompt, max_new_tokens)
        with self._restoring.hold(job_id):  # one rebuild per job, however many ask at once
            handle = self._kept(job_id)  # rebuilt by whoever held the lock before us
            fresh = handle is None
            if fresh:
                handle = self._restore(job_id)
            assert handle is not None
            with handle.emit_lock:
                if handle.run is None:
                    raise NotInMemory(f"job {job_id}'s tuned model was released just now; try again")
                result = handle.run.generate(prompt, max_new_tokens)
            if fresh:  # generate first: with keep_finished=0 keeping it releases it at once
                with self._lock:
                    evicted = self._keep_locked(handle)
                for old in evicted:
                    self._release(old)
        return result

    def _kept(self, job_id: str) -> _Handle | None:
        """The held handle of a finished (done) job, marked as just used; None if not held."""
        with self._lock:
            handle = self._finished.get(job_id)
            if handle is not None:
                self._finished.move_to_end(job_id)
            else:  # done, but its worker has not handed it over yet
                handle = self._handles.get(job_id)
                if handle is not None and handle.last_type != "done":
                    handle = None
        return handle if handle is not None and handle.run is not None else None

    def _restore(self, job_id: str) -> _Handle:
        """A handle holding the job's tuned model rebuilt from its adapter (not yet kept)."""
        view = self.store.get_job(job_id)
        if view is None or view.state != JobState.DONE:
            state = view.state.value if view else "unknown"
            raise NotInMemory(f"job {job_id} is {state}; generation needs a finished job")
        if not view.has_adapter:
            raise NotInMemory(
                f"job {job_id}'s tuned model is no longer in memory: method {view.method!r} changes the "
                f"model itself and saves no adapter to rebuild it from, and only the last "
                f"{self.keep_finished} finished models are kept in memory; run the job again"
            )
        start = time.perf_counter()
        try:
            config = TrainConfig.model_validate(view.config)
            task = load_task(self.store, self.data_dir, config.task)  # None: a built-in task
            # stored configs are resolved at submission (resolving again changes nothing); older rows are not
            run = restore_run(resolve_job(config, task), self.cache, self.adapter_dir(job_id))
        except (LookupError, OSError, ValueError, ModelNotAvailable) as exc:  # ValueError: ConfigError too
            raise NotInMemory(
                f"job {job_id}'s tuned model could not be rebuilt from its adapter: {exc}"
            ) from None
        with self._lock:
            self.restores += 1
        logger.info(
            "job %s: tuned model rebuilt from its adapter in %.2f s", job_id, time.perf_counter() - start
        )
        handle = _Handle(job_id, view.owner, config, run.task, EventStamper(job_id))
        handle.state, handle.finished, handle.last_type, handle.run = JobState.DONE, True, "done", run
        return handle

    def _keep_locked(self, handle: _Handle) -> list[_Handle]:
        """Hold a finished job's model for generate (``_lock`` held); returns what to release: the
        oldest unpinned models beyond ``keep_finished`` (or this one, while stopping)."""
        if self._stopping:
            return [handle]
        self._finished[handle.id] = handle
        return self._evict_locked()

    def tuned_run(self, job_id: str) -> TrainingRun | None:
        """The run of a job: while it runs, and after it finished for as long as it is kept."""
        with self._lock:
            handle = self._handles.get(job_id) or self._finished.get(job_id)
        return handle.run if handle else None

    def pin(self, job_id: str, pinned: bool = True) -> None:
        """Keep (or stop keeping) a finished job's tuned model in memory beyond the last few."""
        with self._lock:
            (self._pinned.add if pinned else self._pinned.discard)(job_id)
            handle = self._handles.get(job_id)
            ordinary = handle is not None and queue_priority(handle.owner) < PRIVILEGED
            if pinned and ordinary and self._queue.promote(job_id, handle.owner):  # type: ignore[union-attr]
                self._work_ready.notify()

    def adapter_dir(self, job_id: str) -> Path:
        return self.adapter_root / job_id  # job ids are server-made hex: never user input

    # -- workers ------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._stopping and not len(self._queue):
                    self._work_ready.wait()
                if self._stopping:
                    return
                handle = self._handles[self._queue.pop()]  # type: ignore[index]
                handle.state, handle.started_at = JobState.RUNNING, time.time()
            self._announce_positions()
            try:
                self._run(handle)
            except Exception:  # a store or broker failure must not kill the worker
                logger.exception("job %s crashed its worker", handle.id)
                self._emit(handle, Failed(error="internal error (see the server log)"))
            finally:
                self._after_run(handle)

    def _run(self, handle: _Handle) -> None:
        self.store.set_state(handle.id, JobState.RUNNING)
        if handle.cancel.is_set():  # cancelled between the queue and here
            self._emit(handle, self._stop_event())
            return
        run = TrainingRun(
            ResolvedJob(handle.config, handle.task),
            cache=self.cache,
            cancel=handle.cancel,
            time_limit_s=self.time_limit_s,
        )
        handle.run = run
        first_step_at: float | None = None
        last_step = None
        for event in run.events():
            if event.type == "step":
                first_step_at = first_step_at or time.time()
                last_step = event
                handle.steps_done, handle.step_s = event.step, event.elapsed_s / max(1, event.step)
                self.durations.observe_step(handle.config.model, handle.config.method, handle.step_s)
                if event.step % 5 == 1:  # the queue behind hears when this run's pace moves its start
                    self._announce_positions()
            elif event.type == "done":
                self._save_adapter(handle)
                if first_step_at and last_step is not None:
                    load_s = first_step_at - (handle.started_at or first_step_at)
                    step_s = last_step.elapsed_s / max(1, last_step.step)
                    self.durations.record(handle.config.model, handle.config.method, load_s, step_s)
            elif event.type == "cancelled" and self._stopping:
                event = Failed(error=STOPPED_REASON)
            self._emit(handle, event)

    def _save_adapter(self, handle: _Handle) -> None:
        assert handle.run is not None
        directory = self.adapter_dir(handle.id)
        try:
            handle.run.save_adapter(directory)
        except (NotImplementedError, ValueError) as exc:  # methods without an adapter (full, head)
            logger.info("job %s has no adapter: %s", handle.id, exc)
            return
        self.store.update(handle.id, has_adapter=True)

    def _after_run(self, handle: _Handle) -> None:
        if not handle.finished:  # the loop promises a terminal event; never leave a job open
            self._emit(handle, Failed(error="the training loop ended without a result"))
        with self._lock:  # one step: a generate call sees the model here or in _handles, never neither
            self._handles.pop(handle.id, None)
            handle.state = STATE_OF_TERMINAL_EVENT.get(handle.last_type, JobState.FAILED)
            kept = handle.run is not None and handle.state == JobState.DONE
            evicted = self._keep_locked(handle) if kept else [handle]
        for old in evicted:
            self._release(old)

    def _evict_locked(self) -> list[_Handle]:
        evictable = [job_id for job_id in self._finished if job_id not in self._pinned]
        surplus = len(self._finished) - self.keep_finished
        return [self._finished.pop(job_id) for job_id in evictable[: max(0, surplus)]]

    @staticmethod
    def _release(handle: _Handle) -> None:
        with handle.emit_lock:
            if handle.run is not None:
                handle.run.release()
                handle.run = None
        gc.collect()

    # -- events -------------------------------------------------------------------------------
    def _emit(self, handle: _Handle, event: AnyEvent) -> None:
        with handle.emit_lock:
            if handle.finished:  # nothing follows a terminal event (e.g. a stale position update)
                return
            stamped = handle.stamper.stamp(event)
            data = stamped.model_dump_json()
            self.store.append_event(stamped, data)
            handle.finished = stamped.terminal
            handle.last_type = stamped.type
            self.broadcaster.publish(handle.id, Message(stamped.seq, data, stamped.terminal))

    def _stop_event(self) -> AnyEvent:
        return Failed(error=STOPPED_REASON) if self._stopping else Cancelled()

    def _schedule_locked(self) -> dict[str, tuple[int, float]]:
        """Queue position and estimated seconds to start of every waiting job (``_lock`` held)."""
        order = self._queue.order()
        now = time.time()
        running_left = [
            time_left_s(
                self._estimate(h),
                now - (h.started_at or now),
                h.config.steps or 1,
                h.steps_done,
                self.durations.step_s(h.config.model, h.config.method),
                h.step_s,
            )
            for h in self._handles.values()
            if h.state == JobState.RUNNING
        ]
        starts = start_times(running_left, [self._estimate(self._handles[j]) for j in order], self.workers)
        places = enumerate(zip(order, starts, strict=True))
        return {job_id: (index, round(start, 1)) for index, (job_id, start) in places}

    def _estimate(self, handle: _Handle) -> float:
        return self.durations.estimate(handle.config.model, handle.config.method, handle.config.steps or 1)

    def _run_s(self, handle: _Handle) -> float:
        return round(self._estimate(handle), 1)

    def _announce_positions(self) -> None:
        """Emit a fresh `queued` event to every waiting job whose position changed. Serialised, and
        each snapshot taken inside, so a later announcement never loses to an earlier one."""
        with self._announce_lock:
            with self._lock:
                snapshot = {j: (self._handles[j], *place) for j, place in self._schedule_locked().items()}
            changed = {
                j: handle.state == JobState.QUEUED
                and (handle.last_position != position or eta_changed(handle.last_eta_s, eta_s))
                for j, (handle, position, eta_s) in snapshot.items()
            }
            due, wait = self.position_updates.plan(changed)
            for job_id in due:
                handle, position, eta_s = snapshot[job_id]
                with handle.emit_lock:
                    if handle.state == JobState.QUEUED:
                        handle.last_position, handle.last_eta_s = position, eta_s
                        self._emit(handle, Queued(position=position, eta_s=eta_s, run_s=self._run_s(handle)))
                self.position_updates.sent(job_id)
            if wait is not None and (self._flush_timer is None or not self._flush_timer.is_alive()):
                self._flush_timer = threading.Timer(wait, self._announce_positions)  # the deferred ones
                self._flush_timer.daemon = True
                self._flush_timer.start()
