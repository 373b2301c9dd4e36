"""The real app under a real uvicorn, on a free loopback port, in a background thread of this process."""

from __future__ import annotations

import contextlib
import tempfile
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


@contextlib.contextmanager
def running_server(data_dir: Path | None = None, **settings: Any) -> Iterator[Server]:
    """A fresh app (fresh data dir: empty database, empty in-memory model cache; the model files
    come from the usual model cache on disk) served by uvicorn until the block ends. ``data_dir``
    keeps the database there instead (earlier runs' step times then plan the next experiment)."""
    from app.main import create_app
    from tests.utils.server import live_server  # the tests' uvicorn-in-a-thread, lifespan included

    with contextlib.ExitStack() as stack:
        tmp = data_dir or stack.enter_context(tempfile.TemporaryDirectory(prefix="ftlab-bench-"))
        config = Settings(
            data_dir=Path(tmp),
            model_dir=get_settings().model_dir,
            instructor_token="bench-instructor-token",
            **settings,
        )
        app = create_app(config)
        with live_server(app, ws_ping_interval=None) as url:
            yield Server(url, "ws" + url.removeprefix("http"), app, config)
