"""A ``database_url`` fixture run once on SQLite and once on a real PostgreSQL server.

PostgreSQL comes from ``FTLAB_TEST_POSTGRES_URL`` (``.ci/run`` starts one); each test gets its own
schema, dropped afterwards, so tests and engineers sharing the server do not see each other's rows.
Without the variable the PostgreSQL case is skipped, except under CI where that is a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def required_service(variable: str, what: str) -> str:
    """The value of ``variable`` (a service the tests use); skip without it, fail under CI."""
    value = os.environ.get(variable)
    if value:
        return value
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {variable} is not: {what} must run")
    pytest.skip(f"{variable} is unset")


def _postgres_base_url() -> str:
    return required_service("FTLAB_TEST_POSTGRES_URL", "the PostgreSQL suite")


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ftlab-test.db'}"
        return
    base = _postgres_base_url()
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
