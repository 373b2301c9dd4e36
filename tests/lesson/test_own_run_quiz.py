"""Questions about the student's own run: computed from real tiny-llama event streams, checked
against a second real run (the rank question) and against the events themselves, graded by the server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.cli import main
from app.lesson.own_run_quiz import RunNotFinished, grade_own_run, own_run_questions, public_questions
from app.lesson.quiz import Question, QuizAnswerError

TINY = ["train", "--model", "tiny-llama", "--method", "lora", "--task", "tone", "--batch-size", "2"]
TINY += [
    "--seq-len",
    "32",
    "--max-new-tokens",
    "4",
    "--steps",
    "6",
    "--eval-every",
    "2",
    "--spectrum-every",
    "3",
]


def run(capsys: pytest.CaptureFixture, *extra: str) -> list[dict[str, Any]]:
    assert main([*TINY, *extra, "--jsonl"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([*TINY, "--rank", "4", "--jsonl"]) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def right(question: Question) -> str:
    return next(c.text for c in question.choices if c.correct)


def test_the_rank_question_matches_a_real_run_at_twice_the_rank(events, capsys) -> None:
    questions = {q.id: q for q in own_run_questions("job-a", events)}
    assert 2 <= len(questions) <= 3 and "own-run-rank" in questions
    doubled = run(capsys, "--rank", "8")
    trained = next(e for e in doubled if e["type"] == "started")["trainable_params"]
    assert right(questions["own-run-rank"]) == f"{trained:,}"
    assert f"{trained:,}" in questions["own-run-rank"].explanation


def test_best_step_and_energy_are_read_from_the_events(events) -> None:
    questions = {q.id: q for q in own_run_questions("job-a", events)}
    evals = [(e["eval_loss"], e["step"]) for e in events if e["type"] == "eval"]
    assert right(questions["own-run-best-step"]) == f"step {min(evals)[1]}"
    spectrum = [e for e in events if e["type"] == "spectrum" and e.get("layers")][-1]
    layer = min(spectrum["layers"], key=lambda x: x["name"])
    if "own-run-energy" in questions:
        assert right(questions["own-run-energy"]) == str(layer["effective_rank"])
        assert layer["name"] in questions["own-run-energy"].text
    for q in questions.values():
        assert len({c.text for c in q.choices}) == len(q.choices) >= 3  # distinct choices


def test_graded_from_the_events_with_the_runs_numbers(events) -> None:
    questions = own_run_questions("job-a", events)
    answers = {q.id: next(c.id for c in q.choices if c.correct) for q in questions}
    result = grade_own_run("job-a", events, answers)
    assert result.score == result.total == len(questions)
    wrong = {q.id: next(c.id for c in q.choices if not c.correct) for q in questions}
    assert grade_own_run("job-a", events, wrong).score == 0
    with pytest.raises(QuizAnswerError):
        grade_own_run("job-a", events, {"own-run-rank": "cffffffffff"})
    # choice ids hash the job: another job's ids do not carry over
    other = {q.id: [c.id for c in q.choices] for q in own_run_questions("job-b", events)}
    assert all(set(other[q.id]).isdisjoint(c.id for c in q.choices) for q in questions)


def test_public_questions_hide_the_answer_and_unfinished_runs_have_none(events) -> None:
    public = public_questions("job-a", events, "seed")
    assert public and all(set(c) == {"id", "text"} for q in public for c in q["choices"])
    with pytest.raises(RunNotFinished):
        own_run_questions("job-a", events[:-1])
