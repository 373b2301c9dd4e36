"""Bad input becomes a 4xx that names the field, never a 500.

Python's ``json`` accepts more than JSON: ``NaN``/``Infinity`` and escaped lone surrogates
(``"\\ud800"``). Neither can be stored (SQLite and PostgreSQL want valid UTF-8) nor echoed back by a
strict JSON encoder, so :class:`StrictJsonBodies` refuses them before any route sees the body, with
a 422 in FastAPI's shape naming where they are. :func:`validation_error_handler` replaces FastAPI's
422 handler with one that cannot fail on the input it echoes.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import anyio.to_thread
from fastapi import HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from python_multipart.exceptions import MultipartParseError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.request_guards import is_json
from app.redact import hide_paths
from app.training.task_files import is_valid_unicode

MAX_DEPTH = 32  # our bodies nest three levels; deeper is an attack on the parser
INLINE_CHECK_BYTES = 8_192  # bodies up to this are checked on the event loop (well under 1 ms)
MAX_ECHO_CHARS = 200  # a 422 quotes at most this much of the input it refuses


class _Refused(ValueError):
    def __init__(self, loc: list[str | int], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class _NonFinite:
    """Stands in for NaN/Infinity while parsing, so the check below can say which field held it."""

    def __init__(self, name: str) -> None:
        self.name = name


def has_lone_surrogate(text: str) -> bool:
    return not is_valid_unicode(text)


def _check(value: Any, loc: list[str | int], depth: int = 0) -> None:
    """Lone surrogates anywhere (keys too) and nesting beyond MAX_DEPTH; raises _Refused."""
    if depth > MAX_DEPTH:
        raise _Refused(loc, f"the body nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, _NonFinite):
        raise _Refused(loc, f"{value.name} is not a JSON number; send a finite number")
    if isinstance(value, str):
        if has_lone_surrogate(value):
            raise _Refused(loc, "text contains a lone UTF-16 surrogate (not valid Unicode)")
    elif isinstance(value, dict):
        for key, item in value.items():
            if has_lone_surrogate(key):
                raise _Refused(loc, "a field name contains a lone UTF-16 surrogate (not valid Unicode)")
            _check(item, [*loc, key], depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, [*loc, index], depth + 1)


def check_json_body(body: bytes) -> tuple[list[str | int], str] | None:
    """(location, problem) of the first thing in a JSON body we refuse, or None. Malformed JSON is
    left to FastAPI (its 422 points at the character)."""
    try:
        parsed = json.loads(body, parse_constant=_NonFinite)
    except RecursionError:
        return ["body"], f"the body nests deeper than {MAX_DEPTH} levels"
    except ValueError as exc:  # JSONDecodeError, or an integer of more than 4300 digits
        if isinstance(exc, json.JSONDecodeError):
            return None
        return ["body"], "a number has more than 4300 digits"
    try:
        _check(parsed, [])
    except _Refused as exc:
        return ["body", *exc.loc], str(exc)
    return None


class StrictJsonBodies:
    """Reads a JSON request body once (after the body-size limit), refuses NaN, Infinity, lone
    surrogates and deep nesting with a 422 naming the field, and replays the body to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD") or not is_json(scope):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = bytearray()
        try:
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                if not message.get("more_body", False):
                    break
        except HTTPException as exc:  # the body-size limit, raised while we read
            await JSONResponse({"detail": exc.detail}, exc.status_code, exc.headers)(scope, receive, send)
            return
        problem = await _checked(bytes(body)) if body else None
        if problem is not None:
            loc, msg = problem
            error = {"type": "value_error", "loc": loc, "msg": msg, "input": None}
            await JSONResponse({"detail": [error]}, status_code=422)(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _checked(body: bytes) -> tuple[list[str | int], str] | None:
    """check_json_body, in a worker thread for a body big enough to hold the event loop up."""
    if len(body) <= INLINE_CHECK_BYTES:
        return check_json_body(body)
    return await anyio.to_thread.run_sync(check_json_body, body)


def _printable(value: Any) -> Any:
    """What a JSON encoder with allow_nan=False and strict UTF-8 can always write."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str) and has_lone_surrogate(value):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(exc.errors())
    for error in errors:
        error["msg"] = hide_paths(str(error.get("msg", "")))
        if "input" in error:
            error["input"] = _short(_printable(error["input"]))
    return JSONResponse({"detail": errors}, status_code=422)


def _short(value: Any) -> Any:
    """The input as it was when small; else the start of its JSON text, marked as cut. A 422 is
    for naming what was wrong, never for sending a large body back to its sender."""
    text = json.dumps(value, ensure_ascii=False)
    if len(text) <= MAX_ECHO_CHARS:
        return value
    return f"{text[:MAX_ECHO_CHARS]}… ({len(text)} characters, cut)"


MULTIPART_HEADER_BYTES = 4096  # python-multipart's limit on one part header line (plus syntax)


async def http_error_handler(request: Request, exc: Exception) -> Any:
    """FastAPI's handler, except that a multipart part whose header line is too long (a file name
    of thousands of characters) says so instead of starlette's bare "Invalid multipart data."."""
    assert isinstance(exc, StarletteHTTPException)
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, MultipartParseError) and "header size" in str(cause):
            detail = (
                f"file: a multipart part header is longer than {MULTIPART_HEADER_BYTES} bytes; "
                "is the file name too long? File names may have at most 200 characters"
            )
            return JSONResponse({"detail": detail}, status_code=400)
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc.detail, str):  # one place that keeps server paths out of every error text
        exc.detail = hide_paths(exc.detail)
    if exc.status_code == 405 and (allow := allowed_methods(request)):
        exc.headers = {**(exc.headers or {}), "Allow": allow}
    return await http_exception_handler(request, exc)


def allowed_methods(request: Request) -> str | None:
    """Every method the OpenAPI spec lists for the request's path (None: not an API path). Starlette's
    405 names only the methods of the first route whose path matched, though GET and POST
    /api/classes, say, are two routes."""
    path = request.url.path
    for template, operations in request.app.openapi()["paths"].items():
        pattern = "[^/]+".join(re.escape(part) for part in re.split(r"\{[^}]+\}", template))
        if re.fullmatch(pattern, path):
            return ", ".join(sorted(method.upper() for method in operations))
    return None
