"""The app factory: lifespan (settings, database, store, broadcaster, model cache, runner), routers,
static files and templates. Importing this module loads no model; the lifespan makes the heavy objects."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.api import (
    auth,
    class_members,
    class_pages,
    class_ws,
    classes,
    experiments,
    health,
    jobs,
    lessons,
    pages,
    stream,
    tasks,
)
from app.api.adapters import router as adapters_router
from app.api.bad_input import StrictJsonBodies, http_error_handler, validation_error_handler
from app.api.errors import add_error_handlers
from app.api.headers import SecurityHeaders, TrustedHosts
from app.api.openapi_errors import declare_error_responses
from app.api.request_guards import BodySizeLimit, ThrottledAnswers
from app.api.socket_caps import SocketCaps
from app.api.static import CachedStaticFiles, vendor_router
from app.classroom.auth import persistent_secret
from app.classroom.hub import ClassHub
from app.classroom.room import Classroom
from app.config import Settings, get_settings
from app.db import create_tables, make_engine, make_sessionmaker
from app.experiments.paces import Paces
from app.experiments.service import ExperimentService
from app.experiments.watcher import ResultWatcher
from app.jobs.files.adapter_service import AdapterService
from app.jobs.files.combined_store import CombinedStore
from app.jobs.migrate import upgrade_last_seq
from app.jobs.runner import Runner
from app.jobs.store import JobStore
from app.jobs.submit import JobSubmitter
from app.limits.classes import ClassGuard
from app.limits.counters import RateLimiter
from app.limits.generation import GenerationGate
from app.limits.guard import TokenGuard
from app.live.broadcast import Broadcaster
from app.live.pg_relay import PgRelay, class_notifier, new_origin
from app.training.models import ModelCache

logger = logging.getLogger(__name__)
RELAY_START_S = 30.0
STOP_WORKERS_S = 4.0  # a worker that has not stopped by then is killed: shutdown well inside 10 s
ROOT = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    settings.ensure_dirs()
    engine = make_engine(settings.resolved_database_url)
    if "jobs.last_seq" in create_tables(engine):  # a database from before seqs were given out here
        upgrade_last_seq(engine)
    sessions = make_sessionmaker(engine)
    store = JobStore(sessions)
    cache = ModelCache(settings.model_dir, settings.device)  # names device + model dir; loads nothing here
    broadcaster = Broadcaster(settings.subscriber_queue_size)
    # One job per GPU at a time; on the CPU as many as configured.
    workers = settings.cpu_workers if cache.device == "cpu" else 1
    if settings.runner != "local":
        workers = settings.ray_actors
    runner = Runner(
        store,
        broadcaster,
        cache,
        settings.data_dir,
        workers=workers,
        time_limit_s=settings.job_time_limit_s,
        backend=settings.runner,
        ray_num_cpus=settings.ray_num_cpus,
        ray_num_gpus=settings.ray_num_gpus,
    )
    app.state.engine, app.state.sessionmaker, app.state.store = engine, sessions, store
    app.state.limiter = limiter = RateLimiter(sessions, now=app.state.clock)
    app.state.generation_gate = gate = GenerationGate(settings.generate_concurrency, settings.generate_queue)
    app.state.class_guard = ClassGuard(sessions, limiter, now=app.state.clock)
    # The live feed, chosen once: PostgreSQL NOTIFY (every process hears every event and class change),
    # else the executor's reports (this process's workers) and this process's class hub.
    origin = new_origin()
    hub = ClassHub(relay=class_notifier(engine, origin) if store.notifies else None)
    app.state.classroom = Classroom(sessions, settings, persistent_secret(settings), TokenGuard(limiter), hub)
    app.state.broadcaster, app.state.model_cache, app.state.runner = broadcaster, cache, runner
    # swap/combine/merge run on the training workers (one per base model), never in this process
    app.state.adapters = AdapterService(
        store, CombinedStore(sessions), settings.data_dir, runner.run_on_adapter_lab
    )
    submitter = JobSubmitter(
        runner,
        store,
        settings.data_dir,
        settings.allowed_hub_models,
        app.state.classroom,
        app.state.class_guard,
    )
    app.state.experiments = ExperimentService(
        sessions,
        store,
        app.state.classroom,
        submitter,
        workers=lambda: workers,
        paces=Paces(sessions, store, submitter, executor="local" if settings.runner == "local" else "ray"),
    )
    relay = (
        await _start_relay(app, PgRelay(store.url, broadcaster, store, hub.notify_here, origin))
        if store.notifies
        else None
    )
    await anyio.to_thread.run_sync(runner.start)
    # every process measures finished cells and tells its own class sockets (see app.experiments.watcher)
    app.state.result_watcher = watcher = ResultWatcher(app.state.experiments, hub.notify_here)
    watching = asyncio.create_task(watcher.run(), name="ftlab-experiment-results")
    try:
        yield
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
        gate.close()
        await anyio.to_thread.run_sync(runner.stop, STOP_WORKERS_S)
        if relay is not None:
            relay.cancel()
            await asyncio.gather(relay, return_exceptions=True)
        engine.dispose()


async def _start_relay(app: FastAPI, relay: PgRelay) -> asyncio.Task:
    """PostgreSQL: hear every process's events and class changes (LISTEN)."""
    task = asyncio.create_task(relay.run(), name="ftlab-pg-listen")
    app.state.pg_relay = relay
    await asyncio.wait_for(relay.ready.wait(), RELAY_START_S)
    return task


def create_app(settings: Settings | None = None, clock: Callable[[], float] = time.time) -> FastAPI:
    """``clock``: the time every rate limit reads (tests pass a fake one)."""
    app = FastAPI(title="ftlab", summary="The Fine-Tuning Lab", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings or get_settings()
    app.state.clock = clock
    app.state.socket_caps = SocketCaps()
    app.state.templates = pages.make_templates()
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(ThrottledAnswers)
    app.add_middleware(StrictJsonBodies)  # inside the size limit: reads only bodies under it
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    settings = app.state.settings
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_body_bytes, max_json_bytes=settings.max_json_body_bytes
    )
    add_error_handlers(app)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(TrustedHosts, allowed=app.state.settings.allowed_hosts)
    if settings.trusted_proxies:  # outermost: every limit reads the client it sets
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    routers = (health.router, jobs.router, tasks.router, stream.router, vendor_router, pages.router)
    routers += (lessons.router, adapters_router)
    classroom = (classes.router, class_members.router, auth.router, class_ws.router, class_pages.router)
    classroom += (experiments.router,)
    for router in (*routers, *classroom):
        app.include_router(router)
    declare_error_responses(app)
    app.mount("/static", CachedStaticFiles(directory=ROOT / "static", check_dir=False), name="static")
    return app
