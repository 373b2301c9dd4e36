"""Driving the lesson's live panel in the browser tests."""

from __future__ import annotations

from tests.browser.conftest import open_lesson

PANEL = "#widget-live-panel"


def open_panel(page, query: str = "") -> None:
    open_lesson(page, query)
    page.locator(PANEL).scroll_into_view_if_needed()
    page.wait_for_selector(f"{PANEL} select[name=model]")


def choose(page, model: str, method: str, task: str) -> None:
    page.select_option(f"{PANEL} select[name=model]", model)
    page.select_option(f"{PANEL} select[name=method]", method)
    page.select_option(f"{PANEL} select[name=task]", task)
