"""Lessons and their quizzes: data under ``lessons/<slug>/``, validated by pydantic, rendered once.

A lesson folder holds ``lesson.yaml`` (title, summary, the section ids in order), one
``sections/<id>.md`` per section (a YAML front matter with ``title`` and ``widgets``, then markdown)
and ``quiz.yaml``. Markdown is rendered with raw HTML disabled, so anything in the text is escaped.
``{{ name }}`` in the text is a figure from ``app.lesson.figures`` (computed, never typed in).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Literal

import yaml
from markdown_it import MarkdownIt
from pydantic import BaseModel, Field, model_validator

from app.lesson.files import (
    Id,
    LessonError,
    Strict,
    Text,
    Title,
    fill_figures,
    no_duplicates,
    read_yaml,
    validated,
)
from app.lesson.paths import LESSONS_DIR
from app.lesson.quiz import (
    PublicQuiz,
    Quiz,
    QuizResult,
    grade_answers,
    public_view,
    read_quiz,
)

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
WORDS_PER_MINUTE = 238  # silent reading of non-fiction in English (Brysbaert 2019, a meta-analysis)
WidgetId = Literal[
    "lora-explorer",
    "memory-calculator",
    "spectrum-live",
    "soft-prompt-3d",
    "trainable-share",
    "live-panel",
    "compare",
    "adapter-lab",
]
WORDLIKE = re.compile(r"[^\W_]")
HEADING = re.compile(r"^ {0,3}#{1,2}\s", re.MULTILINE)
# A "go deeper" fold: a line "::: deeper Title", markdown, then a line ":::". Rendered as a native
# <details> (closed, keyboard-operable) with id "<section>-deeper-<n>"; its words are not in the core count.
DEEPER = re.compile(r"^::: deeper (?P<title>[^\n]+)\n(?P<body>.*?)\n:::[ \t]*$", re.MULTILINE | re.DOTALL)


class UnknownLessonError(KeyError):
    def __init__(self, slug: str) -> None:
        super().__init__(slug)
        self.slug = slug

    def __str__(self) -> str:
        return f"no lesson called {self.slug!r}"


# --- files -------------------------------------------------------------------------------------


class LessonIndex(Strict):
    """``lesson.yaml``."""

    title: Title
    summary: Text
    sections: list[Id] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _unique(self) -> LessonIndex:
        no_duplicates("section", self.sections)
        return self


class FrontMatter(Strict):
    title: Title
    widgets: list[WidgetId] = Field(default_factory=list, max_length=4)

    @model_validator(mode="after")
    def _unique(self) -> FrontMatter:
        no_duplicates("widget", self.widgets)
        return self


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


# --- loading ----------------------------------------------------------------------------------

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render_markdown(text: str) -> str:
    """Markdown to HTML with raw HTML disabled: ``<script>`` in the text comes out as ``&lt;script&gt;``."""
    return _markdown.render(text)


def count_words(text: str) -> int:
    """Whitespace-separated tokens with a letter or digit in them (table pipes and dashes are not words)."""
    return sum(1 for token in text.split() if WORDLIKE.search(token))


def reading_minutes(words: int) -> int:
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


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
    meta = validated(FrontMatter, meta_data, path)
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
    index = validated(LessonIndex, read_yaml(folder / "lesson.yaml"), folder / "lesson.yaml")
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
    """The quiz of a lesson folder, each question linked to one of ``lesson``'s sections."""
    return read_quiz(folder, {section.id for section in lesson.sections})


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
    """The quiz of ``slug`` as a student sees it (``quiz.public_view``)."""
    return public_view(get_quiz(slug, root), seed)


def grade(slug: str, answers: dict[str, str], root: Path = LESSONS_DIR) -> QuizResult:
    """Grade answers to the quiz of ``slug``: ``UnknownLessonError`` for an unknown slug, else
    ``quiz.grade_answers``."""
    return grade_answers(get_quiz(slug, root), answers, slug)
