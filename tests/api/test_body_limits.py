"""Large bodies cannot freeze the server (issue 22, fault 1): JSON bodies are bounded before a byte
is parsed, a 422 never echoes a large input, and /api/health is answered on the event loop even when
every thread of the pool is taken."""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
from typing import Any

import anyio.to_thread
import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.api import health
from app.api.bad_input import MAX_ECHO_CHARS

# The probe of the issue: 3.9 MB of JSON naming no existing class, sent to a join.
HUGE = json.dumps({"model": "tiny-llama", "x": [0] * 1_950_000}).encode()
HOST = [(b"host", b"127.0.0.1")]


async def _call(app: FastAPI, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> Any:
    """Drives the app (its middleware stack) with a raw ASGI request; returns (status, chunks read)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": HOST + headers, "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    read: list[int] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if len(read) == len(chunks):
            await asyncio.sleep(3600)  # the client would wait; the app must answer without this
        read.append(len(chunks[len(read)]))
        return {"type": "http.request", "body": chunks[len(read) - 1], "more_body": len(read) < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), 30)
    return sent[0]["status"], read, b"".join(m.get("body", b"") for m in sent[1:])


def test_a_declared_large_json_body_is_refused_without_reading_it(app: FastAPI) -> None:
    limit = app.state.settings.max_json_body_bytes
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(HUGE)).encode())]
    status, read, body = asyncio.run(_call(app, "/api/classes/NOPE/join", headers, [HUGE]))
    assert status == 413 and read == []  # answered before one byte of the body was received
    assert json.loads(body)["detail"] == f"request body is larger than the limit of {limit} bytes"


def test_a_streamed_large_json_body_is_cut_off_at_the_limit(app: FastAPI) -> None:
    limit = app.state.settings.max_json_body_bytes
    chunk = 16_384
    chunks = [HUGE[i : i + chunk] for i in range(0, len(HUGE), chunk)]  # 239 chunks, no Content-Length
    headers = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]
    status, read, body = asyncio.run(_call(app, "/api/jobs", headers, chunks))
    assert status == 413 and f"limit of {limit} bytes" in json.loads(body)["detail"]
    assert sum(read) <= limit + chunk  # reading stopped at the chunk that passed the limit
    assert len(read) < len(chunks) // 10


def test_a_large_upload_still_has_its_own_larger_limit(client: TestClient) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    assert settings.max_upload_bytes > settings.max_json_body_bytes
    text = "\n".join(json.dumps({"prompt": f"p{i} " * 20, "completion": "c " * 20}) for i in range(800))
    assert settings.max_json_body_bytes < len(text) < settings.max_upload_bytes
    files = {"file": ("big.jsonl", text.encode(), "application/jsonl")}
    response = client.post("/api/tasks", data={"name": "bigtask"}, files=files)
    assert response.status_code != 413, response.text


def test_a_422_quotes_only_the_start_of_a_large_input(client: TestClient) -> None:
    body = {"model": list(range(5000)), "method": "lora", "task": "tone"}  # 29 kB, under the limit
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 422
    assert len(response.content) < 3 * MAX_ECHO_CHARS + 1000  # not the 29 kB it was sent
    (error,) = [e for e in response.json()["detail"] if e["loc"] == ["body", "model"]]
    assert error["input"].startswith("[0, 1, 2,") and "characters, cut)" in error["input"]
    small = client.post("/api/jobs", json={**body, "model": 5}).json()["detail"]
    assert next(e for e in small if e["loc"] == ["body", "model"])["input"] == 5  # small: quoted as sent


def _calls(dependant: Dependant) -> list[Any]:
    return [dependant.call, *(c for d in dependant.dependencies for c in _calls(d))]


def test_health_and_its_dependencies_are_coroutines() -> None:
    (route,) = [r for r in health.router.routes if isinstance(r, APIRoute) and r.path == "/api/health"]
    calls = _calls(route.dependant)
    assert len(calls) >= 4  # the route and its settings, runner and model-cache getters
    assert all(inspect.iscoroutinefunction(call) for call in calls), calls


def test_health_answers_while_every_pool_thread_is_taken(client: TestClient) -> None:
    """The structural fact the p99 figure rests on: with the whole thread pool blocked (what 40 slow
    requests do), health still answers, and a route that needs the pool does not."""
    release = threading.Event()
    holders: list[asyncio.Task] = []

    async def take_the_pool() -> int:
        limiter = anyio.to_thread.current_default_thread_limiter()
        loop = asyncio.get_running_loop()
        for _ in range(int(limiter.total_tokens)):
            holders.append(loop.create_task(anyio.to_thread.run_sync(release.wait, 60)))
        while limiter.borrowed_tokens < limiter.total_tokens:
            await asyncio.sleep(0.01)
        return int(limiter.total_tokens)

    taken = client.portal.call(take_the_pool)  # type: ignore[union-attr]
    try:
        start = time.perf_counter()
        response = client.get("/api/health")
        assert response.status_code == 200 and response.json()["status"] == "ok"
        took = time.perf_counter() - start
        assert taken >= 1
        # /api/models is a plain function: it waits for a pool thread and cannot answer now
        blocked = client.portal.start_task_soon(_get_models, client)  # type: ignore[union-attr]
        time.sleep(0.5)
        assert not blocked.done(), "a pool route answered with the pool full: the test proves nothing"
    finally:
        release.set()
    assert blocked.result(timeout=30) == 200
    print(f"health with {taken} pool threads taken: {took * 1000:.1f} ms")


async def _get_models(client: TestClient) -> int:
    transport = httpx.ASGITransport(app=client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as ac:
        return (await ac.get("/api/models")).status_code


def test_lora_flags_take_json_booleans_only(client: TestClient) -> None:
    for flag, value in (("use_rslora", 1), ("use_rslora", "true"), ("use_dora", "yes")):
        response = client.post("/api/jobs", json={"model": "tiny-llama", "method": "lora", flag: value})
        assert response.status_code == 422, (flag, value, response.text)
        assert any(e["loc"] == ["body", flag] for e in response.json()["detail"])


def test_combine_documents_the_404_it_answers_for_an_unknown_job(client: TestClient) -> None:
    response = client.post("/api/adapters/combine", json={"jobs": ["nope"], "weights": [1]})
    assert response.status_code == 404 and "no job 'nope'" in response.json()["detail"]
    documented = client.get("/openapi.json").json()["paths"]["/api/adapters/combine"]["post"]["responses"]
    assert {"404", "429"} <= set(documented)
