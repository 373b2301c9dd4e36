"""The classroom in real Chromium: the instructor logs in and opens a class; a student joins by code
in another browser; the instructor starts and pins a tiny-llama run, which the student's lesson page
shows live; the student's quiz answer appears on the instructor's dashboard; the instructor removes
the student."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.main import create_app
from tests.browser.conftest import ARTIFACTS, IGNORED_CONSOLE, LESSON, chromium_path
from tests.utils.server import live_server

TOKEN = "browser-classroom-token"
NICKNAME = "Ada <b>bold</b>"  # must show as text, never as markup


@pytest.fixture(scope="module")
def class_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Its own server: an open class closes anonymous training, which other browser tests use."""
    data: Path = tmp_path_factory.mktemp("ftlab-classroom-browser")
    settings = Settings(data_dir=data, instructor_token=TOKEN, device="cpu", cpu_workers=1)
    with live_server(create_app(settings)) as url:
        yield url


def new_page(browser, base: str, errors: list[str], who: str):  # noqa: ANN001, ANN201
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base, bypass_csp=True)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(f"{who} page error: {e}"))
    page.on(
        "console",
        lambda m: (
            m.type == "error" and not IGNORED_CONSOLE.search(m.text) and errors.append(f"{who}: {m.text}")
        ),
    )
    return page


@pytest.mark.browser
def test_join_pin_and_answer(browser, class_server: str) -> None:  # noqa: ANN001
    assert chromium_path() is not None
    errors: list[str] = []
    teacher = new_page(browser, class_server, errors, "instructor")
    pupil = new_page(browser, class_server, errors, "student")
    try:
        # The instructor: the dashboard needs a login; the login page leads back to it.
        teacher.goto("/classes")
        teacher.wait_for_url(re.compile(r"/login\?next=/classes"))
        teacher.fill("#login-token", "not the token")
        teacher.click("#login-form button[type=submit]")
        teacher.wait_for_function(
            "document.getElementById('login-status').textContent.includes('not the instructor')"
        )
        # Chromium logs the refused login's 403 as a console error: that one was meant to happen.
        assert len(errors) == 1 and "403" in errors[0], errors
        errors.clear()
        teacher.fill("#login-token", TOKEN)
        teacher.click("#login-form button[type=submit]")
        teacher.wait_for_url(re.compile(r"/classes$"))
        teacher.fill("#class-title", "Thursday <i>lab</i>")
        teacher.click("#new-class button[type=submit]")
        teacher.wait_for_url(re.compile(r"/classes/[A-Z0-9]{6}$"))
        code = teacher.locator(".join-code").inner_text().strip()
        assert teacher.locator("h1").inner_text() == "Thursday <i>lab</i>"  # escaped by the template
        teacher.wait_for_function(
            "document.querySelector('[data-connection]').textContent.startsWith('Live')"
        )

        # The student joins by code and lands on the lesson with the class banner.
        pupil.goto(f"/join?code={code.lower()}")
        assert pupil.input_value("#join-code") == code
        pupil.fill("#join-nickname", NICKNAME)
        pupil.click("#join-form button[type=submit]")
        pupil.wait_for_url(re.compile(rf"/lessons/{LESSON}"))
        banner = pupil.locator("#class-banner")
        banner.locator(".banner-who").wait_for()
        assert f"you are {NICKNAME}" in banner.locator(".banner-who").inner_text()
        assert banner.locator("b").count() == 0
        teacher.locator(".roster .student", has_text=NICKNAME).wait_for(timeout=20_000)
        assert teacher.locator(".roster b").count() == 0

        # The instructor starts a run and pins it; the student's page follows it live.
        form = teacher.locator("[data-run-form]")
        teacher.wait_for_function(
            "[...document.querySelectorAll('#run-model option')].some(o => o.value === 'tiny-llama')"
        )
        form.locator("#run-model").select_option("tiny-llama")
        form.locator("#run-method").select_option("lora")
        form.locator("#run-task").select_option("tone")
        form.locator("#run-steps").fill("6")
        form.locator("button[type=submit]").click()
        status = pupil.locator("#class-banner [data-pinned-status]")
        status.wait_for()
        pupil.wait_for_function(
            "document.querySelector('#class-banner [data-pinned-status]')?.dataset.state === 'done'",
            timeout=300_000,
        )
        assert "finished after 6 steps" in status.inner_text()
        # The loss curve is drawn (the banner folds it away until asked): the train line's SVG
        # path goes through all 6 steps.
        pupil.locator("#class-banner .banner-fold summary").click()
        pupil.wait_for_function(
            """(() => {
              const chart = document.querySelector('#class-banner .pinned-chart');
              const line = chart && chart.querySelector('.scatterlayer .trace path.js-line');
              return !!line && (line.getAttribute('d').match(/L/g) || []).length === 5;
            })()""",
            timeout=20_000,
        )
        teacher.locator("[data-runs] tr.is-pinned").wait_for()
        pupil.screenshot(path=str(ARTIFACTS / "classroom-student.png"))

        # The student answers the lesson quiz; the dashboard counts it.
        quiz = pupil.locator("[data-quiz]")
        quiz.scroll_into_view_if_needed()
        first = quiz.locator("fieldset[data-question]").first
        first.wait_for(timeout=30_000)
        question_id = first.get_attribute("data-question")
        first.locator("input[type=radio]").first.check()
        quiz.locator("button[type=submit]").click()
        quiz.locator(".score").filter(has_text="You got").wait_for()
        card = teacher.locator(f".question-card[data-question='{question_id}']")
        teacher.wait_for_function(
            "document.querySelector('main.dashboard').dataset.answers === '1'", timeout=20_000
        )
        assert card.locator("[data-answered]").inner_text() == "1"
        teacher.goto(f"/classes/{code}?view=present")
        teacher.wait_for_function(
            "document.querySelector('main.dashboard').dataset.answers === '1'", timeout=20_000
        )
        assert teacher.locator("body.presenter").count() == 1
        ARTIFACTS.mkdir(exist_ok=True)
        teacher.screenshot(path=str(ARTIFACTS / "classroom-presenter.png"), full_page=True)
        csv = teacher.request.get(f"/api/classes/{code}/results.csv").text()
        assert NICKNAME in csv and csv.count("\n") == 2

        # The instructor removes the student from the roster (by keyboard, confirming the dialog):
        # the seat stops working at once; the answer stays in the results.
        teacher.goto(f"/classes/{code}")
        remove = teacher.get_by_role("button", name=f"Remove {NICKNAME}")
        remove.wait_for(timeout=20_000)
        teacher.once("dialog", lambda dialog: dialog.accept())
        remove.focus()
        teacher.keyboard.press("Enter")
        teacher.wait_for_function(
            "document.querySelectorAll('.roster .student').length === 0"
            " && document.querySelector('[data-admin-status]').textContent.startsWith('Removed')",
            timeout=20_000,
        )
        assert teacher.locator("[data-student-count]").inner_text() == "0"
        assert pupil.request.get("/api/classes/me").status == 404
        assert NICKNAME in teacher.request.get(f"/api/classes/{code}/results.csv").text()
    finally:
        teacher.context.close()
        pupil.context.close()
    assert not errors, "\n".join(errors)
