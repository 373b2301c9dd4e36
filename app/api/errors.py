"""HTTP errors live here: 422s of our own checks shaped like FastAPI's (``{"detail": [{"loc", "msg",
...}]}``), and the app-level handlers that give each domain error its status code, so the domain
(``app.jobs``, ``app.classroom``, ``app.training``) raises plain exceptions and no router maps them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from app.classroom.auth import NotInstructor
from app.classroom.class_rules import LimitExceeded
from app.classroom.service import ClassClosed, ClassFull, NicknameTaken, UnknownClass
from app.jobs.files.adapter_service import AdapterServiceError
from app.jobs.files.uploads import UploadProblem
from app.jobs.runner import NotInMemory, QueueFull
from app.training.methods import ConfigError
from app.training.tasks import TaskFileError


def field_error(
    field: str, message: str, value: Any = None, line: int | None = None
) -> RequestValidationError:
    """A 422 naming the body field (and, for uploaded files, the line)."""
    error: dict[str, Any] = {"type": "value_error", "loc": ("body", field), "msg": message, "input": value}
    if line is not None:
        error["ctx"] = {"line": line}
    return RequestValidationError([error])


def http_error(exc: Exception) -> HTTPException | RequestValidationError:
    """The HTTP answer to a domain error (one of ``DOMAIN_ERRORS``)."""
    if isinstance(exc, ConfigError):
        return field_error(exc.field or "method", str(exc))
    if isinstance(exc, LimitExceeded):
        if exc.field is not None:
            return field_error(exc.field, str(exc))
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return HTTPException(exc.status, str(exc), headers=headers)
    if isinstance(exc, QueueFull):
        return HTTPException(503, str(exc), headers={"Retry-After": "30"})
    if isinstance(exc, NotInstructor):
        if exc.credentials_missing:
            return HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"})
        return HTTPException(403, str(exc))
    if isinstance(exc, UnknownClass):
        return HTTPException(404, f"no class with code {exc.args[0]!r}")
    if isinstance(exc, NicknameTaken):
        return HTTPException(409, f"the nickname {exc.args[0]!r} is taken in this class")
    if isinstance(exc, ClassClosed | ClassFull):
        return HTTPException(403, str(exc))
    if isinstance(exc, NotInMemory):
        return HTTPException(409, str(exc))
    if isinstance(exc, UploadProblem):
        if exc.status != 422:
            return HTTPException(exc.status, f"{exc.field}: {exc}")
        return field_error(exc.field, str(exc), line=exc.line)
    if isinstance(exc, TaskFileError):
        return field_error("file", str(exc), line=exc.line)
    if isinstance(exc, AdapterServiceError):  # swap / combine / merge: 404, 409, or 422 naming the field
        if exc.status == 422:
            return field_error(exc.field or "jobs", str(exc))
        return HTTPException(exc.status, str(exc))
    raise TypeError(f"not a domain error: {exc!r}")


DOMAIN_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    LimitExceeded,
    QueueFull,
    NotInstructor,
    UnknownClass,
    NicknameTaken,
    ClassClosed,
    ClassFull,
    NotInMemory,
    UploadProblem,
    TaskFileError,
    AdapterServiceError,
)


async def _domain_error(request: Request, exc: Exception) -> Response:
    """Answered as the app answers the HTTP error it maps to (its own handlers, if it has any)."""
    error = http_error(exc)
    default = request_validation_exception_handler if isinstance(error, RequestValidationError) else None
    for kind in type(error).__mro__:
        handler = request.app.exception_handlers.get(kind)
        if handler is not None:
            return await handler(request, error)
    return await (default or http_exception_handler)(request, error)  # type: ignore[arg-type]


def add_error_handlers(app: FastAPI) -> None:
    for error in DOMAIN_ERRORS:
        app.add_exception_handler(error, _domain_error)
