"""``ftlab serve --workers N``: refused on SQLite with a message that says why and what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_several_web_processes_are_refused_on_sqlite(tmp_path: Path) -> None:
    env = {"FTLAB_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "app.cli", "serve", "--port", "18299", "--workers", "2"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "--workers 2 needs PostgreSQL" in done.stderr and "FTLAB_DATABASE_URL" in done.stderr
    assert not (tmp_path / "ftlab.db").exists()  # refused before anything was made
