"""What students of a class may run, set by the instructor per class, and the check at submit time."""

from __future__ import annotations

from pydantic import ConfigDict, Field, StrictBool, field_validator

from app.json_numbers import JsonNumbers
from app.training.train_config import METHOD_NAMES

_NAME = r"^[A-Za-z0-9_./-]{1,200}$"


class ClassLimits(JsonNumbers):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    students_can_train: StrictBool = Field(True, description="False: students only watch the pinned run")
    allowed_models: list[str] = Field(
        default_factory=lambda: ["tiny-llama", "smollm2-135m"],
        max_length=20,
        description="model names",
        json_schema_extra={"items": {"type": "string", "pattern": _NAME}},
    )
    allowed_methods: list[str] = Field(
        default_factory=lambda: ["lora", "prompt"],
        max_length=len(METHOD_NAMES),
        description="method names",
        json_schema_extra={"items": {"type": "string", "enum": list(METHOD_NAMES)}},
    )
    max_steps: int = Field(60, ge=1, le=2000, description="most optimizer steps of one student job")
    max_active_jobs: int = Field(1, ge=1, le=20, description="queued or running jobs per student at once")
    max_submissions: int = Field(3, ge=1, le=100, description="jobs a student may start per window")
    window_s: int = Field(600, ge=10, le=86_400, description="the rate-limit window, in seconds")

    @field_validator("allowed_methods")
    @classmethod
    def _known_methods(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in METHOD_NAMES]
        if unknown:
            raise ValueError(f"unknown methods {unknown}; valid: {', '.join(METHOD_NAMES)}")
        return value

    @field_validator("allowed_models")
    @classmethod
    def _model_names(cls, value: list[str]) -> list[str]:
        import re

        bad = [m for m in value if not re.match(_NAME, m)]
        if bad:
            raise ValueError(f"model names are letters, digits and _ . / -: {bad}")
        return value


class LimitExceeded(Exception):
    """A student's job breaks a class limit. ``field`` is the TrainConfig field (None: not a field);
    ``status`` the HTTP status the API answers with."""

    def __init__(self, message: str, field: str | None = None, status: int = 422, retry_after: int = 0):
        super().__init__(message)
        self.field, self.status, self.retry_after = field, status, retry_after


def check_config(limits: ClassLimits, model: str, method: str, steps: int) -> None:
    """The parts of a job a class limit names (``steps`` already resolved to the method's default)."""
    if not limits.students_can_train:
        raise LimitExceeded("students of this class watch the instructor's run; training is off", status=403)
    if model not in limits.allowed_models:
        allowed = ", ".join(limits.allowed_models) or "none"
        raise LimitExceeded(f"model {model!r} is not allowed in this class; allowed: {allowed}", "model")
    if method not in limits.allowed_methods:
        allowed = ", ".join(limits.allowed_methods) or "none"
        raise LimitExceeded(f"method {method!r} is not allowed in this class; allowed: {allowed}", "method")
    if steps > limits.max_steps:
        raise LimitExceeded(f"steps {steps} is over this class's limit of {limits.max_steps}", "steps")


def check_load(
    limits: ClassLimits, active: int, recent: int, oldest_recent_at: float | None, now: float
) -> None:
    """``active``: the student's queued or running jobs; ``recent``: jobs started in the window."""
    if active >= limits.max_active_jobs:
        raise LimitExceeded(
            f"you have {active} job(s) queued or running; this class allows {limits.max_active_jobs} at once",
            status=429,
            retry_after=30,
        )
    if recent >= limits.max_submissions:
        wait = int((oldest_recent_at or now) + limits.window_s - now) + 1
        raise LimitExceeded(
            f"this class allows {limits.max_submissions} jobs per {limits.window_s} s per student; "
            f"try again in {max(1, wait)} s",
            status=429,
            retry_after=max(1, wait),
        )
