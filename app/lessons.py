"""Lessons and their quizzes: data under ``lessons/<slug>/``, validated by pydantic, rendered once.

A lesson folder holds ``lesson.yaml`` (title, summary, the section ids in order), one
``sections/<id>.md`` per section (a YAML front matter with ``title`` and ``widgets``, then markdown)
and ``quiz.yaml``. Markdown is rendered with raw HTML disabled, so anything in the text is escaped.
``{{ name }}`` in the text is a figure from ``app.lesson_figures`` (computed, never typed in).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import yaml
from markdown_it import MarkdownIt
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from app.lesson_figures import lesson_figures

LESSONS_DIR = Path(__file__).resolve().parent.parent / "lessons"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
WORDS_PER_MINUTE = 238  # silent reading of non-fiction in English (Brysbaert 2019, a meta-analysis)
WidgetId = Literal[
    "lora-explorer", "memory-calculator", "spectrum-live", "soft-prompt-3d", "trainable-share", "live-panel",
    "compare", "adapter-lab",
]  # fmt: skip
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
FIGURE = re.compile(r"\{\{\s*([a-z0-9_]+)\s*\}\}")
WORDLIKE = re.compile(r"[^\W_]")
M = TypeVar("M", bound=BaseModel)
HEADING = re.compile(r"^ {0,3}#{1,2}\s", re.MULTILINE)
# A "go deeper" fold: a line "::: deeper Title", markdown, then a line ":::". Rendered as a native
# <details> (closed, keyboard-operable) with id "<section>-deeper-<n>"; its words are not in the core count.
DEEPER = re.compile(r"^::: deeper (?P<title>[^\n]+)\n(?P<body>.*?)\n:::[ \t]*$", re.MULTILINE | re.DOTALL)


class LessonError(ValueError):
    """A lesson file that does not validate; the message names the file."""


class UnknownLessonError(KeyError):
    def __init__(self, slug: str) -> None:
        super().__init__(slug)
        self.slug = slug

    def __str__(self) -> str:
        return f"no lesson called {self.slug!r}"


class QuizAnswerError(ValueError):
    """Answers naming questions or choices the quiz does not have: ``problems`` is [(question id, msg)]."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(msg for _, msg in problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- files -------------------------------------------------------------------------------------


class LessonIndex(_Strict):
    """``lesson.yaml``."""

    title: Title
    summary: Text
    sections: list[Id] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _unique(self) -> LessonIndex:
        _no_duplicates("section", self.sections)
        return self


class FrontMatter(_Strict):
    title: Title
    widgets: list[WidgetId] = Field(default_factory=list, max_length=4)

    @model_validator(mode="after")
    def _unique(self) -> FrontMatter:
        _no_duplicates("widget", self.widgets)
        return self


class Choice(_Strict):
    id: Id
    text: Text
    correct: bool = False


class Question(_Strict):
    id: Id
    text: Text
    section: Id
    choices: list[Choice] = Field(min_length=3, max_length=4)
    explanation: Text
    practice: bool = False  # one of the lesson's practice questions
    figure: WidgetId | None = None  # answered by reading this widget's figure, not the question text

    @model_validator(mode="after")
    def _one_correct(self) -> Question:
        _no_duplicates(f"choice of question {self.id!r}", [c.id for c in self.choices])
        right = [c.id for c in self.choices if c.correct]
        if len(right) != 1:
            raise ValueError(f"question {self.id!r} needs exactly one correct choice, has {len(right)}")
        return self


class Quiz(_Strict):
    questions: list[Question] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _unique(self) -> Quiz:
        _no_duplicates("question", [q.id for q in self.questions])
        return self


