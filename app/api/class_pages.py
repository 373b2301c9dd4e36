"""Classroom pages: /join (students), /login (the instructor), /classes (the instructor's classes)
and /classes/{code} (the live dashboard; ``?view=present`` is the projector layout)."""

from __future__ import annotations

import re
import socket
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.deps import ClassroomDep, CredentialsDep, TemplatesDep
from app.api.pages import asset_version
from app.classroom.codes import CODE_PATTERN, normalise_code

router = APIRouter(include_in_schema=False)
LOCAL_PATH = re.compile(r"^/(?![/\\])[A-Za-z0-9/_.?=&%-]{0,300}$")


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={target}", status_code=303)


@router.get("/join", response_class=HTMLResponse)
def join_page(
    request: Request, templates: TemplatesDep, code: Annotated[str, Query(max_length=40)] = ""
) -> Response:
    prefill = normalise_code(code) if re.match(CODE_PATTERN, code or "-") else ""
    context = {"code": prefill, "asset_version": asset_version()}
    return templates.TemplateResponse(request, "join.html", context)


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, templates: TemplatesDep, next: Annotated[str, Query(max_length=400)] = ""
) -> Response:
    target = next if LOCAL_PATH.match(next) else "/classes"  # never an open redirect
    context = {"next": target, "asset_version": asset_version()}
    return templates.TemplateResponse(request, "login.html", context)


@router.get("/classes", response_class=HTMLResponse)
def classes_page(
    request: Request, templates: TemplatesDep, room: ClassroomDep, who: CredentialsDep
) -> Response:
    if not room.auth.is_instructor(who):
        return _to_login(request)
    context = {"classes": room.service.list_classes(), "asset_version": asset_version()}
    return templates.TemplateResponse(request, "classes.html", context)


@router.get("/classes/{code}", response_class=HTMLResponse)
def dashboard_page(
    request: Request,
    templates: TemplatesDep,
    room: ClassroomDep,
    who: CredentialsDep,
    code: Annotated[str, Path(pattern=CODE_PATTERN)],
    view: Annotated[str, Query(pattern=r"^(dashboard|present)$")] = "dashboard",
) -> Response:
    if not room.auth.is_instructor(who):
        return _to_login(request)
    info = room.service.get_class(code)  # UnknownClass: 404
    context = {
        "cls": info,
        "view": view,
        "asset_version": asset_version(),
        "lan_join_urls": _lan_join_urls(request),
    }
    return templates.TemplateResponse(request, "class_dashboard.html", context)


def _lan_join_urls(request: Request) -> list[str]:
    """An instructor looking at http://127.0.0.1 would project an address students cannot open:
    offer this machine's network addresses instead."""
    host = (request.url.hostname or "").lower()
    if host not in ("127.0.0.1", "localhost", "::1"):
        return []
    found: set[str] = set()
    try:
        found |= {str(i[4][0]) for i in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    except OSError:
        pass
    try:  # the address of the default route's interface; a UDP "connect" sends no packet
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))
            found.add(probe.getsockname()[0])
    except OSError:
        pass
    addresses = sorted(a for a in found if not a.startswith(("127.", "0.")))
    port = f":{request.url.port}" if request.url.port else ""
    return [f"http://{a}{port}/join" for a in addresses[:3]]
