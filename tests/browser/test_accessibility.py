"""Accessibility and layout in real Chromium: axe-core (from npm, pinned in package.json) finds no
serious or critical violation on any page; the lesson is traversable by Tab in few stops with every
control reached; nothing scrolls sideways on a 390 px phone; no plot offers to send data off this
server; the presenter view shows the pinned run on the first screen of a 1920×1080 projector with
chart text of at least 24 px."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.main import create_app
from tests.browser.conftest import ARTIFACTS, LESSON, mount_all
from tests.utils.server import live_server

pytestmark = pytest.mark.browser

TOKEN = "browser-a11y-token"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# AXE_CSP: axe-core is injected as an inline script and its checks are string-evaluated, both of which
# the app's Content-Security-Policy forbids (script-src 'self', no eval), so these contexts bypass it.
# The pages themselves run under the real policy in the other browser tests, whose page fixture fails
# on any console error (a CSP violation is one).
MAX_TAB_STOPS = 150
PHONE = {"width": 390, "height": 844}
PROJECTOR = {"width": 1920, "height": 1080}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Its own server: the classroom pages open a class, which closes anonymous training elsewhere."""
    data = tmp_path_factory.mktemp("ftlab-a11y")
    settings = Settings(data_dir=data, instructor_token=TOKEN, device="cpu", cpu_workers=1)
    with live_server(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def class_code(browser, server: str) -> str:  # noqa: ANN001
    """A class with a finished, pinned tiny-llama run (so the dashboard and presenter have a chart)."""
    context = browser.new_context(base_url=server, bypass_csp=True)  # see AXE_CSP below
    try:
        api = context.request
        assert api.post("/api/auth/login", data={"token": TOKEN}).ok
        code = api.post("/api/classes", data={"title": "Accessibility", "anonymous": False}).json()["code"]
        run = {"model": "tiny-llama", "method": "lora", "task": "tone", "steps": 6}
        job = api.post(f"/api/classes/{code}/runs", data=run).json()["id"]
        page = context.new_page()
        page.goto(f"/lessons/{LESSON}?job={job}")  # the panel follows it until it is done
        page.wait_for_function(
            "document.querySelector('[data-stat=state]')?.textContent === 'done'", timeout=300_000
        )
        return code
    finally:
        context.close()


@pytest.fixture
def visit(browser, server: str, class_code: str) -> Iterator:  # noqa: ANN001
    """``visit(path, viewport=None, instructor=False)``: a fresh logged-in-or-not page at ``path``."""
    contexts = []

    def open_page(path: str, viewport: dict | None = None, instructor: bool = False):  # noqa: ANN202
        context = browser.new_context(
            viewport=viewport or {"width": 1440, "height": 900}, base_url=server, bypass_csp=True
        )
        contexts.append(context)
        if instructor:
            assert context.request.post("/api/auth/login", data={"token": TOKEN}).ok
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors  # type: ignore[attr-defined]
        page.goto(path)
        page.wait_for_load_state("networkidle")
        return page

    yield open_page
    for context in contexts:
        context.close()


def serious_violations(page) -> list[str]:  # noqa: ANN001
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail("axe-core is not installed: run scripts/setup.sh --test (npm ci)")
        pytest.skip("axe-core is not installed (npm ci)")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """() => axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
             .filter((v) => v.impact === 'serious' || v.impact === 'critical')
             .map((v) => `${v.id} (${v.impact}) x${v.nodes.length}: ` +
                         v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')))"""
    )
    return violations


def wait_charts_drawn(page) -> None:  # noqa: ANN001
    """Until every chart near the viewport has drawn (charts draw only on screen)."""
    page.wait_for_function(
        """[...document.querySelectorAll('.plot')].filter((p) => {
             const r = p.getBoundingClientRect();
             return r.bottom > 0 && r.top < innerHeight && r.width > 0;
           }).every((p) => p.dataset.drawn === 'yes')""",
        timeout=120_000,
    )


