"""Abuse probes against a real server on loopback (tiny-llama): concurrent generates, a flood of
joins, anonymous submissions and bearer guesses, while GET /api/health is timed; then the instructor
logs in, starts and pins a run. Prints the figures. ``python -m bench.abuse [--scale 1.0]``
(scale 1.0 = 60 generates, 1,000 joins, 500 submissions, 300 guesses). On one small machine the probe's
60 client threads take CPU the attackers' own machines would spend: pin the server and the probe to
different cores (``taskset``) to measure the server, not the attackers' share of the box."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from app.config import Settings, get_settings
from app.main import create_app
from tests.utils.server import live_server

TOKEN = "abuse-probe-instructor-token"
TINY = {"model": "tiny-llama", "method": "lora", "task": "tone", "steps": 4, "batch_size": 2, "seq_len": 32}


def _health_sampler(base: str, stop: Any, out: Any) -> None:
    """Times GET /api/health every 50 ms until ``stop`` is set, then puts the samples (ms) on ``out``.
    It runs in a process of its own: in the probe's process its timings would include waiting for
    the GIL behind the 60 threads that do the abusing."""
    if hasattr(os, "sched_setaffinity"):  # the probe may be pinned to a core standing in for the attackers'
        os.sched_setaffinity(0, range(os.cpu_count() or 1))  # machines; the sampler is not one of them
    samples: list[tuple[float, float]] = []  # (when it started, time.time(); milliseconds)
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.is_set():
            when, start = time.time(), time.perf_counter()
            client.get("/api/health")
            samples.append((when, (time.perf_counter() - start) * 1000))
            if len(samples) == 1:
                out.put("sampling")
            time.sleep(0.05)
    out.put(samples)


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


BIG_BODIES = {  # about 3.9 MB each: what once held the event loop for 5.8 s apiece (issue 22)
    "list": b'{"nickname": "x", "x": [' + b"0, " * 1_299_999 + b"0]}",
    "string": b'{"nickname": "' + b"x" * 3_900_000 + b'"}',
    "object": b'{"nickname": "x", "x": {' + b",".join(b'"k%d": 0' % i for i in range(390_000)) + b"}}",
}


def _big_body(base: str, kind: str) -> int:
    headers = {"content-type": "application/json"}
    return httpx.post(
        f"{base}/api/classes/NOPE00/join", content=BIG_BODIES[kind], headers=headers, timeout=120
    ).status_code


def _combine(base: str, jobs: list[str]) -> int:
    return httpx.post(
        f"{base}/api/adapters/combine", json={"jobs": jobs, "weights": [1, 1]}, timeout=300
    ).status_code


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
    job, other = (teacher.post("/api/jobs", json=TINY).json()["id"] for _ in range(2))
    for finished in (job, other):
        while teacher.get(f"/api/jobs/{finished}").json()["state"] not in ("done", "failed"):
            time.sleep(0.2)
    ctx = mp.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    sampler = ctx.Process(target=_health_sampler, args=(base, stop, out), daemon=True)
    sampler.start()
    assert out.get(timeout=300) == "sampling"  # before the first probe: every phase is timed
    results: dict[str, dict[int, int]] = {}
    phases: dict[str, tuple[float, float]] = {}  # name → (start, end), time.time()

    def phase(name: str, calls: Any) -> None:
        start = time.time()
        results[name] = _count(list(calls))
        phases[name] = (start, time.time())

    with ThreadPoolExecutor(60) as pool:
        for kind in BIG_BODIES:
            phase(f"3.9 MB {kind} x10", pool.map(lambda _, k=kind: _big_body(base, k), range(10)))
        phase("combine", pool.map(lambda _: _combine(base, [job, other]), range(n["gen"])))
        phase("generate", pool.map(lambda _: _generate(base, job), range(n["gen"])))
        code = teacher.post("/api/classes", json={}).json()["code"]
        phase("join", pool.map(lambda i: _join(base, code, i), range(n["join"])))
        teacher.post(f"/api/classes/{code}/close")
        phase("anonymous submit", pool.map(lambda _: _submit(base), range(n["sub"])))
        phase("bearer guess", pool.map(lambda i: _guess(base, i), range(n["guess"])))
    stop.set()
    timed: list[tuple[float, float]] = out.get(timeout=120)
    sampler.join(30)
    samples = [ms for _, ms in timed]
    login = httpx.Client(base_url=base, timeout=60).post("/api/auth/login", json={"token": TOKEN})
    code = teacher.post("/api/classes", json={}).json()["code"]
    run = teacher.post(f"/api/classes/{code}/runs", json=TINY)
    pinned = teacher.get(f"/api/classes/{code}").json().get("pinned_job_id")
    for name, counts in results.items():
        start, end = phases[name]
        during = sorted(ms for when, ms in timed if start <= when < end)
        worst = ""
        if during:
            p99 = (
                during[-1] if len(during) < 2 else statistics.quantiles(during, n=100, method="inclusive")[98]
            )
            worst = (
                f"health p50 {statistics.median(during):.0f} ms, p99 {p99:.0f} ms, max {during[-1]:.0f} ms"
            )
        print(f"{name:18s} {counts}  {end - start:5.1f} s  {worst}")
    q = statistics.quantiles(samples, n=100, method="inclusive")
    print(
        f"health: {len(samples)} samples, p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms, max {max(samples):.1f} ms"
    )
    print(
        f"instructor after: login {login.status_code}, start+pin run {run.status_code}, "
        f"queue position {run.json().get('queue_position')}, pinned {pinned == run.json().get('id')}"
    )


if __name__ == "__main__":
    main()
