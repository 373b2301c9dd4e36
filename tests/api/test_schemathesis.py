"""schemathesis over the whole OpenAPI spec (all checks, 30 examples per operation), without and with
the instructor token, against a real server process: no server error, no undocumented status, no
schema-valid request refused, no schema-violating one accepted (tests/schemathesis.sh)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "schemathesis.sh"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_schemathesis_finds_nothing() -> None:
    bin_dir = Path(sys.executable).parent
    if shutil.which("schemathesis", path=str(bin_dir)) is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("FTLAB_DATABASE_URL", None)  # its own SQLite data dir
    run = subprocess.run(
        ["bash", str(SCRIPT), str(_free_port())], env=env, capture_output=True, text=True, timeout=900
    )
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert report.count(" passed") >= 2 and "failure" not in report.split("SUMMARY")[-1], report
