"""Dependencies the routers share (``Annotated`` aliases). Heavy objects live on ``app.state``,
made by the lifespan in ``app.main``; routes reach them only through these. Each takes the
``HTTPConnection``, so HTTP routes and websockets use the same ones. The runner, store, cache and
submitter types are named, not imported, so a router that needs only pages or templates imports no
training code through this module.

The getters of ``app.state`` objects are ``async def``: FastAPI calls a plain-function dependency in
its thread pool, and a route that needs nothing else (``/api/health``) must be answered on the event
loop even when every pool thread is busy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends
from fastapi.templating import Jinja2Templates
from starlette.requests import HTTPConnection

from app.classroom.auth import INSTRUCTOR_COOKIE, STUDENT_COOKIE
from app.config import Settings
from app.identity import Credentials

if TYPE_CHECKING:
    from app.api.socket_caps import SocketCaps
    from app.classroom.room import Classroom
    from app.jobs.files.adapter_service import AdapterService
    from app.jobs.runner import Runner
    from app.jobs.store import JobStore
    from app.jobs.submit import JobSubmitter
    from app.limits.classes import ClassGuard
    from app.limits.counters import RateLimiter
    from app.limits.generation import GenerationGate
    from app.live.broadcast import Broadcaster
    from app.training.models import ModelCache


async def get_settings(conn: HTTPConnection) -> Settings:
    return conn.app.state.settings


async def get_store(conn: HTTPConnection) -> JobStore:
    return conn.app.state.store


async def get_runner(conn: HTTPConnection) -> Runner:
    return conn.app.state.runner


async def get_model_cache(conn: HTTPConnection) -> ModelCache:
    return conn.app.state.model_cache


async def get_broadcaster(conn: HTTPConnection) -> Broadcaster:
    return conn.app.state.broadcaster


async def get_limiter(conn: HTTPConnection) -> RateLimiter:
    return conn.app.state.limiter


async def get_generation_gate(conn: HTTPConnection) -> GenerationGate:
    return conn.app.state.generation_gate


async def get_class_guard(conn: HTTPConnection) -> ClassGuard:
    return conn.app.state.class_guard


async def get_adapter_service(conn: HTTPConnection) -> AdapterService:
    return conn.app.state.adapters


async def get_socket_caps(conn: HTTPConnection) -> SocketCaps:
    return conn.app.state.socket_caps


def get_templates(conn: HTTPConnection) -> Jinja2Templates:
    return conn.app.state.templates


async def get_classroom(conn: HTTPConnection) -> Classroom:
    return conn.app.state.classroom


async def any_classroom(conn: HTTPConnection) -> Classroom | None:
    """The classroom, or None in an app made without one."""
    return getattr(conn.app.state, "classroom", None)


def credentials(conn: HTTPConnection) -> Credentials:
    """What the request carries about who sends it: the domain gets these plain values."""
    return Credentials(
        authorization=conn.headers.get("authorization"),
        instructor_cookie=conn.cookies.get(INSTRUCTOR_COOKIE),
        student_cookie=conn.cookies.get(STUDENT_COOKIE),
        address=conn.client.host if conn.client else None,
    )


CredentialsDep = Annotated[Credentials, Depends(credentials)]
ClassroomDep = Annotated["Classroom", Depends(get_classroom)]
AnyClassroomDep = Annotated["Classroom | None", Depends(any_classroom)]


def current_owner(who: CredentialsDep, room: AnyClassroomDep) -> str | None:
    """Who submits jobs (the runner queues fairly between owners): ``student:<id>`` from a class seat's
    signed cookie, ``instructor`` from the token, or None (anonymous: one shared, FIFO line)."""
    return room.auth.owner_of(who) if room is not None else None


def require_instructor(who: CredentialsDep, room: ClassroomDep) -> None:
    room.auth.require_instructor(who)  # NotInstructor: 401 or 403 (app.api.errors)


def get_submitter(conn: HTTPConnection) -> JobSubmitter:
    from app.jobs.submit import JobSubmitter

    state = conn.app.state
    return JobSubmitter(
        state.runner,
        state.store,
        state.settings.data_dir,
        state.settings.allowed_hub_models,
        getattr(state, "classroom", None),
        getattr(state, "class_guard", None),
    )


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated["JobStore", Depends(get_store)]
RunnerDep = Annotated["Runner", Depends(get_runner)]
ModelCacheDep = Annotated["ModelCache", Depends(get_model_cache)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
BroadcasterDep = Annotated["Broadcaster", Depends(get_broadcaster)]
LimiterDep = Annotated["RateLimiter", Depends(get_limiter)]
GenerationGateDep = Annotated["GenerationGate", Depends(get_generation_gate)]
SocketCapsDep = Annotated["SocketCaps", Depends(get_socket_caps)]
ClassGuardDep = Annotated["ClassGuard", Depends(get_class_guard)]
AdapterServiceDep = Annotated["AdapterService", Depends(get_adapter_service)]
OwnerDep = Annotated[str | None, Depends(current_owner)]
SubmitterDep = Annotated["JobSubmitter", Depends(get_submitter)]
Instructor = Depends(require_instructor)
