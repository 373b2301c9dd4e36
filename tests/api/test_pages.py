"""Page routes on a tiny inline app (templates + the pages router only): the lesson renders every
section and widget slot; recorded runs are served by name only and each one is a valid event stream."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api import pages
from app.events import parse_event
from tests.utils.streams import check_stream

SLUG = "fine-tuning-llms"
RECORDED = pages.LESSONS_DIR / SLUG / "recorded"


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.state.templates = pages.make_templates()
    app.include_router(pages.router)
    return TestClient(app)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.widgets: list[str] = []
        self.main: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and a.get("id"):
            self.ids.append(a["id"] or "")
        if tag == "figure" and a.get("data-widget"):
            self.widgets.append(a["data-widget"] or "")
        if tag == "main":
            self.main = a


def test_lesson_page_has_every_section_and_widget(client: TestClient) -> None:
    from app.lesson import content as lessons

    lesson = pages._as_dict(lessons.get_lesson(SLUG))
    response = client.get(f"/lessons/{SLUG}")
    assert response.status_code == 200
    page = _Collect()
    page.feed(response.text)
    expected = [s["id"] for s in pages._sections(lesson)]
    assert page.ids == [*expected, "quiz"]
    wanted = {w for s in pages._sections(lesson) for w in s["widgets"]}
    assert set(page.widgets) == wanted
    assert set(pages.REQUIRED_WIDGETS) <= wanted
    assert json.loads(page.main["data-recorded"] or "") == pages.recorded_runs(SLUG)
    # Asset URLs carry the version, so a new release is not hidden behind the browser cache.
    assert re.search(r'/static/js/lesson\.js\?v=[0-9a-f]{10}"', response.text)


def test_lesson_list_and_unknown_lesson(client: TestClient) -> None:
    listing = client.get("/")
    assert listing.status_code == 200
    assert f'href="/lessons/{SLUG}"' in listing.text
    assert client.get("/lessons/no-such-lesson").status_code == 404


def test_recorded_runs_served_by_name_only(client: TestClient) -> None:
    for name in pages.recorded_runs(SLUG):
        response = client.get(f"/lessons/{SLUG}/recorded/{name}.jsonl")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
    for bad in ("nothing-here", "..%2F..%2Fpyproject", "LORA", ".hidden"):
        assert client.get(f"/lessons/{SLUG}/recorded/{bad}.jsonl").status_code == 404


@pytest.mark.parametrize("path", sorted(RECORDED.glob("*.jsonl")), ids=lambda p: p.stem)
def test_recorded_stream_is_valid(path: Path) -> None:
    """Each shipped run: every line a valid event, seq 1..n, ends in `done`, has what the page shows."""
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    check_stream(events)
    parsed = [parse_event(e) for e in events]
    assert parsed[-1].type == "done"
    types = {e.type for e in parsed}
    assert {"started", "step", "eval"} <= types
    if path.stem in {"full", "lora", "qlora"}:
        assert any(e.type == "spectrum" and e.layers for e in parsed), "no ΔW spectrum"
    if path.stem == "prompt":
        assert any(e.type == "spectrum" and e.soft_prompt for e in parsed), "no soft-prompt geometry"


def test_recorded_runs_exist() -> None:
    """The lesson ships recorded runs of the default methods (the page shows them before any training)."""
    assert {"lora", "full", "prompt"} <= set(pages.recorded_runs(SLUG))


def test_the_hero_defines_its_terms_before_drawing_them(client: TestClient) -> None:
    """The first figure shows σ₁ and the effective rank: the page defines ΔW, σ and effective rank
    before the figure's body, and the go-deeper folds arrive as closed <details>."""
    text = client.get(f"/lessons/{SLUG}").text
    key, body = text.index('id="hero-key"'), text.index('class="hero-body"')
    assert key < body
    definition = text[key:body]
    for term in ("ΔW", "σ₁", "effective rank", "90%"):
        assert term in definition, term
    folds = re.findall(r'<details class="deeper" id="([a-z0-9-]+)"[^>]*>', text)
    assert len(folds) >= 8 and '<details class="deeper" open' not in text


def test_recorded_runs_download_as_notebooks(client: TestClient) -> None:
    import nbformat

    response = client.get(f"/lessons/{SLUG}/recorded/lora.ipynb")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ipynb+json")
    assert 'filename="ftlab-recorded-lora.ipynb"' in response.headers["content-disposition"]
    notebook = nbformat.reads(response.text, as_version=4)
    nbformat.validate(notebook)
    assert any("get_peft_model" in cell.source for cell in notebook.cells)
    assert client.get(f"/lessons/{SLUG}/recorded/full.ipynb").status_code == 200
    assert client.get(f"/lessons/{SLUG}/recorded/prompt.ipynb").status_code == 404  # not covered: said so
    assert client.get(f"/lessons/{SLUG}/recorded/nope.ipynb").status_code == 404
