from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.classroom.service import ClassroomService
from app.config import Settings
from app.db import Base, make_engine, make_sessionmaker
from app.jobs.store import JobStore
from tests.utils.databases import database_url  # noqa: F401  (fixture)
from tests.utils.server import live_server


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


TOKEN = "class-test-token"
LESSON = "fine-tuning-llms"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:  # noqa: F811
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        instructor_token=TOKEN,
        secret_key="class-test-secret",
        device="cpu",
        cpu_workers=1,
        job_time_limit_s=600,
    )


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    from app.main import create_app

    with live_server(create_app(settings)) as base:
        yield base
