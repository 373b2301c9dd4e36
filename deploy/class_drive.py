"""A class's worth of jobs through the compose stack's proxy (scripts/compose_check.sh).

  class_drive.py BASE TOKEN KILL_CMD_WEB KILL_CMD_RAY

The instructor opens a class; 10 students join and each runs 2 tiny-llama jobs, one after the other,
streaming every one over the websocket through the proxy (a dropped socket reconnects with ``after``
and must miss nothing). Two faults, one after the other: once the first jobs train, KILL_CMD_WEB
(crashes a web container; what it prints names it); once a job has started after that (the queue moved
on), KILL_CMD_RAY (crashes the Ray worker node) mid-job. Every job must end: `done`, or `failed` with a
reason; each stream is exact (seq 1..N once, equal to the stored events read afterwards); the queue
keeps moving: a job starts after each fault, and one started after the last ends `done`. Prints the
figures per fault (from the stored events' times, which every container stamps from the host's clock).
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
DEADLINE_S = 900  # the whole class (about a minute when it works): a stalled queue fails, not hangs
TERMINAL = {"done", "failed", "cancelled"}


class Progress:
    """The latest `step` and `started` times any student's stream has shown."""

    def __init__(self) -> None:
        self._seen = threading.Condition()
        self.latest = {"step": 0.0, "started": 0.0}

    def saw(self, event: dict[str, Any]) -> None:
        if event["type"] in self.latest:
            with self._seen:
                self.latest[event["type"]] = max(self.latest[event["type"]], event["time"])
                self._seen.notify_all()

    def wait(self, kind: str, after: float, timeout: float) -> bool:
        with self._seen:
            return self._seen.wait_for(lambda: self.latest[kind] > after, timeout)


class Client:
    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None, tries: int = 20, raw: bool = False) -> Any:
        for attempt in range(tries):  # the proxy may answer 502 for a moment while a web process dies
            request = urllib.request.Request(
                self.base + path,
                json.dumps(body).encode() if body is not None else None,
                self.headers,
                method=method,
            )
            try:
                with self.opener.open(request, timeout=60) as response:
                    data = response.read()
                    return data if raw else json.loads(data)
            except urllib.error.HTTPError as error:
                if error.code not in (502, 503, 504) or attempt == tries - 1:
                    raise RuntimeError(f"{method} {path}: {error.code} {error.read()[:300]!r}") from error
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if attempt == tries - 1:
                    raise
            time.sleep(1)

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def stream(self, job_id: str, progress: Progress, deadline: float) -> tuple[list[dict[str, Any]], int]:
        """Every event of the job; reconnects (through the proxy, maybe to the other web process) with
        the last seq seen; TimeoutError at ``deadline`` (monotonic). Returns the events and the number
        of reconnections."""
        events: list[dict[str, Any]] = []
        reconnects = 0
        while not events or events[-1]["type"] not in TERMINAL:
            after = events[-1]["seq"] if events else 0
            url = self.base.replace("http://", "ws://") + f"/ws/jobs/{job_id}?after={after}"
            try:
                with connect(url, additional_headers={"Cookie": self.cookie_header()}, open_timeout=30) as ws:
                    while not events or events[-1]["type"] not in TERMINAL:
                        if time.monotonic() > deadline:
                            raise TimeoutError(f"job {job_id} did not end in time: {events[-1:]}")
                        events.append(json.loads(ws.recv(timeout=max(1.0, deadline - time.monotonic()))))
                        progress.saw(events[-1])
            except (ConnectionClosed, InvalidStatus, OSError, TimeoutError):
                reconnects += 1
                if reconnects > 30 or time.monotonic() > deadline:
                    raise
                time.sleep(1)
        return events, reconnects


