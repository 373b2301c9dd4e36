"""What a class experiment varies and measures: one TrainConfig field over a list of values, the
settings held fixed, replicate seeds, and the measures to plot. A preset (lesson data) adds the
question it answers, the lesson section that raises it and the prediction students make first.

Every setting a cell would train is a real ``TrainConfig`` (its own limits), checked here, so a bad
value is refused when the experiment is made, naming the field and the limit.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.json_numbers import JsonNumbers
from app.training.train_config import TrainConfig

MEASURES: dict[str, str] = {
    "eval_loss": "held-out loss at the last evaluation",
    "metric": "the task's metric at the last evaluation",
    "degenerate": "share of held-out replies that loop (repeat themselves)",
    "effective_rank": "mean over the reported layers of the effective rank of ΔW (90% of its energy)",
    "trainable_params": "parameters the method trains",
    "trainable_pct": "trainable share of all parameters, %",
    "peak_memory_mb": "peak memory during training, MB",
    "wall_s": "seconds from the run's start to its end",
}
MeasureName = Literal[
    "eval_loss",
    "metric",
    "degenerate",
    "effective_rank",
    "trainable_params",
    "trainable_pct",
    "peak_memory_mb",
    "wall_s",
]
# Fields a cell gets from its place in the experiment, never from the spec's variable.
NOT_VARIABLE = frozenset({"seed"})
VARIABLES = tuple(name for name in TrainConfig.model_fields if name not in NOT_VARIABLE)
MAX_VALUES = 12
MAX_RUNS = 96

Scalar = int | float | str | bool
Value = Scalar | list[str]


class SpecError(ValueError):
    """A spec that does not validate; ``field`` names what to change (``variable``, ``values[2]``, ...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Group(BaseModel):
    """A series of the plot: the same values with other fixed settings (e.g. LoRA vs full)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1, max_length=40)
    set: dict[str, Any] = Field(default_factory=dict, description="settings this series changes")


class ExperimentSpec(JsonNumbers):
    """A custom experiment (the body an instructor posts) and the core of every preset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    variable: str = Field(
        description="the TrainConfig field that varies", json_schema_extra={"enum": list(VARIABLES)}
    )
    values: list[Value] = Field(min_length=1, max_length=MAX_VALUES, description="its values")
    fixed: dict[str, Any] = Field(default_factory=dict, description="TrainConfig settings held fixed")
    replicates: int = Field(1, ge=1, le=8, description="seeds per value (0, 1, ...)")
    measures: list[MeasureName] = Field(
        default_factory=lambda: ["eval_loss", "wall_s"], min_length=1, max_length=len(MEASURES)
    )
    groups: list[Group] | None = Field(None, max_length=4, description="series crossed with the values")
    also: list[dict[str, Any]] | None = Field(
        None, description="per value, extra settings (e.g. the rank that keeps parameter counts equal)"
    )

    @model_validator(mode="after")
    def _check(self) -> ExperimentSpec:
        check_spec(self)
        return self

    def series(self) -> list[Group]:
        return list(self.groups) if self.groups else [Group.model_construct(label="", set={})]

    def setting(self, group: Group, index: int) -> dict[str, Any]:
        """The TrainConfig settings of value ``index`` in ``group`` (seed and planned sizes not included)."""
        extra = self.also[index] if self.also else {}
        return {**self.fixed, **group.set, **extra, self.variable: self.values[index]}

    def run_count(self) -> int:
        return len(self.values) * len(self.series()) * self.replicates


def check_spec(spec: ExperimentSpec) -> None:
    """Raise SpecError naming the first problem: an unknown or reserved field, a value out of
    TrainConfig's limits, a fixed setting that contradicts the variable."""
    if spec.variable not in TrainConfig.model_fields:
        fields = ", ".join(VARIABLES)
        raise SpecError("variable", f"unknown field {spec.variable!r}; a TrainConfig field: {fields}")
    if spec.variable in NOT_VARIABLE:
        raise SpecError("variable", "the seed is set by replicates, not varied as the variable")
    for name, where in [(n, "fixed") for n in spec.fixed] + [
        (n, f"groups[{i}].set") for i, g in enumerate(spec.groups or []) for n in g.set
    ]:
        if name not in TrainConfig.model_fields:
            raise SpecError(where, f"unknown field {name!r} in {where}")
        if name == spec.variable or name in NOT_VARIABLE:
            raise SpecError(where, f"{name!r} cannot be fixed: it is the variable or set by replicates")
    if spec.also is not None and len(spec.also) != len(spec.values):
        raise SpecError("also", f"also needs one entry per value ({len(spec.values)}), has {len(spec.also)}")
    if len({_key(v) for v in spec.values}) != len(spec.values):
        raise SpecError("values", "each value may appear once (use replicates for repeats)")
    if spec.run_count() > MAX_RUNS:
        raise SpecError("values", f"{spec.run_count()} runs; at most {MAX_RUNS} (fewer values or replicates)")
    for group in spec.series():
        for index in range(len(spec.values)):
            try:
                TrainConfig(**spec.setting(group, index))
            except ValidationError as exc:
                error = exc.errors()[0]
                name = str(error["loc"][0]) if error["loc"] else spec.variable
                field = f"values[{index}]" if name == spec.variable else name
                given = spec.setting(group, index).get(name)
                raise SpecError(field, f"{name} = {given!r}: {error['msg']}") from None


def _key(value: Value) -> str:
    return repr(value)


def value_label(value: Value) -> str:
    """A value as the plot and the CSV name it: lists joined by '+'."""
    if isinstance(value, list):
        return "+".join(str(v) for v in value)
    return str(value)


class PredictionChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Literal["lower", "same", "higher"]
    text: str = Field(min_length=1, max_length=120)


class Prediction(BaseModel):
    """What students predict before running: how ``measure`` at value ``a`` compares with value ``b``
    (within ``group`` when the experiment has series). Graded by the measured means: within
    ``tolerance`` (relative) is "same"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1, max_length=300)
    measure: MeasureName
    a: Value
    b: Value
    group: str | None = None
    group_b: str | None = Field(None, description="compare with another series at value b")
    tolerance: float = Field(0.02, ge=0.0, le=1.0)
    choices: list[PredictionChoice] = Field(min_length=3, max_length=3)

    @model_validator(mode="after")
    def _all_choices(self) -> Prediction:
        if sorted(c.id for c in self.choices) != ["higher", "lower", "same"]:
            raise ValueError("a prediction's choices are exactly lower, same and higher")
        return self


class Preset(ExperimentSpec):
    """One file of ``lessons/<slug>/experiments/``."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    question: str = Field(min_length=1, max_length=200)
    section: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")
    primary: MeasureName = Field(description="the measure the plot shows first")
    prediction: Prediction
    note: str = Field("", max_length=600, description="what the preset leaves out, and why")

    @model_validator(mode="after")
    def _prediction_fits(self) -> Preset:
        keys = {_key(v) for v in self.values}
        for side in (self.prediction.a, self.prediction.b):
            if _key(side) not in keys:
                raise ValueError(f"prediction compares {side!r}, which is not one of the values")
        labels = {g.label for g in self.series()}
        for group in (self.prediction.group, self.prediction.group_b):
            if group is not None and group not in labels:
                raise ValueError(f"prediction names series {group!r}; series: {sorted(labels)}")
        for measure in (self.primary, self.prediction.measure):
            if measure not in self.measures:
                raise ValueError(f"{measure!r} is not one of the preset's measures")
        return self

    def spec(self) -> ExperimentSpec:
        return ExperimentSpec.model_validate(self.model_dump(include=set(ExperimentSpec.model_fields)))
