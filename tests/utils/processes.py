"""Real server processes for the tests that need more than one: ``ftlab``'s app under uvicorn in a
subprocess, on loopback, with the test's data dir and database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def start_server(settings: Settings, port: int, **env: str) -> subprocess.Popen[bytes]:
    """Start the app on 127.0.0.1:``port`` and wait until it answers /api/health."""
    environment = {
        **os.environ,
        "FTLAB_DATA_DIR": str(settings.data_dir),
        "FTLAB_MODEL_DIR": str(settings.model_dir),
        "FTLAB_DATABASE_URL": settings.resolved_database_url,
        "FTLAB_DEVICE": "cpu",
        "FTLAB_INSTRUCTOR_TOKEN": settings.instructor_token,
        **env,
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "server died")
    process.kill()
    raise RuntimeError("the server did not start")


def stop_server(process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
