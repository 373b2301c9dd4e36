"""A class's worth of jobs through the scale-out layout: two web processes on one PostgreSQL, jobs run
by local worker processes or by a two-node Ray cluster (``scripts/ray_cluster.sh start``).

10 students (joined alternately through web process A and B) each submit 2 tiny-llama jobs at once;
every job is watched on the web process it was *not* submitted to, from its first event to its last.
Checks: each job's websocket stream equals its stored events and runs seq 1, 2, ... once, in order,
ending in `done`. Reports jobs per minute (first POST to last `done`), the POST → first `step` time
(dispatch + warm-up; median and max) and the nodes that trained. Needs FTLAB_TEST_POSTGRES_URL (or
FTLAB_BENCH_POSTGRES_URL) and, for the Ray row, FTLAB_TEST_RAY_ADDRESS (RAY_AUTH_* set as for the tests).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import create_engine, make_url, text
from websockets.sync.client import connect

from bench.common import median, print_table, write_result
from bench.processes import start_web_process, stop_web_process

STUDENTS, JOBS_EACH = 10, 2
TOKEN = "bench-cluster-instructor"
BEARER = {"Authorization": f"Bearer {TOKEN}"}  # the instructor sees every student's job
JOB = {"model": "tiny-llama", "method": "lora", "task": "tone", "steps": 20, "batch_size": 2, "seq_len": 32}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _schema_url(base: str) -> tuple[str, str]:
    schema = f"ftlab_bench_{secrets.token_hex(4)}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def _drop_schema(base: str, schema: str) -> None:
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def _watch(base: str, job_id: str, out: dict[str, Any]) -> None:
    events = []
    url = base.replace("http://", "ws://") + f"/ws/jobs/{job_id}?after=0"
    with connect(url, open_timeout=60, max_size=None, additional_headers=BEARER) as ws:
        try:
            while True:
                events.append((time.time(), json.loads(ws.recv(timeout=600))))
        except Exception:  # the server closed after the terminal event
            pass
    out[job_id] = events


def _environment(database_url: str, data_dir: str, runner: str, slots: int) -> dict[str, str]:
    """A web process's settings: ``slots`` jobs at once (worker processes, or Ray actors)."""
    return {
        "FTLAB_DATABASE_URL": database_url,
        "FTLAB_DATA_DIR": data_dir,
        "FTLAB_DEVICE": "cpu",
        "FTLAB_INSTRUCTOR_TOKEN": TOKEN,
        "FTLAB_RUNNER": runner,
        "FTLAB_CPU_WORKERS": str(slots),
        "FTLAB_RAY_ACTORS": str(slots),
    }


def class_run(runner: str, database_url: str, quick: bool) -> dict[str, Any]:
    """Two web processes with ``runner``; 10 students × 2 jobs at once; returns the measurements."""
    students, jobs_each = (4, 1) if quick else (STUDENTS, JOBS_EACH)
    with tempfile.TemporaryDirectory(prefix="ftlab-bench-cluster-") as data_dir:
        env = _environment(database_url, data_dir, runner, slots=2)
        ports = _free_port(), _free_port()
        processes = [start_web_process(ports[0], env)]
        try:
            processes.append(start_web_process(ports[1], env))
            bases = [f"http://127.0.0.1:{p}" for p in ports]
            return _run_class(bases, students, jobs_each)
        finally:
            for process in processes:
                stop_web_process(process)


