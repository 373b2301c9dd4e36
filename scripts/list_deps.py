"""Prints the requirements pyproject.toml names, one a line: the package's own (no argument) or those of
the extras given (``list_deps.py ray``). The Dockerfile installs them in layers before the code."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
extras = sys.argv[1:]
wanted = (
    [d for e in extras for d in project["optional-dependencies"][e]] if extras else project["dependencies"]
)
print("\n".join(wanted))
