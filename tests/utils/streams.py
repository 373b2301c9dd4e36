"""Reading a job's websocket stream in tests."""

from __future__ import annotations

import json
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from app.events import parse_event


def ws_url(base: str, job_id: str, after: int = 0) -> str:
    return base.replace("http://", "ws://") + f"/ws/jobs/{job_id}?after={after}"


def read_stream(
    base: str,
    job_id: str,
    after: int = 0,
    limit: int | None = None,
    until_type: str | None = None,
    timeout: float = 120,
) -> tuple[list[dict[str, Any]], int | None]:
    """Events until the server closes (or ``limit`` events, or the first of type ``until_type``),
    and the close code (None if we stopped first)."""
    events: list[dict[str, Any]] = []
    with connect(ws_url(base, job_id, after), open_timeout=30) as socket:
        try:
            while limit is None or len(events) < limit:
                events.append(json.loads(socket.recv(timeout=timeout)))
                if events[-1]["type"] == until_type:
                    break
        except ConnectionClosed as closed:
            return events, closed.rcvd.code if closed.rcvd else None
    return events, None


def check_stream(events: list[dict[str, Any]]) -> None:
    """Raise AssertionError unless events validate, seq runs 1, 2, ... and exactly the last is terminal."""
    assert events, "no events"
    for index, raw in enumerate(events, start=1):
        event = parse_event(raw)
        assert event.seq == index, f"event {index} has seq {event.seq}"
        is_last = index == len(events)
        assert event.terminal == is_last, f"terminal event at {index} of {len(events)}"
