"""sft and dpo: LoRA trained on trl's data pipeline and trl's loss, one step at a time inside the loop.

The loop (loop.py) keeps the steps, as for every other method: it yields events between them, checks the
cancel flag, evaluates, computes ΔW spectra, and runs the optimizer (the same AdamW with warmup + cosine,
so learning-rate curves compare across methods). ``Trainer.train()`` would take all of that over (its own
loop, optimizer, logging and checkpoints) and could only report back from a callback on another thread.
So each method builds trl's trainer once, and per step the loop takes a batch from trl's collator and the
loss from the trainer's public ``compute_loss`` — trl's loss exactly as ``train()`` computes it — then
does the backward pass, clipping and the optimizer step itself.

sft — ``trl.SFTTrainer``:
  * the chat task becomes conversational prompt–completion rows that trl renders with the model's chat
    template; ``completion_only_loss`` masks the prompt, so the loss covers the answer (and its end of turn)
    only, like ``lora``'s answer-only labels;
  * ``packing=True`` (best-fit decreasing): whole examples are packed into rows of ``seq_len`` tokens and
    batched padding-free (one flat sequence whose positions restart at each example; transformers keeps
    attention inside each example), so no pad token is computed and a step sees several examples per row;
  * the loss goes through trl's fused LM head: log-probabilities of the answer tokens only, never the
    (tokens × vocabulary) logits.
  Evaluation and samples are the loop's own (held-out answer-token loss, the task's metric), so sft and
  lora runs on one task share their axes.

dpo — ``trl.DPOTrainer``:
  * prompt / chosen / rejected triples rendered with the chat template and batched by trl's
    ``DataCollatorForPreference`` (the chosen half, then the rejected half);
  * ``compute_loss`` is the sigmoid DPO loss
    −log σ(β·[(log π − log π_ref)(chosen) − (log π − log π_ref)(rejected)]),
    sequence log-probs summed over the answer tokens. trl wraps the model with our LoraConfig itself, so
    the reference π_ref is the same peft model with its adapter disabled (trl's ``use_adapter(model, None)``
    → peft's ``disable_adapter()``): no second model, no copy of the adapter. At the first step LoRA's B is
    zero, π = π_ref and the loss is ln 2;
  * the held-out evaluation is ``trainer.evaluate()``: the DPO loss and trl's ``rewards/accuracies``, the
    share of pairs whose implicit reward β·(log π − log π_ref) is higher for chosen than for rejected (a tie,
    as at step 0 where both rewards are 0, does not count as preferring chosen).
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor

from app.training.methods import ConfigError, method_spec
from app.training.steps import NativeSteps
from app.training.task_encoding import has_chat_template
from app.training.tasks import ChatExample, PreferenceExample, Task, batches, prompt_text
from app.training.train_config import TrainConfig

# Trainer wants an output_dir (and makes the folder); with saving and logging off it stays empty
OUTPUT_DIR = Path(tempfile.gettempdir()) / "ftlab-trl-unused"
# dpo: held-out pairs per evaluation. Each costs the policy and the reference on both answers: 8 pairs
# (32 sequences) take about what lora's held-out loss + metric take on SmolLM2 (9 s on one CPU thread)
EVAL_PAIRS = 8
EVAL_BATCH = 8


@dataclass
class TrlSteps:
    """The loop's steps (``steps.Steps``) for sft / dpo: trl's batches and loss; dpo's evaluation is
    trl's, sft's the loop's own (``native``: the same held-out loss and metric as lora)."""

    method: str
    trainer: Any  # trl.SFTTrainer or trl.DPOTrainer
    device: str
    rows: list[dict[str, Any]]  # trl's tokenised (and, for sft, packed) training rows
    native: NativeSteps | None = None  # sft: evaluates as every chat method does
    replies: NativeSteps | None = None  # dpo: generates held-out replies to measure looping
    last_eval: dict[str, float] = field(default_factory=dict)

    @property
    def model(self) -> Any:
        """trl's peft model (trl put the LoRA adapter on)."""
        return self.trainer.model

    def batches(self, batch_size: int, seed: int) -> Iterator[dict[str, Any]]:
        """Endless batches of trl's rows, reshuffled each epoch from ``seed``, collated by trl."""
        for rows in batches(self.rows, batch_size, seed):
            yield _to_device(self.trainer.data_collator(rows), self.device)

    def loss(self, model: Any, batch: dict[str, Any]) -> Tensor:
        return self.trainer.compute_loss(model, batch)

    @staticmethod
    def tokens(batch: dict[str, Any]) -> int:
        """Tokens the forward pass saw (a padding-free batch has no mask: every token is real)."""
        mask = batch.get("attention_mask")
        return int(mask.sum()) if mask is not None else int(batch["input_ids"].numel())

    def evaluate(self) -> tuple[float, float, float | None]:
        """dpo: (held-out DPO loss, preference accuracy) from trl and the looping share of held-out
        replies; sft: the answer-token loss, metric and looping share."""
        if self.native is not None:
            return self.native.evaluate()
        model = self.trainer.model
        was_training = model.training
        metrics = self.trainer.evaluate()  # puts the model in eval mode
        model.train(was_training)
        self.last_eval = {key.removeprefix("eval_"): float(value) for key, value in metrics.items()}
        looping = self.replies.degenerate() if self.replies is not None else None
        return self.last_eval["loss"], self.last_eval["rewards/accuracies"], looping

    def summary(self) -> dict[str, Any]:
        """Extra numbers for the done event (dpo: trl's implicit rewards at the last evaluation)."""
        keys = {"rewards/margins": "reward_margin", "rewards/chosen": "reward_chosen"}
        keys["rewards/rejected"] = "reward_rejected"
        return {name: self.last_eval[key] for key, name in keys.items() if key in self.last_eval}


