"""TrainConfig: every setting of one fine-tuning job, bounded (the body of POST /api/jobs)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, StrictBool, field_validator

from app.json_numbers import JsonNumbers

MethodName = Literal["full", "lora", "qlora", "prompt", "prefix", "head", "sft", "dpo"]
METHOD_NAMES: tuple[str, ...] = ("full", "lora", "qlora", "prompt", "prefix", "head", "sft", "dpo")
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$"
TASK_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}(~[0-9a-f]{12})?$"  # "~…": an owner's upload
MODULE_NAME_PATTERN = r"^[A-Za-z0-9_.]{1,64}$"


class TrainConfig(JsonNumbers):
    """One job. ``None`` means 'the method's default' (see methods.py); every limit is in the schema."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    # The schema states what the server checks (it answers 422 naming the field otherwise); model and
    # task names also depend on configuration and uploads, so their schema is a pattern, not a list.
    model: str = Field(
        "smollm2-135m",
        max_length=200,
        description="registry name or an allowed hub id",
        json_schema_extra={"pattern": MODEL_NAME_PATTERN},
    )
    method: str = Field(
        "lora",
        max_length=20,
        description="one of " + ", ".join(METHOD_NAMES),
        json_schema_extra={"enum": list(METHOD_NAMES)},
    )
    task: str = Field(
        "tone",
        max_length=80,
        description="built-in or uploaded task name",
        json_schema_extra={"pattern": TASK_NAME_PATTERN},
    )
    steps: int | None = Field(None, ge=1, le=2000, description="optimizer steps")
    lr: float | None = Field(None, gt=0.0, le=1.0, description="peak learning rate")
    batch_size: int | None = Field(None, ge=1, le=64, description="examples per step")
    seq_len: int | None = Field(None, ge=16, le=1024, description="max tokens per example")
    seed: int = Field(0, ge=0, le=2**31 - 1)
    rank: int = Field(8, ge=1, le=256, description="LoRA rank r")
    alpha: float = Field(16.0, gt=0.0, le=1024.0, description="LoRA alpha; scale = alpha / r")
    dropout: float = Field(0.0, ge=0.0, le=0.5, description="LoRA dropout")
    target_modules: list[str] | None = Field(
        None,
        max_length=16,
        description="module names LoRA wraps; default: the attention projections",
        json_schema_extra={"items": {"type": "string", "pattern": MODULE_NAME_PATTERN}},
    )
    use_dora: StrictBool = Field(False, description="weight-decomposed LoRA (DoRA)")
    use_rslora: StrictBool = Field(False, description="rank-stabilised scale alpha / sqrt(r)")
    num_virtual_tokens: int = Field(8, ge=1, le=64, description="soft-prompt / prefix length")
    prompt_init_text: str | None = Field(
        None, max_length=200, description="initialise the soft prompt from text"
    )
    eval_every: int | None = Field(None, ge=1, le=2000, description="steps between held-out evaluations")
    spectrum_every: int | None = Field(None, ge=1, le=2000, description="steps between spectrum events")
    max_new_tokens: int = Field(32, ge=1, le=128, description="tokens generated for samples")
    beta: float = Field(0.1, gt=0.0, le=10.0, description="DPO beta")

    @field_validator("target_modules")
    @classmethod
    def _module_names(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        for name in value:
            if not name or len(name) > 64 or not name.replace("_", "").replace(".", "").isalnum():
                raise ValueError(
                    "each target module is a name of letters, digits, '_' or '.', at most 64 chars"
                )
        return value
