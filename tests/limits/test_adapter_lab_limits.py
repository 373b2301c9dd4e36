"""The adapter lab is bounded like generation (issue 22, fault 2): combine, merge, a combined
adapter's generate and generate with ``"adapter"`` count against the same per-client rate, wait for
the same few generation slots (429 when the line is full, health answering meanwhile), and the
swapped and combined generations keep the 256-token prompt bound."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from app.limits.generation import MAX_PROMPT_TOKENS
from app.limits.policies import GENERATIONS_PER_CLIENT
from tests.classroom.conftest import settings  # noqa: F401  (fixture)
from tests.limits.conftest import FakeClock
from tests.limits.test_generation import _done_job, bounded, clock  # noqa: F401  (fixtures)

LONG = "中" * 1000  # 1,000 characters (the field's limit), about 3,000 tokens of tiny-llama's tokenizer


def _post(base: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(f"{base}{path}", json=body, timeout=120)


def _lab_actions(base: str, one: str, two: str, combined: str) -> dict[str, Callable[[], httpx.Response]]:
    prompt = {"prompt": "Tell me about the sea", "max_new_tokens": 4}
    return {
        "combine": lambda: _post(base, "/api/adapters/combine", {"jobs": [one, two], "weights": [1, 1]}),
        "merge": lambda: _post(base, f"/api/jobs/{one}/merge"),
        "combined generate": lambda: _post(base, f"/api/adapters/{combined}/generate", prompt),
        "swap generate": lambda: _post(base, f"/api/jobs/{one}/generate", {**prompt, "adapter": two}),
    }


def _two_jobs_and_a_combination(base: str) -> tuple[str, str, str]:
    one, two = _done_job(base), _done_job(base)
    combined = _post(base, "/api/adapters/combine", {"jobs": [one, two], "weights": [1, 1]})
    assert combined.status_code == 201, combined.text
    return one, two, combined.json()["id"]


def test_lab_prompts_keep_the_token_bound(bounded: tuple[str, object]) -> None:  # noqa: F811
    base, _app = bounded
    one, two, combined = _two_jobs_and_a_combination(base)
    for path, body in (
        (f"/api/jobs/{one}/generate", {"prompt": LONG, "max_new_tokens": 4, "adapter": two}),
        (f"/api/adapters/{combined}/generate", {"prompt": LONG, "max_new_tokens": 4}),
    ):
        response = _post(base, path, body)
        assert response.status_code == 422, (path, response.text)
        (error,) = response.json()["detail"]
        assert error["loc"] == ["body", "prompt"] and f"the limit is {MAX_PROMPT_TOKENS}" in error["msg"]


def test_lab_actions_share_the_generation_rate(bounded: tuple[str, Any], clock: FakeClock) -> None:  # noqa: F811
    base, app = bounded
    one, two, combined = _two_jobs_and_a_combination(base)  # the combine counted once
    for _ in range(GENERATIONS_PER_CLIENT.limit - 1):  # the rest of this client's window, used up
        assert app.state.limiter.hit("generate:address:127.0.0.1", GENERATIONS_PER_CLIENT).allowed
    for name, action in _lab_actions(base, one, two, combined).items():
        response = action()
        assert response.status_code == 429, (name, response.status_code, response.text)
        assert (
            "adapter-lab actions" in response.json()["detail"] and int(response.headers["Retry-After"]) >= 1
        )
    clock.advance(2 * GENERATIONS_PER_CLIENT.window_s)
    statuses = {name: action().status_code for name, action in _lab_actions(base, one, two, combined).items()}
    assert statuses == {"combine": 201, "merge": 200, "combined generate": 200, "swap generate": 200}


def test_lab_actions_wait_for_a_generation_slot(bounded: tuple[str, Any]) -> None:  # noqa: F811
    """concurrency 1, line 1: one combine runs (held), one waits, the third is refused at once, and
    health and the job list answer meanwhile."""
    base, app = bounded
    one, two = _done_job(base), _done_job(base)
    service, gate = app.state.adapters, app.state.generation_gate
    release = threading.Event()
    real_run = service.run_on_tuned_models

    def held_run(*args: Any) -> Any:
        release.wait(60)
        return real_run(*args)

    service.run_on_tuned_models = held_run
    combine = {"jobs": [one, two], "weights": [1, 1]}
    try:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(_post, base, "/api/adapters/combine", combine)
            while gate.admitted < 1:
                time.sleep(0.01)
            second = pool.submit(_post, base, f"/api/jobs/{one}/merge")
            while gate.admitted < 2:
                time.sleep(0.01)
            refused = _post(base, f"/api/jobs/{one}/generate", {"prompt": "hi", "adapter": two})
            assert refused.status_code == 429 and "the limit is 2" in refused.json()["detail"]
            assert httpx.get(f"{base}/api/health", timeout=10).json()["status"] == "ok"
            assert httpx.get(f"{base}/api/jobs", timeout=10).status_code == 200
            release.set()
            assert (first.result().status_code, second.result().status_code) == (201, 200)
    finally:
        release.set()
        service.run_on_tuned_models = real_run
    assert gate.admitted == 0
