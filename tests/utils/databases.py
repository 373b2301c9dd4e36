"""A ``database_url`` fixture run once on SQLite and once on a real PostgreSQL server.

PostgreSQL comes from the session's ``test_postgres_url`` fixture (``FTLAB_TEST_POSTGRES_URL``, else a
throwaway cluster started for the session); each test gets its own schema, dropped afterwards, so tests
and engineers sharing the server do not see each other's rows.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
# For a slow test whose code path does not depend on the database: run it on PostgreSQL only (the
# school server's database) instead of on both, with the test's ``database_url`` fixture unchanged.
ON_POSTGRES_ONLY = pytest.mark.parametrize("database_url", [DATABASES[1]], indirect=True)


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ftlab-test.db'}"
        return
    yield from _postgres_schema(request.getfixturevalue("test_postgres_url"))


@pytest.fixture
def postgres_database_url(test_postgres_url: str) -> Iterator[str]:
    """PostgreSQL only (for tests of what only PostgreSQL offers, e.g. several web processes)."""
    yield from _postgres_schema(test_postgres_url)


def _postgres_schema(base: str) -> Iterator[str]:
    schema = f"ftlab_t_{secrets.token_hex(6)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
