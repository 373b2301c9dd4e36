"""``ftlab serve [--host 127.0.0.1] [--port 8000]``: the web app under uvicorn."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

KEEP_ALIVE_S = 65
GRACEFUL_S = 3  # seconds open connections get on SIGTERM (uvicorn's default waits for ever)


def add_command(subparsers: Any) -> None:
    serve = subparsers.add_parser("serve", help="serve the lesson and the training API")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0: every one)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=1, help="web processes (PostgreSQL only: they share its state)"
    )
    serve.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.config import get_settings
    from app.main import create_app

    settings = get_settings()
    if args.workers < 1:
        print("ftlab: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1 and not settings.resolved_database_url.startswith("postgresql"):
        print(
            f"ftlab: --workers {args.workers} needs PostgreSQL "
            "(set FTLAB_DATABASE_URL=postgresql+psycopg://...): "
            "several web processes share the queue, classes and live events through the database, "
            "and SQLite is one file on one machine. Use --workers 1, or PostgreSQL.",
            file=sys.stderr,
        )
        return 2
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print(f"ftlab: serving http://{shown_host}:{args.port}  (data in {settings.data_dir})", flush=True)
    if settings.instructor_token_generated:
        token = settings.instructor_token
        print(f"ftlab: instructor token (set FTLAB_INSTRUCTOR_TOKEN to keep one): {token}", flush=True)
    target: Any = create_app(settings)
    if args.workers > 1:
        target = _prepare_processes(settings)
    uvicorn.run(
        target,
        factory=args.workers > 1,
        workers=args.workers,
        host=args.host,
        port=args.port,
        ws_ping_interval=settings.ws_ping_interval_s,
        ws_ping_timeout=settings.ws_ping_interval_s,
        # uvicorn's 5 s default is shorter than a loaded class server's pauses: a client reusing a
        # connection just as the server drops it as idle loses its request (seen with 200 students).
        timeout_keep_alive=KEEP_ALIVE_S,
        # open websockets would hold a SIGTERM up for as long as they stay open: a container's
        # stop grants 10 s before SIGKILL, so connections get a few and the lifespan the rest
        timeout_graceful_shutdown=GRACEFUL_S,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default, which is what a same-host proxy
        # (or anyone on the host) presents: the app believes only FTLAB_TRUSTED_PROXIES (app.main)
        proxy_headers=False,
        log_level="info" if args.verbose else "warning",
    )
    return 0


def _prepare_processes(settings: Any) -> str:
    """Before uvicorn starts N processes: one instructor token and cookie key for all of them (each
    would otherwise generate its own), and the tables made once. Returns the app factory's path."""
    from app.classroom.auth import persistent_secret
    from app.db import create_tables, make_engine

    os.environ["FTLAB_INSTRUCTOR_TOKEN"] = settings.instructor_token
    os.environ.setdefault("FTLAB_SECRET_KEY", persistent_secret(settings))
    settings.ensure_dirs()
    engine = make_engine(settings.resolved_database_url)
    create_tables(engine)
    engine.dispose()
    return "app.main:create_app"