def trl_steps(model: Any, tokenizer: Any, cfg: TrainConfig, task: Task, lora: Any, device: str) -> TrlSteps:
    """trl's trainer for the bare base ``model``: trl puts the LoRA adapter (``lora``, peft's LoraConfig)
    on and tokenises the task. The steps' ``model`` is trl's peft model."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    _quiet_datasets()
    trl_tokenizer = copy.deepcopy(tokenizer)  # trl may set a pad token; the cache's tokenizer is shared
    pairs = method_spec(cfg.method).task_kind == "preference"  # dpo: preference pairs; sft: chats
    build = _dpo if pairs else _sft
    try:
        trainer = build(model, trl_tokenizer, cfg, task, lora, _common_args(cfg, device))
    except ValueError as exc:  # peft: "Target modules {...} not found in the base model"
        if "arget modules" in str(exc):
            raise ConfigError("target_modules", str(exc).split("\n")[0]) from None
        raise
    for callback in (PrinterCallback, ProgressCallback):  # they print logs to stdout / draw progress bars
        trainer.remove_callback(callback)
    columns = _PAIR_COLUMNS if pairs else ["input_ids", "labels", "seq_lengths"]
    rows = trainer.train_dataset.select_columns(columns).to_list()
    if not rows:
        raise ValueError(f"no training example of {task.name} fits seq_len={cfg.seq_len}")
    own = NativeSteps(trainer.model, tokenizer, task, cfg, device)
    if pairs:
        return TrlSteps(cfg.method, trainer, device, rows, replies=own)
    return TrlSteps(cfg.method, trainer, device, rows, native=own)


_PAIR_COLUMNS = ["prompt_ids", "chosen_ids", "rejected_ids"]


def _common_args(cfg: TrainConfig, device: str) -> dict[str, Any]:
    return dict(
        output_dir=str(OUTPUT_DIR),
        report_to="none",
        save_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        seed=cfg.seed,
        learning_rate=cfg.lr,  # for the record: the loop's own optimizer steps with cfg.lr
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=EVAL_BATCH,
        max_length=cfg.seq_len,
        bf16=False,  # the cache already gives bf16 weights on CUDA; no autocast on top
        activation_checkpointing=False,  # (gradient checkpointing) small models and short sequences: no need
        use_cpu=device == "cpu",
        dataloader_num_workers=0,
    )


def _sft(model: Any, tokenizer: Any, cfg: TrainConfig, task: Task, lora: Any, common: dict[str, Any]) -> Any:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    rows = [_prompt_completion(tokenizer, e) for e in task.train if isinstance(e, ChatExample)]
    args = SFTConfig(**common, packing=True, packing_strategy="bfd", completion_only_loss=True)
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=lora,
    )


def _dpo(model: Any, tokenizer: Any, cfg: TrainConfig, task: Task, lora: Any, common: dict[str, Any]) -> Any:
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    train = [_pair(tokenizer, e) for e in task.train if isinstance(e, PreferenceExample)]
    held_out = [_pair(tokenizer, e) for e in _held_out(task.test)]
    args = DPOConfig(
        **common,
        beta=cfg.beta,
        loss_type=["sigmoid"],  # the DPO paper's loss
        disable_dropout=True,  # the policy and its reference must be the same network at the start
    )
    return DPOTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(train),
        eval_dataset=Dataset.from_list(held_out),
        processing_class=tokenizer,
        peft_config=lora,
    )


def _held_out(test: Sequence[Any]) -> list[PreferenceExample]:
    return [e for e in test if isinstance(e, PreferenceExample)][:EVAL_PAIRS]


def _user(tokenizer: Any, prompt: str) -> Any:
    """trl's conversational format where the model has a chat template; else our plain fallback text."""
    if has_chat_template(tokenizer):
        return [{"role": "user", "content": prompt}]
    return prompt_text(tokenizer, prompt)


def _assistant(tokenizer: Any, text: str) -> Any:
    return [{"role": "assistant", "content": text}] if has_chat_template(tokenizer) else text


def _prompt_completion(tokenizer: Any, e: ChatExample) -> dict[str, Any]:
    return {"prompt": _user(tokenizer, e.prompt), "completion": _assistant(tokenizer, e.answer)}


def _pair(tokenizer: Any, e: PreferenceExample) -> dict[str, Any]:
    return {
        "prompt": _user(tokenizer, e.prompt),
        "chosen": _assistant(tokenizer, e.chosen),
        "rejected": _assistant(tokenizer, e.rejected),
    }


def _to_device(batch: dict[str, Any], device: str) -> dict[str, Any]:
    return {key: value.to(device) if isinstance(value, Tensor) else value for key, value in batch.items()}


def _quiet_datasets() -> None:
    """trl tokenises through datasets.map, which draws progress bars on stderr by default."""
    import datasets

    datasets.disable_progress_bars()
