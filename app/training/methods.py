"""The fine-tuning methods: what each trains, its defaults, and which configurations fit.

Defaults are sized for a 2-core laptop CPU: with SmolLM2-135M on ``tone`` every causal method's
default run finished within 90 s including the model load on an idle 2-core CPU (lora 62 s, full 73 s,
qlora 50 s, prompt 73 s, prefix 81 s, sft 67 s, dpo 65 s; MiniLM head 8 s). The lesson's recorded runs
are not these defaults: they are like-for-like runs (equal steps, batch and tokens) at swept learning
rates, see scripts/sweep_lr.sh and lessons/fine-tuning-llms/recorded/sweep.json.
How each method wraps a model lives in :mod:`app.training.wrapping`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.training.registry import MODEL_REGISTRY, UnknownModelError, spec_for
from app.training.train_config import TrainConfig

if TYPE_CHECKING:
    from app.training.tasks import Task

# attention projections by architecture: Llama-style names, then BERT-style names
DEFAULT_TARGETS = {"causal": ["q_proj", "k_proj", "v_proj", "o_proj"], "encoder": ["query", "key", "value"]}


class ConfigError(ValueError):
    """A configuration that does not fit; ``field`` names the TrainConfig field to fix."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class Defaults:
    steps: int
    lr: float
    batch_size: int
    seq_len: int
    eval_every: int
    spectrum_every: int


@dataclass(frozen=True)
class MethodSpec:
    name: str
    label: str
    trains: str
    library: str
    spectrum: str  # "lora" (QR route), "dense" (W − W₀), "soft_prompt", or "none"
    defaults: dict[str, Defaults] = field(default_factory=dict)  # by model kind; its keys = kinds supported
    available: bool = True
    note: str = ""
    task_kind: str | None = None  # task kind it trains on; None: chat (causal) / classification (encoder)
    # Facts every other module reads here instead of comparing method names:
    base_precision: str = "dense"  # the base weights it trains on: "dense", or "nf4" (4-bit NormalFloat)
    writes_base: bool = False  # trains the base's own weights (needs its own copy of them)
    lora_adapter: bool = False  # its result is a LoRA adapter (swap, combine, merge; LoRA options apply)
    starts_as_base: bool = False  # at step 0 it computes what the base computes (unless DoRA rounds)
    virtual_tokens_at: str | None = None  # soft prompts: "input" (k vectors) or "every_layer" (prefixes)
    trl: bool = False  # trained on trl's batches and loss (app/training/trl_methods.py)
    in_prose: str = ""  # its name inside a sentence of the lesson (default: ``label``)

    @property
    def prose_name(self) -> str:
        return self.in_prose or self.label

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.defaults)


