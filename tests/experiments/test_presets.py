"""Every preset file parses, names a real lesson section and trains real TrainConfigs; bad files and
bad custom specs are refused with a message naming the problem."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from app.experiments.presets import PresetError, experiments_dir, load_presets, parse_preset, presets
from app.experiments.spec import ExperimentSpec
from app.lesson.content import get_lesson
from app.training.methods import resolve_config
from app.training.train_config import TrainConfig

ISSUE_PRESETS = {"rank", "how-much-moves", "lr-lora-vs-full", "which-modules", "four-bit-base"}


def test_every_preset_file_parses_and_fits_the_lesson() -> None:
    found = load_presets(experiments_dir())
    assert set(found) == ISSUE_PRESETS
    sections = {s.id for s in get_lesson("fine-tuning-llms").sections}
    for preset in found.values():
        assert preset.section in sections, preset.id
        spec = preset.spec()
        for group in spec.series():
            for index in range(len(spec.values)):
                resolve_config(TrainConfig(**spec.setting(group, index)))  # ConfigError if it cannot train


def test_rank_preset_is_the_issues_grid() -> None:
    rank = presets()["rank"]
    assert rank.variable == "rank" and rank.values == [1, 2, 4, 8, 16, 32, 64]
    assert rank.fixed["target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert {"eval_loss", "effective_rank", "trainable_params", "wall_s"} <= set(rank.measures)


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("bad", {}, "id 'rank' differs from the file name"),
        ("rank", {"variable": "rnak"}, "unknown field 'rnak'"),
        ("rank", {"values": [1, 2, 4, 8, 999, 64]}, "rank = 999"),
        ("rank", {"values": [1, 8, 8, 64]}, "each value may appear once"),
        ("rank", {"primary": "metric"}, "'metric' is not one of the preset's measures"),
        ("rank", {"prediction": {"text": "?", "measure": "eval_loss", "a": 3, "b": 8}}, "choices"),
    ],
)
def test_a_bad_preset_file_is_refused_naming_the_problem(
    tmp_path: Path, name: str, change: dict, message: str
) -> None:
    data = yaml.safe_load((experiments_dir() / "rank.yaml").read_text())
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump({**data, **change}))
    with pytest.raises(PresetError, match=re.escape(message)):
        parse_preset(tmp_path / f"{name}.yaml")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"variable": "rnak", "values": [1]}, "variable", "unknown field 'rnak'"),
        ({"variable": "seed", "values": [1]}, "variable", "seed"),
        ({"variable": "lr", "values": [0.1, 2.0]}, "values[1]", "lr = 2.0"),
        ({"variable": "rank", "values": [4], "fixed": {"steps": 0}}, "steps", "steps = 0"),
        ({"variable": "rank", "values": [4], "fixed": {"rank": 2}}, "fixed", "cannot be fixed"),
        ({"variable": "rank", "values": [4], "fixed": {"colour": 1}}, "fixed", "unknown field 'colour'"),
    ],
)
def test_a_bad_custom_spec_names_the_field(body: dict, field: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ExperimentSpec.model_validate(body)
    error = caught.value.errors()[0]["ctx"]["error"]
    assert error.field == field
    assert message in str(error)


def test_a_preset_whose_values_change_keeps_its_question_and_predicts_on_its_own_ends() -> None:
    from app.experiments.service import ExperimentService

    spec = ExperimentSpec.model_validate({**presets()["rank"].spec().model_dump(), "values": [1, 2, 4]})
    prediction, question, primary = ExperimentService._framing(None, spec, "rank")  # type: ignore[arg-type]
    assert question == "Does rank matter?" and primary == "eval_loss"
    assert (prediction.a, prediction.b, prediction.measure) == (4, 1, "eval_loss")
    kept, _, _ = ExperimentService._framing(None, presets()["rank"].spec(), "rank")  # type: ignore[arg-type]
    assert kept == presets()["rank"].prediction
