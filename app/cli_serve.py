"""``ftlab serve [--host 127.0.0.1] [--port 8000]``: the web app under uvicorn."""

from __future__ import annotations

import argparse
from typing import Any

KEEP_ALIVE_S = 65


def add_command(subparsers: Any) -> None:
    serve = subparsers.add_parser("serve", help="serve the lesson and the training API")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0: every one)")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.config import get_settings
    from app.main import create_app

    settings = get_settings()
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print(f"ftlab: serving http://{shown_host}:{args.port}  (data in {settings.data_dir})", flush=True)
    if settings.instructor_token_generated:
        token = settings.instructor_token
        print(f"ftlab: instructor token (set FTLAB_INSTRUCTOR_TOKEN to keep one): {token}", flush=True)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        ws_ping_interval=settings.ws_ping_interval_s,
        ws_ping_timeout=settings.ws_ping_interval_s,
        # uvicorn's 5 s default is shorter than a loaded class server's pauses: a client reusing a
        # connection just as the server drops it as idle loses its request (seen with 200 students).
        timeout_keep_alive=KEEP_ALIVE_S,
        log_level="info" if args.verbose else "warning",
    )
    return 0
