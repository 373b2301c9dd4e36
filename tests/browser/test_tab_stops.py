"""Keyboard slips of issue 21 (point 10): the memory calculator's option rows are one Tab stop each
(arrow keys move within a row, Enter chooses), and each chart's Reset view / Download PNG pair is one
toolbar, one Tab stop."""

from __future__ import annotations

import pytest

from tests.browser.conftest import mount_all, open_lesson

pytestmark = pytest.mark.browser

CALC = "#widget-memory-calculator"

# The calculator's Tab stops: focusable, visible, not taken out of the Tab order.
TAB_STOPS_IN = """(sel) => {
  const root = document.querySelector(sel);
  const all = [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
    .filter((el) => el.tabIndex >= 0 && !el.disabled && el.checkVisibility() && !el.closest('[hidden]'));
  return all.filter((el) => root.contains(el))
    .map((el) => el.textContent.trim() || el.name || el.id || el.tagName);
}"""


def test_memory_calculator_tab_stops_and_arrow_keys(page) -> None:
    open_lesson(page)
    page.locator(CALC).scroll_into_view_if_needed()
    page.wait_for_selector(f"{CALC} .plot[data-drawn=yes]", timeout=60_000)
    stops = page.evaluate(TAB_STOPS_IN, CALC)
    # model, precision, method, sequence length, checkpointing, optimiser, GPUs, the chart's toolbar,
    # the table (rank is hidden for "full"): 9 stops, where every option used to be one (23).
    assert len(stops) <= 10, stops
    # Tab really walks them: from the model row's chosen option, one Tab reaches the precision row.
    model = page.locator(f"{CALC} .choice", has_text="model")
    chosen = model.locator("button[aria-pressed=true]")
    chosen.focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('.choice')?.textContent").startswith("precision")
    # Arrow keys move within the method row; Enter chooses; Tab then leaves the row.
    method = page.locator(f"{CALC} .choice", has_text="method")
    method.locator("button[aria-pressed=true]").focus()
    # Option buttons read the method's name in prose (MethodSpec.in_prose), as the lesson text does.
    assert page.evaluate("document.activeElement.textContent") == "full fine-tuning"
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.textContent") == "LoRA"
    page.keyboard.press("Enter")
    assert method.locator("button[aria-pressed=true]").inner_text() == "LoRA"
    assert page.locator(f"{CALC} input[name=mem-rank]").is_visible()
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.textContent") == "prefix tuning"
    page.keyboard.press("Tab")
    # the next control, not "full fine-tuning"
    assert page.evaluate("document.activeElement.name") == "mem-rank"
    # Coming back with Shift+Tab lands on the chosen option, not the one the arrows last touched.
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.textContent") == "LoRA"


def test_chart_tools_are_one_toolbar_each(page) -> None:
    open_lesson(page)
    page.locator(CALC).scroll_into_view_if_needed()
    page.wait_for_selector(f"{CALC} .plot[data-drawn=yes]", timeout=60_000)
    toolbar = page.locator(f"{CALC} [role=toolbar]")
    assert toolbar.count() == 1
    reset = toolbar.get_by_role("button", name="Reset view")
    download = toolbar.get_by_role("button", name="Download PNG")
    assert reset.get_attribute("tabindex") == "0" and download.get_attribute("tabindex") == "-1"
    reset.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.textContent") == "Download PNG"
    with page.expect_download() as got:
        page.keyboard.press("Enter")
    assert got.value.suggested_filename.endswith(".png")
    # Over the whole lesson: one Tab stop per chart toolbar.
    mount_all(page)
    per_toolbar = page.evaluate(
        "[...document.querySelectorAll('.chart-tools')].map(t => "
        "[...t.querySelectorAll('button')].filter(b => b.tabIndex >= 0).length)"
    )
    assert len(per_toolbar) >= 8 and set(per_toolbar) == {1}, per_toolbar
