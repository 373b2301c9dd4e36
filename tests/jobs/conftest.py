from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.db import Base, make_engine, make_sessionmaker
from app.jobs.runner import Runner
from app.jobs.store import JobStore
from app.live.broadcast import Broadcaster
from app.training.models import ModelCache
from tests.utils.databases import database_url  # noqa: F401  (fixture)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make_runner(tmp_path: Path, database_url: str) -> Iterator:  # noqa: ANN001, F811
    """``make_runner(**options)``: a started Runner over a fresh store and ``tmp_path`` (stopped after)."""
    made: list[tuple[Runner, object]] = []

    def make(**options: object) -> Runner:
        engine = make_engine(database_url)
        Base.metadata.create_all(engine)
        cache = ModelCache(Settings().model_dir, "cpu")
        runner = Runner(JobStore(make_sessionmaker(engine)), Broadcaster(), cache, tmp_path, **options)  # type: ignore[arg-type]
        runner.start()
        made.append((runner, engine))
        return runner

    yield make
    for runner, engine in made:
        runner.stop()
        engine.dispose()  # type: ignore[attr-defined]


def wait_state(runner: Runner, job_id: str, states: set[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while runner.get(job_id).state.value not in states:  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"job {job_id} never reached {states}"
        time.sleep(0.05)
