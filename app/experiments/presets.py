"""The lesson's experiment presets: ``lessons/<slug>/experiments/*.yaml``, each a ``Preset`` (validated
like the quiz: a broken file fails loading with a message naming it), and the recorded class result
of each (``experiments/recorded/<id>.json``) for solo learners."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from app.experiments.spec import Preset

LESSONS_DIR = Path(__file__).resolve().parent.parent.parent / "lessons"
DEFAULT_LESSON = "fine-tuning-llms"


class PresetError(ValueError):
    """A preset file that does not validate; the message names the file and the problem."""


class UnknownPreset(KeyError):
    def __str__(self) -> str:
        return f"no experiment preset {self.args[0]!r}"


def experiments_dir(slug: str = DEFAULT_LESSON, root: Path = LESSONS_DIR) -> Path:
    return root / slug / "experiments"


def parse_preset(path: Path) -> Preset:
    """One preset file; its ``id`` must be its file name."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        preset = Preset.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise PresetError(f"{path.name}: {exc}") from None
    if preset.id != path.stem:
        raise PresetError(f"{path.name}: id {preset.id!r} differs from the file name")
    return preset


def load_presets(directory: Path) -> dict[str, Preset]:
    presets = {}
    for path in sorted(directory.glob("*.yaml")):
        preset = parse_preset(path)
        presets[preset.id] = preset
    return presets


@cache
def presets(slug: str = DEFAULT_LESSON) -> dict[str, Preset]:
    """The lesson's presets by id (read once)."""
    return load_presets(experiments_dir(slug))


def get_preset(preset_id: str, slug: str = DEFAULT_LESSON) -> Preset:
    try:
        return presets(slug)[preset_id]
    except KeyError:
        raise UnknownPreset(preset_id) from None


def recorded_result(preset_id: str, slug: str = DEFAULT_LESSON) -> dict[str, Any] | None:
    """The recorded class result of a preset (``scripts/record_experiment.py``), or None."""
    path = experiments_dir(slug) / "recorded" / f"{preset_id}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
