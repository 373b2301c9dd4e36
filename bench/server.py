"""The real app under a real uvicorn, on a free loopback port, in a background thread of this process."""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.config import Settings, get_settings


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT
    ws_url: str  # ws://127.0.0.1:PORT
    app: Any
    settings: Settings

    @property
    def state(self) -> Any:
        return self.app.state


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(**settings: Any) -> Iterator[Server]:
    """A fresh app (fresh data dir: empty database, empty in-memory model cache; the model files
    come from the usual model cache on disk) served by uvicorn until the block ends."""
    import uvicorn

    from app.main import create_app

    with tempfile.TemporaryDirectory(prefix="ftlab-bench-") as tmp:
        config = Settings(
            data_dir=Path(tmp),
            model_dir=get_settings().model_dir,
            instructor_token="bench-instructor-token",
            **settings,
        )
        app = create_app(config)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws_ping_interval=None)
        )
        thread = threading.Thread(target=server.run, name="bench-uvicorn", daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        try:
            yield Server(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", app, config)
        finally:
            server.should_exit = True
            thread.join(60)
