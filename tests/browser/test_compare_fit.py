"""The compare table at 1440 px shows every column without sideways scrolling, and on a phone each
run reads as a card of "column: value" lines; its loss chart draws one curve per run by default
(issue 21, point 7)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import open_lesson

pytestmark = pytest.mark.browser

WRAP = "#widget-compare .table-wrap"
WIDTHS = f"(() => {{ const w = document.querySelector('{WRAP}'); return [w.scrollWidth, w.clientWidth]; }})()"
BEFORE = "() => getComputedStyle(document.querySelector('#widget-compare tbody td'), '::before').content"


def show_compare(page) -> None:
    open_lesson(page)
    page.locator("#widget-compare").scroll_into_view_if_needed()
    page.wait_for_selector("#widget-compare tbody tr th", timeout=60_000)


def test_every_column_fits_at_1440(page) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    show_compare(page)
    fits = page.evaluate(WIDTHS)
    assert fits[0] <= fits[1], f"the table is {fits[0]} px wide in a {fits[1]} px region"
    last = page.locator("#widget-compare thead th").last.bounding_box()
    assert last["x"] + last["width"] <= 1440
    caption = page.locator("#widget-compare caption")
    assert caption.evaluate("c => c.scrollWidth <= c.clientWidth + 1")  # not clipped mid-word
    # One curve per run (training loss), not a train and a held-out line each; the held-out ones a click away.
    plot = "document.querySelector('#widget-compare .plot')"
    page.locator("#widget-compare .plot").scroll_into_view_if_needed()
    page.wait_for_function(f"{plot}?.data?.length > 0", timeout=60_000)
    rows = page.locator("#widget-compare tbody tr").count()
    assert page.evaluate(f"{plot}.data.length") <= rows
    page.locator("#widget-compare").get_by_role("button", name="held-out loss").click()
    page.wait_for_function(f"{plot}.data.every(t => t.mode === 'lines+markers')")


def test_rows_stack_on_a_phone(phone) -> None:
    show_compare(phone)
    fits = phone.evaluate(WIDTHS)
    assert fits[0] <= fits[1] + 1, fits
    cell = phone.locator("#widget-compare tbody tr").first.locator("td").last
    assert cell.is_visible()
    assert phone.evaluate(BEFORE) != "none"
