"""The tables of class experiments, on the same metadata as jobs and classes (SQLite and PostgreSQL).

An experiment belongs to a class; its cells are the runs it plans (a value, a series and a seed),
each assigned to at most one member and started as at most one job. Assignment and starting are
compare-and-set updates, so two requests (or two web processes) cannot take one cell twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class ExperimentRow(Base):
    __tablename__ = "experiments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    class_code: Mapped[str] = mapped_column(String(12), index=True)
    preset: Mapped[str | None] = mapped_column(String(40))
    question: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, doc="the ExperimentSpec")
    prediction: Mapped[dict[str, Any]] = mapped_column(JSON, doc="the Prediction students make")
    primary: Mapped[str] = mapped_column(String(32), doc="the measure the plot shows first")
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), index=True, doc="open | complete")
    created_at: Mapped[float] = mapped_column(Float)
    completed_at: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON, doc="the measured answer to the prediction")
    version: Mapped[int] = mapped_column(Integer, default=0, doc="bumped on every change the room sees")


class CellRow(Base):
    __tablename__ = "experiment_cells"
    __table_args__ = (
        UniqueConstraint("experiment_id", "position", name="uq_cell_position"),
        UniqueConstraint("experiment_id", "member_id", name="uq_cell_member"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    experiment_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, doc="order of assignment: planned cells first")
    series: Mapped[str] = mapped_column(String(40), default="")
    value_index: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[str | None] = mapped_column(String(32), index=True)
    started_at: Mapped[float | None] = mapped_column(Float)
    job_id: Mapped[str | None] = mapped_column(String(32), index=True)
    started_by: Mapped[str | None] = mapped_column(String(16), doc="student | instructor")
    choice: Mapped[str | None] = mapped_column(String(16), doc="the member's prediction")
    predicted_at: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str | None] = mapped_column(String(16), doc="the job's terminal state, once measured")
    measures: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    measured_at: Mapped[float | None] = mapped_column(Float)