def _no_duplicates(what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{what} {item!r} appears twice")
        seen.add(item)


# --- what the API serves ----------------------------------------------------------------------


class Section(BaseModel):
    id: str
    title: str
    html: str
    widgets: list[str]
    minutes: int = Field(description="reading time of the core text (folds excluded)")
    core_words: int = Field(description="words of the core path: the text outside the go-deeper folds")
    deeper_words: int = Field(description="words inside the section's go-deeper folds")


class Lesson(BaseModel):
    slug: str
    title: str
    summary: str
    minutes: int = Field(description="reading time of the core path (go-deeper folds excluded)")
    core_words: int
    sections: list[Section]


class LessonSummary(BaseModel):
    slug: str
    title: str
    summary: str
    minutes: int
    sections: int


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


# --- loading ----------------------------------------------------------------------------------

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render_markdown(text: str) -> str:
    """Markdown to HTML with raw HTML disabled: ``<script>`` in the text comes out as ``&lt;script&gt;``."""
    return _markdown.render(text)


def fill_figures(text: str, where: str, figures: dict[str, str] | None = None) -> str:
    """Replace each ``{{ name }}`` by the calculator's figure; an unknown name is an error."""
    figures = lesson_figures() if figures is None else figures

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in figures:
            raise LessonError(f"{where}: unknown figure {{{{ {name} }}}}")
        return figures[name]

    return FIGURE.sub(one, text)


def _fill_all(data: object, where: str) -> object:
    """``fill_figures`` on every string of parsed YAML (ids contain no braces, so only text changes)."""
    if isinstance(data, str):
        return fill_figures(data, where)
    if isinstance(data, list):
        return [_fill_all(item, where) for item in data]
    if isinstance(data, dict):
        return {key: _fill_all(value, where) for key, value in data.items()}
    return data


def count_words(text: str) -> int:
    """Whitespace-separated tokens with a letter or digit in them (table pipes and dashes are not words)."""
    return sum(1 for token in text.split() if WORDLIKE.search(token))


def reading_minutes(words: int) -> int:
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LessonError(f"{path}: {exc}") from exc


def _validated(model: type[M], data: object, path: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise LessonError(f"{path}: {exc}") from exc


def split_front_matter(text: str, path: Path) -> tuple[object, str]:
    match = re.match(r"\A---\n(.*?)\n---\n(.*)\Z", text, re.DOTALL)
    if not match:
        raise LessonError(f"{path}: must start with a front matter between two '---' lines")
    try:
        return yaml.safe_load(match.group(1)), match.group(2)
    except yaml.YAMLError as exc:
        raise LessonError(f"{path}: {exc}") from exc


def split_folds(body: str) -> tuple[str, list[tuple[str, str]]]:
    """The core text (each fold replaced by a marker line) and the folds as [(title, markdown)]."""
    folds: list[tuple[str, str]] = []

    def one(match: re.Match[str]) -> str:
        folds.append((match.group("title").strip(), match.group("body")))
        return f"\n\x00fold{len(folds) - 1}\x00\n"

    core = DEEPER.sub(one, body)
    if re.search(r"^:::", core, re.MULTILINE):
        raise ValueError("an unclosed or malformed '::: deeper' fold")
    return core, folds


def render_with_folds(body: str, section_id: str) -> tuple[str, int, int]:
    """Markdown with go-deeper folds → (HTML, core words, fold words). Each fold is a closed
    ``<details id="<section>-deeper-<n>">`` whose summary reads "Go deeper: <title>"."""
    core, folds = split_folds(body)
    parts = re.split(r"\n\x00fold(\d+)\x00\n", core)
    html_parts = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            html_parts.append(render_markdown(part))
            continue
        number = int(part)
        title, text = folds[number]
        html_parts.append(
            f'<details class="deeper" id="{section_id}-deeper-{number + 1}">'
            f"<summary>Go deeper: {escape(title)}</summary>\n{render_markdown(text)}</details>\n"
        )
    core_words = count_words(" ".join(parts[0::2]))
    fold_words = sum(count_words(f"{title} {text}") for title, text in folds)
    return "".join(html_parts), core_words, fold_words


def load_section(path: Path, section_id: str) -> tuple[Section, int]:
    """One section file → (the rendered section, its core word count)."""
    meta_data, body = split_front_matter(path.read_text(encoding="utf-8"), path)
    meta = _validated(FrontMatter, meta_data, path)
    if HEADING.search(body):
        raise LessonError(f"{path}: use ### or deeper headings; the section title is the ## heading")
    body = fill_figures(body, str(path))
    try:
        html, words, fold_words = render_with_folds(body, section_id)
    except ValueError as exc:
        raise LessonError(f"{path}: {exc}") from exc
    section = Section(
        id=section_id,
        title=meta.title,
        html=html,
        widgets=list(meta.widgets),
        minutes=reading_minutes(words),
        core_words=words,
        deeper_words=fold_words,
    )
    return section, words


def load_lesson(folder: Path) -> Lesson:
    slug = folder.name
    if not re.match(SLUG_PATTERN, slug):
        raise LessonError(f"{folder}: the folder name is the slug and must match {SLUG_PATTERN}")
    index = _validated(LessonIndex, _read_yaml(folder / "lesson.yaml"), folder / "lesson.yaml")
    section_dir = folder / "sections"
    unlisted = {p.stem for p in section_dir.glob("*.md")} - set(index.sections)
    if unlisted:
        raise LessonError(f"{section_dir}: files not listed in lesson.yaml: {sorted(unlisted)}")
    sections, words = [], 0
    for section_id in index.sections:
        path = section_dir / f"{section_id}.md"
        if not path.is_file():
            raise LessonError(f"{folder / 'lesson.yaml'}: section {section_id!r} has no file {path}")
        section, count = load_section(path, section_id)
        sections.append(section)
        words += count
    return Lesson(
        slug=slug,
        title=index.title,
        summary=index.summary,
        minutes=reading_minutes(words),
        core_words=words,
        sections=sections,
    )


def load_quiz(folder: Path, lesson: Lesson) -> Quiz:
    path = folder / "quiz.yaml"
    raw = _read_yaml(path)
    quiz = _validated(Quiz, raw, path)
    section_ids = {s.id for s in lesson.sections}
    for question in quiz.questions:
        if question.section not in section_ids:
            raise LessonError(
                f"{path}: question {question.id!r} links to unknown section {question.section!r}"
            )
    return _validated(Quiz, _fill_all(raw, str(path)), path)


@lru_cache(maxsize=4)
def _catalog(root: Path) -> dict[str, tuple[Lesson, Quiz]]:
    catalog = {}
    for folder in sorted(p for p in root.iterdir() if (p / "lesson.yaml").is_file()):
        lesson = load_lesson(folder)
        catalog[lesson.slug] = (lesson, load_quiz(folder, lesson))
    return catalog


def _entry(slug: str, root: Path) -> tuple[Lesson, Quiz]:
    try:
        return _catalog(root)[slug]
    except KeyError:
        raise UnknownLessonError(slug) from None


def all_lessons(root: Path = LESSONS_DIR) -> list[Lesson]:
    return [lesson for lesson, _ in _catalog(root).values()]


def lesson_summaries(root: Path = LESSONS_DIR) -> list[LessonSummary]:
    return [
        LessonSummary(
            slug=x.slug, title=x.title, summary=x.summary, minutes=x.minutes, sections=len(x.sections)
        )
        for x in all_lessons(root)
    ]


def get_lesson(slug: str, root: Path = LESSONS_DIR) -> Lesson:
    """The rendered lesson; ``UnknownLessonError`` (a KeyError) when there is none of that slug."""
    return _entry(slug, root)[0]


def get_quiz(slug: str, root: Path = LESSONS_DIR) -> Quiz:
    """The quiz with its answers (for grading, never for the browser)."""
    return _entry(slug, root)[1]


def public_quiz(slug: str, seed: str = "", root: Path = LESSONS_DIR) -> PublicQuiz:
    """The quiz as a student sees it: no correct flags, no explanations, and the choices in an order
    of this ``seed``'s own (the same student sees the same order every time; grading goes by choice id,
    so the order never matters to the score). In every student's order each position holds the right
    answer equally often, give or take one (``balanced_orders``)."""
    questions = get_quiz(slug, root).questions
    orders = balanced_orders(questions, seed)
    return PublicQuiz(
        questions=[
            PublicQuestion(
                id=q.id,
                text=q.text,
                section=q.section,
                figure=q.figure,
                choices=[PublicChoice(id=c.id, text=c.text) for c in orders[q.id]],
            )
            for q in questions
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


def grade(slug: str, answers: dict[str, str], root: Path = LESSONS_DIR) -> QuizResult:
    """Score ``{question id: choice id}``. Every question gets a result; an unanswered one is wrong.

    Raises ``UnknownLessonError`` for an unknown slug and ``QuizAnswerError`` naming every unknown
    question or choice id (nothing is graded then).
    """
    quiz = get_quiz(slug, root)
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
