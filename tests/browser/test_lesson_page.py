"""The lesson in a real browser: every section, every widget drawn (WebGL where 3D) and reacting to
its controls, the quiz graded, keyboard use, and the page's size on first load."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.browser.conftest import ARTIFACTS, LESSON, mount_all, open_lesson

pytestmark = pytest.mark.browser

WEBGL_WIDGETS = ["lora-explorer", "spectrum-live", "soft-prompt-3d", "trainable-share"]


def lesson_data(base_url: str) -> dict:
    return httpx.get(f"{base_url}/api/lessons/{LESSON}", timeout=10).json()


def canvas_png(page, widget: str, index: int = 0) -> bytes:
    return page.locator(f"#widget-{widget} .plot").nth(index).screenshot()


def wait_drawn(page, widget: str) -> None:
    """Until the widget's first plot holds a WebGL canvas with a live context."""
    page.wait_for_function(
        """(w) => [...document.querySelectorAll(`#widget-${w} .plot canvas`)].some(c => {
               const gl = c.getContext('webgl') || c.getContext('webgl2');
               return gl && !gl.isContextLost() && c.width > 0 && c.height > 0; })""",
        arg=widget,
        timeout=60_000,
    )


def test_every_section_and_widget(page, base_url: str) -> None:
    lesson = lesson_data(base_url)
    open_lesson(page)
    for section in lesson["sections"]:
        heading = page.locator(f"section#{section['id']} h2")
        assert heading.inner_text().strip() == section["title"].strip()
        for widget in section["widgets"]:
            assert page.locator(f"section#{section['id']} figure[data-widget='{widget}']").count() == 1
    nav = page.locator("nav.sidenav a").all_inner_texts()
    assert len(nav) == len(page.locator("section.lesson-section").all())
    mount_all(page)
    for widget in WEBGL_WIDGETS:  # charts draw while on screen (and release WebGL off screen)
        page.locator(f"#widget-{widget}").scroll_into_view_if_needed()
        wait_drawn(page, widget)
    # Every plot has its text alternative filled in.
    for summary in page.locator(".chart-summary").all():
        assert summary.inner_text().strip(), "a chart without its text alternative"


def test_lora_explorer_counts_and_controls(page) -> None:
    open_lesson(page, "?d=4096&r=16")
    page.locator("#widget-lora-explorer").scroll_into_view_if_needed()
    wait_drawn(page, "lora-explorer")
    counts = page.locator("#widget-lora-explorer .counts")
    assert counts.locator("[data-count=full]").inner_text() == "16,777,216"
    assert counts.locator("[data-count=lora]").inner_text() == "131,072"
    assert counts.locator("[data-count=ratio]").inner_text() == "128× fewer"
    error_r16 = counts.locator("[data-count=error]").inner_text()
    before = canvas_png(page, "lora-explorer")
    # Keyboard: focus the rank slider and press ArrowLeft eight times, r = 16 → 8.
    rank = page.locator("#widget-lora-explorer input[name=r]")
    rank.focus()
    for _ in range(8):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function("new URLSearchParams(location.search).get('r') === '8'")
    assert counts.locator("[data-count=lora]").inner_text() == "65,536"
    assert counts.locator("[data-count=ratio]").inner_text() == "256× fewer"
    error_r8 = counts.locator("[data-count=error]").inner_text()
    assert float(error_r8.rstrip("%")) > float(error_r16.rstrip("%")), (error_r8, error_r16)
    page.wait_for_timeout(500)
    assert canvas_png(page, "lora-explorer") != before, "the 3D blocks did not redraw"
    # The state survives a reload (it lives in the URL).
    page.reload()
    page.locator("#widget-lora-explorer").scroll_into_view_if_needed()
    page.wait_for_selector("#widget-lora-explorer input[name=r]")
    assert page.locator("#widget-lora-explorer input[name=r]").input_value() == "8"
    wait_drawn(page, "lora-explorer")


def test_three_d_widgets_react(page) -> None:
    open_lesson(page)
    mount_all(page)
    # Trainable share: switching LoRA → full lights the whole model.
    widget = page.locator("#widget-trainable-share")
    widget.scroll_into_view_if_needed()
    wait_drawn(page, "trainable-share")
    page.wait_for_timeout(500)
    before = canvas_png(page, "trainable-share")
    widget.get_by_role("button", name="full", exact=True).click()
    assert widget.locator("[data-count=share]").inner_text() == "100.0%"
    page.wait_for_timeout(500)
    assert canvas_png(page, "trainable-share") != before
    # Spectrum: replaying to an earlier point changes the step in the plot title.
    spectrum = page.locator("#widget-spectrum-live")
    spectrum.scroll_into_view_if_needed()
    wait_drawn(page, "spectrum-live")
    title = "document.querySelector('#widget-spectrum-live .plot')?.layout?.title?.text || ''"
    page.wait_for_function(f"({title}).includes('step')")
    end_title = page.evaluate(title)
    slider = spectrum.locator("input[type=range]")
    slider.fill("10")
    page.wait_for_function(f"({title}) !== {json.dumps(end_title)}")
    # Soft prompt: scrubbing back moves the virtual tokens.
    soft = page.locator("#widget-soft-prompt-3d")
    soft.scroll_into_view_if_needed()
    wait_drawn(page, "soft-prompt-3d")
    step_label = soft.locator(".slider-value")
    last = step_label.inner_text()
    soft.locator("input[type=range]").fill("0")
    assert step_label.inner_text() != last


