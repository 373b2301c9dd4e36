"""Tuned models: the models of running and finished jobs, held where they were trained.

It lives inside a training worker (a process of the local pool, or a Ray actor): a running job's
model is here while it trains; a finished (done) job's model is *kept* for ``generate`` and other
requests, the last ``keep_finished`` of them plus the pinned ones; an evicted or never-held model is
rebuilt from the job's saved adapter on first use (once, however many ask at once), then kept.

Any request against a job's model is a picklable callable ``request(run) -> result`` (see
``TunedRequest``), so the web process sends it over a pipe (or Ray) and gets the result back:
``Generate`` is one; the adapter lab's swap/combine/merge are others.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from app.jobs.executors.keyed_lock import KeyedLocks
from app.jobs.files.uploads import load_task
from app.jobs.state import JobState
from app.jobs.store import JobStore
from app.training.loop import TrainingRun
from app.training.methods import resolve_job
from app.training.models import ModelCache
from app.training.registry import ModelNotAvailable
from app.training.restore import restore_run
from app.training.train_config import TrainConfig

logger = logging.getLogger(__name__)


class NotInMemory(LookupError):
    """The job's tuned model is not held and cannot be rebuilt (no adapter, not done, worker lost)."""


class TunedRequest(Protocol):
    """A picklable request run against a held model in the worker; its result must pickle too."""

    def __call__(self, run: TrainingRun) -> Any: ...


@dataclass(frozen=True)
class Generate:
    prompt: str
    max_new_tokens: int

    def __call__(self, run: TrainingRun) -> tuple[str, str]:
        return run.generate(self.prompt, self.max_new_tokens)


class Held(StrEnum):
    TRAINING = "training"  # its job is running; the model changes every step
    KEPT = "kept"  # its job is done; the model is final and serves requests


@dataclass(eq=False)
class _Model:
    run: TrainingRun | None
    state: Held
    lock: threading.RLock = field(default_factory=threading.RLock)  # a request vs. its release


def adapter_dir(data_dir: Path, job_id: str) -> Path:
    return data_dir / "adapters" / job_id  # job ids are server-made hex: never user input


class TunedModels:
    def __init__(self, store: JobStore, cache: ModelCache, data_dir: Path, keep_finished: int = 4) -> None:
        self.store, self.cache, self.data_dir = store, cache, data_dir
        self.keep_finished = keep_finished
        self._models: OrderedDict[str, _Model] = OrderedDict()  # kept ones in least-recently-used order
        self._pinned: set[str] = set()
        self._restoring = KeyedLocks()  # one rebuild per job, however many ask at once
        self._lock = threading.Lock()
        self.restores = 0  # models rebuilt from their adapters (after eviction or a restart)

    # -- the life of a held model ---------------------------------------------------------------
    def training(self, job_id: str, run: TrainingRun) -> None:
        with self._lock:
            self._models[job_id] = _Model(run, Held.TRAINING)

    def keep(self, job_id: str) -> None:
        """The job is done: keep its model (evicting the oldest unpinned beyond ``keep_finished``)."""
        with self._lock:
            model = self._models.get(job_id)
            if model is None:
                return
            model.state = Held.KEPT
            self._models.move_to_end(job_id)
            evicted = self._evict_locked()
        for old in evicted:
            self._release(old)

    def drop(self, job_id: str) -> None:
        """The job did not finish done (failed, cancelled): free its model now."""
        with self._lock:
            model = self._models.pop(job_id, None)
        if model is not None:
            self._release(model)

    def pin(self, job_id: str, pinned: bool = True) -> None:
        with self._lock:
            (self._pinned.add if pinned else self._pinned.discard)(job_id)

    def holds(self, job_id: str) -> Held | None:
        with self._lock:
            model = self._models.get(job_id)
            return model.state if model is not None and model.run is not None else None

    def release_all(self) -> None:
        with self._lock:
            models = list(self._models.values())
            self._models.clear()
        for model in models:
            self._release(model)

    # -- requests ---------------------------------------------------------------------------------
    def call(self, job_id: str, request: TunedRequest, restore: bool = True) -> Any:
        """``request(run)`` on the job's model: the held one (training or kept), else (``restore``)
        the model rebuilt from the job's adapter, then kept like a just-finished one."""
        model = self._use(job_id)
        if model is not None:
            with model.lock:  # serialised with its release
                if model.run is not None:
                    return request(model.run)
        if not restore:
            raise NotInMemory(f"job {job_id}'s tuned model is not held here")
        with self._restoring.hold(job_id):
            model = self._use(job_id)  # rebuilt by whoever held the lock before us
            fresh = model is None
            if model is None:
                model = _Model(self._restore(job_id), Held.KEPT)
            with model.lock:
                if model.run is None:
                    raise NotInMemory(f"job {job_id}'s tuned model was released just now; try again")
                result = request(model.run)
            if fresh:  # answer first: with keep_finished=0 keeping it releases it at once
                with self._lock:
                    self._models[job_id] = model
                    evicted = self._evict_locked()
                for old in evicted:
                    self._release(old)
        return result

    def generate(self, job_id: str, prompt: str, max_new_tokens: int) -> tuple[str, str]:
        return self.call(job_id, Generate(prompt, max_new_tokens))

    # -- inside -----------------------------------------------------------------------------------
    def _use(self, job_id: str) -> _Model | None:
        with self._lock:
            model = self._models.get(job_id)
            if model is not None and model.state is Held.KEPT:
                self._models.move_to_end(job_id)
        return model if model is not None and model.run is not None else None

    def _restore(self, job_id: str) -> TrainingRun:
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
            run = restore_run(resolve_job(config, task), self.cache, adapter_dir(self.data_dir, job_id))
        except (LookupError, OSError, ValueError, ModelNotAvailable) as exc:  # ValueError: ConfigError too
            raise NotInMemory(
                f"job {job_id}'s tuned model could not be rebuilt from its adapter: {exc}"
            ) from None
        with self._lock:
            self.restores += 1
        logger.info(
            "job %s: tuned model rebuilt from its adapter in %.2f s", job_id, time.perf_counter() - start
        )
        return run

    def _evict_locked(self) -> list[_Model]:
        kept = [j for j, m in self._models.items() if m.state is Held.KEPT and j not in self._pinned]
        surplus = sum(1 for m in self._models.values() if m.state is Held.KEPT) - self.keep_finished
        return [self._models.pop(job_id) for job_id in kept[: max(0, surplus)]]

    @staticmethod
    def _release(model: _Model) -> None:
        with model.lock:
            if model.run is not None:
                model.run.release()
                model.run = None
        gc.collect()