_CHAT = dict(batch_size=4, seq_len=128)
METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec(
            "full",
            "Full fine-tuning",
            "every weight",
            "torch",
            "dense",
            {
                "causal": Defaults(steps=20, lr=2e-5, eval_every=10, spectrum_every=5, **_CHAT),
                "encoder": Defaults(
                    steps=60, lr=5e-5, batch_size=16, seq_len=64, eval_every=20, spectrum_every=20
                ),
            },
            writes_base=True,
            starts_as_base=True,
            in_prose="full fine-tuning",
        ),
        MethodSpec(
            "lora",
            "LoRA",
            "A and B of the target projections",
            "peft",
            "lora",
            {
                "causal": Defaults(steps=30, lr=2e-3, eval_every=15, spectrum_every=5, **_CHAT),
                "encoder": Defaults(
                    steps=60, lr=1e-3, batch_size=16, seq_len=64, eval_every=20, spectrum_every=10
                ),
            },
            lora_adapter=True,
            starts_as_base=True,
        ),
        MethodSpec(
            "qlora",
            "QLoRA",
            "LoRA on a 4-bit NF4 base",
            "peft + bitsandbytes",
            "lora",
            {"causal": Defaults(steps=20, lr=2e-3, eval_every=10, spectrum_every=5, **_CHAT)},
            base_precision="nf4",
            lora_adapter=True,
            starts_as_base=True,
        ),
        MethodSpec(
            "prompt",
            "Prompt tuning",
            "k soft-prompt vectors",
            "peft",
            "soft_prompt",
            {"causal": Defaults(steps=30, lr=3e-2, eval_every=15, spectrum_every=5, **_CHAT)},
            virtual_tokens_at="input",
            in_prose="prompt tuning",
        ),
        MethodSpec(
            "prefix",
            "Prefix tuning",
            "per-layer key/value prefixes",
            "peft",
            "soft_prompt",
            {"causal": Defaults(steps=30, lr=1e-2, eval_every=15, spectrum_every=5, **_CHAT)},
            virtual_tokens_at="every_layer",
            in_prose="prefix tuning",
        ),
        MethodSpec(
            "head",
            "Classifier head",
            "a classifier head on a frozen encoder",
            "transformers",
            "none",
            {
                "encoder": Defaults(
                    steps=60, lr=3e-3, batch_size=16, seq_len=64, eval_every=20, spectrum_every=60
                )
            },
            in_prose="classifier head (MiniLM)",
        ),
        # sft: batch_size counts rows of seq_len tokens into which trl packs whole examples (2.05 SmolLM2
        # tone examples per 192-token row): about lora's 4 examples a step, without computing any padding.
        # A step costs ~1.3x lora's on the CPU (3.0 vs 2.25 s, SmolLM2, one thread), hence fewer steps.
        MethodSpec(
            "sft",
            "SFT (trl)",
            "instruction tuning with LoRA",
            "trl",
            "lora",
            {
                "causal": Defaults(
                    steps=24, lr=2e-3, batch_size=2, seq_len=192, eval_every=12, spectrum_every=4
                )
            },
            note="trl's SFTTrainer: completion-only loss, examples packed padding-free into seq_len rows",
            lora_adapter=True,
            starts_as_base=True,
            trl=True,
            in_prose="SFT (trl, LoRA)",
        ),
        # dpo: batch_size counts pairs; each step runs the policy and the reference (adapter off) on both
        # answers of each pair (3.5 s a step for SmolLM2 on one CPU thread, lora's: 2.25 s). lr 1e-3: on
        # SmolLM2 tone-preference 5e-4 reached preference accuracy 1.0 but no pirate words in the samples;
        # 1e-3 puts the voice into 2 of 3 samples (with some repetition: over-optimising the preference)
        MethodSpec(
            "dpo",
            "DPO (trl)",
            "preference tuning with LoRA",
            "trl",
            "lora",
            {
                "causal": Defaults(
                    steps=20, lr=1e-3, batch_size=2, seq_len=128, eval_every=10, spectrum_every=5
                )
            },
            note="trl's DPOTrainer loss; the reference is the base model (adapter disabled)",
            task_kind="preference",
            lora_adapter=True,
            trl=True,
            in_prose="DPO (trl, LoRA)",
        ),
    )
}


LORA_METHODS = tuple(name for name, spec in METHODS.items() if spec.lora_adapter)
TRL_METHODS = tuple(name for name, spec in METHODS.items() if spec.trl)


def method_spec(name: str) -> MethodSpec:
    if name not in METHODS:
        raise ConfigError("method", f"unknown method {name!r}; valid methods: {', '.join(METHODS)}")
    return METHODS[name]


def resolve_config(cfg: TrainConfig, task_kind: str | None = None) -> TrainConfig:
    """Fill the method's defaults into the ``None`` fields; raise ConfigError for what does not fit.

    ``task_kind`` ("chat" / "classification" / "preference") is checked when given; built-in tasks are
    looked up."""
    method = method_spec(cfg.method)
    if not method.available:
        raise ConfigError(
            "method", f"{cfg.method} is {method.note}; available: {', '.join(available_methods())}"
        )
    try:
        model = spec_for(cfg.model)
    except UnknownModelError as exc:
        raise ConfigError("model", str(exc)) from None
    if model.kind not in method.kinds:
        fits = ", ".join(n for n, m in METHODS.items() if model.kind in m.kinds and m.available)
        raise ConfigError(
            "method",
            f"{cfg.method} needs a {' or '.join(method.kinds)} model; for {cfg.model} use one of: {fits}",
        )
    _check_task(cfg, method, model.kind, task_kind)
    _check_options(cfg)
    _check_targets(cfg, model)
    defaults = method.defaults[model.kind]
    filled: dict[str, Any] = {
        key: getattr(defaults, key)
        for key in ("steps", "lr", "batch_size", "seq_len", "eval_every", "spectrum_every")
        if getattr(cfg, key) is None
    }
    if cfg.method in LORA_METHODS and cfg.target_modules is None:
        filled["target_modules"] = DEFAULT_TARGETS[model.kind]
    return cfg.model_copy(update=filled)


