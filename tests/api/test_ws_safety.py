"""The websocket's guards: Origin check, slow clients dropped without slowing anyone, keep-alive pings."""

from __future__ import annotations

import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from app.config import Settings
from app.events import Done, EventStamper, Sample
from app.live.broadcast import Message
from app.main import create_app
from bench.common import claimed_job
from tests.utils.server import live_server
from tests.utils.streams import check_stream, ws_url


def _origin_app(settings: Settings) -> FastAPI:
    return create_app(settings.model_copy(update={"allowed_origins": ["https://lab.school.example"]}))


def test_websocket_origin_is_checked(settings: Settings) -> None:
    with live_server(_origin_app(settings)) as base:
        url = ws_url(base, "nope")
        with pytest.raises(InvalidStatus) as refused:
            connect(url, origin="https://evil.example", open_timeout=10)
        assert refused.value.response.status_code == 403
        with pytest.raises(InvalidStatus):
            connect(url, origin="null", open_timeout=10)
        for allowed in (base, "https://lab.school.example"):  # own origin, and the configured one
            with (
                connect(url, origin=allowed, open_timeout=10) as ws,
                pytest.raises(ConnectionClosed) as closed,
            ):
                ws.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
        assert httpx.get(f"{base}/api/health").status_code == 200


def test_a_slow_client_is_dropped_with_a_clear_code_and_others_get_everything(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"subscriber_queue_size": 32}))
    count, size = 300, 100_000
    with live_server(app) as base:
        fast: list[dict[str, Any]] = []
        slow: list[dict[str, Any]] = []
        slow_close: list[Any] = []
        ready = threading.Barrier(3)
        stalled = threading.Event()

        def read_fast() -> None:
            _read_all(base, job_id, fast, ready)

        def read_slow() -> None:
            with _small_window_client(base, job_id) as ws:
                ready.wait()
                stalled.wait(120)  # reads nothing while half the job goes by, then catches up
                try:
                    while True:
                        slow.append(json.loads(ws.recv(timeout=120)))
                except ConnectionClosed as closed:
                    slow_close.append(closed.rcvd)

        job_id = _running_job_row(app)  # it must exist before clients connect (unknown jobs are refused)
        readers = [threading.Thread(target=read_fast), threading.Thread(target=read_slow)]
        for reader in readers:
            reader.start()
        ready.wait()
        # The job is paced to the healthy client only (as a loaded CI box must not drop it too);
        # it never waits for the stalled one.
        _publish_events(app, job_id, count, size, halfway=stalled, keep_up=lambda seq: len(fast) >= seq - 8)
        for reader in readers:
            reader.join(180)

    check_stream(fast)
    assert len(fast) == count
    assert len(slow) < count
    assert [e["seq"] for e in slow] == list(range(1, len(slow) + 1))  # what it got has no gaps
    (close,) = slow_close
    assert close is not None and close.code == 1013
    assert close.reason.startswith("client too slow; reconnect with ?after=")


def test_a_client_that_never_reads_is_dropped_while_the_job_runs(settings: Settings) -> None:
    """Its socket buffers fill, so the server's send to it blocks: it is still dropped once it falls a
    queue behind, without waiting for the job to end, and the healthy client gets everything."""
    app = create_app(settings.model_copy(update={"subscriber_queue_size": 16}))
    count, size = 200, 100_000
    with live_server(app) as base:
        fast: list[dict[str, Any]] = []
        ready = threading.Barrier(3)
        release = threading.Event()

        def read_fast() -> None:
            _read_all(base, job_id, fast, ready)

        def never_read() -> None:
            with _small_window_client(base, job_id):
                ready.wait()
                release.wait(120)

        job_id = _running_job_row(app)
        readers = [threading.Thread(target=read_fast), threading.Thread(target=never_read)]
        for reader in readers:
            reader.start()
        ready.wait()
        broadcaster = app.state.broadcaster
        dropped_at: list[int] = []

        def keep_up(seq: int) -> bool:
            if not dropped_at and broadcaster.subscriber_count(job_id) == 1:
                dropped_at.append(seq)
            return len(fast) >= seq - 8

        _publish_events(app, job_id, count, size, halfway=threading.Event(), keep_up=keep_up)
        release.set()
        for reader in readers:
            reader.join(180)

    check_stream(fast)
    assert len(fast) == count
    # 20 MB were published; the stalled client was let go long before the end.
    assert dropped_at and dropped_at[0] < count - 1, "the stalled client was held until the job ended"


def _read_all(base: str, job_id: str, sink: list[dict[str, Any]], ready: threading.Barrier) -> None:
    with connect(ws_url(base, job_id), open_timeout=30, max_size=None) as ws:
        ready.wait()
        try:
            while True:
                sink.append(json.loads(ws.recv(timeout=120)))
        except ConnectionClosed:
            pass


def _small_window_client(base: str, job_id: str) -> Any:
    """A websocket over a socket with a 4 KiB receive buffer (a phone on a bad link)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(base.rsplit(":", 1)[1])))
    return connect(ws_url(base, job_id), sock=sock, open_timeout=30, max_size=None, max_queue=1)


def _running_job_row(app: FastAPI) -> str:
    """A job this server runs (claimed by its runner: a running job nobody owns is failed as lost),
    claimed as it is made, before the scheduler could hand the queued row to a worker."""
    config = {"model": "tiny-llama", "method": "lora", "task": "tone"}
    return claimed_job(app.state.store, app.state.runner.holder, config)


def _publish_events(
    app: FastAPI, job_id: str, count: int, size: int, halfway: threading.Event, keep_up: Callable[[int], bool]
) -> None:
    """What the runner does for each event (stamp, store, publish), with big events."""
    stamper = EventStamper(job_id)
    for index in range(count):
        last = index == count - 1
        noise = secrets.token_urlsafe(size * 3 // 4)  # incompressible: permessage-deflate cannot shrink it
        event = stamper.stamp(Done() if last else Sample(step=index, prompt="p", before="b", after=noise))
        data = event.model_dump_json()
        app.state.store.append_event(event, data)
        app.state.broadcaster.publish(job_id, Message(event.seq, data, last))
        deadline = time.monotonic() + 60
        while not keep_up(event.seq) and time.monotonic() < deadline:
            time.sleep(0.001)
        if index == count // 2:
            halfway.set()


def test_keepalive_pings_reach_idle_clients(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(settings)
    with live_server(app, ws_ping_interval=0.2) as base:
        idle = _running_job_row(app)  # running, but silent
        with caplog.at_level(logging.DEBUG, logger="websockets.client"):
            with connect(ws_url(base, idle), open_timeout=30) as ws:
                with pytest.raises(TimeoutError):
                    ws.recv(timeout=1.5)  # no events, but the connection is kept alive
        pings = [r for r in caplog.records if r.getMessage().startswith("< PING")]
        assert len(pings) >= 2
