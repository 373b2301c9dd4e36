"""Training workers as Ray actors: the same ``JobWorker`` as a local worker process, placed by Ray.

``FTLAB_RUNNER=ray`` joins the Ray cluster running on this machine (``ray start --head``) or starts a
local one bound to 127.0.0.1 without a dashboard; ``ray://host:port`` (Ray Client) or ``host:port``
joins a cluster. Each actor declares its resources (``num_cpus``, fractional ``num_gpus`` to pack
small jobs on one GPU) and keeps its node's model cache warm between jobs; jobs run one at a time
per actor, and requests against held models run on the actor's other threads.

The actor stores and stamps its events itself (PostgreSQL notifies every web process; SQLite works
when every actor is on this machine). It implements ``protocol.Executor`` with the same typed reports
as the local pool: the actor keeps its ``StepPace`` reports (and, on SQLite, its ``EventStored`` ones)
until the pool's waiter thread collects them (``take_reports``, every ``REPORT_EVERY_S``), so Ray
jobs feed the ETA and the live fan-out the same way. Adapters are written under ``FTLAB_DATA_DIR``,
which must be a directory every node and web process shares. A killed actor fails only its job
('training worker lost') and is replaced. So does an actor whose node dies (its raylet killed, the
machine gone): Ray reports the actor unreachable or dead within seconds, the job fails at once, and a
replacement is sought in the background. A replacement that cannot be placed (no node has room) is
given up after ``PLACE_TIMEOUT_S`` and tried again, for as long as the pool runs, while the other
actors keep taking jobs. The thread that waits for jobs never blocks on placement and survives any
error.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.jobs.executors.protocol import CALL_TIMEOUT_S, WORKER_LOST, JobFinished, JobLost, Report, Reporter
from app.jobs.executors.slots import Slots
from app.jobs.executors.tuned import NotInMemory, TunedRequest
from app.jobs.executors.worker import JobWorker, WorkerConfig

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[3]  # where the ``app`` package lives, for the actors' imports
REPORT_EVERY_S = 0.5  # how often the waiter collects the busy actors' reports
COLLECT_TIMEOUT_S = 30.0
MAX_KEPT_REPORTS = 10_000  # an actor whose reports nobody collects drops the oldest
PLACE_TIMEOUT_S = 60.0  # how long one try to place a (replacement) actor waits for room on a node
FIRST_PLACE_TIMEOUT_S = 120.0  # the first try at start (a loaded machine starts Ray workers slowly)
RETRY_PLACE_S = 5.0  # the pause between tries


class TrainingActor:
    """Wrapped by ``ray.remote`` in ``RayPool``; a threaded actor (``max_concurrency`` > 1)."""

    def __init__(self, config: WorkerConfig) -> None:
        logging.basicConfig(level=logging.INFO)
        self.cancel, self.stopping = threading.Event(), threading.Event()
        self._reports: collections.deque[Report] = collections.deque(maxlen=MAX_KEPT_REPORTS)
        self.worker = JobWorker(config, self.cancel, self.stopping, self._reports.append)
        self.tuned = self.worker.tuned
        self._lock = threading.Lock()
        self._current: str | None = None
        self._cancelled: set[str] = set()  # cancels that arrived before their job started here

    def node(self) -> tuple[str, int]:
        import ray

        return ray.get_runtime_context().get_node_id(), os.getpid()

    def take_reports(self) -> list[Report]:
        """The reports made since the last call (deque appends and pops are thread-safe)."""
        taken = []
        while self._reports:
            taken.append(self._reports.popleft())
        return taken

    def run(self, job_id: str) -> JobFinished:
        with self._lock:
            self._current = job_id
            (self.cancel.set if job_id in self._cancelled else self.cancel.clear)()
            self._cancelled.discard(job_id)
        try:
            return self.worker.run_safely(job_id)
        finally:
            with self._lock:
                self._current = None

    def cancel_job(self, job_id: str) -> None:
        with self._lock:
            if self._current == job_id:
                self.cancel.set()
            else:
                self._cancelled.add(job_id)

    def stop_jobs(self) -> None:
        self.stopping.set()
        self.cancel.set()

    def call(self, job_id: str, request: TunedRequest, restore: bool) -> Any:
        return self.tuned.call(job_id, request, restore)

    def ask(self, fn: Callable[[Any], Any]) -> Any:
        return fn(self)

    def pin(self, job_id: str, pinned: bool) -> None:
        self.tuned.pin(job_id, pinned)


@dataclass(eq=False)
class _Actor:
    index: int
    handle: Any
    node_id: str
    pid: int
    job_id: str | None = None
    ref: Any = None
    held: set[str] = field(default_factory=set)


class RayPool(Slots[_Actor]):
    """``protocol.Executor`` over Ray actors (the local one: ``local.WorkerPool``)."""

    def __init__(
        self,
        size: int,
        config: WorkerConfig,
        report: Reporter,
        address: str = "ray",
        num_cpus: float = 1.0,
        num_gpus: float = 0.0,
    ) -> None:
        super().__init__(size)
        self.config, self.report = config, report
        self.address, self.num_cpus, self.num_gpus = address, num_cpus, num_gpus
        self._waiter: threading.Thread | None = None
        self._started_ray = False
        self._placed = False  # ensure_started has run (some actors may still be placed later)
        self.replaced = 0

    # -- lifecycle ------------------------------------------------------------------------------
    def ensure_started(self) -> None:
        """Place the pool's actors: those that find room within a try run jobs at once; the rest are
        placed in the background (a node gone for good must not hold the queue behind its actor)."""
        from ray.exceptions import GetTimeoutError

        with self._lock:
            if self._placed or self._stopping:
                return
            self._connect()
            missing = []
            for index in range(self.size):
                try:
                    self._members.append(self._make_actor(index, timeout=FIRST_PLACE_TIMEOUT_S))
                except GetTimeoutError:
                    missing.append(index)
            self._placed = True
            self._waiter = threading.Thread(target=self._wait, name="ftlab-ray-waiter", daemon=True)
            self._waiter.start()
        for index in missing:
            logger.warning(
                "no Ray node had room for actor %d in %.0f s; placing it in the background",
                index,
                FIRST_PLACE_TIMEOUT_S,
            )
            threading.Thread(
                target=self._place, args=(index, None), name=f"ftlab-ray-place-{index}", daemon=True
            ).start()

    def _connect(self) -> None:
        import ray

        if ray.is_initialized():
            return
        runtime_env = {"env_vars": {"PYTHONPATH": str(ROOT)}}
        if self.address == "ray":  # this machine's cluster if one runs, else a private one on loopback
            try:
                ray.init(address="auto", runtime_env=runtime_env, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError):
                ray.init(
                    runtime_env=runtime_env,
                    include_dashboard=False,
                    _node_ip_address="127.0.0.1",
                    logging_level=logging.WARNING,
                )
                self._started_ray = True
        else:
            ray.init(address=self.address, runtime_env=runtime_env, logging_level=logging.WARNING)

    def _make_actor(self, index: int, timeout: float = 300) -> _Actor:
        """A placed actor; GetTimeoutError after ``timeout`` s without room (the actor is killed)."""
        import ray
        from ray.exceptions import GetTimeoutError

        remote = ray.remote(TrainingActor).options(
            num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_concurrency=8, max_restarts=0
        )
        config = replace(self.config, name=f"{self.config.name}-ray{index}")
        handle = remote.remote(config)
        try:
            node_id, pid = ray.get(handle.node.remote(), timeout=timeout)
        except GetTimeoutError:
            ray.kill(handle)  # its pending placement would otherwise take the room when it comes
            raise
        for job_id in self._pinned:
            handle.pin.remote(job_id, True)
        return _Actor(index, handle, node_id, pid)

    def stop(self, timeout: float = 30.0) -> None:
        import ray

        with self._lock:
            self._stopping = True
            actors = list(self._members)
        for actor in actors:
            actor.handle.stop_jobs.remote()
        refs = [a.ref for a in actors if a.ref is not None]
        if refs:
            ray.wait(refs, num_returns=len(refs), timeout=timeout)
        if self._waiter is not None:
            self._waiter.join(5)
        for actor in actors:
            ray.kill(actor.handle)
        if self._started_ray:
            ray.shutdown()

    # -- jobs -----------------------------------------------------------------------------------
    def dispatch(self, job_id: str) -> str | None:
        self.ensure_started()
        with self._lock:
            actor = self._take_free(job_id)
            if actor is None:
                return None
            actor.ref = actor.handle.run.remote(job_id)
        return f"ray:{actor.node_id[:16]}:pid{actor.pid}"

    def cancel(self, job_id: str) -> bool:
        actor = self._running(job_id)
        if actor is None:
            return False
        actor.handle.cancel_job.remote(job_id)
        return True

    def call(
        self, job_id: str, request: TunedRequest, restore: bool = True, timeout: float = CALL_TIMEOUT_S
    ) -> Any:
        self.ensure_started()
        actor = self._holder(job_id, restore)
        return self._get(actor.handle.call.remote(job_id, request, restore), timeout)

    def ask(self, fn: Callable[[Any], Any], timeout: float = CALL_TIMEOUT_S) -> list[Any]:
        self.ensure_started()
        with self._lock:
            actors = list(self._members)
        return [self._get(a.handle.ask.remote(fn), timeout) for a in actors]

    def ask_one(self, key: str, fn: Callable[[Any], Any], timeout: float = CALL_TIMEOUT_S) -> Any:
        self.ensure_started()
        return self._get(self._stable(key).handle.ask.remote(fn), timeout)

    def pin(self, job_id: str, pinned: bool) -> None:
        for actor in self._pin(job_id, pinned):
            actor.handle.pin.remote(job_id, pinned)

    @staticmethod
    def _get(ref: Any, timeout: float) -> Any:
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

        try:
            return ray.get(ref, timeout=timeout)
        except RayTaskError as exc:  # the request raised in the actor: raise the same here
            cause = getattr(exc, "cause", None)
            raise (cause if isinstance(cause, Exception) else RuntimeError(str(exc))) from None
        except RayActorError:
            raise NotInMemory(f"{WORKER_LOST} (its Ray actor died) while answering") from None
        except GetTimeoutError:
            raise NotInMemory(f"the training worker did not answer in {timeout:.0f} s") from None

    # -- finished and lost jobs -----------------------------------------------------------------
    def _wait(self) -> None:
        next_collect = [0.0]
        while True:
            try:
                if self._wait_once(next_collect):
                    return
            except Exception:  # a Ray hiccup must not end the thread that ends jobs
                logger.exception("waiting for Ray jobs failed; waiting again")
                threading.Event().wait(1.0)

    def _wait_once(self, next_collect: list[float]) -> bool:
        """One round of collecting reports and waiting for a finished job (True: the pool stopped)."""
        import ray
        from ray.exceptions import RayError, RayTaskError

        with self._lock:
            pending = {a.ref: a for a in self._members if a.ref is not None}
            if self._stopping and not pending:
                return True
        if not pending:
            threading.Event().wait(0.1)
            return False
        if time.monotonic() >= next_collect[0]:
            next_collect[0] = time.monotonic() + REPORT_EVERY_S
            self._collect(list(pending.values()))
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=REPORT_EVERY_S)
        for ref in ready:
            actor = pending[ref]
            job_id = actor.job_id
            try:
                finished: JobFinished = ray.get(ref)
            except RayTaskError as exc:  # run raised past run_safely: the job failed, the actor lives
                actor.ref = None
                if job_id:
                    self._finished(actor, job_id, "failed")
                    self.report(JobLost(job_id, f"training worker failed: {exc}"))
                continue
            except RayError as exc:  # the actor died: killed, or its node (raylet) is gone
                logger.error("Ray actor on node %s died running job %s: %s", actor.node_id, job_id, exc)
                if job_id:  # first the job, then (in the background) a new actor
                    self.report(JobLost(job_id, f"{WORKER_LOST} ({_why_lost(exc, actor)})"))
                self._replace_later(actor)
                continue
            self._collect([actor])  # its last steps and events come before its end
            actor.ref = None
            if job_id:
                self._finished(actor, job_id, finished.state)
                self.report(finished)
        return False

    def _collect(self, actors: list[_Actor]) -> None:
        """Pass on the reports the actors kept (step paces; on SQLite their stored events too)."""
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

        for actor in actors:
            try:
                reports = ray.get(actor.handle.take_reports.remote(), timeout=COLLECT_TIMEOUT_S)
            except (
                RayActorError,
                RayTaskError,
                GetTimeoutError,
            ) as exc:  # its death is reported by its run's ref
                logger.warning("could not collect the reports of a Ray actor: %s", exc)
                continue
            for report in reports:
                self.report(report)

    def _replace_later(self, actor: _Actor) -> None:
        with self._lock:
            if self._stopping or actor not in self._members:
                if actor in self._members:
                    self._members.remove(actor)
                return
            actor.job_id, actor.ref = "", None  # not free: nothing is dispatched to a dead actor
        name = f"ftlab-ray-replace-{actor.index}"
        threading.Thread(target=self._place, args=(actor.index, actor), name=name, daemon=True).start()

    def _place(self, index: int, dead: _Actor | None) -> None:
        """Place actor ``index`` (in ``dead``'s slot, or one that could not be placed at start): tries
        of PLACE_TIMEOUT_S until one is placed or the pool stops (meanwhile the slot takes no jobs;
        the other actors go on)."""
        import ray
        from ray.exceptions import GetTimeoutError

        tries = 0
        while not self._stopping:
            tries += 1
            try:
                fresh = self._make_actor(index, timeout=PLACE_TIMEOUT_S)
            except GetTimeoutError:
                logger.warning(
                    "no Ray node has room for a replacement actor (try %d, %.0f s); trying again",
                    tries,
                    PLACE_TIMEOUT_S,
                )
            except Exception:
                logger.exception("placing a replacement Ray actor failed (try %d)", tries)
            else:
                with self._lock:
                    if not self._stopping and dead is None:
                        self._members.append(fresh)
                        return
                    if dead in self._members and not self._stopping:
                        self._members[self._members.index(dead)] = fresh
                        self.replaced += 1
                        return
                ray.kill(fresh.handle)  # the pool stopped meanwhile
                return
            threading.Event().wait(RETRY_PLACE_S)


def _why_lost(exc: Exception, actor: _Actor) -> str:
    """What the job's reason says: the node when Ray says it is gone, else what Ray saw."""
    import ray
    from ray.exceptions import ActorUnavailableError, NodeDiedError

    node = actor.node_id[:16]
    alive = any(n["NodeID"] == actor.node_id and n["Alive"] for n in ray.nodes())
    if isinstance(exc, NodeDiedError) or not alive:
        return f"its Ray node {node} was lost"
    if isinstance(exc, ActorUnavailableError):  # what a killed raylet looks like at first
        return f"its Ray actor on node {node} became unreachable: the node or the actor's process was lost"
    return f"its Ray actor on node {node} died"
