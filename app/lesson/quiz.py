"""The lesson quiz: its file's model (``quiz.yaml``: questions, 3–4 choices with exactly one correct,
an explanation), the public view a student gets (no answers, choices in a stable order of their own)
and grading. Loaded and looked up by slug through ``app.lesson.content``."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from pydantic import BaseModel, Field, model_validator

from app.lesson.files import Id, LessonError, Strict, Text, fill_all, no_duplicates, read_yaml, validated


class QuizAnswerError(ValueError):
    """Answers naming questions or choices the quiz does not have: ``problems`` is [(question id, msg)]."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(msg for _, msg in problems))
        self.problems = problems


class Choice(Strict):
    id: Id
    text: Text
    correct: bool = False


class Question(Strict):
    id: Id
    text: Text
    section: Id
    choices: list[Choice] = Field(min_length=3, max_length=4)
    explanation: Text
    practice: bool = False  # one of the lesson's practice questions
    figure: Id | None = None  # a widget id: answered by reading that figure, not the question text

    @model_validator(mode="after")
    def _one_correct(self) -> Question:
        no_duplicates(f"choice of question {self.id!r}", [c.id for c in self.choices])
        right = [c.id for c in self.choices if c.correct]
        if len(right) != 1:
            raise ValueError(f"question {self.id!r} needs exactly one correct choice, has {len(right)}")
        return self


class Quiz(Strict):
    questions: list[Question] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _unique(self) -> Quiz:
        no_duplicates("question", [q.id for q in self.questions])
        return self


class PublicChoice(BaseModel):
    id: str
    text: str


class PublicQuestion(BaseModel):
    id: str
    text: str
    choices: list[PublicChoice]
    section: str
    figure: str | None = Field(None, description="the widget whose figure the answer is read from")


class PublicQuiz(BaseModel):
    questions: list[PublicQuestion]


class QuestionResult(BaseModel):
    id: str
    correct: bool
    answered: bool = Field(description="false when the question was skipped")
    answer: str = Field(description="id of the right choice (shown after grading)")
    explanation: str
    section: str


class QuizResult(BaseModel):
    score: int
    total: int
    results: list[QuestionResult]


def read_quiz(folder: Path, section_ids: set[str]) -> Quiz:
    """A lesson folder's ``quiz.yaml``, figures filled in; each question links to one of ``section_ids``."""
    path = folder / "quiz.yaml"
    quiz = validated(Quiz, fill_all(read_yaml(path), str(path)), path)
    for question in quiz.questions:
        if question.section not in section_ids:
            raise LessonError(
                f"{path}: question {question.id!r} links to unknown section {question.section!r}"
            )
    return quiz


def public_view(quiz: Quiz, seed: str = "") -> PublicQuiz:
    """The quiz as a student sees it: no correct flags, no explanations, and the choices in an order
    of this ``seed``'s own (the same student sees the same order every time; grading goes by choice id,
    so the order never matters to the score). In every student's order each position holds the right
    answer equally often, give or take one (``balanced_orders``)."""
    orders = balanced_orders(quiz.questions, seed)
    return PublicQuiz(
        questions=[
            PublicQuestion(
                id=q.id,
                text=q.text,
                section=q.section,
                figure=q.figure,
                choices=[PublicChoice(id=c.id, text=c.text) for c in orders[q.id]],
            )
            for q in quiz.questions
        ]
    )


def balanced_orders(questions: list[Question], seed: str) -> dict[str, list[Choice]]:
    """Each question's choices in a seeded order whose right answers are spread evenly over the
    positions: questions with fewer choices are placed first, each at a least-used position it has
    (ties drawn at random), so the counts per position differ by at most one whenever the questions
    allow it. Deterministic per ``seed``; no global random state."""
    rng = random.Random(hashlib.sha256(f"quiz-order:{seed}".encode()).digest())
    draw = {q.id: rng.random() for q in questions}
    counts: dict[int, int] = {}
    orders: dict[str, list[Choice]] = {}
    for q in sorted(questions, key=lambda q: (len(q.choices), draw[q.id])):
        places = range(len(q.choices))
        fewest = min(counts.get(p, 0) for p in places)
        place = rng.choice([p for p in places if counts.get(p, 0) == fewest])
        counts[place] = counts.get(place, 0) + 1
        right = next(c for c in q.choices if c.correct)
        others = [c for c in q.choices if not c.correct]
        rng.shuffle(others)
        orders[q.id] = [*others[:place], right, *others[place:]]
    return orders


def grade_answers(quiz: Quiz, answers: dict[str, str], slug: str) -> QuizResult:
    """Score ``{question id: choice id}`` against the quiz of lesson ``slug``. Every question gets a
    result; an unanswered one is wrong. ``QuizAnswerError`` names every unknown question or choice id
    (nothing is graded then)."""
    by_id = {q.id: q for q in quiz.questions}
    problems = []
    for question_id, choice_id in answers.items():
        question = by_id.get(question_id)
        if question is None:
            problems.append((question_id, f"no question {question_id!r} in the quiz of {slug!r}"))
        elif choice_id not in {c.id for c in question.choices}:
            problems.append((question_id, f"question {question_id!r} has no choice {choice_id!r}"))
    if problems:
        raise QuizAnswerError(problems)
    results = []
    for q in quiz.questions:
        right = next(c.id for c in q.choices if c.correct)
        results.append(
            QuestionResult(
                id=q.id,
                correct=answers.get(q.id) == right,
                answered=q.id in answers,
                answer=right,
                explanation=q.explanation,
                section=q.section,
            )
        )
    return QuizResult(score=sum(r.correct for r in results), total=len(results), results=results)
