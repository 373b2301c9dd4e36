"""In-page links land with their target fully below the sticky bars (the top bar, and the class
banner for a student in a class): the side nav, the hero's "Train your own" and the banner's link to
the pinned run (issue 21, point 6)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.main import create_app
from tests.browser.conftest import LESSON, open_lesson
from tests.utils.server import live_server

pytestmark = pytest.mark.browser

TOKEN = "sticky-links-instructor-token"
# The bottom edge of the sticky bars and the top of an element, in viewport pixels.
BARS = """() => Math.max(...['.topbar', '#class-banner'].map(s => document.querySelector(s))
  .filter(b => b && !b.hidden).map(b => b.getBoundingClientRect().bottom))"""
TOP = "s => document.querySelector(s).getBoundingClientRect().top"


def lands_below_bars(page, link, target: str) -> None:
    link.click()
    page.wait_for_timeout(250)
    bars, top = page.evaluate(BARS), page.evaluate(TOP, target)
    assert top >= bars - 1, f"{target} starts at {top:.0f} px, under the sticky bars ending at {bars:.0f} px"
    assert top < page.viewport_size["height"] / 2, f"{target} landed at {top:.0f} px, not near the top"


def check_side_nav(page) -> None:
    for link in page.locator("nav.sidenav a[data-nav]").all():
        target = f"#{link.get_attribute('data-nav')}"
        lands_below_bars(page, link, f"{target} h2")


def test_side_nav_and_train_your_own_land_below_the_top_bar(page) -> None:
    open_lesson(page)
    check_side_nav(page)
    page.evaluate("scrollTo(0, 0)")
    lands_below_bars(page, page.get_by_role("link", name="Train your own"), "#widget-live-panel figcaption")


@pytest.fixture(scope="module")
def class_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Its own server: an open class closes anonymous training, which other browser tests use."""
    data: Path = tmp_path_factory.mktemp("ftlab-sticky")
    settings = Settings(data_dir=data, instructor_token=TOKEN, device="cpu", cpu_workers=1)
    with live_server(create_app(settings)) as url:
        yield url


def test_in_a_class_links_land_below_the_banner(browser, class_server: str) -> None:  # noqa: ANN001
    teacher = browser.new_context(base_url=class_server)
    pupil = browser.new_context(
        viewport={"width": 1366, "height": 768}, base_url=class_server, bypass_csp=True
    )
    try:
        assert teacher.request.post("/api/auth/login", data={"token": TOKEN}).ok
        code = teacher.request.post("/api/classes", data={"title": "Sticky", "lesson": LESSON}).json()["code"]
        run = {"model": "tiny-llama", "method": "lora", "task": "tone", "steps": 3}
        assert teacher.request.post(f"/api/classes/{code}/runs", data=run).ok
        page = pupil.new_page()
        assert page.request.post(f"/api/classes/{code}/join", data={"nickname": "Sam"}).ok
        open_lesson(page)
        banner = page.locator("#class-banner")
        banner.locator(".pinned-link").wait_for()
        assert banner.locator(".pinned-link").get_attribute("href").endswith("#widget-live-panel")
        check_side_nav(page)
        # The pinned run's chart unfolded: the banner stays under half of a 1366×768 screen.
        banner.locator("summary").click()
        page.wait_for_function("document.querySelector('#class-banner .pinned-chart .plot')")
        assert banner.bounding_box()["height"] <= 0.5 * 768
        page.evaluate("scrollTo(0, 0)")
        lands_below_bars(page, banner.locator(".pinned-link"), "#widget-live-panel figcaption")
    finally:
        pupil.close()
        teacher.close()
