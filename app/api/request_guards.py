"""Middleware that refuses a request: body size limits for every HTTP route, and the 429 answer to
every ``Throttled`` limit.

A JSON body is parsed on the event loop (FastAPI's ``request.json()``) and validated there, so its
size is bounded hard (``max_json_body_bytes``: every JSON body the API takes is a few kilobytes);
other bodies (the multipart task upload, which checks its own smaller limit) get ``max_body_bytes``.
Both are enforced before a byte is parsed: a declared Content-Length over the limit is answered
without reading the body, and a streamed one is cut off as the count passes the limit."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.limits.errors import Throttled


def is_json(scope: Scope) -> bool:
    """Whether the request says its body is JSON (what FastAPI would parse as JSON)."""
    content_type = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
    return content_type == b"application/json" or content_type.endswith(b"+json")


def _too_large(limit: int) -> str:
    return f"request body is larger than the limit of {limit} bytes"


class BodySizeLimit:
    """Refuses a declared Content-Length over the limit at once, and stops reading a body (chunked or
    lying about its length) the moment it passes the limit: 413, and the server keeps serving."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_json_bytes: int) -> None:
        self.app = app
        self.max_bytes, self.max_json_bytes = max_bytes, max_json_bytes

    def limit_for(self, scope: Scope) -> int:
        return self.max_json_bytes if is_json(scope) else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await JSONResponse({"detail": _too_large(limit)}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # FastAPI re-raises HTTPExceptions from body reading
                    raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, limited_receive, send)


class ThrottledAnswers:
    """``Throttled`` from any route, dependency or websocket becomes a 429 with Retry-After. For a
    websocket that is not yet accepted, the 429 is the handshake's HTTP answer (ASGI's denial
    response) where the server supports it, else a close with 1008 (policy violation)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        sent: set[str] = set()

        async def watched_send(message: Message) -> None:
            sent.add(message["type"])
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Throttled as exc:
            if "websocket.close" in sent or "http.response.start" in sent:
                raise
            if "websocket.accept" in sent:
                await send({"type": "websocket.close", "code": 1008, "reason": "throttled"})
                return
            response = JSONResponse({"detail": str(exc)}, 429, {"Retry-After": str(exc.retry_after)})
            if scope["type"] == "http":
                await response(scope, receive, send)
            elif "websocket.http.response" in scope.get("extensions", {}):
                await response(scope, receive, send)  # starlette sends it as a denial response
            else:
                await send({"type": "websocket.close", "code": 1008, "reason": "too many wrong tokens"})
