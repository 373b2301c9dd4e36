"""Questions about one's own run, in a real browser: start a tiny-llama run in the live panel, let it
finish, answer the questions the quiz then adds, and get them graded from the run's stored events."""

from __future__ import annotations

import httpx
import pytest

from app.lesson.own_run_quiz import own_run_questions
from tests.browser.test_live_panel import PANEL, choose, open_panel

pytestmark = pytest.mark.browser
OWN = "#quiz .own-run-quiz"


def test_finished_run_brings_questions_graded_from_its_events(page, base_url: str) -> None:
    open_panel(page)
    choose(page, "tiny-llama", "lora", "tone")
    page.fill(f"{PANEL} input[name=steps]", "6")
    page.get_by_role("button", name="Start training").click()
    page.wait_for_function("new URLSearchParams(location.search).has('job')", timeout=30_000)
    job_id = page.evaluate("new URLSearchParams(location.search).get('job')")
    page.wait_for_function(
        f"document.querySelector('{PANEL} [data-stat=state]')?.textContent === 'done'", timeout=240_000
    )
    page.wait_for_selector(f"{OWN} fieldset", timeout=30_000)
    assert job_id in page.locator(OWN).inner_text()

    events = httpx.get(f"{base_url}/api/jobs/{job_id}/events?after=0", timeout=10).json()
    truth = own_run_questions(job_id, events)  # what the server computes from the same events
    assert 2 <= len(truth) <= 3 and page.locator(f"{OWN} fieldset").count() == len(truth)
    wrong_one = truth[0].id
    for question in truth:
        pick = next(c for c in question.choices if c.correct != (question.id == wrong_one))
        page.locator(f"{OWN} fieldset[data-question='{question.id}'] input[value='{pick.id}']").check()
    page.locator(OWN).get_by_role("button", name="Check my answers").click()
    page.wait_for_function(f"document.querySelector('{OWN} .score').textContent.startsWith('You got')")
    assert page.locator(f"{OWN} .score").inner_text().startswith(f"You got {len(truth) - 1} of {len(truth)}")
    started = next(e for e in events if e["type"] == "started")
    shown = page.locator(f"{OWN} .result").all_inner_texts()
    # the run's own numbers are in the explanations
    assert any(f"{started['trainable_params']:,}" in text for text in shown), shown
    assert page.locator(f"{OWN} .result.wrong").count() == 1
