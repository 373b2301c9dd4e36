from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from app.classroom import tables as _classroom_tables  # noqa: F401  (registers the tables)
from app.classroom.service import ClassroomService
from app.db import Base, make_engine, make_sessionmaker
from app.jobs.store import JobStore
from tests.utils.databases import database_url  # noqa: F401  (fixture)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:  # noqa: F811
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def service(engine: Engine) -> ClassroomService:
    return ClassroomService(make_sessionmaker(engine))


@pytest.fixture
def job_store(engine: Engine) -> JobStore:
    return JobStore(make_sessionmaker(engine))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
