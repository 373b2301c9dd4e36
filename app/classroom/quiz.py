"""The lesson quiz as the classroom needs it: the questions (for labels and CSV columns) and grading
that also says which choice each student picked. Content and grading belong to ``app.lesson``."""

from __future__ import annotations

from typing import Any

from app.classroom.service import Answer
from app.lesson import content
from app.lesson.quiz import PublicQuestion, QuizResult


def questions(slug: str) -> list[PublicQuestion]:
    """The quiz of lesson ``slug`` without answers, then one column per kind of question about a
    student's own run (each student's numbers differ; right or wrong is what the class sees).
    KeyError for an unknown lesson."""
    from app.lesson.own_run_quiz import OWN_RUN_TEXT

    own = [PublicQuestion(id=qid, text=text, choices=[], section="") for qid, text in OWN_RUN_TEXT.items()]
    return [*content.public_quiz(slug).questions, *own]


def grade(slug: str, answers: dict[str, str]) -> tuple[dict[str, Any], list[Answer]]:
    """(the lesson's grading result as the quiz route returns it, the answers to record). Answers to
    questions the quiz does not have are not recorded (``grade`` decides what it accepts)."""
    result = content.grade(slug, answers)
    return result.model_dump(mode="json"), graded_answers(answers, result)


def graded_answers(answers: dict[str, str], result: QuizResult) -> list[Answer]:
    """Pair each graded question with the choice that was submitted for it."""
    return [
        Answer(question_id=item.id, choice_id=answers[item.id], correct=item.correct)
        for item in result.results
        if item.id in answers
    ]
