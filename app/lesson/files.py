"""Reading lesson files: YAML, validation into strict pydantic models (errors name the file), and
``{{ name }}`` figures filled in from ``app.lesson.figures`` (computed, never typed in)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from app.lesson.figures import lesson_figures

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
FIGURE = re.compile(r"\{\{\s*([a-z0-9_]+)\s*\}\}")
M = TypeVar("M", bound=BaseModel)


class LessonError(ValueError):
    """A lesson file that does not validate; the message names the file."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def no_duplicates(what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{what} {item!r} appears twice")
        seen.add(item)


def fill_figures(text: str, where: str, figures: dict[str, str] | None = None) -> str:
    """Replace each ``{{ name }}`` by the calculator's figure; an unknown name is an error."""
    figures = lesson_figures() if figures is None else figures

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in figures:
            raise LessonError(f"{where}: unknown figure {{{{ {name} }}}}")
        return figures[name]

    return FIGURE.sub(one, text)


def fill_all(data: object, where: str) -> object:
    """``fill_figures`` on every string of parsed YAML (ids contain no braces, so only text changes)."""
    if isinstance(data, str):
        return fill_figures(data, where)
    if isinstance(data, list):
        return [fill_all(item, where) for item in data]
    if isinstance(data, dict):
        return {key: fill_all(value, where) for key, value in data.items()}
    return data


def read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LessonError(f"{path}: {exc}") from exc


def validated(model: type[M], data: object, path: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise LessonError(f"{path}: {exc}") from exc
