"""The live panel's status line during a real run (tiny-llama LoRA started from the page): every
stage is named in words, the status and the step count agree at every event, and the time left
never reads 0.0 s while work remains (issue 21, points 3 and 4)."""

from __future__ import annotations

import re

import pytest

from tests.browser.panel import PANEL, choose, open_panel

pytestmark = pytest.mark.browser

# Every change of the status line or the stats, as the student saw them together.
WATCH = f"""() => {{
  window.__seen = [];
  const panel = document.querySelector('{PANEL}');
  const read = () => window.__seen.push({{
    status: panel.querySelector('.status-line').textContent,
    step: panel.querySelector('[data-stat=step]').textContent,
    eta: panel.querySelector('[data-stat=eta]').textContent,
    state: panel.querySelector('[data-stat=state]').textContent }});
  new MutationObserver(read).observe(panel, {{ subtree: true, childList: true, characterData: true }});
}}"""
STEPS = 12  # the default schedule: held-out loss at steps 10 and 12, spectra at 5, 10 and 12


def test_status_names_each_stage_and_agrees_with_the_step_count(page) -> None:
    open_panel(page)
    choose(page, "tiny-llama", "lora", "tone")
    page.fill(f"{PANEL} input[name=steps]", str(STEPS))
    page.evaluate(WATCH)
    page.get_by_role("button", name="Start training").click()
    # (the recorded run shown before Start is "done" too: wait for this run's end)
    page.wait_for_function("new URLSearchParams(location.search).has('job')", timeout=30_000)
    page.wait_for_function(
        f"""document.querySelector('{PANEL} [data-stat=state]')?.textContent === 'done'
            && document.querySelector('{PANEL} [data-stat=step]')?.textContent === '{STEPS} / {STEPS}'""",
        timeout=300_000,
    )
    seen = page.evaluate("window.__seen")
    statuses = [s["status"] for s in seen]
    assert any("Measuring the held-out loss before training" in s for s in statuses)
    assert any("Writing the tuned model's answers" in s for s in statuses)
    assert statuses[-1].startswith("Done")
    for s in seen:
        text = s["status"]
        assert not re.search(r"Loading (copying|method|step-0|tuned|base)|Preparing \(", text), text
        assert not re.search(r"\b(null|undefined|NaN)\b", text), text
        training = re.match(r"Training: step (\d+) of (\d+)", text)
        if training:
            assert s["step"] == f"{training.group(1)} / {training.group(2)}", s
            assert s["state"] == "running", s
        if s["state"] != "done":
            assert s["eta"] != "0.0 s", s
    # The pause for the held-out loss mid-run is named, not left as a silent stall.
    assert any(re.match(rf"Training: step (10|{STEPS}) of {STEPS} done; measuring", s) for s in statuses)
    at_last = [s for s in seen if s["step"] == f"{STEPS} / {STEPS}" and s["state"] == "running"]
    assert at_last and all(s["eta"] not in ("–", "0.0 s") for s in at_last), at_last
