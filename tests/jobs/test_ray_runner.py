"""The Ray runner on a real two-node Ray cluster (``scripts/ray_cluster.sh``, started for the session
unless FTLAB_TEST_RAY_ADDRESS names one): jobs land on both nodes (the node is recorded per job), a
killed actor fails only its job and is replaced, the adapter lab runs on an actor, one SmolLM2 LoRA job
runs end to end (slow)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.db import Base, make_engine, make_sessionmaker
from app.jobs.files.adapter_service import AdapterService
from app.jobs.files.combined_store import CombinedStore
from app.jobs.runner import WORKER_LOST, Runner
from app.jobs.store import JobStore
from app.live.broadcast import Broadcaster
from app.training.methods import resolve_job
from app.training.models import ModelCache
from app.training.train_config import TrainConfig
from tests.jobs.conftest import wait_state
from tests.utils.databases import ON_POSTGRES_ONLY
from tests.utils.jobs import LONG, TINY
from tests.utils.jobs import stored_events as _events
from tests.utils.streams import check_stream
from tests.utils.worker_probes import lab_bases, worker_pid


@pytest.fixture
def ray_address(test_ray_address: str) -> str:
    """The session's test cluster (FTLAB_TEST_RAY_ADDRESS, else started by tests/conftest.py)."""
    return test_ray_address


@pytest.fixture
def ray_runner(ray_address: str, database_url: str, tmp_path: Path) -> Iterator[Runner]:
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    cache = ModelCache(Settings().model_dir, "cpu")
    runner = Runner(
        JobStore(make_sessionmaker(engine)), Broadcaster(), cache, tmp_path, workers=2, backend=ray_address
    )
    runner.start()
    yield runner
    runner.stop()
    engine.dispose()


def test_jobs_run_on_both_ray_nodes(ray_runner: Runner) -> None:
    jobs = [ray_runner.submit(TINY, owner=f"student-{i % 2}").id for i in range(4)]
    for job_id in jobs:
        wait_state(ray_runner, job_id, {"done", "failed", "cancelled"})
        check_stream(_events(ray_runner, job_id))
        assert ray_runner.get(job_id).state.value == "done"  # type: ignore[union-attr]
    nodes = {ray_runner.get(j).node.split(":")[1] for j in jobs}  # type: ignore[union-attr]
    assert len(nodes) == 2, nodes  # one actor per one-CPU node: both nodes trained
    tuned, base = ray_runner.generate(jobs[0], "hello", 3)  # on the actor that holds the model
    assert isinstance(tuned, str) and isinstance(base, str)


# Placing actors and routing the adapter lab do not touch the database: PostgreSQL only (the school
# server's pairing). Jobs on both nodes and a killed actor run on both databases.
@ON_POSTGRES_ONLY
def test_actors_without_room_are_placed_later_while_the_others_run_jobs(
    ray_address: str, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three actors asked of a cluster with two one-CPU nodes (a node gone for good looks the same):
    # the two that find room run jobs at once; the third is placed in the background, not in the
    # scheduler's way (it used to hold every job for 300 s per try).
    from app.jobs.executors import ray_actors

    monkeypatch.setattr(ray_actors, "FIRST_PLACE_TIMEOUT_S", 10.0)
    monkeypatch.setattr(ray_actors, "PLACE_TIMEOUT_S", 10.0)
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    runner = Runner(
        JobStore(make_sessionmaker(engine)),
        Broadcaster(),
        ModelCache(Settings().model_dir, "cpu"),
        tmp_path,
        workers=3,
        backend=ray_address,
    )
    runner.start()
    try:
        jobs = [runner.submit(TINY, owner=f"student-{i}").id for i in range(3)]
        for job_id in jobs:
            wait_state(runner, job_id, {"done", "failed", "cancelled"})
            assert runner.get(job_id).state.value == "done"  # type: ignore[union-attr]
        pool = runner.pool
        assert len(pool._members) == 2  # type: ignore[union-attr]
        placing = [t.name for t in threading.enumerate() if t.name.startswith("ftlab-ray-place-")]
        assert placing == ["ftlab-ray-place-2"], placing  # still trying, in the background
    finally:
        runner.stop()
        engine.dispose()


def test_a_killed_ray_actor_fails_only_its_job(ray_runner: Runner) -> None:
    doomed = ray_runner.submit(LONG, owner="a").id
    deadline = time.monotonic() + 300
    while not any(e["type"] == "step" for e in _events(ray_runner, doomed)):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    other = ray_runner.submit(TINY, owner="b").id  # runs on the other actor meanwhile
    pid = ray_runner.pool.running()[doomed]
    assert pid is not None and pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    wait_state(ray_runner, doomed, {"done", "failed", "cancelled"})
    events = _events(ray_runner, doomed)
    check_stream(events)
    assert events[-1]["type"] == "failed" and events[-1]["error"].startswith(WORKER_LOST)
    wait_state(ray_runner, other, {"done", "failed", "cancelled"})
    assert _events(ray_runner, other)[-1]["type"] == "done"
    after = ray_runner.submit(TINY, owner="c").id
    wait_state(ray_runner, after, {"done", "failed", "cancelled"})
    assert _events(ray_runner, after)[-1]["type"] == "done"
    assert ray_runner.pool.replaced == 1 and pid not in ray_runner.pool.ask(worker_pid)


@ON_POSTGRES_ONLY
def test_the_adapter_lab_runs_on_one_ray_actor(ray_runner: Runner, tmp_path: Path) -> None:
    job_id = ray_runner.submit(TINY).id
    wait_state(ray_runner, job_id, {"done", "failed", "cancelled"})
    store = ray_runner.store
    lab = AdapterService(store, CombinedStore(store.sessions), tmp_path, ray_runner.run_on_adapter_lab)
    answer = lab.swap_generate(job_id, job_id, "hello", 3, viewer=None)
    assert answer.tuned == ray_runner.generate(job_id, "hello", 3)[0]  # the lab's peft model = the job's
    holders = [(pid, bases) for pid, bases in ray_runner.pool.ask(lab_bases) if bases]
    assert len(holders) == 1 and holders[0][1] == ["tiny-llama"] and holders[0][0] != os.getpid()


# Real SmolLM2 weights on a Ray actor once, on PostgreSQL (the school server's pairing): how an actor
# loads and trains a real model does not depend on the database, and both databases are covered on
# Ray by the tiny-llama tests above (jobs on both nodes, a killed actor).
@pytest.mark.slow
@ON_POSTGRES_ONLY
def test_a_smollm2_lora_job_on_the_ray_cluster(ray_runner: Runner) -> None:
    # Few steps and short replies: an actor has one CPU, and what is tested is that it loads, trains,
    # evaluates and keeps a real model, not how well 4 steps teach it.
    config = TrainConfig(
        model="smollm2-135m", method="lora", task="tone", steps=4, batch_size=2, seq_len=64, max_new_tokens=8
    )
    job_id = ray_runner.submit(resolve_job(config)).id
    wait_state(ray_runner, job_id, {"done", "failed", "cancelled"}, timeout=1200)
    events = _events(ray_runner, job_id)
    check_stream(events)
    assert events[-1]["type"] == "done", events[-1]
    assert sum(e["type"] == "step" for e in events) == 4
    assert [e["step"] for e in events if e["type"] == "eval"] == [0, 4]  # before and after, on the actor
    assert ray_runner.get(job_id).has_adapter and ray_runner.get(job_id).node.startswith("ray:")  # type: ignore[union-attr]