@dataclass(frozen=True)
class ResolvedJob:
    """A job's settings, checked and completed once (at submission): ``config`` with the method's
    defaults filled in, and the task it trains on, loaded. The runner stores this config and the loop
    trains it as it is."""

    config: TrainConfig
    task: Task


def resolve_job(config: TrainConfig, task: Task | None = None) -> ResolvedJob:
    """``task`` None: the built-in task ``config.task`` (UnknownTaskError if there is none)."""
    from app.training.tasks import load_builtin_task

    task = task or load_builtin_task(config.task)
    return ResolvedJob(resolve_config(config, task.kind), task)


def available_methods() -> list[str]:
    return [name for name, spec in METHODS.items() if spec.available]


def task_kind_for(method: MethodSpec, model_kind: str) -> str:
    """The kind of task a method trains on with a model of this kind."""
    return method.task_kind or ("classification" if model_kind == "encoder" else "chat")


def _check_task(cfg: TrainConfig, method: MethodSpec, model_kind: str, task_kind: str | None) -> None:
    from app.training.tasks import builtin_task_names, load_builtin_task

    if task_kind is None:
        if cfg.task not in builtin_task_names():
            return  # an uploaded task: the runner passes it in and the loop checks it
        task_kind = load_builtin_task(cfg.task).kind
    wanted = task_kind_for(method, model_kind)
    if task_kind != wanted:
        fits = [
            name
            for name, spec in METHODS.items()
            if spec.available and model_kind in spec.kinds and task_kind_for(spec, model_kind) == task_kind
        ]
        examples = [name for name in builtin_task_names() if load_builtin_task(name).kind == wanted]
        raise ConfigError(
            "task",
            f"{cfg.task} is a {task_kind} task; {cfg.method} on {cfg.model} ({model_kind}) trains on "
            f"{wanted} tasks"
            + (f" (built-in: {', '.join(examples)})" if examples else "")
            + (f"; for a {task_kind} task use {', '.join(fits)}" if fits else ""),
        )


# The linear layers of the registry's architectures (Llama for its causal models, BERT for MiniLM).
# peft matches a target by the end of a module's dotted name, so "q_proj" and "self_attn.q_proj" fit.
REGISTRY_LINEAR_MODULES = {
    "causal": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    "encoder": ("query", "key", "value", "dense"),
}


def _check_targets(cfg: TrainConfig, model: Any) -> None:
    """A LoRA target the registry's model lacks is a 422 at submission, not a failure in the run
    (hub models an instructor allows are not known here: peft checks them when the run starts)."""
    if cfg.method not in LORA_METHODS or not cfg.target_modules or model.name not in MODEL_REGISTRY:
        return
    known = REGISTRY_LINEAR_MODULES[model.kind]
    for name in cfg.target_modules:
        if name.rsplit(".", 1)[-1] not in known:
            raise ConfigError(
                "target_modules",
                f"{cfg.model} has no module {name!r}; its linear layers are {', '.join(known)}",
            )


def _check_options(cfg: TrainConfig) -> None:
    """Options that belong to another method are an error, not silently ignored."""
    if cfg.method not in LORA_METHODS:
        for name in ("target_modules", "use_dora", "use_rslora"):
            if getattr(cfg, name):
                raise ConfigError(
                    name, f"applies to LoRA methods ({', '.join(LORA_METHODS)}), not {cfg.method}"
                )
    if cfg.prompt_init_text and cfg.method != "prompt":
        raise ConfigError("prompt_init_text", f"applies to prompt tuning, not {cfg.method}")
    if cfg.method == "dpo" and cfg.dropout:
        raise ConfigError(
            "dropout",
            "dpo trains without dropout (trl's disable_dropout): the policy and its reference must agree",
        )
