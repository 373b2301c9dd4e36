"""A class's worth of jobs through the compose stack's proxy (scripts/compose_check.sh).

  class_drive.py BASE TOKEN KILL_CMD_WEB KILL_CMD_RAY

The instructor opens a class; 10 students join and each runs 2 tiny-llama jobs, one after the other,
streaming every one over the websocket through the proxy (a dropped socket reconnects with ``after``
and must miss nothing). Once the first jobs are training, KILL_CMD_WEB (kills a web container; what it
prints names it) and KILL_CMD_RAY (kills the Ray worker node) run. Every job must end: `done`, or
`failed` with a reason; each stream is exact (seq 1..N once, equal to the stored events read
afterwards); the queue keeps moving: a job starts after the faults and ends `done`. Prints the figures
(the stored events' times, which every container stamps from the host's clock).
"""

from __future__ import annotations

import http.cookiejar
import json
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

TINY = {"model": "tiny-llama", "method": "lora", "task": "tone", "steps": 30, "batch_size": 2, "seq_len": 32}
STUDENTS, JOBS_EACH = 10, 2
TERMINAL = {"done", "failed", "cancelled"}


class Client:
    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None, tries: int = 20) -> Any:
        for attempt in range(tries):  # the proxy may answer 502 for a moment while a web process dies
            request = urllib.request.Request(
                self.base + path,
                json.dumps(body).encode() if body is not None else None,
                self.headers,
                method=method,
            )
            try:
                with self.opener.open(request, timeout=60) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as error:
                if error.code not in (502, 503, 504) or attempt == tries - 1:
                    raise RuntimeError(f"{method} {path}: {error.code} {error.read()[:300]!r}") from error
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if attempt == tries - 1:
                    raise
            time.sleep(1)

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def stream(self, job_id: str, on_step: threading.Event) -> tuple[list[dict[str, Any]], int]:
        """Every event of the job; reconnects (through the proxy, maybe to the other web process) with
        the last seq seen. Returns the events and the number of reconnections."""
        events: list[dict[str, Any]] = []
        reconnects = 0
        while not events or events[-1]["type"] not in TERMINAL:
            after = events[-1]["seq"] if events else 0
            url = self.base.replace("http://", "ws://") + f"/ws/jobs/{job_id}?after={after}"
            try:
                with connect(url, additional_headers={"Cookie": self.cookie_header()}, open_timeout=30) as ws:
                    while not events or events[-1]["type"] not in TERMINAL:
                        events.append(json.loads(ws.recv(timeout=600)))
                        if events[-1]["type"] == "step":
                            on_step.set()
            except (ConnectionClosed, InvalidStatus, OSError, TimeoutError):
                reconnects += 1
                if reconnects > 30:
                    raise
                time.sleep(1)
        return events, reconnects


def main(base: str, token: str, kill_web: str, kill_ray: str) -> int:
    teacher = Client(base, token)
    code = teacher.call("POST", "/api/classes", {"title": "compose check"})["code"]
    results: list[dict[str, Any]] = []
    errors: list[str] = []
    training = threading.Event()

    def student(index: int) -> None:
        client = Client(base)
        try:
            client.call("POST", f"/api/classes/{code}/join", {"nickname": f"Student{index}"})
            for _ in range(JOBS_EACH):
                job_id = client.call("POST", "/api/jobs", TINY)["id"]
                events, reconnects = client.stream(job_id, training)
                results.append({"id": job_id, "events": events, "reconnects": reconnects, "client": client})
        except Exception as error:  # reported below: the check fails
            errors.append(f"student {index}: {error!r}")

    started = time.monotonic()
    threads = [threading.Thread(target=student, args=(i,)) for i in range(STUDENTS)]
    for thread in threads:
        thread.start()
    training.wait(600)
    time.sleep(2)
    # the check script's own commands
    killed_web = subprocess.run(kill_web, shell=True, check=True, capture_output=True, text=True)  # noqa: S602
    subprocess.run(kill_ray, shell=True, check=True)  # noqa: S602
    killed, killed_wall = time.monotonic(), time.time()
    for thread in threads:
        thread.join(1800)
    assert not errors, errors
    assert len(results) == STUDENTS * JOBS_EACH, len(results)
    outcome: dict[str, int] = {}
    for result in results:
        events = result["events"]
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1)), result["id"]
        stored = result["client"].call("GET", f"/api/jobs/{result['id']}/events?after=0")
        assert stored == events, f"{result['id']}: the stream differs from the stored events"
        last = events[-1]
        assert last["type"] in ("done", "failed"), last
        if last["type"] == "failed":
            assert last.get("error"), last
        outcome[last["type"]] = outcome.get(last["type"], 0) + 1
    listed = {job["id"] for job in teacher.call("GET", "/api/jobs?limit=500")}
    assert {r["id"] for r in results} <= listed, "a job is missing from the store"
    # the jobs a fault touched: a stream cut by the web kill (reconnected), or a job failed by a fault;
    # what the student saw last and how long after the kills the job's terminal event was stored
    touched = [
        {
            "id": r["id"],
            "reconnects": r["reconnects"],
            "terminal": r["events"][-1]["type"],
            "error": r["events"][-1].get("error"),
            "terminal_after_kill_s": round(r["events"][-1]["time"] - killed_wall, 1),
            "events": len(r["events"]),
        }
        for r in results
        if r["reconnects"] or r["events"][-1]["type"] == "failed"
    ]
    # the queue after the faults: the jobs that started once both kills were done, the first one first
    started_after = sorted(
        (round(event["time"] - killed_wall, 1), r["events"][-1]["type"], r["id"])
        for r in results
        for event in r["events"]
        if event["type"] == "started" and event["time"] > killed_wall
    )
    report = {
        "jobs": len(results),
        "outcome": outcome,
        "killed_web": killed_web.stdout.strip(),
        "touched_by_faults": touched,
        "events_lost": 0,  # every stream equalled the stored events (asserted above)
        "reconnects": sum(r["reconnects"] for r in results),
        "killed_after_s": round(killed - started, 1),
        "next_job_started_after_kill_s": started_after[0][0] if started_after else None,
        "jobs_started_after_kill": len(started_after),
        "done_of_those": sum(terminal == "done" for _, terminal, _ in started_after),
        "wall_s": round(time.monotonic() - started, 1),
    }
    print(json.dumps(report, indent=1))
    assert outcome.get("done", 0) >= len(results) - 2, outcome  # only the jobs the faults hit may fail
    assert started_after, "no job started after the faults: the queue stalled"
    assert report["done_of_those"] > 0, f"no job started after the faults finished: {started_after}"
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
