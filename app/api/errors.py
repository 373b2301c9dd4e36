"""422 responses of our own checks, shaped like FastAPI's: ``{"detail": [{"loc", "msg", ...}]}``."""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError


def field_error(
    field: str, message: str, value: Any = None, line: int | None = None
) -> RequestValidationError:
    """A 422 naming the body field (and, for uploaded files, the line)."""
    error: dict[str, Any] = {"type": "value_error", "loc": ("body", field), "msg": message, "input": value}
    if line is not None:
        error["ctx"] = {"line": line}
    return RequestValidationError([error])
