"""``python -m bench experiment``: a served class runs the *Does rank matter?* preset. 24 simulated
students join, the instructor makes the experiment (planned for their 24 runs within the budget),
each student reads their cell, predicts and starts it; an instructor dashboard socket records when
each run's point reaches the class result. Reports the plan, the wall time from the first start to
the last result, the time from each run's stored ``done`` (jobs.finished_at) to its point (target
≤ 1 s) and jobs/min.

``--quick``: tiny-llama, 4 students, 3 ranks (a smoke run). ``FTLAB_BENCH_EXPERIMENT_BUDGET_S`` sets
the budget (default 900 s = the issue's 15 minutes).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench.common import machine, median, percentile, print_table, print_targets, target, write_result
from bench.server import Server, running_server

NAME = "experiment"
TARGET_WALL_S = 15 * 60
TARGET_LATENCY_S = 1.0


def run_class(
    server: Server,
    preset: str,
    students: int,
    budget_s: float,
    override: dict[str, Any] | None = None,
    timeout_s: float = 4 * 3600,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run ``preset`` as a class would on ``server``: students join, the instructor makes the
    experiment, every student predicts and starts their cell (``progress`` gets the results each
    time another run finishes). Returns the plan, the final results,
    per-run latencies (done event → its point on the dashboard socket) and the wall times."""
    from websockets.sync.client import connect

    deadline = time.monotonic() + timeout_s  # for the whole class, planning included
    token = server.settings.instructor_token
    teacher = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=600)
    code = teacher.post("/api/classes", json={"title": f"bench {preset}", "anonymous": True}).json()["code"]
    pupils = []
    for index in range(students):
        pupil = httpx.Client(base_url=server.url, timeout=600)
        pupil.post(f"/api/classes/{code}/join", json={"nickname": f"student{index + 1}"}).raise_for_status()
        pupils.append(pupil)
    body = {"preset": preset, "budget_s": budget_s, **(override or {})}
    made_at = time.time()
    # planning may first run a calibration (minutes on a loaded CPU): the request waits for it
    made = teacher.post(f"/api/classes/{code}/experiments", json=body, timeout=deadline - time.monotonic())
    if made.status_code != 201:
        raise RuntimeError(f"the experiment was refused: {made.status_code} {made.text}")
    experiment = made.json()
    planned_at = time.time()
    base = f"/api/classes/{code}/experiments/{experiment['id']}"
    arrivals: dict[str, float] = {}  # job id → when its measured point reached the dashboard
    stop = threading.Event()
    ready = threading.Event()

    def watch() -> None:
        url = f"{server.ws_url}/ws/classes/{code}/dashboard"
        with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None) as ws:
            ready.set()
            while not stop.is_set():
                try:
                    message = json.loads(ws.recv(timeout=1.0))
                except TimeoutError:
                    continue
                if message.get("type") != "experiment":
                    continue
                now = time.time()
                for run in message["results"]["runs"]:
                    if run["job_id"] and run["state"] in ("done", "failed", "cancelled"):
                        arrivals.setdefault(run["job_id"], now)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    ready.wait(60)
    choices = ["lower", "same", "higher"]
    started_at = time.time()
    for index, pupil in enumerate(pupils):
        pupil.get(f"{base}/cell").raise_for_status()
        pupil.post(f"{base}/cell/prediction", json={"choice": choices[index % 3]}).raise_for_status()
        pupil.post(f"{base}/cell/start").raise_for_status()
    finished = -1
    while time.monotonic() < deadline:
        results = teacher.get(f"{base}/results").json()
        if progress is not None and results["finished"] != finished:
            finished = results["finished"]
            progress(results)
        if results["state"] == "complete":
            break
        time.sleep(1.0)
    else:
        raise RuntimeError(f"the experiment did not complete in {timeout_s:.0f} s")
    time.sleep(1.5)  # the socket's last message
    stop.set()
    watcher.join(10)
    latencies, from_event = {}, {}
    for run in results["runs"]:
        job_id = run["job_id"]
        if job_id not in arrivals:
            continue
        # ``done`` is stored (jobs.finished_at) after the worker has saved the adapter; the event's own
        # time is when training ended, before that save: both are reported, the target is on the first
        stored_at = teacher.get(f"/api/jobs/{job_id}").json()["finished_at"]
        event_at = teacher.get(f"/api/jobs/{job_id}/events").json()[-1]["time"]
        latencies[job_id] = arrivals[job_id] - stored_at
        from_event[job_id] = arrivals[job_id] - event_at
    last = max(arrivals.values()) if arrivals else time.time()
    for client in (teacher, *pupils):
        client.close()
    return {
        "class": code,
        "experiment": experiment,
        "results": results,
        "latency_s": latencies,
        "latency_from_event_time_s": from_event,
        "plan_s": planned_at - made_at,
        "wall_s": last - started_at,
        "jobs_per_min": len(results["runs"]) / ((last - started_at) / 60),
    }


def run(quick: bool = False) -> dict[str, Any]:
    students = 4 if quick else 24
    budget_s = float(os.environ.get("FTLAB_BENCH_EXPERIMENT_BUDGET_S") or TARGET_WALL_S)
    override = {"values": [1, 2, 4], "fixed": _tiny_rank_fixed()} if quick else None
    load_before = os.getloadavg()
    with running_server(cpu_workers=1, device="cpu", job_time_limit_s=3600) as server:
        outcome = run_class(server, "rank", students, budget_s, override)
    plan = outcome["experiment"]["plan"]
    latencies = list(outcome["latency_s"].values())
    print_table(
        "experiment plan",
        ["runs", "steps", "seq_len", "est_run_s", "est_total_s", "workers", "planning_s"],
        [
            [
                plan["runs"],
                plan["steps"],
                plan["seq_len"],
                plan["est_run_s"],
                plan["est_total_s"],
                plan["workers"],
                outcome["plan_s"],
            ]
        ],
    )
    rows = [[e["label"], e["n"], e["mean"], e["min"], e["max"]] for e in outcome["results"]["by_value"]]
    print_table("held-out loss by rank", ["rank", "n", "mean", "min", "max"], rows)
    print_table(
        "class run",
        [
            "runs",
            "wall_s (first start → last point)",
            "jobs/min",
            "stored done→point p50 s",
            "p100 s",
            "load before",
        ],
        [
            [
                len(outcome["results"]["runs"]),
                outcome["wall_s"],
                outcome["jobs_per_min"],
                median(latencies),
                percentile(latencies, 100),
                f"{load_before[0]:.1f}",
            ]
        ],
    )
    targets = [
        target("wall time to the last result", outcome["wall_s"], TARGET_WALL_S, unit=" s"),
        target("stored done → result point (max)", percentile(latencies, 100), TARGET_LATENCY_S, unit=" s"),
    ]
    print_targets(targets)
    return write_result(
        NAME,
        quick,
        {
            "students": students,
            "budget_s": budget_s,
            "plan": plan,
            "wall_s": outcome["wall_s"],
            "jobs_per_min": outcome["jobs_per_min"],
            "latency_s": outcome["latency_s"],
            "latency_from_event_time_s": outcome["latency_from_event_time_s"],
            "by_value": outcome["results"]["by_value"],
            "load_before": list(load_before),
            "load_after": list(os.getloadavg()),
            "targets": targets,
            "executor": "local, 1 worker process",
            "machine_at_start": machine(),
        },
    )


def _tiny_rank_fixed() -> dict[str, Any]:
    from app.experiments.presets import get_preset

    return {**get_preset("rank").fixed, "model": "tiny-llama", "batch_size": 2, "max_new_tokens": 4}
