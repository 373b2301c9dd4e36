"""A real uvicorn server on a free port, in a thread: websocket tests see real sockets and real
concurrency (TestClient would run the app in the test's own thread and hide both)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def live_server(app: FastAPI, ws_ping_interval: float | None = 20.0) -> Iterator[str]:
    """Serve ``app`` (lifespan included) and yield its base URL, ``http://127.0.0.1:<port>``."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws_ping_interval=ws_ping_interval,
        proxy_headers=False,  # as ``ftlab serve``: forwarded headers only via FTLAB_TRUSTED_PROXIES
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(60)
