"""Several web processes on one PostgreSQL: a job submitted through one streams live on another
(every seq once, in order; the events reach B by LISTEN/NOTIFY), a client whose web process dies
reconnects to the other with ``after`` and misses nothing, a class change made on one reaches a
socket on the other, and when the scheduling process dies the other takes over the queue."""

from __future__ import annotations

import signal
import time

import httpx
import pytest
from websockets.sync.client import connect

from app.config import Settings
from tests.api.conftest import TINY_JOB, submit, wait_for_state
from tests.classroom.conftest import TOKEN
from tests.classroom.helpers import BEARER, open_class, student
from tests.utils.databases import postgres_database_url  # noqa: F401  (fixture)
from tests.utils.processes import start_server, stop_server
from tests.utils.server import free_port
from tests.utils.streams import check_stream, read_stream

pytestmark = pytest.mark.postgres
SLOW_JOB = {**TINY_JOB, "steps": 400}  # long enough to kill a web process in the middle


@pytest.fixture
def database_url(postgres_database_url: str) -> str:  # noqa: F811
    """PostgreSQL only: several web processes share their state through it (SQLite is one file)."""
    return postgres_database_url


@pytest.fixture
def two_servers(settings: Settings) -> object:
    settings = settings.model_copy(update={"instructor_token": TOKEN})  # the classroom helpers' token
    ports = free_port(), free_port()
    processes = [start_server(settings, ports[0])]
    processes.append(start_server(settings, ports[1]))
    yield processes, [f"http://127.0.0.1:{p}" for p in ports]
    for process in processes:
        stop_server(process)


def test_a_job_from_one_process_streams_on_the_other_and_survives_its_death(two_servers) -> None:  # noqa: ANN001
    processes, (a, b) = two_servers
    job_id = submit(a, SLOW_JOB)["id"]
    head, _ = read_stream(b, job_id, until_type="step")  # live on B: the job runs in A's worker
    head += read_stream(b, job_id, after=head[-1]["seq"], limit=5)[0]
    processes[1].send_signal(signal.SIGKILL)  # B dies mid-stream
    processes[1].wait(30)
    rest, code = read_stream(a, job_id, after=head[-1]["seq"])  # the browser reconnects to A
    events = head + rest
    check_stream(events)  # every seq once, in order, ending in the terminal event
    assert code == 1000 and events[-1]["type"] == "done"
    assert events == httpx.get(f"{a}/api/jobs/{job_id}/events", timeout=30).json()


def test_a_class_change_on_one_process_reaches_a_socket_on_the_other(two_servers) -> None:  # noqa: ANN001
    _, (a, b) = two_servers
    code = open_class(a)
    url = b.replace("http://", "ws://") + f"/ws/classes/{code}/dashboard"
    with connect(url, additional_headers=BEARER, open_timeout=30) as socket:
        assert "Quokka7" not in socket.recv(timeout=30)  # the dashboard now: nobody has joined
        student(a, code, "Quokka7").close()  # joins through A; the dashboard socket is on B
        deadline = time.monotonic() + 30  # no runs are active: B refreshes only when told
        while "Quokka7" not in socket.recv(timeout=max(0.1, deadline - time.monotonic())):
            pass


def test_the_other_process_takes_over_the_queue_when_the_scheduler_dies(two_servers) -> None:  # noqa: ANN001
    processes, (a, b) = two_servers
    running = submit(a, SLOW_JOB)["id"]
    read_stream(a, running, until_type="step")
    waiting = submit(b, TINY_JOB)["id"]
    processes[0].send_signal(signal.SIGKILL)  # A held the scheduler lease and ran the job
    processes[0].wait(30)
    lost = wait_for_state(b, running, {"failed", "done", "cancelled"}, timeout=120)
    assert lost["state"] == "failed" and "lost" in lost["error"]
    assert wait_for_state(b, waiting, {"failed", "done", "cancelled"}, timeout=300)["state"] == "done"
    for job_id in (running, waiting):
        check_stream(httpx.get(f"{b}/api/jobs/{job_id}/events", timeout=30).json())