@pytest.mark.parametrize(
    ("name", "path", "instructor"),
    [
        ("landing", "/", False),
        ("join", "/join", False),
        ("login", "/login", False),
        ("classes", "/classes", True),
        ("dashboard", "/classes/{code}", True),
        ("presenter", "/classes/{code}?view=present", True),
    ],
)
def test_pages_have_no_serious_axe_violations(
    visit, class_code: str, name: str, path: str, instructor: bool
) -> None:  # noqa: ANN001
    page = visit(path.format(code=class_code), instructor=instructor)
    if "{code}" in path:
        page.wait_for_function("document.querySelector('[data-connection]').textContent.startsWith('Live')")
        wait_charts_drawn(page)
    assert serious_violations(page) == []
    assert page.errors == []  # type: ignore[attr-defined]


def test_lesson_with_every_widget_mounted_has_no_serious_axe_violations(visit) -> None:  # noqa: ANN001
    page = visit(f"/lessons/{LESSON}")
    mount_all(page)
    page.wait_for_selector("[data-quiz] fieldset")
    # Walk down the page so each chart draws while on screen (and is released after).
    for widget in page.eval_on_selector_all("figure.widget", "fs => fs.map(f => f.id)"):
        page.evaluate(f"document.getElementById('{widget}').scrollIntoView()")
        wait_charts_drawn(page)
        assert serious_violations(page) == [], widget
    assert page.errors == []  # type: ignore[attr-defined]


def test_lesson_by_keyboard_in_at_most_150_tab_stops(visit) -> None:  # noqa: ANN001
    page = visit(f"/lessons/{LESSON}")
    mount_all(page)
    page.wait_for_selector("[data-quiz] fieldset")
    page.evaluate(
        """() => { window.__stops = []; document.addEventListener('focusin', (e) => {
             if (!window.__stops.includes(e.target)) window.__stops.push(e.target); }); }"""
    )
    presses = 0
    while presses < MAX_TAB_STOPS + 40:
        page.keyboard.press("Tab")
        presses += 1
        if page.evaluate(
            "document.activeElement === document.body || document.activeElement?.closest('footer')"
        ):
            break
        # Wrapped around to the first stop: the whole page is done.
        if presses > 1 and page.evaluate("document.activeElement === window.__stops[0]"):
            break
    stops = page.evaluate("window.__stops.length")
    print(f"lesson: {stops} Tab stops")
    assert stops <= MAX_TAB_STOPS, f"{stops} Tab stops through the lesson"
    # Every control a mouse can use is among them (a radio group is one stop: arrows move inside it).
    missed = page.evaluate(
        """() => {
          const controls = [...document.querySelectorAll(
            'main a[href], main button, main input, main select, main textarea, main [tabindex="0"]')]
            .filter((el) => !el.disabled && el.getClientRects().length
              && getComputedStyle(el).visibility !== 'hidden'
              && !el.closest('details:not([open])'));  // a closed go-deeper fold: its summary is the stop
          // A row of buttons with one roving Tab stop (option rows, chart toolbars) is reached when
          // the row's stop is: the arrow keys move inside it.
          const row = (el) => el.closest('.choice, [role=toolbar]');
          const reached = (el) => window.__stops.includes(el) || (el.type === 'radio'
            && window.__stops.some((s) => s.type === 'radio' && s.name === el.name))
            || (row(el) && window.__stops.some((s) => row(s) === row(el)));
          return controls.filter((el) => !reached(el)).map((el) => el.outerHTML.slice(0, 120));
        }"""
    )
    assert missed == [], missed
    # 3D plots turn by keyboard: focus one, press an arrow key, its camera moves.
    plot = page.locator("#widget-lora-explorer .plot[tabindex='0']").first
    plot.scroll_into_view_if_needed()
    page.wait_for_function(
        "document.querySelector('#widget-lora-explorer .plot[tabindex=\"0\"]').dataset.drawn === 'yes'",
        timeout=120_000,
    )
    eye = "JSON.stringify(document.querySelector('#widget-lora-explorer .plot')._fullLayout.scene.camera.eye)"
    before = page.evaluate(eye)
    plot.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"{eye} !== {before!r}")