def _run_class(bases: list[str], students: int, jobs_each: int) -> dict[str, Any]:
    bearer = BEARER
    code = httpx.post(f"{bases[0]}/api/classes", json={}, headers=bearer, timeout=30).json()["code"]
    limits = {"max_active_jobs": jobs_each, "max_submissions": jobs_each, "max_steps": JOB["steps"]}
    response = httpx.put(f"{bases[0]}/api/classes/{code}/limits", json=limits, headers=bearer, timeout=30)
    response.raise_for_status()
    clients = []
    for index in range(students):
        client = httpx.Client(base_url=bases[index % 2], timeout=60)
        client.post(f"/api/classes/{code}/join", json={"nickname": f"student{index}"}).raise_for_status()
        clients.append((index % 2, client))

    def submit(entry: tuple[int, httpx.Client]) -> tuple[int, str, float]:
        side, client = entry
        posted = time.time()
        response = client.post("/api/jobs", json=JOB)
        response.raise_for_status()
        return side, response.json()["id"], posted

    start = time.time()
    with ThreadPoolExecutor(max_workers=students * jobs_each) as pool:
        submitted = list(pool.map(submit, [c for c in clients for _ in range(jobs_each)]))
    streams: dict[str, Any] = {}
    watchers = [
        threading.Thread(target=_watch, args=(bases[1 - side], job_id, streams))
        for side, job_id, _ in submitted
    ]
    for watcher in watchers:
        watcher.start()
    for watcher in watchers:
        watcher.join(900)
    finished = time.time()
    for _, client in clients:
        client.close()

    from tests.utils.streams import check_stream

    exact, first_step_s, nodes, done = 0, [], set(), 0
    for side, job_id, posted in submitted:
        received = [event for _, event in streams.get(job_id, [])]
        stored = httpx.get(f"{bases[side]}/api/jobs/{job_id}/events", headers=BEARER, timeout=30).json()
        try:
            check_stream(received)
            exact += received == stored
        except AssertionError:
            pass
        done += bool(received) and received[-1]["type"] == "done"
        step = next((e for e in received if e["type"] == "step"), None)
        if step is not None:
            first_step_s.append(step["time"] - posted)
        nodes.add(
            httpx.get(f"{bases[side]}/api/jobs/{job_id}", headers=BEARER, timeout=30).json().get("node")
        )
    jobs = len(submitted)
    return {
        "jobs": jobs,
        "done": done,
        "streams_exact": exact,
        "wall_s": finished - start,
        "jobs_per_min": 60 * jobs / (finished - start),
        "first_step_median_s": median(first_step_s),
        "first_step_max_s": max(first_step_s) if first_step_s else float("nan"),
        "nodes": sorted(n for n in nodes if n),
    }


def dispatch_overhead(runner: str, database_url: str, jobs: int) -> dict[str, float]:
    """POST → first `step` of a job on an idle queue, after a warm-up job (warm model cache): the
    cost of dispatching to a worker process or a Ray actor, one job at a time (median and max)."""
    with tempfile.TemporaryDirectory(prefix="ftlab-bench-dispatch-") as data_dir:
        env = _environment(database_url, data_dir, runner, slots=1)
        port = _free_port()
        process = start_web_process(port, env)
        base = f"http://127.0.0.1:{port}"
        try:
            times = []
            for index in range(jobs + 1):  # the first warms the worker's model cache
                posted = time.time()
                job_id = httpx.post(f"{base}/api/jobs", json=JOB, headers=BEARER, timeout=60).json()["id"]
                streams: dict[str, Any] = {}
                _watch(base, job_id, streams)
                step = next(e for _, e in streams[job_id] if e["type"] == "step")
                if index:
                    times.append(step["time"] - posted)
        finally:
            stop_web_process(process)
    return {"median_s": median(times), "max_s": max(times), "jobs": len(times)}


def run(quick: bool = False) -> dict[str, Any]:
    base = os.environ.get("FTLAB_BENCH_POSTGRES_URL") or os.environ.get("FTLAB_TEST_POSTGRES_URL")
    if not base:
        reason = (
            "skipped: set FTLAB_TEST_POSTGRES_URL (or FTLAB_BENCH_POSTGRES_URL); two web processes need it"
        )
        print(f"\n## cluster: {reason}")
        return write_result("cluster", quick, {"skipped": reason})
    runners = {"local": "local"}
    if os.environ.get("FTLAB_TEST_RAY_ADDRESS"):
        runners["ray (2 nodes)"] = os.environ["FTLAB_TEST_RAY_ADDRESS"]
    rows, dispatch = {}, {}
    for label, runner in runners.items():
        url, schema = _schema_url(base)
        try:
            dispatch[label] = dispatch_overhead(runner, url, 2 if quick else 3)
        finally:
            _drop_schema(base, schema)
        if os.environ.get("FTLAB_BENCH_DISPATCH_ONLY"):
            continue
        url, schema = _schema_url(base)
        try:
            rows[label] = class_run(runner, url, quick)
        finally:
            _drop_schema(base, schema)
    print_table(
        "cluster: dispatch, one job at a time on an idle queue (warm model cache): POST → first step",
        ["runner", "median s", "max s", "jobs"],
        [[label, d["median_s"], d["max_s"], d["jobs"]] for label, d in dispatch.items()],
    )
    print_table(
        "cluster: two web processes on PostgreSQL, each job watched on the other process",
        ["runner", "jobs done", "streams exact", "jobs/min", "POST→first step median s", "max s", "nodes"],
        [
            [
                label,
                f"{r['done']}/{r['jobs']}",
                f"{r['streams_exact']}/{r['jobs']}",
                r["jobs_per_min"],
                r["first_step_median_s"],
                r["first_step_max_s"],
                len(r["nodes"]),
            ]
            for label, r in rows.items()
        ],
    )
    return write_result("cluster", quick, {"rows": rows, "dispatch": dispatch, "job": JOB})
