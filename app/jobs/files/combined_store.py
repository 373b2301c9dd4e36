"""Combined adapters in the database (SQLAlchemy; SQLite or PostgreSQL), so any web process finds them.

A row records what was combined (source jobs, weights, combination type), the base it needs, who owns
it and what it scored; the PEFT files live in ``data_dir/combined/<id>/``.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from app.rows import CombinedRow


class CombinedView(BaseModel):
    """A combined adapter as the API shows it."""

    id: str
    owner: str | None = None
    model: str
    precision: str
    combination: str
    density: float | None = None
    rank: int
    sources: list[dict[str, Any]]
    base_config: dict[str, Any]
    eval: dict[str, Any]
    base_eval: dict[str, Any]
    trainable_params: int
    adapter_bytes: int
    seconds: float
    created_at: float

    @classmethod
    def of(cls, row: CombinedRow) -> CombinedView:
        return cls.model_validate(row, from_attributes=True)

    @property
    def job_ids(self) -> list[str]:
        return [source["job_id"] for source in self.sources]


class CombinedStore:
    """Every method is one short transaction; thread-safe."""

    def __init__(self, sessions: sessionmaker) -> None:
        self._sessions = sessions

    def add(self, **fields: Any) -> CombinedView:
        row = CombinedRow(created_at=time.time(), **fields)
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return CombinedView.of(row)

    def get(self, combined_id: str) -> CombinedView | None:
        with self._sessions() as session:
            row = session.get(CombinedRow, combined_id)
            return CombinedView.of(row) if row else None

    def of_owner(self, owner: str | None) -> list[CombinedView]:
        """An owner's combined adapters, oldest first (None: the anonymous owner)."""
        query = select(CombinedRow).order_by(CombinedRow.created_at, CombinedRow.id)
        query = query.where(CombinedRow.owner.is_(None) if owner is None else CombinedRow.owner == owner)
        with self._sessions() as session:
            return [CombinedView.of(row) for row in session.scalars(query)]

    def delete(self, combined_id: str) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(CombinedRow).where(CombinedRow.id == combined_id))