def test_no_plot_offers_to_send_data_off_the_server(visit) -> None:  # noqa: ANN001
    page = visit(f"/lessons/{LESSON}")
    mount_all(page)
    for widget in ("lora-explorer", "spectrum-live", "compare"):
        page.evaluate(f"document.getElementById('widget-{widget}').scrollIntoView()")
        wait_charts_drawn(page)
        page.locator(f"#widget-{widget} .plot").first.hover()
    offers = page.evaluate(
        """() => [...document.querySelectorAll('.modebar-btn, a, button')]
             .filter((el) => /cloud|chart studio|plotly\\.com|plot\\.ly/i.test(
               ['data-title', 'href', 'data-attr'].map((a) => el.getAttribute(a) || '')
                 .concat(el.textContent).join(' ')))
             .map((el) => el.outerHTML.slice(0, 120))"""
    )
    assert offers == []
    # What each chart offers instead: reset view and a PNG, from this page.
    tools = page.locator("#widget-lora-explorer .chart-tools").first.locator("button").all_inner_texts()
    assert tools == ["Reset view", "Download PNG"]
    with page.expect_download() as download:
        page.locator("#widget-lora-explorer .chart-tools button", has_text="Download PNG").first.click()
    assert download.value.suggested_filename.endswith(".png")


@pytest.mark.parametrize("path", ["/", "/join", f"/lessons/{LESSON}", "/classes/{code}"])
def test_no_sideways_scroll_on_a_390px_phone(visit, class_code: str, path: str) -> None:  # noqa: ANN001
    page = visit(path.format(code=class_code), viewport=PHONE, instructor="{code}" in path)
    if "lessons" in path:
        mount_all(page)
        page.wait_for_selector("[data-quiz] fieldset")
        page.evaluate("document.getElementById('widget-compare').scrollIntoView()")
        wait_charts_drawn(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{path} is {width} px wide on a {PHONE['width']} px screen"
    # The top bar stays one line.
    assert page.locator(".topbar").bounding_box()["height"] < 60
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"phone{re.sub(r'[^a-z]+', '-', path)}.png"))


def test_presenter_shows_the_pinned_run_on_the_first_screen_in_24px(visit, class_code: str) -> None:  # noqa: ANN001
    page = visit(f"/classes/{class_code}?view=present", viewport=PROJECTOR, instructor=True)
    page.wait_for_selector(".pinned-chart .plot[data-drawn='yes']", timeout=120_000)
    box = page.locator(".pinned-chart .plot").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= PROJECTOR["height"], box
    sizes = page.evaluate(
        """[...document.querySelectorAll('.pinned-chart .plot svg text')]
             .filter((t) => t.textContent.trim())
             .map((t) => parseFloat(getComputedStyle(t).fontSize))"""
    )
    assert sizes and min(sizes) >= 24, sizes
    page.screenshot(path=str(ARTIFACTS / "presenter-1920.png"))


LAPTOP_PROJECTOR = {"width": 1366, "height": 768}


