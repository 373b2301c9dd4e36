"""200 students join and answer at once, through the real HTTP API of a real server process.

Nothing may fail and nothing may be lost: the dashboard's counts must equal what was sent. Timings
are measured and reported (printed, and written to test-artifacts/), never asserted: they depend on
the machine and on what else runs on it.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.classroom.conftest import TOKEN
from tests.classroom.helpers import BEARER, answer_key
from tests.utils.server import free_port

STUDENTS = int(os.environ.get("FTLAB_LOAD_STUDENTS", "200"))
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def server_process(tmp_path: Path, database_url: str) -> Iterator[str]:
    """``ftlab serve`` in its own process, so the 200 clients here do not share a GIL with the server
    they measure."""
    port = free_port()
    env = {
        **os.environ,
        "FTLAB_DATA_DIR": str(tmp_path / "data"),
        "FTLAB_DATABASE_URL": database_url,
        "FTLAB_INSTRUCTOR_TOKEN": TOKEN,
        "FTLAB_SECRET_KEY": "load-test-secret",
        "FTLAB_DEVICE": "cpu",
    }
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]  # what an instructor runs
    log_path = tmp_path / "server.log"
    log = log_path.open("wb")  # a file, not a pipe: a full pipe would stall the server mid-test
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        problems = [
            line for line in log_path.read_text().splitlines() if "Traceback" in line or "ERROR" in line
        ]
        assert not problems, log_path.read_text()[-3000:]


class Meter:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: list[str] = []

    async def call(self, client: httpx.AsyncClient, method: str, url: str, expect: int, **kw: Any) -> Any:
        start = time.perf_counter()
        try:
            response = await client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self.errors.append(f"{method} {url}: {exc!r}")
            return None
        finally:
            self.latencies.append(time.perf_counter() - start)
        if response.status_code != expect:
            self.errors.append(f"{method} {url}: {response.status_code} {response.text[:200]}")
            return None
        return response.json()

    def report(self, wall_s: float) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
        return {
            "students": STUDENTS,
            "requests": len(ordered),
            "errors": len(self.errors),
            "wall_s": round(wall_s, 2),
            "requests_per_s": round(len(ordered) / wall_s, 1),
            "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(pick(0.99), 1),
            "max_ms": round(ordered[-1] * 1000, 1),
        }


async def one_student(
    base: str, code: str, index: int, plan: dict[str, str], meter: Meter, go: asyncio.Event
) -> int:
    """Join, look at the class, answer each question in its own request (as a live quiz goes)."""
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        await go.wait()
        if (
            await meter.call(
                client, "POST", f"/api/classes/{code}/join", 201, json={"nickname": f"student {index}"}
            )
            is None
        ):
            return 0
        await meter.call(client, "GET", "/api/classes/me", 200)
        sent = 0
        for question, choice in plan.items():
            if await meter.call(
                client, "POST", f"/api/classes/{code}/answers", 200, json={"answers": {question: choice}}
            ):
                sent += 1
        return sent


async def watch_dashboard(
    base: str, code: str, ready: asyncio.Event, expected: asyncio.Future[int], seen: list[dict[str, Any]]
) -> None:
    """The instructor's dashboard socket, open through the whole run: keeps every snapshot until one
    holds every answer sent (the total is known once the students are done)."""
    url = base.replace("http://", "ws://") + f"/ws/classes/{code}/dashboard"
    async with connect(url, additional_headers=BEARER, open_timeout=120, max_size=None) as socket:
        while True:
            seen.append(json.loads(await socket.recv()))
            ready.set()
            if expected.done() and seen[-1]["answers_total"] >= expected.result():
                return


def test_200_students_join_and_answer_at_once(server_process: str, database_url: str) -> None:
    base = server_process
    created = httpx.post(f"{base}/api/classes", json={"title": "Load"}, headers=BEARER, timeout=30)
    code = created.json()["code"]
    key = answer_key()
    rng = random.Random(5)
    # Each student's choices: mostly right, some wrong (a random wrong choice), some questions skipped.
    plans = []
    for _ in range(STUDENTS):
        plan = {}
        for question, (right, _wrong) in key.items():
            roll = rng.random()
            if roll < 0.1:
                continue
            plan[question] = right if roll < 0.65 else _wrong
        plans.append(plan)

    meter = Meter()

    snapshots: list[dict[str, Any]] = []

    async def scenario() -> tuple[list[int], float]:
        go, ready = asyncio.Event(), asyncio.Event()
        expected: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        dashboard = asyncio.create_task(watch_dashboard(base, code, ready, expected, snapshots))
        tasks = [
            asyncio.create_task(one_student(base, code, i, plans[i], meter, go)) for i in range(STUDENTS)
        ]
        await asyncio.wait_for(ready.wait(), 120)  # the dashboard is live before anyone joins
        await asyncio.sleep(0.5)  # every client waiting at the start line
        start = time.perf_counter()
        go.set()
        sent = await asyncio.gather(*tasks)
        wall = time.perf_counter() - start
        expected.set_result(sum(sent))
        done, _ = await asyncio.wait({dashboard}, timeout=60)
        if not done:  # the counts below then show what the dashboard last had
            dashboard.cancel()
        elif dashboard.exception() is not None:
            raise dashboard.exception()  # type: ignore[misc]
        return sent, wall

    sent, wall = asyncio.run(scenario())
    board = snapshots[-1]
    report = {
        "database": database_url.split(":")[0],
        **meter.report(wall),
        "dashboard_snapshots": len(snapshots),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"classroom-load-{report['database'].split('+')[0]}.json").write_text(
        json.dumps(report, indent=2)
    )
    print("\nclassroom load:", json.dumps(report))

    assert meter.errors == [], meter.errors[:5]
    assert sum(sent) == sum(len(p) for p in plans)
    assert len(board["students"]) == STUDENTS
    assert board["answers_total"] == sum(sent)
    assert set(key) <= {stats["id"] for stats in board["questions"]}
    for stats in board["questions"]:
        answers = [p[stats["id"]] for p in plans if stats["id"] in p]
        if stats["id"] not in key:  # a question about the student's own run: nobody here trained one
            assert stats["answered"] == 0, stats
            continue
        right = key[stats["id"]][0]
        assert stats["answered"] == len(answers)
        assert stats["correct"] == sum(a == right for a in answers)
        wrong = Counter(a for a in answers if a != right)
        if wrong:
            assert stats["top_wrong"]["count"] == max(wrong.values())
    with httpx.Client(base_url=base, headers=BEARER, timeout=60) as teacher:
        rows = teacher.get(f"/api/classes/{code}/results.csv").text.strip().splitlines()
    assert len(rows) == STUDENTS + 1
