"""Run one job through the real HTTP API and watch it on the real websocket, timing what arrives."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from bench.server import Server


@dataclass
class WatchedJob:
    job_id: str
    posted_at: float  # time.time() just before POST /api/jobs
    events: list[dict[str, Any]] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)  # time.time() as each frame arrived

    def first(self, event_type: str) -> tuple[float, dict[str, Any]]:
        for at, event in zip(self.received_at, self.events, strict=True):
            if event["type"] == event_type:
                return at, event
        raise LookupError(f"no {event_type} event (last: {self.events[-1] if self.events else None})")

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["type"] == event_type]

    @property
    def terminal(self) -> dict[str, Any]:
        return self.events[-1]


def run_job(server: Server, config: dict[str, Any], timeout_s: float = 900) -> WatchedJob:
    """POST the job, connect one websocket subscriber, read until the terminal event."""
    import httpx
    from websockets.sync.client import connect

    posted_at = time.time()
    response = httpx.post(f"{server.url}/api/jobs", json=config, timeout=60)
    response.raise_for_status()
    job = WatchedJob(response.json()["id"], posted_at)
    with connect(f"{server.ws_url}/ws/jobs/{job.job_id}", max_size=None, open_timeout=60) as ws:
        deadline = time.monotonic() + timeout_s
        while True:
            frame = ws.recv(timeout=max(1.0, deadline - time.monotonic()))
            job.received_at.append(time.time())
            event = json.loads(frame)
            job.events.append(event)
            if event["type"] in ("done", "failed", "cancelled"):
                break
    if job.terminal["type"] != "done":
        raise RuntimeError(f"job {job.job_id} ended {job.terminal}")
    return job


def step_seconds(job: WatchedJob) -> list[float]:
    """Time of each training step after the first (differences of the step events' elapsed_s): what
    a step costs including publishing its event; steps that follow an eval/spectrum include those."""
    elapsed = [event["elapsed_s"] for event in job.of_type("step")]
    return [b - a for a, b in zip(elapsed, elapsed[1:], strict=False)]
