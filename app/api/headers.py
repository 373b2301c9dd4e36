"""Security headers on every response, and the Host check that defeats DNS rebinding.

The pages load only our own scripts (ES modules under /static, plotly.js from /static/vendor) and no
inline script, so the policy allows scripts from 'self' alone. Styles allow 'unsafe-inline': plotly
writes style attributes and <style> elements as it draws. The OpenAPI pages (/docs, /redoc) are
FastAPI's, which load Swagger UI / ReDoc from jsdelivr with an inline bootstrap script: they get a
policy of their own that allows just that.

DNS rebinding: a page on attacker.example re-resolves its own name to the classroom server's LAN
address and then reads the API as same-origin; the browser still sends ``Host: attacker.example``.
So requests must name a host we serve: the configured ``allowed_hosts``, loopback names, an IP
literal, or a name only the local network resolves (a single label such as ``teacher-pc``, or an
mDNS ``*.local`` name). A rebinding attack always carries a public name the attacker's DNS answers
for; students typing the server's address or LAN name keep working without configuration.
"""

from __future__ import annotations

import ipaddress

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {DOCS_CDN}; "
    f"style-src 'self' 'unsafe-inline' {DOCS_CDN}; img-src 'self' data: https://fastapi.tiangolo.com; "
    f"worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        policy = DOCS_POLICY if path.startswith(DOCS_PATHS) else PAGE_POLICY
        extra = [*COMMON_HEADERS, (b"content-security-policy", policy.encode())]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, with_headers)


def host_allowed(host_header: str, allowed: list[str]) -> bool:
    """Whether a Host header names us: a configured name (``*.example.org`` for subdomains), a
    loopback name, or an IP literal."""
    host = host_header.strip().lower()
    if host.startswith("["):  # [v6]:port
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    if host in LOOPBACK_NAMES or host.endswith((".localhost", ".local")) or "." not in host:
        return True
    for pattern in allowed:
        pattern = pattern.strip().lower()
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


class TrustedHosts:
    """400 for HTTP requests and websocket handshakes whose Host header does not name this server."""

    def __init__(self, app: ASGIApp, allowed: list[str]) -> None:
        self.app, self.allowed = app, allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")
        if host_allowed(host, self.allowed):
            await self.app(scope, receive, send)
            return
        message = "unknown Host header; the server's address or a name in FTLAB_ALLOWED_HOSTS is needed"
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "unknown host"})
            return
        await PlainTextResponse(message, status_code=400)(scope, receive, send)
