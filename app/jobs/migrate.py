"""Upgrades of a database made by an older ftlab (``db.create_tables`` adds the missing columns)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text


def upgrade_last_seq(engine: Any) -> None:
    """Fill ``jobs.last_seq`` of a database made before it existed from the events stored."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE jobs SET last_seq = "
                "(SELECT COALESCE(MAX(seq), 0) FROM job_events WHERE job_id = jobs.id)"
            )
        )
