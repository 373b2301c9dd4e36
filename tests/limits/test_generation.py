"""Generation is bounded: prompt tokens, a per-client rate (database, fake clock), a few at a time
on their own threads with a short line (429 + Retry-After beyond it), and the API and health
check keep answering while every generation thread is busy."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from app.config import Settings
from app.limits.errors import Throttled
from app.limits.generation import GenerationGate
from app.limits.policies import GENERATIONS_PER_CLIENT
from app.main import create_app
from tests.api.conftest import TINY_JOB, submit, wait_for_state
from tests.classroom.conftest import settings  # noqa: F401  (fixture)
from tests.limits.conftest import FakeClock
from tests.utils.server import live_server


def test_the_gate_admits_concurrency_plus_waiting_and_refuses_the_rest() -> None:
    async def scenario() -> None:
        gate = GenerationGate(concurrency=2, max_waiting=1)
        release = threading.Event()
        running = [asyncio.create_task(gate.run(release.wait)) for _ in range(3)]
        while gate.admitted < 3:
            await asyncio.sleep(0)
        with pytest.raises(Throttled) as refused:
            await gate.run(lambda: None)
        assert refused.value.retry_after >= 1 and "the limit is 3" in str(refused.value)
        release.set()
        assert await asyncio.gather(*running) == [True, True, True]
        assert gate.admitted == 0 and await gate.run(lambda: 7) == 7
        gate.close()

    asyncio.run(scenario())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(60 * 100_000.0)


@pytest.fixture
def bounded(settings: Settings, clock: FakeClock) -> Iterator[tuple[str, object]]:  # noqa: F811
    app = create_app(
        settings.model_copy(update={"generate_concurrency": 1, "generate_queue": 1}), clock=clock
    )
    with live_server(app) as base:
        yield base, app


def _done_job(base: str) -> str:
    job_id = submit(base, TINY_JOB)["id"]
    wait_for_state(base, job_id, {"done"})
    return job_id


def _generate(base: str, job_id: str, prompt: str = "Tell me about the sea") -> httpx.Response:
    return httpx.post(
        f"{base}/api/jobs/{job_id}/generate", json={"prompt": prompt, "max_new_tokens": 4}, timeout=60
    )


def test_a_prompt_over_the_token_limit_is_refused(bounded: tuple[str, object]) -> None:
    base, _app = bounded
    job_id = _done_job(base)
    long = "".join(chr(0x4E00 + i) for i in range(300))  # 300 characters, each at least one token
    response = _generate(base, job_id, long)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "prompt"] and "the limit is 256" in error["msg"]


def test_busy_generation_is_refused_and_never_stalls_the_api(bounded: tuple[str, object]) -> None:
    base, app = bounded
    job_id = _done_job(base)
    runner, gate = app.state.runner, app.state.generation_gate  # type: ignore[attr-defined]
    release = threading.Event()
    real_call = runner.call

    def held_call(*args: object) -> tuple[str, str]:
        release.wait(60)  # the real generation, held until the test has looked around
        return real_call(*args)

    runner.call = held_call
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(_generate, base, job_id)
        while gate.admitted < 1:
            time.sleep(0.01)
        second = pool.submit(_generate, base, job_id)
        while gate.admitted < 2:
            time.sleep(0.01)
        refused = _generate(base, job_id)  # one running, one waiting: the line is full
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        # the generation thread is taken, and the API and health check answer as usual
        assert httpx.get(f"{base}/api/health", timeout=10).json()["status"] == "ok"
        assert httpx.get(f"{base}/api/jobs", timeout=10).status_code == 200
        release.set()
        assert first.result().status_code == second.result().status_code == 200
    assert first.result().json()["job_id"] == job_id and gate.admitted == 0


def test_generations_per_client_are_rate_limited(bounded: tuple[str, object], clock: FakeClock) -> None:
    base, _app = bounded
    job_id = _done_job(base)
    statuses = [_generate(base, job_id).status_code for _ in range(GENERATIONS_PER_CLIENT.limit + 2)]
    assert statuses == [200] * GENERATIONS_PER_CLIENT.limit + [429] * 2
    clock.advance(2 * GENERATIONS_PER_CLIENT.window_s)
    assert _generate(base, job_id).status_code == 200
