"""Path and body parameters several routers share: the id pattern and the job id."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

ID_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"  # job, member and combined-adapter ids (uuid hex, or tests' own)
JobId = Annotated[str, Path(pattern=ID_PATTERN, description="a job id")]
