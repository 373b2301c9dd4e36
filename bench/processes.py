"""Real ftlab web processes (uvicorn subprocesses on loopback) for benchmarks and tests that need
more than one: each with its own environment (database, runner, data dir)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def start_web_process(
    port: int, env: Mapping[str, str], timeout: float = 120, command: list[str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``app.main:create_app`` (or ``command``, given ``--port``) on 127.0.0.1:``port`` and
    wait until /api/health answers. Its log (and its training workers') goes to a file, never to a
    pipe nobody drains (a full pipe would block the server's logging, and with it the server)."""
    if command is None:  # as ftlab serve: forwarded headers count only via FTLAB_TRUSTED_PROXIES
        command = [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app", "--no-proxy-headers"]
    command = [*command, "--port", str(port)]
    log = tempfile.NamedTemporaryFile(prefix=f"ftlab-web-{port}-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log
    )
    process.log_path = log.name  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
        if process.poll() is not None:
            raise RuntimeError(Path(log.name).read_text()[-4000:] or "server died")
    process.kill()
    raise RuntimeError("the server did not start")


def stop_web_process(process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
