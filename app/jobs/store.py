"""Persistence of jobs, their events and uploaded tasks (SQLAlchemy; SQLite or PostgreSQL).

Events are stored as the exact JSON text that was published, so a replay sends the same bytes the
live stream did, and ``(job_id, seq)`` is the primary key: a duplicate seq cannot be written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

from pydantic import BaseModel
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.events import TERMINAL_TYPES, Done, EventBase, EventStamper, Failed, Queued
from app.jobs.state import FINISHED, STATE_OF_TERMINAL_EVENT, JobState, check_transition
from app.live.pg_relay import EVENTS_CHANNEL
from app.rows import UNFINISHED_STATES as UNFINISHED
from app.rows import EventRow, JobRow, TaskRow

RESTART_REASON = "server restarted: its process ended while this job ran (queued jobs stay queued)"


class StoredEvent(NamedTuple):
    seq: int
    type: str
    data: str  # the event's JSON text

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_TYPES


class QueuedJob(NamedTuple):
    id: str
    owner: str | None
    created_at: float
    started_at: float | None
    model: str
    method: str
    steps: int
    position: int | None = None  # the position last announced to it
    eta_s: float | None = None  # and its start estimate
    pinned: bool = False  # a class follows it (it waits in the instructor's line)


class QueueSnapshot(NamedTuple):
    waiting: list[QueuedJob]
    running: list[QueuedJob]
    last_start: dict[str | None, float]  # owner → when their latest job started


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
    node: str | None = None

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
    """All database access of the jobs package. Every method is one short transaction; thread-safe."""

    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = self.sessions = sessions
        engine = sessions.kw["bind"]
        self.url: str = engine.url.render_as_string(hide_password=False)  # for worker processes
        self.notifies = engine.dialect.name == "postgresql"

    # -- jobs ---------------------------------------------------------------------------------
    def create_job(
        self,
        job_id: str,
        config: dict[str, Any],
        owner: str | None = None,
        first_event: Callable[[Session], EventBase | None] | None = None,
        task_digest: str | None = None,
    ) -> JobView:
        """Insert a queued job; ``first_event(session)`` (called after the insert, in the same
        transaction) gives its first event, so nothing can run the job before that event exists."""
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
            last_seq=0,
            cancel_requested=False,
            pinned=False,
            task_digest=task_digest,
        )
        with self._sessions.begin() as session:
            if first_event is not None:
                self.serialize(session)
            session.add(row)
            session.flush()
            event = first_event(session) if first_event is not None else None
            if event is not None:
                self.emit_in(session, job_id, event)
            return JobView.of(row)

    def task_digest(self, job_id: str) -> str | None:
        """The content hash of the task the job was submitted with (None: submitted before hashes)."""
        with self._sessions() as session:
            return session.scalar(select(JobRow.task_digest).where(JobRow.id == job_id))

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

    def update(self, job_id: str, **fields: Any) -> None:
        with self._sessions.begin() as session:
            row = self._row(session, job_id)
            for name, value in fields.items():
                setattr(row, name, value)

    # -- events -------------------------------------------------------------------------------
    def emit(self, job_id: str, event: EventBase, only_if: JobState | None = None) -> StoredEvent | None:
        """Stamp ``event`` with the job's next seq and store it, in one transaction (with NOTIFY on
        PostgreSQL): safe from any thread or process. None, and nothing stored, once the job is
        finished (nothing follows a terminal event) or, with ``only_if``, not in that state."""
        with self._sessions.begin() as session:
            return self.emit_in(session, job_id, event, only_if)

    def emit_in(
        self, session: Session, job_id: str, event: EventBase, only_if: JobState | None = None
    ) -> StoredEvent | None:
        states = (only_if.value,) if only_if is not None else UNFINISHED
        # A write first: it takes the row (PostgreSQL) or database (SQLite) write lock before any read.
        bump = (
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.state.in_(states))
            .values(last_seq=JobRow.last_seq + 1)
            .returning(JobRow.last_seq)
            .execution_options(synchronize_session=False)
        )
        seq = session.execute(bump).scalar()
        if seq is None:
            return None
        stamped = EventStamper(job_id, seq - 1).stamp(event)
        data = stamped.model_dump_json()
        self._insert_event(session, stamped, data)
        return StoredEvent(seq, stamped.type, data)

    def append_event(self, event: EventBase, data: str | None = None) -> None:
        """Store one event stamped by the caller (``data``: its JSON text, if already made)."""
        with self._sessions.begin() as session:
            self._insert_event(session, event, data or event.model_dump_json())

    def _insert_event(self, session: Session, event: EventBase, data: str) -> None:
        """Insert the event; a terminal one also finishes the job; notify listeners at commit."""
        session.add(EventRow(job_id=event.job_id, seq=event.seq, type=event.type, data=data))
        row = self._row(session, event.job_id)
        session.refresh(row)
        row.last_seq = max(row.last_seq or 0, event.seq)
        if isinstance(event, Queued):
            row.position, row.eta_s = event.position, event.eta_s
        new_state = STATE_OF_TERMINAL_EVENT.get(event.type)
        if new_state is not None:
            self._apply_state(row, new_state)
            row.position = None
            if isinstance(event, Done):
                row.summary = event.summary
            elif isinstance(event, Failed):
                row.error = event.error
        if self.notifies:
            payload = f"{event.job_id}:{event.seq}"
            session.execute(
                text("SELECT pg_notify(:channel, :payload)"), {"channel": EVENTS_CHANNEL, "payload": payload}
            )

    def serialize(self, session: Session) -> None:
        """Make this transaction the only one deciding queue positions until it commits."""
        if self.notifies:
            session.execute(text("SELECT pg_advisory_xact_lock(741100)"))
        else:  # SQLite: a write as the first statement takes the database's one write lock
            session.execute(update(JobRow).where(JobRow.id == "").values(position=None))

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

    def fail_running(self, reason: str = RESTART_REASON) -> list[str]:
        """After a restart of every server: each running job gets a stored ``failed`` (queued jobs stay
        queued: they run after the restart)."""
        with self._sessions() as session:
            ids = list(session.scalars(select(JobRow.id).where(JobRow.state == JobState.RUNNING.value)))
        return [job_id for job_id in ids if self.emit(job_id, Failed(error=reason)) is not None]

    # -- the queue, as every process sees it ----------------------------------------------------
    def queue_snapshot(self, session: Session | None = None) -> QueueSnapshot:
        """Waiting and running jobs, and when each owner last had a job started (fair-queue turns)."""
        if session is None:
            with self._sessions() as own:
                return self.queue_snapshot(own)
        columns = (JobRow.id, JobRow.owner, JobRow.created_at, JobRow.started_at, JobRow.config)
        query = select(*columns, JobRow.position, JobRow.eta_s, JobRow.pinned, JobRow.state)
        jobs: dict[str, list[QueuedJob]] = {JobState.QUEUED.value: [], JobState.RUNNING.value: []}
        for row in session.execute(query.where(JobRow.state.in_(UNFINISHED))):
            job_id, owner, created_at, started_at, config, position, eta_s, pinned, state = row
            model, method, steps = config["model"], config["method"], int(config.get("steps") or 1)
            queued = (job_id, owner, created_at, started_at, model, method, steps, position, eta_s)
            jobs[state].append(QueuedJob(*queued, bool(pinned)))
        starts = select(JobRow.owner, func.max(JobRow.started_at)).where(JobRow.started_at.is_not(None))
        last_start = dict(session.execute(starts.group_by(JobRow.owner)).tuples().all())
        return QueueSnapshot(jobs[JobState.QUEUED.value], jobs[JobState.RUNNING.value], last_start)

    def unfinished_counts(self) -> dict[str, int]:
        """How many jobs wait and run, in one small query (what /api/health reports)."""
        query = select(JobRow.state, func.count()).where(JobRow.state.in_(UNFINISHED)).group_by(JobRow.state)
        with self._sessions() as session:
            counts = dict(session.execute(query).tuples().all())
        return {state: int(counts.get(state, 0)) for state in (JobState.QUEUED.value, JobState.RUNNING.value)}

    def claim(self, job_id: str, holder: str, node: str | None = None) -> bool:
        """Move a queued job to running for ``holder`` (a server process); False if someone was first
        (it was cancelled or claimed meanwhile)."""
        claim = (
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.state == JobState.QUEUED.value)
            .values(state=JobState.RUNNING.value, started_at=time.time(), claimed_by=holder, node=node)
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            return session.execute(claim).rowcount == 1

    def request_cancel(self, job_id: str) -> bool:
        """Ask whoever runs ``job_id`` to stop it (they look between steps); False if not running."""
        ask = (
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.state == JobState.RUNNING.value)
            .values(cancel_requested=True)
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            return session.execute(ask).rowcount == 1

    def running_jobs(self, holder: str | None = None) -> list[tuple[str, str | None, bool]]:
        """(job id, claimed by, cancel requested) of running jobs (of one holder, if given)."""
        query = select(JobRow.id, JobRow.claimed_by, JobRow.cancel_requested)
        query = query.where(JobRow.state == JobState.RUNNING.value)
        if holder is not None:
            query = query.where(JobRow.claimed_by == holder)
        with self._sessions() as session:
            return [(j, c, bool(r)) for j, c, r in session.execute(query)]

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
