"""A class's quiz results: per-question statistics for the dashboard and the per-student CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from pydantic import BaseModel

from app.classroom.service import Member
from app.lesson.quiz import PublicQuestion


class WrongChoice(BaseModel):
    choice_id: str
    text: str
    count: int


class QuestionStats(BaseModel):
    id: str
    text: str
    answered: int
    correct: int
    share_correct: float | None  # None until someone answers
    top_wrong: WrongChoice | None  # the most chosen wrong answer (ties: the first choice listed)


def question_stats(
    questions: Sequence[PublicQuestion], counts: Sequence[tuple[str, str, bool, int]]
) -> list[QuestionStats]:
    """``counts``: (question id, choice id, correct, students) as ``ClassroomService.answer_counts`` gives."""
    by_question: dict[str, list[tuple[str, bool, int]]] = {}
    for question_id, choice_id, correct, n in counts:
        by_question.setdefault(question_id, []).append((choice_id, correct, n))
    stats = []
    for question in questions:
        rows = by_question.get(question.id, [])
        answered = sum(n for _, _, n in rows)
        right = sum(n for _, ok, n in rows if ok)
        wrong = {choice: n for choice, ok, n in rows if not ok}
        top = None
        if wrong:
            order = {c.id: i for i, c in enumerate(question.choices)}
            choice_id = min(wrong, key=lambda c: (-wrong[c], order.get(c, len(order)), c))
            text = next((c.text for c in question.choices if c.id == choice_id), choice_id)
            top = WrongChoice(choice_id=choice_id, text=text, count=wrong[choice_id])
        stats.append(
            QuestionStats(
                id=question.id,
                text=question.text,
                answered=answered,
                correct=right,
                share_correct=round(right / answered, 4) if answered else None,
                top_wrong=top,
            )
        )
    return stats


def _cell(text: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: a nickname must stay text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def results_csv(
    questions: Sequence[PublicQuestion],
    members: Sequence[Member],
    answers: dict[str, dict[str, bool]],
    runs: dict[str, int],
    anonymous: bool,
) -> str:
    """One row per student: nickname (or 'Student N' in anonymous classes), score, answered, one
    column per question (1 right, 0 wrong, empty unanswered), runs started."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["nickname", "score", "answered", *[q.id for q in questions], "runs_started"])
    for member in members:
        mine = answers.get(member.id, {})
        marks = ["" if q.id not in mine else int(mine[q.id]) for q in questions]
        score = sum(1 for q in questions if mine.get(q.id))
        answered = sum(1 for q in questions if q.id in mine)
        writer.writerow([_cell(member.shown_as(anonymous)), score, answered, *marks, runs.get(member.id, 0)])
    return out.getvalue()
