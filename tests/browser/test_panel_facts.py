"""The live panel takes its facts from the API: which chart a method's spectrum needs (GET /api/methods:
prompt tuning's soft-prompt geometry, full fine-tuning's ΔW surface) and whether a finished job has an
adapter to download (the job's ``has_adapter``: prompt tuning saves one, full fine-tuning does not)."""

from __future__ import annotations

import pytest

from tests.browser.panel import PANEL, choose, open_panel

pytestmark = pytest.mark.browser

# The page shows the recorded run (already done) until the new job's badge replaces it.
OWN_RUN_DONE = (
    f"document.querySelector('{PANEL} .panel-badge')?.textContent.includes('Live run') && "
    f"document.querySelector('{PANEL} [data-stat=state]')?.textContent === 'done'"
)
# [hidden, plots] of the ΔW cell and of the soft-prompt cell
GEOMETRY_CELLS = (
    f"[...document.querySelectorAll('{PANEL} .plot-cell')[1].children]"
    ".map(c => [c.hidden, c.querySelectorAll('.plot').length])"
)


@pytest.mark.parametrize(
    ("method", "soft_prompt", "adapter"), [("prompt", True, True), ("full", False, False)]
)
def test_chart_and_adapter_follow_the_api(page, method: str, soft_prompt: bool, adapter: bool) -> None:
    open_panel(page)
    choose(page, "tiny-llama", method, "tone")
    page.fill(f"{PANEL} input[name=steps]", "3")
    page.get_by_role("button", name="Start training").click()
    page.wait_for_function("new URLSearchParams(location.search).has('job')", timeout=30_000)
    page.wait_for_function(OWN_RUN_DONE, timeout=120_000)
    page.wait_for_selector(f"{PANEL} .generate-box", timeout=10_000)  # shown once the job has been asked
    (spectrum_hidden, _), (soft_hidden, soft_plots) = page.evaluate(GEOMETRY_CELLS)
    assert spectrum_hidden is soft_prompt and soft_hidden is not soft_prompt
    assert soft_plots == (1 if soft_prompt else 0)
    # The adapter's own link (a finished run may also offer its notebook, another download).
    assert (page.locator(f'{PANEL} a[download][href$="/adapter"]').count() == 1) is adapter
