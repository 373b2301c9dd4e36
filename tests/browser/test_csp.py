"""The lesson under the app's real Content-Security-Policy (the other browser tests bypass it, since
Playwright polls its wait_for_function predicates with eval): every widget mounts and draws with no
CSP violation and no page error. Polling here goes through page.evaluate, which the policy allows."""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import LESSON

pytestmark = pytest.mark.browser


def _until(page, expression: str, timeout_s: float = 120.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true after {timeout_s} s: {expression}"
        page.wait_for_timeout(250)


def test_the_lesson_runs_under_its_content_security_policy(browser, base_url: str) -> None:  # noqa: ANN001
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=base_url)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    try:
        response = page.goto(f"/lessons/{LESSON}")
        assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
        page.evaluate(
            "window.ftlabCsp = []; document.addEventListener('securitypolicyviolation', "
            "(e) => window.ftlabCsp.push(e.violatedDirective))"
        )
        page.evaluate("window.ftlabMountAll()")
        mounted = "[...document.querySelectorAll('figure.widget')].every((f) => f.dataset.mounted === 'yes')"
        _until(page, mounted)
        for plot in page.locator(".plot").all():  # charts draw once on screen
            plot.scroll_into_view_if_needed()
        _until(page, "document.querySelectorAll('.plot[data-drawn=yes]').length > 0")
        problems += page.evaluate("window.ftlabCsp")
    finally:
        context.close()
    assert not problems, problems
