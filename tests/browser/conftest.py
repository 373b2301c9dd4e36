"""Real Chromium against the real server: the system browser (never a downloaded one), WebGL through
SwiftShader, every request and console message recorded so tests can check origin and errors."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.config import Settings
from tests.utils.server import live_server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-gl=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Chromium's own chatter about the software GL path is not an error of the page.
IGNORED_CONSOLE = re.compile(r"GL Driver Message|GPU stall|WebGL-|willReadFrequently")
LESSON = "fine-tuning-llms"


def chromium_path() -> str | None:
    candidate = os.environ.get("FTLAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if candidate and Path(candidate).exists() else None


# Module scope: Playwright's sync API keeps an event loop running in this thread while it is open,
# so asyncio.run / anyio tests collected after tests/browser (classroom, jobs) would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium (set FTLAB_CHROMIUM or install /usr/bin/chromium); CI must run these")
        pytest.skip("no Chromium on this machine")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Our own server on a free port; FTLAB_TEST_BASE_URL points the tests at a running one instead."""
    external = os.environ.get("FTLAB_TEST_BASE_URL")
    if external:
        yield external.rstrip("/")
        return
    from app.main import create_app

    data = tmp_path_factory.mktemp("ftlab-browser-data")
    settings = Settings(data_dir=data, instructor_token="browser-test-token-01", device="cpu", cpu_workers=1)
    with live_server(create_app(settings)) as url:
        yield url


@dataclass
class PageLog:
    base_url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)  # messages a test provokes on purpose

    def foreign(self) -> list[str]:
        origin = urlsplit(self.base_url).netloc
        return [
            u
            for u in self.requests
            if urlsplit(u).scheme in ("http", "https", "ws", "wss") and urlsplit(u).netloc != origin
        ]


@pytest.fixture
def page(browser, base_url: str, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh page; after the test: a screenshot, then no foreign request and no console error."""
    # bypass_csp: Playwright polls wait_for_function predicates with eval, which the app's CSP forbids;
    # test_csp.py checks the pages under the real policy.
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=base_url, bypass_csp=True)
    page = context.new_page()
    log = PageLog(base_url)
    page.on("request", lambda r: log.requests.append(r.url))
    page.on("websocket", lambda ws: log.requests.append(ws.url))
    page.on("pageerror", lambda e: log.errors.append(f"page error: {e}"))

    def on_console(message) -> None:
        if message.type == "error" and not IGNORED_CONSOLE.search(message.text):
            log.errors.append(f"console: {message.text} at {message.location.get('url', '')}")

    page.on("console", on_console)
    page.log = log  # type: ignore[attr-defined]
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=False)
    finally:
        context.close()
    assert not log.foreign(), f"requests left the page's origin: {log.foreign()}"
    unexpected = [e for e in log.errors if not any(x in e for x in log.expected)]
    assert not unexpected, "\n".join(unexpected)


PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser, base_url: str) -> Iterator[object]:
    """A fresh page on a 390×844 touch phone; no page error may happen on it."""
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, base_url=base_url, bypass_csp=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, errors


def open_lesson(page, query: str = "") -> None:
    page.goto(f"/lessons/{LESSON}{query}")
    page.wait_for_selector("section.lesson-section")


def mount_all(page) -> None:
    """Mount every widget now (the page mounts them lazily on scroll) and wait until each is up."""
    page.evaluate("window.ftlabMountAll()")
    # The experiment figures are placed after their recordings load, later than the widgets' slots.
    page.wait_for_function("Boolean(document.documentElement.dataset.experiments)", timeout=60_000)
    assert page.evaluate("document.documentElement.dataset.experiments") == "placed"
    page.wait_for_function(
        "[...document.querySelectorAll('figure.widget')].every(f => f.dataset.mounted === 'yes')",
        timeout=60_000,
    )
