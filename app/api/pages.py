"""HTML pages: the lesson list and a lesson with its widgets, plus the lesson's recorded runs.

Pages are rendered on the server from ``app.lesson.content`` so the text reads without JavaScript;
the widgets are ES modules under ``static/js`` that mount into the slots each section lists.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from app.api.deps import get_templates
from app.api.health import page_facts
from app.lesson.notebook_export import MEDIA_TYPE, NotebookUnsupported, notebook_bytes, notebook_for_run
from app.lesson.recorded_runs import seed_summary

ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = ROOT / "static"
LESSONS_DIR = ROOT / "lessons"
RECORDED_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")

router = APIRouter(include_in_schema=False)


def make_templates() -> Jinja2Templates:
    """The page templates, with ``page_facts()`` (the method facts every page carries in base.html)."""
    templates = Jinja2Templates(directory=ROOT / "templates")
    templates.env.globals["page_facts"] = page_facts
    return templates


# Captions of the widget slots; the lesson data says where each one goes.
WIDGET_TITLES = {
    "lora-explorer": "LoRA explorer",
    "memory-calculator": "Memory calculator",
    "spectrum-live": "The spectrum of ΔW",
    "soft-prompt-3d": "Soft prompts in embedding space",
    "trainable-share": "What each method trains",
    "live-panel": "Train a model now",
    "compare": "Compare methods",
    "adapter-lab": "Adapter lab: swap, stack, merge",
}
# Sections the page always has, even if a lesson forgets to place them.
REQUIRED_WIDGETS = {"live-panel": "Train a model now", "compare": "Compare the methods, measured"}


@lru_cache(maxsize=1)
def asset_version() -> str:
    """A short hash of the static files, appended to asset URLs so a new release is fetched at once."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(STATIC_DIR)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:10]


def recorded_runs(slug: str) -> list[str]:
    folder = LESSONS_DIR / slug / "recorded"
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.jsonl") if RECORDED_NAME.match(p.stem))


def _seed_summary(slug: str) -> dict[str, Any]:
    """Each recorded run's seeds and final measures (the compare table shows their spread)."""
    folder = LESSONS_DIR / slug / "recorded"
    return seed_summary(folder) if folder.is_dir() else {}


def _templates(request: Request) -> Jinja2Templates:
    return get_templates(request)


def _as_dict(obj: Any) -> dict[str, Any]:
    return obj.model_dump() if hasattr(obj, "model_dump") else dict(obj)


def _sections(lesson: dict[str, Any]) -> list[dict[str, Any]]:
    sections = [dict(s) for s in lesson.get("sections", [])]
    placed = {w for s in sections for w in s.get("widgets", [])}
    for widget, title in REQUIRED_WIDGETS.items():
        if widget not in placed:
            sections.append({"id": widget, "title": title, "html": "", "widgets": [widget]})
    return sections


@router.get("/", response_class=HTMLResponse)
def lesson_list(request: Request) -> HTMLResponse:
    templates = _templates(request)
    from app.lesson import content as lesson_content  # the content module, imported when first needed

    lessons = [_as_dict(lesson) for lesson in lesson_content.all_lessons()]
    return templates.TemplateResponse(
        request, "index.html", {"lessons": lessons, "asset_version": asset_version()}
    )


@router.get("/lessons/{slug}", response_class=HTMLResponse)
def lesson_page(slug: str, request: Request) -> HTMLResponse:
    templates = _templates(request)
    from app.lesson import content as lesson_content

    try:
        lesson = _as_dict(lesson_content.get_lesson(slug))
    except KeyError:
        raise HTTPException(404, f"no lesson called {slug!r}") from None
    context = {
        "lesson": lesson,
        "sections": _sections(lesson),
        "widget_titles": WIDGET_TITLES,
        "recorded": recorded_runs(slug),
        "recorded_seeds": _seed_summary(slug),
        "asset_version": asset_version(),
    }
    return templates.TemplateResponse(request, "lesson.html", context)


@router.get("/lessons/{slug}/recorded/{name}.jsonl")
def recorded_stream(slug: str, name: str) -> FileResponse:
    """A real run's event stream (``ftlab train --jsonl``), replayed by the page, labelled "recorded"."""
    if not RECORDED_NAME.match(slug) or not RECORDED_NAME.match(name) or name not in recorded_runs(slug):
        raise HTTPException(404, "no such recorded run")
    path = LESSONS_DIR / slug / "recorded" / f"{name}.jsonl"
    return FileResponse(
        path, media_type="application/x-ndjson", headers={"Cache-Control": "public, max-age=3600"}
    )


@router.get("/lessons/{slug}/recorded/{name}.ipynb")
def recorded_notebook(slug: str, name: str) -> Response:
    """A recorded run as a Jupyter notebook that reproduces it (app.notebook_export); 404 for a recorded
    run whose method the export does not cover."""
    if not RECORDED_NAME.match(slug) or not RECORDED_NAME.match(name) or name not in recorded_runs(slug):
        raise HTTPException(404, "no such recorded run")
    path = LESSONS_DIR / slug / "recorded" / f"{name}.jsonl"
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    try:
        notebook = notebook_for_run(events, f"ftlab recorded run: {name} ({slug})")
    except NotebookUnsupported as exc:
        raise HTTPException(404, f"no notebook for recorded run {name!r}: {exc}") from None
    headers = {"Content-Disposition": f'attachment; filename="ftlab-recorded-{name}.ipynb"'}
    return Response(notebook_bytes(notebook), media_type=MEDIA_TYPE, headers=headers)
