"""The classroom's tables: classes, their members, quiz answers and the runs started in a class."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


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
