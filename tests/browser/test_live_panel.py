"""The live panel in a real browser: a tiny-llama LoRA run started from the page draws loss points
and a ΔW spectrum; a reload mid-run brings the whole curve back; a bad setting is named in words."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.panel import PANEL, choose, open_panel

pytestmark = pytest.mark.browser

LOSS_POINTS = f"(document.querySelector('{PANEL} .plot')?.data?.[0]?.x?.length || 0)"
# Long enough that the run is surely still going at the reload on any machine; the test cancels it.
STEPS = 2000


def step_events(base_url: str, job_id: str) -> list[dict]:
    events = httpx.get(f"{base_url}/api/jobs/{job_id}/events?after=0", timeout=10).json()
    return [e for e in events if e["type"] == "step"]


def test_lora_run_live_then_reload_restores_the_curve(page, base_url: str) -> None:
    open_panel(page)
    choose(page, "tiny-llama", "lora", "tone")
    page.fill(f"{PANEL} input[name=steps]", str(STEPS))
    page.get_by_role("button", name="Start training").click()
    page.wait_for_function("new URLSearchParams(location.search).has('job')", timeout=30_000)
    job_id = page.evaluate("new URLSearchParams(location.search).get('job')")
    page.wait_for_function(f"{LOSS_POINTS} >= 3", timeout=120_000)
    seen = page.evaluate(LOSS_POINTS)
    state = httpx.get(f"{base_url}/api/jobs/{job_id}", timeout=10).json()["state"]
    assert state == "running", f"the run is {state} before the reload"

    page.reload()
    # The experiment figures land in sections above the panel once their recordings load; the panel
    # is scrolled to after that, so no late figure pushes its plots off screen (off screen, a plot is
    # purged and its drawn data is gone).
    page.wait_for_function("document.documentElement.dataset.experiments === 'placed'", timeout=60_000)
    page.locator(PANEL).scroll_into_view_if_needed()
    # The whole curve comes back: at least every point drawn before the reload, then more as it trains.
    page.wait_for_function(f"{LOSS_POINTS} >= {seen + 5}", timeout=120_000)
    page.wait_for_function(
        f"document.querySelectorAll('{PANEL} .plot')[1]?.data?.some(t => t.type === 'surface')",
        timeout=60_000,
    )
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_function(
        f"document.querySelector('{PANEL} [data-stat=state]')?.textContent === 'cancelled'", timeout=60_000
    )
    steps = step_events(base_url, job_id)
    assert seen + 5 <= len(steps) < STEPS
    assert [e["step"] for e in steps] == list(range(1, len(steps) + 1))
    page.locator(f"{PANEL} .plot").first.scroll_into_view_if_needed()
    page.wait_for_function(f"{LOSS_POINTS} === {len(steps)}", timeout=30_000)
    drawn = page.evaluate(f"document.querySelector('{PANEL} .plot').data[0].y")
    assert drawn == pytest.approx([e["loss"] for e in steps])
    # The spectrum of this run's ΔW is drawn as a surface with one row per layer shown.
    surface = page.evaluate(
        f"document.querySelectorAll('{PANEL} .plot')[1].data.find(t => t.type === 'surface')?.z?.length || 0"
    )
    assert surface >= 1
    assert page.locator(f"{PANEL} [data-stat=trainable]").inner_text() != "–"
    # The held-out loss (dotted) came with it.
    assert page.evaluate(f"document.querySelector('{PANEL} .plot').data[1].x.length") >= 1
    assert httpx.get(f"{base_url}/api/jobs/{job_id}", timeout=10).json()["state"] == "cancelled"
    assert page.locator(f"{PANEL} [data-stat=eta]").inner_text() == "–"  # no time left after the end


def test_server_error_shown_next_to_its_field(page) -> None:
    page.log.expected.append("status of 422")  # Chromium logs the refused request; the page handles it
    open_panel(page)
    choose(page, "tiny-llama", "lora", "tone")
    page.fill(f"{PANEL} input[name=rank]", "999")
    page.get_by_role("button", name="Start training").click()
    error = page.locator(f"{PANEL} .field[data-field=rank] .field-error")
    error.wait_for()
    page.wait_for_function(
        f"document.querySelector('{PANEL} .field[data-field=rank] .field-error').textContent.length > 0"
    )
    assert "256" in error.inner_text()  # the limit, in words
    assert page.locator(f"{PANEL} input[name=rank]").get_attribute("aria-invalid") == "true"
    assert "job=" not in page.url