def test_memory_calculator_reproduces_7b_fp32(page) -> None:
    open_lesson(page, "?mem_model=7&mem_precision=fp32&mem_method=full")
    widget = page.locator("#widget-memory-calculator")
    widget.scroll_into_view_if_needed()
    page.wait_for_selector("#widget-memory-calculator [data-part=weights]")
    assert widget.locator("[data-part=weights]").inner_text() == "28.0 GB"
    assert widget.locator("[data-part=optimizer]").inner_text() == "56.0 GB"
    widget.get_by_role("button", name="LoRA", exact=True).click()
    optimizer = widget.locator("[data-part=optimizer]").inner_text()
    assert optimizer.endswith("MB"), optimizer  # Adam states of the adapter only


def test_quiz_answered_and_scored(page, base_url: str) -> None:
    quiz = httpx.get(f"{base_url}/api/lessons/{LESSON}/quiz", timeout=10).json()
    assert len(quiz["questions"]) >= 12
    open_lesson(page)
    page.locator("#quiz").scroll_into_view_if_needed()
    page.wait_for_selector("#quiz fieldset")
    *answered, skipped = quiz["questions"]
    for question in answered:
        page.locator(f"#quiz fieldset[data-question='{question['id']}'] input[type=radio]").first.check()
    page.get_by_role("button", name="Check my answers").click()
    score = page.locator("#quiz .score")
    score.wait_for()
    page.wait_for_function("document.querySelector('#quiz .score').textContent.startsWith('You got')")
    total = len(quiz["questions"])
    got = int(re.match(rf"You got (\d+) of {total} \(1 skipped\)\.", score.inner_text()).group(1))
    # Focus lands on the score (announced there too), not below the buttons.
    assert page.evaluate("document.activeElement === document.querySelector('#quiz .score')")
    results = page.locator("#quiz .result:not([hidden])")
    assert results.count() == total
    # A wrong answer names the right choice; the unanswered question says skipped, not wrong.
    wrong = page.locator("#quiz .result.wrong")
    assert wrong.count() == total - 1 - got
    for result in wrong.all():
        assert result.locator(".right-answer").inner_text().strip()
    last = page.locator(f"#quiz fieldset[data-question='{skipped['id']}'] .result")
    assert "Skipped" in last.inner_text() and last.locator(".right-answer").count() == 1
    for result in results.all():
        assert result.locator("a[href^='#']").count() == 1  # a link back to the section
    page.get_by_role("button", name="Try again").click()
    assert page.locator("#quiz input[type=radio]:checked").count() == 0
    assert page.locator("#quiz .result:not([hidden])").count() == 0


def test_first_load_transfer_size(page) -> None:
    """Bytes on the wire (gzip on) for the first load of the lesson, widgets mounted as a visitor
    scrolls to them; written to test-artifacts/transfer.json and held under a budget."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    sizes: dict[str, int] = {}
    urls: dict[str, str] = {}
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on(
        "Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"]))
    )
    cdp.on("Network.loadingFailed", lambda e: sizes.__setitem__(e["requestId"], 0))

    def settle() -> int:
        """Until every request seen has finished and none started for a second (networkidle fires once)."""
        quiet = 0
        while quiet < 4:
            pending = set(urls) - set(sizes)
            quiet = 0 if pending else quiet + 1
            page.wait_for_timeout(250)
        return sum(sizes.values())

    open_lesson(page)
    first_screen = settle()
    mount_all(page)
    page.wait_for_function("window.Plotly !== undefined", timeout=60_000)
    everything = settle()
    by_url = sorted(((urls.get(k, k), v) for k, v in sizes.items()), key=lambda kv: -kv[1])
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "transfer.json").write_text(
        json.dumps(
            {"first_screen_bytes": first_screen, "all_widgets_bytes": everything, "by_url": by_url}, indent=1
        )
    )
    plotly = next(v for u, v in by_url if u.endswith("plotly.min.js"))
    assert plotly < 1_700_000, f"plotly.js travelled {plotly} bytes: not compressed?"
    assert everything < 2_500_000, f"{everything} bytes on first load"


def test_go_deeper_folds_open_by_keyboard_and_by_link(page) -> None:
    """Folds are closed at first, open with Enter on their summary, and a link to a fold's id opens it."""
    open_lesson(page)
    folds = page.locator("details.deeper")
    assert folds.count() >= 8
    assert page.evaluate("[...document.querySelectorAll('details.deeper')].every(d => !d.open)")
    first = folds.first
    first.locator("summary").focus()
    page.keyboard.press("Enter")
    assert first.evaluate("d => d.open")
    page.keyboard.press("Enter")
    assert not first.evaluate("d => d.open")
    target = folds.nth(2).get_attribute("id")
    page.evaluate("(id) => { location.hash = id; }", target)
    page.wait_for_function("(id) => document.getElementById(id).open", arg=target, timeout=5_000)
