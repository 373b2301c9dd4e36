"""Persistence of jobs, their events and uploaded tasks (SQLAlchemy; SQLite or PostgreSQL).

Events are stored as the exact JSON text that was published, so a replay sends the same bytes the
live stream did, and ``(job_id, seq)`` is the primary key: a duplicate seq cannot be written.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from pydantic import BaseModel
from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from app.db import Base
from app.events import TERMINAL_TYPES, Done, EventStamper, Failed
from app.events import _Event as AnyEvent
from app.jobs.state import FINISHED, STATE_OF_TERMINAL_EVENT, JobState, check_transition

RESTART_REASON = "server restarted"


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    model: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(20))
    task: Mapped[str] = mapped_column(String(80))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float, index=True)
    started_at: Mapped[float | None] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    has_adapter: Mapped[bool] = mapped_column(Boolean, default=False)


class EventRow(Base):
    __tablename__ = "job_events"

    job_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    data: Mapped[str] = mapped_column(Text)


class TaskRow(Base):
    __tablename__ = "uploaded_tasks"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(300), doc="relative to the data dir")
    n_examples: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)


class StoredEvent(NamedTuple):
    seq: int
    type: str
    data: str  # the event's JSON text

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_TYPES


class JobView(BaseModel):
    """A job as the API shows it (a detached snapshot of its row)."""

    id: str
    state: JobState
    owner: str | None = None
    model: str
    method: str
    task: str
    config: dict[str, Any]
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None
    has_adapter: bool = False

    @classmethod
    def of(cls, row: JobRow) -> JobView:
        return cls.model_validate(row, from_attributes=True)


class TaskView(BaseModel):
    name: str
    kind: str
    filename: str
    path: str
    n_examples: int
    size_bytes: int
    owner: str | None = None
    created_at: float

    @classmethod
    def of(cls, row: TaskRow) -> TaskView:
        return cls.model_validate(row, from_attributes=True)


class UnknownJob(KeyError):
    pass


class JobStore:
    """All database access of the jobs room. Every method is one short transaction; thread-safe."""

    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    # -- jobs ---------------------------------------------------------------------------------
    def create_job(self, job_id: str, config: dict[str, Any], owner: str | None = None) -> JobView:
        row = JobRow(
            id=job_id,
            owner=owner,
            state=JobState.QUEUED.value,
            model=config["model"],
            method=config["method"],
            task=config["task"],
            config=config,
            created_at=time.time(),
            has_adapter=False,
        )
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return JobView.of(row)

    def get_job(self, job_id: str) -> JobView | None:
        with self._sessions() as session:
            row = session.get(JobRow, job_id)
            return JobView.of(row) if row else None

    def list_jobs(self, owner: str | None = None, limit: int = 100) -> list[JobView]:
        query = select(JobRow).order_by(JobRow.created_at.desc()).limit(limit)
        if owner is not None:
            query = query.where(JobRow.owner == owner)
        with self._sessions() as session:
            return [JobView.of(row) for row in session.scalars(query)]

    def set_state(self, job_id: str, state: JobState, **fields: Any) -> JobView:
        """Move a job to ``state`` (checked) and set other columns, e.g. ``has_adapter=True``."""
        with self._sessions.begin() as session:
            row = self._row(session, job_id)
            self._apply_state(row, state)
            for name, value in fields.items():
                setattr(row, name, value)
            return JobView.of(row)

    def update(self, job_id: str, **fields: Any) -> None:
        with self._sessions.begin() as session:
            row = self._row(session, job_id)
            for name, value in fields.items():
                setattr(row, name, value)

    # -- events -------------------------------------------------------------------------------
    def append_event(self, event: AnyEvent, data: str | None = None) -> None:
        """Store one stamped event (``data``: its JSON text, if already made); a terminal event
        also finishes the job, in the same transaction."""
        if data is None:
            data = event.model_dump_json()
        with self._sessions.begin() as session:
            session.add(EventRow(job_id=event.job_id, seq=event.seq, type=event.type, data=data))
            new_state = STATE_OF_TERMINAL_EVENT.get(event.type)
            if new_state is not None:
                row = self._row(session, event.job_id)
                self._apply_state(row, new_state)
                if isinstance(event, Done):
                    row.summary = event.summary
                elif isinstance(event, Failed):
                    row.error = event.error

    def events_after(self, job_id: str, after: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """The job's events with seq > after, in order."""
        query = (
            select(EventRow.seq, EventRow.type, EventRow.data)
            .where(EventRow.job_id == job_id, EventRow.seq > after)
            .order_by(EventRow.seq)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._sessions() as session:
            return [StoredEvent(seq, type_, data) for seq, type_, data in session.execute(query)]

    def last_seq(self, job_id: str) -> int:
        with self._sessions() as session:
            value = session.scalar(select(func.max(EventRow.seq)).where(EventRow.job_id == job_id))
            return int(value or 0)

    def fail_unfinished(self, reason: str = RESTART_REASON) -> list[str]:
        """After a restart: every queued or running job gets a stored ``failed`` event and state."""
        unfinished = [s.value for s in JobState if s not in FINISHED]
        with self._sessions() as session:
            ids = list(session.scalars(select(JobRow.id).where(JobRow.state.in_(unfinished))))
        for job_id in ids:
            self.append_event(EventStamper(job_id, self.last_seq(job_id)).stamp(Failed(error=reason)))
        return ids

    # -- uploaded tasks -----------------------------------------------------------------------
    def add_task(self, **fields: Any) -> TaskView:
        row = TaskRow(created_at=time.time(), **fields)
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return TaskView.of(row)

    def get_task(self, name: str) -> TaskView | None:
        with self._sessions() as session:
            row = session.get(TaskRow, name)
            return TaskView.of(row) if row else None

    def list_tasks(self) -> list[TaskView]:
        with self._sessions() as session:
            return [TaskView.of(row) for row in session.scalars(select(TaskRow).order_by(TaskRow.name))]

    # -- helpers ------------------------------------------------------------------------------
    @staticmethod
    def _row(session: Any, job_id: str) -> JobRow:
        row = session.get(JobRow, job_id)
        if row is None:
            raise UnknownJob(job_id)
        return row

    @staticmethod
    def _apply_state(row: JobRow, state: JobState) -> None:
        row.state = check_transition(row.state, state).value
        if state == JobState.RUNNING:
            row.started_at = time.time()
        elif state in FINISHED:
            row.finished_at = time.time()
