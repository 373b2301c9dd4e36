"""Dependencies the routers share (``Annotated`` aliases). Heavy objects live on ``app.state``,
made by the lifespan in ``app.main``; routes reach them only through these."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from app.classroom.gate import owner_of
from app.config import Settings
from app.jobs.broadcast import Broadcaster
from app.jobs.runner import Runner
from app.jobs.store import JobStore
from app.training.models import ModelCache


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


def get_store(request: Request) -> JobStore:
    return request.app.state.store


def get_runner(request: Request) -> Runner:
    return request.app.state.runner


def get_broadcaster(request: Request) -> Broadcaster:
    return request.app.state.broadcaster


def get_model_cache(request: Request) -> ModelCache:
    return request.app.state.model_cache


def get_templates(request: Request) -> Jinja2Templates:
    return request.app.state.templates


def current_owner(conn: HTTPConnection) -> str | None:
    """Who submits jobs (the runner queues fairly between owners): ``student:<id>`` from a class seat's
    signed cookie, ``instructor`` from the token, or None (anonymous: one shared, FIFO line)."""
    return owner_of(conn)


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Session, Depends(get_db)]
StoreDep = Annotated[JobStore, Depends(get_store)]
RunnerDep = Annotated[Runner, Depends(get_runner)]
BroadcasterDep = Annotated[Broadcaster, Depends(get_broadcaster)]
ModelCacheDep = Annotated[ModelCache, Depends(get_model_cache)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
OwnerDep = Annotated[str | None, Depends(current_owner)]
