"""Every table, in one module (the ground floor): jobs and their events, uploaded tasks, leases,
combined adapters, classes and their members, answers and runs, and the limits' counters and origins.
Any package reaches a row here without importing another package; importing this module registers
every table on ``Base``, so ``db.create_tables`` makes them all."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


# -- jobs ------------------------------------------------------------------------------------------
# The states of a job that has not finished (app.jobs.state.JobState is the state machine): counted by
# the jobs' queue, a class's limits and the per-address limits alike.
UNFINISHED_STATES = ("queued", "running")


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
    # Execution: the last seq given out (stamping happens in the database, so any process can emit),
    # the position last announced to a waiting job, the server process whose worker runs it (its
    # lease row says whether that process is alive), the worker or node, and a cancel request.
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int | None] = mapped_column(Integer)
    eta_s: Mapped[float | None] = mapped_column(Float)  # the start estimate last announced
    claimed_by: Mapped[str | None] = mapped_column(String(64), index=True)
    node: Mapped[str | None] = mapped_column(String(120))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)  # a class's pinned run: first in line
    task_digest: Mapped[str | None] = mapped_column(String(64))  # Task.digest() at submission


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


class LeaseRow(Base):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float)


class CombinedRow(Base):
    __tablename__ = "combined_adapters"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    model: Mapped[str] = mapped_column(String(200))
    precision: Mapped[str] = mapped_column(String(8))
    combination: Mapped[str] = mapped_column(String(24))
    density: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{job_id, task, weight, eval, ...}]
    base_config: Mapped[dict[str, Any]] = mapped_column(JSON)  # first source's resolved config: the base
    eval: Mapped[dict[str, Any]] = mapped_column(JSON)  # task → {eval_loss, metric, metric_name}
    base_eval: Mapped[dict[str, Any]] = mapped_column(JSON)
    trainable_params: Mapped[int] = mapped_column(Integer)
    adapter_bytes: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float, index=True)


# -- the classroom -------------------------------------------------------------------------------
class ClassRow(Base):
    __tablename__ = "classes"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    lesson: Mapped[str] = mapped_column(String(80))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    limits: Mapped[dict[str, Any]] = mapped_column(JSON)
    pinned_job_id: Mapped[str | None] = mapped_column(String(32))
    joined: Mapped[int] = mapped_column(Integer, default=0, doc="members so far; numbers the next one")
    created_at: Mapped[float] = mapped_column(Float, index=True)
    closed_at: Mapped[float | None] = mapped_column(Float)


class MemberRow(Base):
    __tablename__ = "class_members"
    __table_args__ = (
        UniqueConstraint("class_code", "nickname_key", name="uq_member_nickname"),
        UniqueConstraint("class_code", "number", name="uq_member_number"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    class_code: Mapped[str] = mapped_column(String(12), ForeignKey("classes.code", ondelete="CASCADE"))
    nickname: Mapped[str] = mapped_column(String(64))
    nickname_key: Mapped[str] = mapped_column(String(64), doc="normalised nickname: the uniqueness key")
    number: Mapped[int] = mapped_column(Integer, doc="join order in the class (anonymous label)")
    joined_at: Mapped[float] = mapped_column(Float)
    removed_at: Mapped[float | None] = mapped_column(Float, doc="the instructor removed the seat")


class AnswerRow(Base):
    """A student's latest answer to one question (answering again replaces it)."""

    __tablename__ = "class_answers"

    member_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("class_members.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    class_code: Mapped[str] = mapped_column(String(12), index=True)
    choice_id: Mapped[str] = mapped_column(String(64))
    correct: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[float] = mapped_column(Float)


class ClassRunRow(Base):
    """A job started in a class: by a student (``member_id``) or by the instructor (None)."""

    __tablename__ = "class_runs"

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    class_code: Mapped[str] = mapped_column(String(12), index=True)
    member_id: Mapped[str | None] = mapped_column(String(32), index=True)
    created_at: Mapped[float] = mapped_column(Float, index=True)


# -- limits --------------------------------------------------------------------------------------
class RateCounterRow(Base):
    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True, doc="floor(time / window_s)")
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class SeatOriginRow(Base):
    """The address a class member joined from."""

    __tablename__ = "seat_origins"

    member_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    class_code: Mapped[str] = mapped_column(String(16), index=True)
    address: Mapped[str] = mapped_column(String(64))


class BlockedAddressRow(Base):
    """An address an instructor blocked from joining a class again (when removing a member)."""

    __tablename__ = "blocked_addresses"

    class_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    blocked_at: Mapped[float] = mapped_column(Float)


class JobOriginRow(Base):
    """The address a job was submitted from: per-address limits hold across seats."""

    __tablename__ = "job_origins"

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