def main(base: str, token: str, kill_web: str, kill_ray: str) -> int:
    teacher = Client(base, token)
    code = teacher.call("POST", "/api/classes", {"title": "compose check"})["code"]
    results: list[dict[str, Any]] = []
    errors: list[str] = []
    progress = Progress()

    def student(index: int) -> None:
        client = Client(base)
        try:
            client.call("POST", f"/api/classes/{code}/join", {"nickname": f"Student{index}"})
            for _ in range(JOBS_EACH):
                job_id = client.call("POST", "/api/jobs", TINY)["id"]
                events, reconnects = client.stream(job_id, progress, deadline)
                results.append({"id": job_id, "events": events, "reconnects": reconnects, "client": client})
        except Exception as error:  # reported below: the check fails
            errors.append(f"student {index}: {error!r}")

    started = time.monotonic()
    deadline = started + DEADLINE_S
    threads = [threading.Thread(target=student, args=(i,)) for i in range(STUDENTS)]
    for thread in threads:
        thread.start()
    faults: list[tuple[str, float, str]] = []  # (what crashed, when: unix time, what the command printed)

    def crash(name: str, command: str, after: str) -> None:
        """Once a student saw ``after`` (a step, or a job started) since the last fault: run ``command``
        2 s later (mid-job); it is the check script's own."""
        since = faults[-1][1] if faults else 0.0
        waited = progress.wait(after, since, max(0.0, deadline - time.monotonic()))
        assert waited, f"no job {after} after the last fault: the queue stalled"
        time.sleep(2)
        done = subprocess.run(command, shell=True, check=True, capture_output=True, text=True)  # noqa: S602
        faults.append((name, time.time(), done.stdout.strip()))

    try:
        crash("web", kill_web, "step")
        crash("ray-worker", kill_ray, "started")
    except BaseException as error:  # reported below with the students' errors
        errors.append(f"faults: {error!r}")
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + 60)
    assert not any(thread.is_alive() for thread in threads), "a student's stream never ended"
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
    # every finished job's adapter, written by an actor on a Ray node to the shared volume, is served
    # (as a zip) by whichever web process the proxy picks
    for result in results:
        if result["events"][-1]["type"] == "done":
            adapter = result["client"].call("GET", f"/api/jobs/{result['id']}/adapter", raw=True)
            assert adapter[:2] == b"PK", f"{result['id']}: no adapter zip ({adapter[:80]!r})"
    # per fault: the jobs that failed after it (before the next one), and how long until the next job started
    t0 = time.time() - (time.monotonic() - started)  # the drive's start as unix time
    report_faults = []
    for index, (name, at, printed) in enumerate(faults):
        until = faults[index + 1][1] if index + 1 < len(faults) else float("inf")
        failed_here = [
            {
                "id": r["id"],
                "error": r["events"][-1]["error"],
                "after_s": round(r["events"][-1]["time"] - at, 1),
            }
            for r in results
            if r["events"][-1]["type"] == "failed" and at <= r["events"][-1]["time"] < until
        ]
        starts = sorted(
            e["time"] - at for r in results for e in r["events"] if e["type"] == "started" and e["time"] > at
        )
        report_faults.append(
            {
                "crashed": printed or name,
                "at_s": round(at - t0, 1),
                "failed": failed_here,
                "next_job_started_after_s": round(starts[0], 1) if starts else None,
                "jobs_started_after": len(starts),
            }
        )
    last = faults[-1][1]
    after_last = [
        r["events"][-1]["type"]
        for r in results
        if any(e["type"] == "started" and e["time"] > last for e in r["events"])
    ]
    report = {
        "jobs": len(results),
        "outcome": outcome,
        "faults": report_faults,
        "events_lost": 0,  # every stream equalled the stored events (asserted above)
        "adapters_served": outcome.get("done", 0),  # every done job's adapter zip (asserted above)
        "stream_reconnects": sum(r["reconnects"] for r in results),
        "jobs_started_after_the_last_fault": len(after_last),
        "done_of_those": after_last.count("done"),
        "wall_s": round(time.monotonic() - started, 1),
    }
    print(json.dumps(report, indent=1))
    # each actor runs one job at a time: the crashed scheduler's two and the worker node's one may fail
    assert outcome.get("done", 0) >= len(results) - 3, outcome
    assert after_last.count("done") > 0, "no job started after the last fault finished: the queue stalled"
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
