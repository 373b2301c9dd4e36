"""The one way a job enters the queue, for every route that starts one (POST /api/jobs, a class's
pinned run): the model allowed on this server, the task loaded and the config resolved (once: the
runner stores and trains this resolved job), a student's class limits, then the runner's queue and
the class's record of the run.

Raises domain errors only (``ConfigError`` naming the field, ``LimitExceeded``, ``QueueFull``);
the web layer maps them to status codes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from app.identity import Credentials, task_scope
from app.jobs.files.uploads import load_task, resolve_task_name
from app.jobs.runner import Runner, SubmitResult
from app.jobs.store import JobStore
from app.training.methods import ConfigError, ResolvedJob, resolve_job
from app.training.registry import MODEL_REGISTRY
from app.training.train_config import TrainConfig


class Admissions(Protocol):
    """The classroom's side of a submission (``classroom.room.Classroom``): admits the job under the
    class limits (raising ``LimitExceeded``) and records the run once it is queued."""

    def submission(
        self, owner: str | None, who: Credentials, model: str, method: str, steps: int
    ) -> AbstractContextManager[Recording]: ...


class SubmissionGuard(Protocol):
    """Per-address limits across seats (``limits.classes.ClassGuard``)."""

    def admit_job(self, owner: str | None, address: str | None) -> None: ...

    def record_job_in(
        self, session: Session, job_id: str, owner: str | None, address: str | None
    ) -> None: ...


class Recording(Protocol):
    def record(self, job_id: str) -> None: ...


class _Unrecorded:
    """Where no classroom watches: nothing to record."""

    def record(self, job_id: str) -> None:
        pass


@dataclass
class JobSubmitter:
    runner: Runner
    store: JobStore
    data_dir: Path
    allowed_hub_models: Sequence[str] = ()
    classroom: Admissions | None = None
    guard: SubmissionGuard | None = None  # per-address limits across seats

    def submit(self, config: TrainConfig, owner: str | None, who: Credentials | None = None) -> SubmitResult:
        """Queue ``config`` for ``owner`` (``who``: the requester's credentials, for a student's seat)."""
        if config.model not in MODEL_REGISTRY and config.model not in self.allowed_hub_models:
            valid = ", ".join([*MODEL_REGISTRY, *self.allowed_hub_models])
            raise ConfigError("model", f"unknown model {config.model!r}; valid models: {valid}")
        try:  # an uploaded task of that name is the requester's own, else the shared one
            stored = resolve_task_name(self.store, config.task, task_scope(owner, who))
            task = load_task(self.store, self.data_dir, stored)
        except LookupError as exc:
            raise ConfigError("task", str(exc.args[0])) from None
        config = config.model_copy(update={"task": stored})
        job = resolve_job(config, task)
        who = who or Credentials()
        with self._admitted(owner, who, job) as admitted:
            admit = None
            if self.guard is not None:
                self.guard.admit_job(owner, who.address)  # Throttled (429): the submission rate
                admit = partial(self.guard.record_job_in, owner=owner, address=who.address)
            result = self.runner.submit(job, owner=owner, admit=admit)  # admit: jobs per address, atomically
            admitted.record(result.id)
        return result

    @contextmanager
    def _admitted(self, owner: str | None, who: Credentials, job: ResolvedJob) -> Iterator[Recording]:
        if self.classroom is None:
            yield _Unrecorded()
            return
        cfg = job.config
        with self.classroom.submission(owner, who, cfg.model, cfg.method, cfg.steps or 0) as admitted:
            yield admitted
