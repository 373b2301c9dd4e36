"""The runner: the queue (in the database), a scheduler, and the training workers it dispatches to.

Jobs wait as rows; any web process may submit, cancel and read them. One process at a time holds
the ``scheduler`` lease and hands waiting jobs, in the fair order of ``queue_policy.fair_order``, to
its executor (``executors.make_executor``: local worker processes or Ray actors); each job names the
process that claimed it, and that process renews its ``server:`` lease while it lives. A job whose
claimer is gone is failed by whoever notices first; a second server on the same database touches no
live job. The leases are renewed on a thread of their own (``ftlab-leases``), never behind dispatch
work: starting or placing a worker (a Ray actor may wait minutes for a placement) must not let the
lease lapse and make another process fail this one's jobs and take over scheduling.

Every event is stamped and stored by ``JobStore.emit`` (seq from the database, nothing after a
terminal event). Live fan-out: PostgreSQL NOTIFY, heard by every web process (``app.live.pg_relay``); on
SQLite the executor reports each stored event (``EventStored``) and it is published to this process's
broadcaster. Every executor reports step paces, finished and lost jobs the same typed way.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from app.events import Cancelled, EventBase, Failed, Queued
from app.jobs.executors import make_executor
from app.jobs.executors.protocol import (
    WORKER_LOST,
    EventStored,
    Executor,
    JobFinished,
    JobLost,
    Report,
    StepPace,
)
from app.jobs.executors.tuned import Generate, Held, NotInMemory, TunedRequest, adapter_dir
from app.jobs.executors.worker import STOPPED_REASON, HoldsModel, OnAdapterLab, WorkerConfig
from app.jobs.leases import HOST, SCHEDULER, Leases, server_lease
from app.jobs.queue_policy import (
    DurationModel,
    PositionUpdates,
    admits,
    eta_changed,
    fair_order,
    queue_priority,
    schedule,
    time_left_s,
)
from app.jobs.state import JobState
from app.jobs.store import RESTART_REASON, JobStore, JobView, QueuedJob, QueueSnapshot, StoredEvent
from app.live.broadcast import Broadcaster, Message
from app.training.methods import ResolvedJob
from app.training.models import ModelCache

logger = logging.getLogger(__name__)

__all__ = ["STOPPED_REASON", "WORKER_LOST", "JobInfo", "NotInMemory", "QueueFull", "Runner", "SubmitResult"]
OWNER_LOST = "training server lost: web process {holder} died or stopped renewing its lease"


class QueueFull(RuntimeError):
    pass


class JobInfo(JobView):
    queue_position: int | None = None
    eta_s: float | None = None


class SubmitResult(BaseModel):
    id: str
    state: JobState
    queue_position: int | None


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
        clock: Callable[[], float] = time.time,
        lease_ttl_s: float = 15.0,
        tick_s: float = 0.25,
        backend: str = "local",
        ray_num_cpus: float = 1.0,
        ray_num_gpus: float = 0.0,
    ) -> None:
        """``backend``: 'local' (spawned worker processes) or a Ray address ('ray', 'ray://h:p', 'h:p')."""
        self.store, self.broadcaster, self.data_dir = store, broadcaster, data_dir
        self.workers, self.max_queued, self.tick_s = workers, max_queued, tick_s
        self.holder = f"{HOST[:40]}-{os.getpid()}-{secrets.token_hex(3)}"
        self.leases = Leases(store.sessions, clock, lease_ttl_s)
        self.durations = DurationModel()
        config = WorkerConfig(
            name=f"ftlab-{os.getpid()}",
            database_url=store.url,
            model_dir=cache.model_dir,
            device=cache.device,
            data_dir=data_dir,
            time_limit_s=time_limit_s,
            keep_finished=keep_finished,
            report_events=not store.notifies,  # the event feed: NOTIFY on PostgreSQL, reports on SQLite
        )
        self.pool: Executor = make_executor(
            backend, workers, config, self._report, ray_num_cpus, ray_num_gpus
        )
        self._wake = threading.Event()
        self._announce_lock = threading.Lock()
        self.position_updates = PositionUpdates()  # coalesces `queued` events (app.jobs.queue_policy)
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._renewer: threading.Thread | None = None
        self._renewing = threading.Event()  # set: the renewal thread ends
        self._heartbeat_lock = threading.Lock()  # a renewal and stop's release of the scheduler lease
        self._next_heartbeat = 0.0
        self._announce_wanted = False
        self._paces: dict[str, tuple[int, float]] = {}  # running job → (steps done, measured s/step)
        self.is_scheduler = False
        self._stats = {"queued": 0, "running": 0, "workers": workers}

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self.leases.acquire(server_lease(self.holder), self.holder)
        if not self.leases.live_servers(other_than=self.holder):  # every server had stopped: a restart
            restarted = self.store.fail_running(RESTART_REASON)  # queued jobs wait for us
            if restarted:
                logger.warning("marked %d running jobs failed: %s", len(restarted), RESTART_REASON)
        self._heartbeat()  # the scheduler lease (if free) and a sweep, before the first tick
        self._count()
        self._renewer = threading.Thread(target=self._renew_loop, name="ftlab-leases", daemon=True)
        self._renewer.start()
        self._thread = threading.Thread(target=self._schedule_loop, name="ftlab-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop scheduling; running jobs of this process end 'server stopped' (their workers get
        ``timeout`` s to stop, then are killed); waiting jobs stay queued for whichever server runs
        next (another one now, or this one after a restart); the workers exit; the leases go: the
        scheduler lease once scheduling stopped, the server lease (renewed meanwhile, so no other
        process takes this one's stopping jobs for lost) once the workers are gone."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._heartbeat_lock:  # a renewal under way finishes first; later ones skip the scheduler
            self.is_scheduler = False
            self.leases.release(SCHEDULER, self.holder)
        self.pool.stop(timeout)
        self._renewing.set()
        if self._renewer is not None:
            self._renewer.join(timeout)
        self.leases.release(server_lease(self.holder), self.holder)

    # -- submitting and asking ------------------------------------------------------------------
    def submit(
        self, job: ResolvedJob, owner: str | None = None, admit: Callable[[Any, str], None] | None = None
    ) -> SubmitResult:
        """Queue a job, resolved once by ``resolve_job`` (its config is what the store keeps and what
        the worker trains as it is; the worker loads the task by name and refuses it if its content
        hash differs from the one stored here). ``admit(session, job_id)`` runs
        in the inserting transaction, serialised with every other submission: caps that count jobs
        (and record the new one) there cannot be overrun by concurrent submits; it may raise."""
        if self._stopping:
            raise QueueFull("the server is stopping")
        job_id, config = secrets.token_hex(8), job.config
        job_row = QueuedJob(job_id, owner, time.time(), None, config.model, config.method, config.steps or 1)
        first = _FirstQueued(self, job_row, admit)
        self.store.create_job(
            job_id,
            config.model_dump(mode="json"),
            owner=owner,
            first_event=first,
            task_digest=job.task.digest(),
        )
        with self._announce_lock:
            self.position_updates.sent(job_id, first=True)
        self._announce_positions()
        self._count()
        self._wake.set()
        return SubmitResult(id=job_id, state=JobState.QUEUED, queue_position=first.position)

    def get(self, job_id: str) -> JobInfo | None:
        """The job as stored, plus its live queue position (any job: queued, running or finished)."""
        view = self.store.get_job(job_id)
        if view is None:
            return None
        places = self._places(self.store.queue_snapshot()) if view.state == JobState.QUEUED else {}
        position, eta_s = places.get(job_id, (None, None))
        return JobInfo(**view.model_dump(), queue_position=position, eta_s=eta_s)

    def list(self, owner: str | None = None, limit: int = 100) -> list[JobInfo]:
        views = self.store.list_jobs(owner=owner, limit=limit)
        places = self._places(self.store.queue_snapshot())
        infos = []
        for view in views:
            position, eta_s = places.get(view.id, (None, None))
            infos.append(JobInfo(**view.model_dump(), queue_position=position, eta_s=eta_s))
        return infos

    def stats(self) -> dict[str, int]:
        """Jobs waiting and running as last counted (each scheduler tick, and after this process submits
        or cancels): no query, so the health check on the event loop never waits for the database."""
        return self._stats

    def _count(self) -> None:
        counts = self.store.unfinished_counts()
        self._stats = {"queued": counts["queued"], "running": counts["running"], "workers": self.workers}

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job (running anywhere); False if it is neither."""
        if self._emit(job_id, Cancelled(), only_if=JobState.QUEUED) is not None:
            self._announce_positions()
            self._count()
            return True
        if self.pool.cancel(job_id):  # running here: its loop sees the flag between steps
            return True
        return self.store.request_cancel(job_id)  # running on another server: its scheduler passes it on

    # -- the tuned models (held by the workers) -------------------------------------------------
    def generate(self, job_id: str, prompt: str, max_new_tokens: int) -> tuple[str, str]:
        """(tuned, base) completions from a finished job's model, on the worker holding it (or one that
        rebuilds it from the job's adapter). Raises NotInMemory when neither is possible."""
        return self.pool.call(job_id, Generate(prompt, max_new_tokens))

    def call(self, job_id: str, request: TunedRequest, restore: bool = True) -> Any:
        """Any picklable ``request(run)`` against the job's tuned model, run where the model lives."""
        return self.pool.call(job_id, request, restore)

    def run_on_adapter_lab(self, base_model: str, fn: Callable[[Any], Any]) -> Any:
        """``fn(lab)`` on the adapter lab of the worker chosen by the base model's name (swaps on one base
        reuse its loaded adapters); NotInMemory if that worker dies or does not answer in time."""
        return self.pool.ask_one(base_model, OnAdapterLab(fn))

    def holds(self, job_id: str) -> Held | None:
        """Whether a worker holds the job's model now (training or kept), without rebuilding it."""
        if not self.pool.started:
            return None
        return next((state for state in self.pool.ask(HoldsModel(job_id)) if state is not None), None)

    def pin(self, job_id: str, pinned: bool = True) -> None:
        """A class's pinned run: first in line while it waits, its tuned model kept beyond the last few."""
        self.store.update(job_id, pinned=pinned)
        self._announce_positions()
        self.pool.pin(job_id, pinned)

    def adapter_dir(self, job_id: str) -> Path:
        return adapter_dir(self.data_dir, job_id)

    # -- scheduling -----------------------------------------------------------------------------
    def _schedule_loop(self) -> None:
        while not self._stopping:
            self._wake.wait(self.tick_s)
            self._wake.clear()
            if self._stopping:
                return
            try:
                self._tick()
            except Exception:  # a database hiccup must not end scheduling
                logger.exception("scheduler tick failed")

    def _renew_loop(self) -> None:
        """Every ``lease_ttl_s/3`` (by the injected clock, looked at each ``tick_s``), whatever the
        scheduler thread is blocked on."""
        while not self._renewing.wait(self.tick_s):
            if self.leases.clock() < self._next_heartbeat:
                continue
            try:
                self._heartbeat()
            except Exception:  # a database hiccup must not end renewal
                logger.exception("lease renewal failed")
                self.is_scheduler = False  # unsure whether it is still ours: dispatch nothing meanwhile

    def _heartbeat(self) -> None:
        """Renew the server lease, take or renew the scheduler lease (not while stopping), sweep."""
        with self._heartbeat_lock:
            self._next_heartbeat = self.leases.clock() + self.leases.ttl_s / 3
            self.leases.acquire(server_lease(self.holder), self.holder)
            self.is_scheduler = not self._stopping and self.leases.acquire(SCHEDULER, self.holder)
        self._sweep()

    def _tick(self) -> None:
        if self.is_scheduler:
            self._schedule()
        self._count()  # every process, scheduler or not: jobs start and end in other processes too

    def _schedule(self) -> None:
        for job_id, _, requested in self.store.running_jobs(holder=self.holder):
            if requested:
                self.pool.cancel(job_id)
        if self._dispatch() or self._announce_wanted:
            self._announce_wanted = False
            self._announce_positions()

    def _dispatch(self) -> bool:
        dispatched = False
        while not self._stopping and self.is_scheduler and self.pool.free_slots() > 0:  # lost it: stop
            snapshot = self.store.queue_snapshot()
            order = fair_order(snapshot.waiting, snapshot.last_start)
            if not order:
                break
            if not self.store.claim(order[0], self.holder):
                continue  # cancelled meanwhile
            node = self.pool.dispatch(order[0])
            if node is None:
                self._emit(order[0], Failed(error=STOPPED_REASON))
                break
            self.store.update(order[0], node=node)
            dispatched = True
        return dispatched

    def _sweep(self) -> None:
        """Fail running jobs whose server is gone (whoever notices first; emit is idempotent)."""
        running = self.store.running_jobs()
        claimers = {claimed_by or "" for _, claimed_by, _ in running}
        gone = self.leases.gone(claimers - {self.holder})
        for job_id, claimed_by, _ in running:
            if (claimed_by or "") in gone:
                logger.error("job %s: its server %s is gone", job_id, claimed_by)
                reason = OWNER_LOST.format(holder=claimed_by)
                self._emit(job_id, Failed(error=reason), only_if=JobState.RUNNING)

    def _places(self, snapshot: QueueSnapshot) -> dict[str, tuple[int, float]]:
        return schedule(snapshot, self.durations.estimate_job, self._time_left, self.workers)

    def _time_left(self, job: QueuedJob) -> float:
        """A running job's remaining seconds: at its measured pace once it steps (reported by this
        process's executor, local or Ray), else its estimate less the time spent; the work after
        its last step (as measured on earlier runs of its model and method) included."""
        steps_done, pace = self._paces.get(job.id, (0, None))
        elapsed = time.time() - (job.started_at or time.time())
        estimated_pace = self.durations.step_s(job.model, job.method)
        tail = self.durations.tail_s(job.model, job.method)
        return time_left_s(
            self.durations.estimate_job(job), elapsed, job.steps, steps_done, estimated_pace, pace, tail
        )

    def _announce_positions(self) -> None:
        """Emit a fresh `queued` event to every waiting job whose position changed; one transaction
        that no other announcer (in any process) interleaves with."""
        published: list[tuple[str, StoredEvent]] = []
        with self._announce_lock, self.store.sessions.begin() as session:
            self.store.serialize(session)
            snapshot = self.store.queue_snapshot(session)
            places = self._places(snapshot)
            changed = {
                job.id: job.position != places[job.id][0] or eta_changed(job.eta_s, places[job.id][1])
                for job in snapshot.waiting
            }
            due, wait = self.position_updates.plan(changed)
            self._announce_wanted = self._announce_wanted or wait is not None  # the next tick sends them
            by_id = {job.id: job for job in snapshot.waiting}
            for job_id in due:
                job = by_id[job_id]
                position, eta_s = places[job_id]
                run_s = round(self.durations.estimate_job(job), 1)
                event = Queued(position=position, eta_s=eta_s, run_s=run_s)
                stored = self.store.emit_in(session, job_id, event, JobState.QUEUED)
                self.position_updates.sent(job_id)
                if stored is not None:
                    published.append((job_id, stored))
        for job_id, stored in published:
            self._publish_stored(job_id, stored)

    # -- events ---------------------------------------------------------------------------------
    def _emit(self, job_id: str, event: EventBase, only_if: JobState | None = None) -> StoredEvent | None:
        stored = self.store.emit(job_id, event, only_if)
        if stored is not None:
            self._publish_stored(job_id, stored)
        return stored

    def _publish_stored(self, job_id: str, stored: StoredEvent) -> None:
        if not self.store.notifies:  # PostgreSQL: every web process hears the NOTIFY instead
            self._publish(job_id, stored.seq, stored.data, stored.terminal)

    def _publish(self, job_id: str, seq: int, data: str, terminal: bool) -> None:
        self.broadcaster.publish(job_id, Message(seq, data, terminal))

    def _report(self, report: Report) -> None:
        """What the executor reports (from its reader or waiter thread), whichever executor it is."""
        match report:
            case EventStored(job_id, seq, data, terminal):
                self._publish(job_id, seq, data, terminal)
            case StepPace(job_id, model, method, step):
                self._paces[job_id] = (step, report.step_s)  # the job's measured pace
                self.durations.observe_step(model, method, report.step_s)
                if step % 5 == 1:  # every 5th step the queue behind re-hears its estimates
                    self._announce_wanted = True
                    self._wake.set()
            case JobFinished(job_id, _state, load_s, step_s, tail_s):
                self._paces.pop(job_id, None)
                if load_s is not None and step_s is not None:
                    view = self.store.get_job(job_id)
                    if view is not None:
                        self.durations.record(view.model, view.method, load_s, step_s, tail_s or 0.0)
                self._wake.set()
            case JobLost(job_id, reason):
                self._paces.pop(job_id, None)
                self._emit(job_id, Failed(error=reason))
                self._wake.set()


class _FirstQueued:
    """A submitted job's first event, made inside the inserting transaction (``JobStore.create_job``):
    ``admit`` runs there, the queue's bound is checked, and the place it computes is kept."""

    def __init__(self, runner: Runner, job: QueuedJob, admit: Callable[[Any, str], None] | None) -> None:
        self.runner, self.job, self.admit = runner, job, admit
        self.position: int | None = None

    def __call__(self, session: Any) -> EventBase:
        runner, job = self.runner, self.job
        if self.admit is not None:
            self.admit(session, job.id)
        snapshot = runner.store.queue_snapshot(session)
        others = len(snapshot.waiting) - 1  # this job is in the snapshot already
        if not admits(
            others, runner.max_queued, queue_priority(job.owner)
        ):  # a share kept for the instructor
            raise QueueFull(f"the queue is full ({others} jobs waiting); try again later")
        self.position, eta_s = runner._places(snapshot)[job.id]
        return Queued(position=self.position, eta_s=eta_s, run_s=round(runner.durations.estimate_job(job), 1))
