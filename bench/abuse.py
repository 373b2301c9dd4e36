"""Abuse probes against a real server on loopback (tiny-llama): concurrent generates, a flood of
joins, anonymous submissions and bearer guesses, while GET /api/health is timed; then the instructor
logs in, starts and pins a run. Prints the figures. ``python -m bench.abuse [--scale 1.0]``
(scale 1.0 = 60 generates, 1,000 joins, 500 submissions, 300 guesses)."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from app.config import Settings, get_settings
from app.main import create_app
from tests.utils.server import live_server

TOKEN = "abuse-probe-instructor-token"
TINY = {"model": "tiny-llama", "method": "lora", "task": "tone", "steps": 4, "batch_size": 2, "seq_len": 32}


def _health_sampler(base: str, stop: threading.Event, samples: list[float]) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.is_set():
            start = time.perf_counter()
            client.get("/api/health")
            samples.append((time.perf_counter() - start) * 1000)
            time.sleep(0.05)


def _generate(base: str, job: str) -> int:
    body = {"prompt": "x" * 900, "max_new_tokens": 128}
    return httpx.post(f"{base}/api/jobs/{job}/generate", json=body, timeout=300).status_code


def _join(base: str, code: str, i: int) -> int:
    return httpx.post(f"{base}/api/classes/{code}/join", json={"nickname": f"kid{i}"}, timeout=60).status_code


def _submit(base: str) -> int:
    return httpx.post(f"{base}/api/jobs", json=TINY, timeout=60).status_code


def _guess(base: str, i: int) -> int:
    headers = {"Authorization": f"Bearer guess-{i}"}
    return httpx.get(f"{base}/api/classes", headers=headers, timeout=60).status_code


def _count(statuses: list[int]) -> dict[int, int]:
    return {s: statuses.count(s) for s in sorted(set(statuses))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--url", help="a running server (started with FTLAB_INSTRUCTOR_TOKEN=" + TOKEN + ")")
    args = parser.parse_args()
    n = {
        k: max(1, int(v * args.scale)) for k, v in {"gen": 60, "join": 1000, "sub": 500, "guess": 300}.items()
    }
    if args.url:  # a server in its own process: the probe's threads do not share its interpreter
        probe(args.url.rstrip("/"), n)
        return
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), model_dir=get_settings().model_dir, instructor_token=TOKEN)
        with live_server(create_app(settings)) as base:
            probe(base, n)


def probe(base: str, n: dict[str, int]) -> None:
    teacher = httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {TOKEN}"})
    job = teacher.post("/api/jobs", json=TINY).json()["id"]
    while teacher.get(f"/api/jobs/{job}").json()["state"] not in ("done", "failed"):
        time.sleep(0.2)
    samples: list[float] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_health_sampler, args=(base, stop, samples), daemon=True)
    sampler.start()
    results: dict[str, dict[int, int]] = {}
    with ThreadPoolExecutor(60) as pool:
        results["generate"] = _count(list(pool.map(lambda _: _generate(base, job), range(n["gen"]))))
        code = teacher.post("/api/classes", json={}).json()["code"]
        results["join"] = _count(list(pool.map(lambda i: _join(base, code, i), range(n["join"]))))
        teacher.post(f"/api/classes/{code}/close")
        results["anonymous submit"] = _count(list(pool.map(lambda _: _submit(base), range(n["sub"]))))
        results["bearer guess"] = _count(list(pool.map(lambda i: _guess(base, i), range(n["guess"]))))
    stop.set()
    sampler.join()
    login = httpx.Client(base_url=base, timeout=60).post("/api/auth/login", json={"token": TOKEN})
    code = teacher.post("/api/classes", json={}).json()["code"]
    run = teacher.post(f"/api/classes/{code}/runs", json=TINY)
    pinned = teacher.get(f"/api/classes/{code}").json().get("pinned_job_id")
    for name, counts in results.items():
        print(f"{name:18s} {counts}")
    q = statistics.quantiles(samples, n=100)
    print(
        f"health: {len(samples)} samples, p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms, max {max(samples):.1f} ms"
    )
    print(
        f"instructor after: login {login.status_code}, start+pin run {run.status_code}, "
        f"queue position {run.json().get('queue_position')}, pinned {pinned == run.json().get('id')}"
    )


if __name__ == "__main__":
    main()