def test_presenter_first_screen_has_the_pinned_run_and_the_quiz_summary(visit, class_code: str) -> None:  # noqa: ANN001
    """Issue 21, point 9: on a 1366×768 projector the quiz summary starts on the first screen, beside
    the pinned run; the runs table is folded below."""
    page = visit(
        f"/classes/{class_code}?view=present&projector=1", viewport=LAPTOP_PROJECTOR, instructor=True
    )
    page.wait_for_selector(".pinned-chart .plot[data-drawn='yes']", timeout=120_000)
    page.wait_for_selector("[data-questions] .question-card")
    tops = page.evaluate(
        """() => Object.fromEntries(Object.entries({
             pinned: '.pinned-chart .plot', quiz: '#h-quiz', card: '[data-questions] .question-card',
             students: '#h-students', experiment: '#h-experiment',
           }).map(([k, sel]) => [k, document.querySelector(sel).getBoundingClientRect().top + scrollY]))"""
    )
    height = LAPTOP_PROJECTOR["height"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "presenter-1366.png"))
    assert tops["quiz"] < height and tops["card"] + 60 < height, tops  # a question's first lines show
    assert tops["pinned"] < height, tops  # the pinned run starts beside it
    # The students and their scores come beside the pinned run, above the quiz (not after its last
    # card, nor under the pinned run's chart); the class experiment and the folded runs table below.
    assert tops["students"] < tops["quiz"], tops
    assert tops["experiment"] > tops["card"], tops
    assert page.locator(".runs-fold").get_attribute("open") is None  # folded
    assert page.locator(".runs-fold [data-runs]").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP_PROJECTOR["width"]


def seat_students(browser, server: str, code: str, count: int) -> None:  # noqa: ANN001
    """``count`` students join ``code`` through the API, each answering the quiz (some right, some not)."""
    context = browser.new_context(base_url=server)
    try:
        api = context.request
        questions = api.get(f"/api/lessons/{LESSON}/quiz").json()["questions"]
        for n in range(count):
            context.clear_cookies()  # a new browser: a new seat
            assert api.post(f"/api/classes/{code}/join", data={"nickname": f"Student {n + 1:02d}"}).ok
            picks = {
                q["id"]: q["choices"][(n + i) % len(q["choices"])]["id"] for i, q in enumerate(questions)
            }
            assert api.post(f"/api/classes/{code}/answers", data={"answers": picks}).ok
    finally:
        context.close()


def test_presenter_first_screen_shows_the_students_with_their_scores(
    browser,  # noqa: ANN001
    server: str,
    visit,  # noqa: ANN001
    class_code: str,
) -> None:
    """Issue 21, point 9: with 28 students seated, the projector's first screen (1366×768) shows the
    students with their scores, beside the pinned run and the quiz's first card (was: from 790 px)."""
    seat_students(browser, server, class_code, 28)
    page = visit(
        f"/classes/{class_code}?view=present&projector=1", viewport=LAPTOP_PROJECTOR, instructor=True
    )
    page.wait_for_selector(".pinned-chart .plot[data-drawn='yes']", timeout=120_000)
    page.wait_for_function("document.querySelectorAll('[data-roster] [data-score]').length >= 28")
    page.wait_for_selector("[data-questions] .question-card")
    boxes = page.evaluate(
        """() => Object.fromEntries(Object.entries({
             heading: '#h-students', score: '[data-roster] [data-score]', pinned: '.pinned-chart .plot',
             card: '[data-questions] .question-card',
           }).map(([k, sel]) => { const r = document.querySelector(sel).getBoundingClientRect();
             return [k, { top: r.top + scrollY, bottom: r.bottom + scrollY }]; }))"""
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "presenter-1366-students.png"))
    height = LAPTOP_PROJECTOR["height"]
    assert boxes["score"]["bottom"] <= height, boxes  # the first students and their scores, in view
    assert boxes["pinned"]["top"] < height and boxes["card"]["top"] + 60 < height, boxes
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP_PROJECTOR["width"]


def test_a_solo_learner_blocked_by_an_open_class_is_told_why_and_offered_the_recorded_run(visit) -> None:  # noqa: ANN001
    page = visit(f"/lessons/{LESSON}")  # not in the class this server has open
    panel = page.locator("#widget-live-panel")
    panel.scroll_into_view_if_needed()
    page.wait_for_selector("#widget-live-panel select[name=model]")
    page.select_option("#widget-live-panel select[name=model]", "tiny-llama")
    page.get_by_role("button", name="Start training").click()
    notice = panel.locator(".eta-warning")
    notice.wait_for()
    assert "a class is open on this server" in notice.inner_text()
    notice.get_by_role("button", name="Watch the recorded run").click()
    panel.locator(".panel-badge .badge.recorded").wait_for()
