"""Every quiz question's feedback, read as the student reads it: right, wrong and skipped answers,
none with a stray "null" or "undefined" from an absent part nor a doubled full stop (issue 21, point 1)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.browser.conftest import LESSON, open_lesson

pytestmark = pytest.mark.browser

# No word boundary at the end: the bug printed "nullLoRA bets…".
STRAY = re.compile(r"(?<![A-Za-z])(null|undefined|NaN)|\[object|\.\.(?!\.)")


def check(page) -> list[dict]:
    page.get_by_role("button", name="Check my answers").click()
    page.wait_for_function("document.querySelector('#quiz .score').textContent.startsWith('You got')")
    return page.eval_on_selector_all(
        "#quiz fieldset",
        """sets => sets.map(s => ({ id: s.dataset.question, text: s.querySelector('.result').innerText,
               kind: s.querySelector('.result').className,
               answer: s.querySelector('label.is-answer input')?.value }))""",
    )


def test_no_stray_text_in_any_feedback(page, base_url: str) -> None:
    quiz = httpx.get(f"{base_url}/api/lessons/{LESSON}/quiz", timeout=10).json()
    questions = quiz["questions"]
    open_lesson(page)
    page.wait_for_selector("#quiz fieldset")
    # Pass 1: the last question skipped, the rest answered with a choice that is not the first
    # (some wrong): every wrong and skipped feedback.
    for question in questions[:-1]:
        page.locator(f"#quiz fieldset[data-question='{question['id']}'] input[type=radio]").last.check()
    first = check(page)
    assert len(first) == len(questions)
    assert any("wrong" in r["kind"] for r in first) and "skipped" in first[-1]["kind"]
    answers = {r["id"]: r["answer"] for r in first}
    assert all(answers.values()), "every question marks its right choice"
    # Pass 2: every question answered right: every "✓ Correct." feedback.
    page.get_by_role("button", name="Try again").click()
    for question in questions:
        page.locator(
            f"#quiz fieldset[data-question='{question['id']}'] input[value='{answers[question['id']]}']"
        ).check()
    second = check(page)
    total = len(questions)
    assert page.locator("#quiz .score").inner_text().startswith(f"You got {total} of {total}")
    assert all("correct" in r["kind"] for r in second)
    for r in first + second:
        assert not STRAY.search(r["text"]), f"{r['id']}: {r['text']!r}"
        # the verdict, then the explanation straight after it
        assert re.match(r"^[✓✗–] (Correct|Not quite|Skipped)\. \S", r["text"]), r["text"]
