"""The lesson quiz as the classroom needs it: the questions (for labels and CSV columns) and grading
that also says which choice each student picked. Content and grading belong to ``app.lessons``."""

from __future__ import annotations

from typing import Any

from app.classroom.results import QuizQuestion
from app.classroom.service import Answer


def _dump(obj: Any) -> Any:
    return obj.model_dump(mode="json") if hasattr(obj, "model_dump") else obj


def questions(slug: str) -> list[QuizQuestion]:
    """The quiz of lesson ``slug`` without answers, then one column per kind of question about a
    student's own run (each student's numbers differ; right or wrong is what the class sees).
    KeyError for an unknown lesson."""
    from app import lessons
    from app.own_run_quiz import OWN_RUN_TEXT

    quiz = _dump(lessons.public_quiz(slug))
    own = [QuizQuestion(id=qid, text=text, choices=[]) for qid, text in OWN_RUN_TEXT.items()]
    return [*(QuizQuestion.model_validate(q) for q in quiz["questions"]), *own]


def grade(slug: str, answers: dict[str, str]) -> tuple[dict[str, Any], list[Answer]]:
    """(the lesson's grading result as the quiz route returns it, the answers to record). Answers to
    questions the quiz does not have are not recorded (``grade`` decides what it accepts)."""
    from app import lessons

    result = _dump(lessons.grade(slug, answers))
    return result, graded_answers(answers, result)


def graded_answers(answers: dict[str, str], result: dict[str, Any]) -> list[Answer]:
    """Pair each graded question with the choice that was submitted for it."""
    recorded = []
    for item in result.get("results", []):
        question_id = str(item["id"])
        if question_id in answers:
            recorded.append(
                Answer(question_id=question_id, choice_id=answers[question_id], correct=bool(item["correct"]))
            )
    return recorded
