"""Static files with caching headers, and plotly.js: a partial bundle (only the trace types the pages
draw) built from the pinned npm plotly.js by ``scripts/plotly-bundle`` and kept in the repository."""

from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache
from os import PathLike
from pathlib import Path

from fastapi import APIRouter, Request, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

PLOTLY_JS = Path(__file__).resolve().parents[2] / "static" / "vendor" / "plotly-ftlab.min.js"
STATIC_MAX_AGE_S = 3600  # files are revalidated with ETag / Last-Modified after an hour
VENDOR_MAX_AGE_S = 7 * 24 * 3600  # the bundle changes only when it is rebuilt

vendor_router = APIRouter(include_in_schema=False)


class CachedStaticFiles(StaticFiles):
    def file_response(
        self, full_path: PathLike[str], stat_result: object, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)  # type: ignore[arg-type]
        response.headers.setdefault("Cache-Control", f"public, max-age={STATIC_MAX_AGE_S}")
        return response


@lru_cache(maxsize=1)
def _plotly_bundle() -> tuple[bytes, bytes, str]:
    """(raw, gzipped, etag), made once: compressing 1.7 MB on every request would cost each student."""
    raw = PLOTLY_JS.read_bytes()
    return raw, gzip.compress(raw, compresslevel=6), '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'


@vendor_router.get("/static/vendor/plotly.min.js")
def plotly_js(request: Request) -> Response:
    raw, packed, etag = _plotly_bundle()
    headers = {"Cache-Control": f"public, max-age={VENDOR_MAX_AGE_S}", "ETag": etag}
    headers["Vary"] = "Accept-Encoding"
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"  # GZipMiddleware leaves encoded responses alone
        return Response(packed, media_type="text/javascript", headers=headers)
    return Response(raw, media_type="text/javascript", headers=headers)
