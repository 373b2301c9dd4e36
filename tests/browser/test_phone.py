"""The lesson on a phone (390×844, touch): a vertical swipe over a 3D plot scrolls the page, plots
are shorter than on a laptop, and the contents list is near the top (issue 21, point 5)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import LESSON, PHONE

pytestmark = pytest.mark.browser


def swipe_up(page, x: float, y: float, distance: int = 300, steps: int = 12) -> None:
    """A finger's upward swipe (the page should scroll down), through Chromium's touch input path."""
    cdp = page.context.new_cdp_session(page)

    def touch(kind: str, dy: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y - dy, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", 0)
    for i in range(1, steps + 1):
        touch("touchMove", distance * i / steps)
        page.wait_for_timeout(16)
    touch("touchEnd", distance)
    page.wait_for_timeout(400)


def show_surface(page) -> None:
    """Scroll to the LoRA explorer's rank-r surface and wait until it has drawn in WebGL."""
    plots = "document.querySelectorAll('#widget-lora-explorer .plot')"
    page.evaluate("document.querySelector('#widget-lora-explorer').scrollIntoView({block: 'start'})")
    page.wait_for_function(f"{plots}.length === 2", timeout=60_000)
    page.evaluate(f"{plots}[1].scrollIntoView({{block: 'center'}})")
    page.wait_for_function(f"{plots}[1].querySelector('canvas')", timeout=60_000)
    page.wait_for_timeout(300)


def test_vertical_swipe_over_a_3d_plot_scrolls_the_page(phone) -> None:
    phone.goto(f"/lessons/{LESSON}")
    phone.wait_for_selector("section.lesson-section")
    show_surface(phone)
    plot = phone.locator("#widget-lora-explorer .plot").nth(1)  # the rank-r surface
    box = plot.bounding_box()
    assert box and box["height"] > 100
    surface = "document.querySelectorAll('#widget-lora-explorer .plot')[1]"
    camera = f"JSON.stringify({surface}._fullLayout.scene.camera)"
    before_camera = phone.evaluate(camera)
    before = phone.evaluate("window.scrollY")
    swipe_up(phone, box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.7)
    scrolled = phone.evaluate("window.scrollY") - before
    assert scrolled > 150, f"the page scrolled {scrolled} px under a 300 px swipe over the plot"
    assert phone.evaluate(camera) == before_camera, "the swipe turned the plot"


def test_tap_lets_a_finger_turn_the_plot(phone) -> None:
    phone.goto(f"/lessons/{LESSON}")
    phone.wait_for_selector("section.lesson-section")
    show_surface(phone)
    plot = phone.locator("#widget-lora-explorer .plot").nth(1)
    assert "touch-held" in plot.get_attribute("class")
    assert "Tap the plot" in phone.locator("#widget-lora-explorer .chart-hint").nth(1).inner_text()
    plot.tap()
    assert "touch-held" not in plot.get_attribute("class")
    phone.locator("#widget-lora-explorer .counts").tap()  # a tap elsewhere: swipes scroll again
    assert "touch-held" in plot.get_attribute("class")


def test_plots_are_shorter_and_contents_near_the_top(phone) -> None:
    phone.goto(f"/lessons/{LESSON}")
    phone.wait_for_selector("section.lesson-section")
    phone.evaluate("window.ftlabMountAll()")
    mounted = "[...document.querySelectorAll('figure.widget')].every(f => f.dataset.mounted === 'yes')"
    phone.wait_for_function(mounted, timeout=60_000)
    heights = phone.eval_on_selector_all(".plot", "ps => ps.map(p => p.getBoundingClientRect().height)")
    assert heights and max(heights) <= 0.4 * PHONE["height"], heights
    contents = phone.locator(".sidenav")
    top = phone.evaluate("document.querySelector('.sidenav').getBoundingClientRect().top + scrollY")
    assert top < 2 * PHONE["height"], f"the contents list starts at {top} px"
    # Folded on a phone: one line that opens to the list.
    summary = contents.locator("summary")
    assert summary.is_visible()
    summary.tap()
    first = contents.locator("a[data-nav]").first
    assert first.is_visible()
