"""Experiment tests run the real app (runner, tiny-llama workers) on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.classroom.conftest import engine, server, settings  # noqa: F401  (fixtures)
from tests.utils.databases import database_url  # noqa: F401  (fixture)
