"""Generation after a finished job's tuned model left memory: rebuilt once from its saved adapter,
answering as the model did before; full fine-tuning, which saves no adapter, says why it cannot.

The models live in the runner's worker processes: logits are computed there (``runner.call``)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from app.config import Settings
from app.db import Base, make_engine, make_sessionmaker
from app.jobs.executors import tuned as tuned_module
from app.jobs.executors.tuned import TunedModels
from app.jobs.runner import NotInMemory, Runner
from app.jobs.store import JobStore
from app.training.loop import TrainingRun
from app.training.methods import resolve_job
from app.training.models import ModelCache
from app.training.restore import restore_run
from app.training.train_config import TrainConfig
from tests.jobs.conftest import wait_state
from tests.utils.jobs import restores
from tests.utils.restore_cases import (
    ADAPTER_JOBS,
    FILLER_JOB,
    FULL_JOB,
    NEW_TOKENS,
    PROMPT,
    logits_of,
    one_thread,  # noqa: F401  (autouse fixture)
)


def run_job(runner: Runner, body: dict[str, Any]) -> str:
    job_id = runner.submit(resolve_job(TrainConfig(**body))).id
    wait_state(runner, job_id, {"done", "failed", "cancelled"})
    assert runner.get(job_id).state.value == "done", runner.get(job_id)  # type: ignore[union-attr]
    return job_id


@pytest.mark.parametrize("method", list(ADAPTER_JOBS))
def test_an_evicted_job_generates_again_from_its_adapter(make_runner, method: str) -> None:  # noqa: ANN001
    runner = make_runner(keep_finished=1)
    job_id = run_job(runner, ADAPTER_JOBS[method])
    before = runner.generate(job_id, PROMPT, NEW_TOKENS)
    logits = runner.call(job_id, logits_of, restore=False)

    run_job(runner, FILLER_JOB)  # keeps one: the filler's model pushes this job's out
    assert runner.holds(job_id) is None and restores(runner) == 0

    assert runner.generate(job_id, PROMPT, NEW_TOKENS) == before  # greedy: the same (tuned, base) answers
    assert restores(runner) == 1
    torch.testing.assert_close(runner.call(job_id, logits_of, restore=False), logits, atol=1e-5, rtol=0)
    assert runner.generate(job_id, "hello", 3) == runner.generate(job_id, "hello", 3)
    assert restores(runner) == 1  # kept like a just-finished model: no second rebuild


def test_concurrent_generates_rebuild_once(
    make_runner,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    """The tuned-model room (as a worker holds it) asked by four threads at once rebuilds once."""
    runner = make_runner(keep_finished=0)
    job_id = run_job(runner, ADAPTER_JOBS["prompt"])
    assert runner.holds(job_id) is None

    real_restore = tuned_module.restore_run

    def slow_restore(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        time.sleep(0.3)  # every caller arrives while the first one rebuilds
        return real_restore(*args, **kwargs)

    monkeypatch.setattr(tuned_module, "restore_run", slow_restore)
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    room = TunedModels(
        JobStore(make_sessionmaker(engine)), ModelCache(Settings().model_dir, "cpu"), tmp_path, 1
    )
    start = threading.Barrier(4)
    answers: list[tuple[str, str]] = []

    def ask() -> None:
        start.wait()
        answers.append(room.generate(job_id, PROMPT, NEW_TOKENS))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    room.release_all()
    engine.dispose()
    assert len(answers) == 4 and len(set(answers)) == 1
    assert room.restores == 1
    assert answers[0] == runner.generate(job_id, PROMPT, NEW_TOKENS)  # the worker rebuilds the same model


def test_rebuilt_models_are_evicted_and_pinned_like_finished_ones(make_runner) -> None:  # noqa: ANN001
    runner = make_runner(keep_finished=1)
    first, second = run_job(runner, ADAPTER_JOBS["prompt"]), run_job(runner, FILLER_JOB)
    runner.generate(first, PROMPT, 2)  # rebuilt; pushes the second job's model out
    assert restores(runner) == 1 and runner.holds(second) is None
    runner.pin(first)
    runner.generate(second, PROMPT, 2)  # rebuilt too; the pinned first stays
    assert restores(runner) == 2 and runner.holds(first) == "kept"
    runner.generate(first, PROMPT, 2)
    assert restores(runner) == 2


def test_full_fine_tuning_after_eviction_says_why(make_runner) -> None:  # noqa: ANN001
    runner = make_runner(keep_finished=0)
    job_id = run_job(runner, FULL_JOB)
    assert runner.get(job_id).has_adapter is False  # type: ignore[union-attr]
    with pytest.raises(NotInMemory, match="changes the model itself and saves no adapter"):
        runner.generate(job_id, PROMPT, NEW_TOKENS)
    assert restores(runner) == 0


def test_qlora_rebuilds_the_model_as_trained(tmp_path: Path) -> None:
    """The 4-bit base is quantised again from the cached files: the same NF4 weights, so the same logits
    as the trained model (taken before saving: on CPUs with AVX512-BF16, bitsandbytes' state_dict,
    which save_adapter calls, re-quantises the held model's absmax and moves its logits by ~2e-3)."""
    cache = ModelCache(Settings().model_dir, "cpu")
    config = TrainConfig(**{**FILLER_JOB, "method": "qlora", "steps": 3})
    run = TrainingRun(config, cache=cache)
    assert list(run.events())[-1].type == "done"
    trained = logits_of(run)
    run.save_adapter(tmp_path / "adapter")
    torch.testing.assert_close(
        logits_of(restore_run(resolve_job(config), cache, tmp_path / "adapter")), trained, atol=1e-5, rtol=0
    )
