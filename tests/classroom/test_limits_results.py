"""Class limits, per-question statistics and the CSV export (pure functions)."""

from __future__ import annotations

import csv
import io

import pytest
from pydantic import ValidationError

from app.classroom.class_rules import ClassLimits, LimitExceeded, check_config, check_load
from app.classroom.codes import CODE_ALPHABET, new_code, normalise_code
from app.classroom.results import question_stats, results_csv
from app.classroom.service import Member
from app.lesson.quiz import PublicChoice as Choice
from app.lesson.quiz import PublicQuestion as QuizQuestion

LIMITS = ClassLimits(allowed_models=["tiny-llama"], allowed_methods=["lora"], max_steps=20)


def test_codes_avoid_lookalikes() -> None:
    codes = {new_code() for _ in range(500)}
    assert len(codes) == 500
    assert all(len(c) == 6 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("01OILS5") & set(CODE_ALPHABET)
    assert normalise_code(" k7m-xq4 ") == "K7MXQ4"


@pytest.mark.parametrize(
    ("model", "method", "steps", "field"),
    [
        ("smollm2-135m", "lora", 5, "model"),
        ("tiny-llama", "full", 5, "method"),
        ("tiny-llama", "lora", 21, "steps"),
    ],
)
def test_config_limits_name_the_field(model: str, method: str, steps: int, field: str) -> None:
    with pytest.raises(LimitExceeded) as exc:
        check_config(LIMITS, model, method, steps)
    assert exc.value.field == field and exc.value.status == 422
    assert field in str(exc.value) or repr(model) in str(exc.value) or repr(method) in str(exc.value)


def test_within_limits_and_training_off() -> None:
    check_config(LIMITS, "tiny-llama", "lora", 20)  # at the limit is allowed
    with pytest.raises(LimitExceeded) as exc:
        check_config(LIMITS.model_copy(update={"students_can_train": False}), "tiny-llama", "lora", 1)
    assert exc.value.status == 403


def test_load_limits() -> None:
    limits = ClassLimits(max_active_jobs=2, max_submissions=3, window_s=60)
    check_load(limits, active=1, recent=2, oldest_recent_at=100.0, now=110.0)
    with pytest.raises(LimitExceeded) as busy:
        check_load(limits, active=2, recent=2, oldest_recent_at=100.0, now=110.0)
    assert busy.value.status == 429 and "2 at once" in str(busy.value)
    with pytest.raises(LimitExceeded) as rate:
        check_load(limits, active=0, recent=3, oldest_recent_at=100.0, now=110.0)
    assert rate.value.status == 429 and rate.value.retry_after == 51  # the oldest leaves the window at 160


def test_limits_validation_names_bad_values() -> None:
    with pytest.raises(ValidationError, match="allowed_methods"):
        ClassLimits(allowed_methods=["lora", "magic"])
    with pytest.raises(ValidationError, match="max_steps"):
        ClassLimits(max_steps=0)
    with pytest.raises(ValidationError, match="allowed_models"):
        ClassLimits(allowed_models=["bad name!"])


QUESTIONS = [
    QuizQuestion(
        id="q1",
        text="One?",
        choices=[Choice(id="a", text="A"), Choice(id="b", text="B"), Choice(id="c", text="C")],
        section="s",
    ),
    QuizQuestion(
        id="q2", text="Two?", choices=[Choice(id="a", text="A"), Choice(id="b", text="B")], section="s"
    ),
    QuizQuestion(id="q3", text="Three?", choices=[Choice(id="a", text="A")], section="s"),
]


def test_question_stats() -> None:
    counts = [("q1", "a", True, 3), ("q1", "b", False, 2), ("q1", "c", False, 2), ("q2", "b", False, 1)]
    q1, q2, q3 = question_stats(QUESTIONS, counts)
    assert (q1.answered, q1.correct, q1.share_correct) == (7, 3, round(3 / 7, 4))
    assert (
        q1.top_wrong is not None and q1.top_wrong.choice_id == "b" and q1.top_wrong.count == 2
    )  # tie: listed first
    assert q1.top_wrong.text == "B"
    assert (q2.answered, q2.share_correct, q2.top_wrong.choice_id) == (1, 0.0, "b")  # type: ignore[union-attr]
    assert (q3.answered, q3.share_correct, q3.top_wrong) == (0, None, None)


def test_results_csv() -> None:
    members = [
        Member(id="m1", class_code="C", nickname="Ada", number=1, joined_at=0.0),
        Member(id="m2", class_code="C", nickname='=HYPERLINK("x")', number=2, joined_at=0.0),
        Member(id="m3", class_code="C", nickname='Zoë, "the" third', number=3, joined_at=0.0),
    ]
    answers = {"m1": {"q1": True, "q2": False}, "m3": {"q3": True}}
    text = results_csv(QUESTIONS, members, answers, {"m1": 2}, anonymous=False)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["nickname", "score", "answered", "q1", "q2", "q3", "runs_started"]
    assert rows[1] == ["Ada", "1", "2", "1", "0", "", "2"]
    assert rows[2] == ['\'=HYPERLINK("x")', "0", "0", "", "", "", "0"]  # stays text in a spreadsheet
    assert rows[3] == ['Zoë, "the" third', "1", "1", "", "", "1", "0"]
    hidden = list(csv.reader(io.StringIO(results_csv(QUESTIONS, members, answers, {}, anonymous=True))))
    assert [r[0] for r in hidden[1:]] == ["Student 1", "Student 2", "Student 3"]
