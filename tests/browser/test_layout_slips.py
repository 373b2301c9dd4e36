"""Layout slips of issue 21 (point 10) in the memory calculator: the rank slider is hidden (and out of
the Tab order) for methods without a rank, an untouched calculator leaves the URL alone, and on a
phone its chart comes before its controls."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import open_lesson

pytestmark = pytest.mark.browser

CALC = "#widget-memory-calculator"


def test_rank_slider_only_for_lora_and_no_unasked_url_parameters(page) -> None:
    open_lesson(page)
    page.locator(CALC).scroll_into_view_if_needed()
    page.wait_for_selector(f"{CALC} .plot")
    assert "mem_" not in page.url, page.url  # nobody set anything yet
    rank = page.locator(f"{CALC} input[name=mem-rank]")
    method = page.locator(f"{CALC} .choice", has_text="method")
    method.get_by_role("button", name="full", exact=True).click()
    assert not rank.is_visible()
    # Not a Tab stop either: Tab from the last method button skips to the next visible control.
    page.locator(f"{CALC} input[name=mem-seq]").focus()
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.name") != "mem-rank"
    method.get_by_role("button", name="LoRA", exact=True).click()
    assert rank.is_visible()
    assert "mem_method=lora" in page.url and "mem_model" not in page.url


def test_calculator_chart_before_controls_on_a_phone(phone) -> None:
    open_lesson(phone)
    phone.locator(CALC).scroll_into_view_if_needed()
    phone.wait_for_selector(f"{CALC} .plot")
    chart = phone.evaluate(f"document.querySelector('{CALC} .plot-row').getBoundingClientRect().top")
    controls = phone.evaluate(f"document.querySelector('{CALC} .controls').getBoundingClientRect().top")
    assert chart < controls


def test_hero_caption_is_announced_once_not_every_frame(page) -> None:
    open_lesson(page)
    page.wait_for_function("document.querySelector('.hero-summary').textContent.includes('step')")
    assert page.locator(".hero-summary").get_attribute("aria-live") is None
    status = page.locator(".hero [role=status]")
    assert status.inner_text() == ""  # the first play is not read out
    page.evaluate(
        """() => { window.__said = 0; new MutationObserver(() => { window.__said += 1; }).observe(
             document.querySelector('.hero [role=status]'),
             { childList: true, characterData: true, subtree: true }); }"""
    )
    page.get_by_role("button", name="Replay the run").click()
    page.wait_for_function("document.querySelector('.hero [role=status]').textContent.includes('step')")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__said") == 1


def test_two_parameter_totals_say_which_is_which(page) -> None:
    open_lesson(page)
    widget = page.locator("#widget-trainable-share")
    widget.scroll_into_view_if_needed()
    gap = widget.locator("[data-count=measured-gap]")
    gap.wait_for(timeout=60_000)
    counts = widget.locator(".counts").inner_text()
    assert "without any adapter" in counts  # the drawn total says what it counts
    numbers = [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*\d", gap.inner_text())]
    measured_total, drawn, adapter, small = numbers
    # The two totals differ by exactly the parts named: the adapter and the norm weights.
    assert measured_total == drawn + adapter + small, gap.inner_text()
    assert f"{drawn:,}" in counts.split("\n")[0] and f"of {measured_total:,}" in counts
