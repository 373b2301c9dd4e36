"""``python -m bench experiment``: a served class runs the *Does rank matter?* preset. 24 simulated
students join, the instructor makes the experiment (planned for their 24 runs within the budget),
each student reads their cell, predicts and starts it; an instructor dashboard socket records when
each run's point reaches the class result. Reports the plan, the wall time from the first start to
the last result, the time from each run's stored ``done`` (jobs.finished_at) to its point (target
≤ 1 s) and jobs/min.

``--quick``: tiny-llama, 4 students, 3 ranks (a smoke run). ``FTLAB_BENCH_EXPERIMENT_BUDGET_S`` sets
the budget (default 900 s = the issue's 15 minutes).

``FTLAB_BENCH_EXPERIMENT_EXECUTORS=1`` runs, instead, the same smaller class twice, side by side:
once on one local worker process and once on the two-node loopback Ray cluster (two actors, one CPU
each; ``FTLAB_TEST_RAY_ADDRESS`` or a throwaway cluster started here), every run fixed to the same
steps and sequence length, and reports jobs/min on each and their ratio.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from app.training.train_config import METHOD_NAMES
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
    # a class allows LoRA and prompt tuning by default: the instructor opens it to every method first
    # (the experiment's cells are students' jobs, held to the class limits)
    teacher.put(
        f"/api/classes/{code}/limits", json={"allowed_methods": list(METHOD_NAMES)}
    ).raise_for_status()
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
    if os.environ.get("FTLAB_BENCH_EXPERIMENT_EXECUTORS"):
        return run_executors(quick)
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


def _ray_address() -> Any:
    """The Ray cluster to use: the tests' one if given, else a throwaway one started (and stopped) here."""
    import contextlib

    from tests.utils.services import TempRayCluster, ray_client_of

    if os.environ.get("FTLAB_TEST_RAY_ADDRESS"):
        return contextlib.nullcontext(os.environ["FTLAB_TEST_RAY_ADDRESS"])

    @contextlib.contextmanager
    def started() -> Any:
        cluster = TempRayCluster()
        try:
            with ray_client_of(cluster, cluster.start()) as address:
                yield address
        finally:
            cluster.stop()

    return started()


def run_executors(quick: bool = False) -> dict[str, Any]:
    """The same class on one local worker and on the two-node Ray cluster: jobs/min on each."""
    students = 4 if quick else 8
    values = [1, 4, 16, 64] if not quick else [1, 4]
    fixed = _tiny_rank_fixed() if quick else {}
    from app.experiments.presets import get_preset

    sizes = {"steps": 3, "seq_len": 64} if quick else {"steps": 10, "seq_len": 128}
    fixed = {**get_preset("rank").fixed, **fixed, **sizes}
    override = {"values": values, "fixed": fixed}
    budget_s = 3600.0  # the sizes are fixed: the budget only has to hold them
    rows: dict[str, dict[str, Any]] = {}
    with _ray_address() as address:
        for label, settings in (
            ("local, 1 worker process", {"cpu_workers": 1}),
            ("ray, 2 nodes x 1 actor", {"runner": address, "ray_actors": 2, "ray_num_cpus": 1.0}),
        ):
            load_before = os.getloadavg()[0]
            with running_server(device="cpu", job_time_limit_s=3600, **settings) as server:
                outcome = run_class(server, "rank", students, budget_s, override)
            runs = outcome["results"]["runs"]
            rows[label] = {
                "runs": len(runs),
                "done": sum(r["state"] == "done" for r in runs),
                "workers": outcome["experiment"]["plan"]["workers"],
                "wall_s": round(outcome["wall_s"], 1),
                "jobs_per_min": round(outcome["jobs_per_min"], 2),
                "done_to_point_max_s": round(percentile(list(outcome["latency_s"].values()), 100), 3),
                "load_before": round(load_before, 2),
            }
    local, ray_row = rows.values()
    ratio = ray_row["jobs_per_min"] / local["jobs_per_min"]
    print_table(
        f"experiment on each executor: rank preset, {students} students, {fixed['steps']} steps at seq_len "
        f"{fixed['seq_len']}",
        ["executor", "runs done", "workers", "wall s", "jobs/min", "done→point max s", "load before"],
        [
            [k, f"{r['done']}/{r['runs']}", r["workers"], r["wall_s"], r["jobs_per_min"],
             r["done_to_point_max_s"], r["load_before"]]
            for k, r in rows.items()
        ],
    )  # fmt: skip
    print(f"Ray / local jobs/min: {ratio:.2f}")
    return write_result(
        "experiment_executors",
        quick,
        {"students": students, "fixed": fixed, "rows": rows, "ray_over_local": round(ratio, 3),
         "machine_at_start": machine()},
    )  # fmt: skip
