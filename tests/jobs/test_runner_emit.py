"""Nothing follows a terminal event: not in the store, not on the live stream. Deterministic: a runner
that is not started (no scheduler, no workers), so the job waits in the queue until the test cancels it.
The guard lives in ``JobStore.emit`` (one transaction), so it holds for every process that emits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.db import Base, make_engine, make_sessionmaker
from app.events import Failed, Queued, parse_event
from app.jobs.runner import Runner
from app.jobs.store import JobStore
from app.live.broadcast import Broadcaster
from app.training.methods import resolve_job
from app.training.models import ModelCache
from app.training.train_config import TrainConfig
from tests.utils.streams import check_stream

pytestmark = pytest.mark.anyio


async def test_events_emitted_after_the_terminal_one_are_dropped(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    Base.metadata.create_all(engine)
    broadcaster = Broadcaster()
    runner = Runner(JobStore(make_sessionmaker(engine)), broadcaster, ModelCache(tmp_path, "cpu"), tmp_path)
    job_id = runner.submit(resolve_job(TrainConfig(model="tiny-llama", method="lora", task="tone"))).id
    live = broadcaster.subscribe(job_id)

    assert runner.cancel(job_id)
    runner._emit(job_id, Queued(position=0, eta_s=1.0))  # a stale position update
    runner._emit(job_id, Failed(error="late"))  # a second terminal event (e.g. a late worker)

    stored = [parse_event(e.data).model_dump() for e in runner.store.events_after(job_id)]
    assert [e["type"] for e in stored] == ["queued", "cancelled"]
    check_stream(stored)
    await asyncio.sleep(0)  # let the loop take what was published
    published = [live.queue.get_nowait() for _ in range(live.queue.qsize())]
    assert [(m.seq, m.terminal) for m in published] == [(2, True)]
    assert runner.get(job_id).state.value == "cancelled"  # type: ignore[union-attr]
    broadcaster.unsubscribe(live)
    engine.dispose()
