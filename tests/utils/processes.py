"""Real server processes for the tests that need more than one: ``ftlab``'s app under uvicorn in a
subprocess, on loopback, with the test's data dir and database (``bench.processes`` starts them)."""

from __future__ import annotations

import subprocess

from app.config import Settings
from bench.processes import start_web_process
from bench.processes import stop_web_process as stop_server

__all__ = ["start_server", "stop_server"]


def start_server(
    settings: Settings, port: int, command: list[str] | None = None, **env: str
) -> subprocess.Popen[bytes]:
    """Start the app on 127.0.0.1:``port`` (under uvicorn, or ``command`` given ``--port``) and wait
    until it answers /api/health."""
    environment = {
        "FTLAB_DATA_DIR": str(settings.data_dir),
        "FTLAB_MODEL_DIR": str(settings.model_dir),
        "FTLAB_DATABASE_URL": settings.resolved_database_url,
        "FTLAB_DEVICE": "cpu",
        "FTLAB_INSTRUCTOR_TOKEN": settings.instructor_token,
        **env,
    }
    return start_web_process(port, environment, command=command)
