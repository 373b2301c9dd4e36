"""Merging a LoRA adapter into the weights, measured: does the merged model answer as the adapter did,
and what does each cost per forward pass?

    report = merge_report(source, cache)   # source: adapter_lab.AdapterSource of a finished job
    report.max_abs_logit_diff, report.latency_ms  # {"adapter", "merged", "base"}

peft does the merge (``merge_and_unload``: W ← W + s·B·A, the LoRA modules removed). The inputs are
the job's held-out prompts, chat-templated and left-padded as generation sees them; all three models
get the same token batch on the same device, and each latency is the median of ``repeats`` timed
forward passes after one untimed warm-up, the three models taking turns in every round. The logit
difference is taken over real (unpadded) tokens.

A qlora adapter was trained on NF4 weights, which cannot absorb an update exactly: its merge goes into a
dequantised copy of that 4-bit base (transformers' ``dequantize``), and the report says so. Its "base"
latency is the 4-bit base the adapter runs on.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch

from app.training.adapter_source import AdapterSource, precision_of
from app.training.evaluation import to_device
from app.training.models import ModelCache, device_dtype
from app.training.tasks import prompt_text
from app.training.wrapping import load_base

MERGE_PROMPTS = 8  # held-out prompts in the measured batch


@dataclass(frozen=True)
class MergeReport:
    adapter: str
    max_abs_logit_diff: float  # merged vs adapter, over every real token of the batch
    latency_ms: dict[str, float]  # adapter, merged, base: median forward pass over the batch
    prompts: int
    tokens: int  # real tokens in the batch
    repeats: int
    device: str
    dtype: str
    base_precision: str  # "dense" or "nf4"
    merged_into: str  # what the update was added to
    merge_ms: float  # merge_and_unload itself


def merge_report(source: AdapterSource, cache: ModelCache, repeats: int = 5) -> MergeReport:
    from peft import PeftModel

    cfg, task = source.config, source.task
    prompts = [e.prompt for e in task.test if hasattr(e, "prompt")][:MERGE_PROMPTS]
    if not prompts:
        raise ValueError(f"task {task.name!r} has no held-out prompts to measure on")
    tokenizer = cache.get_tokenizer(cfg.model)
    texts = [prompt_text(tokenizer, prompt) for prompt in prompts]
    batch = tokenizer(texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
    batch = to_device(
        {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}, cache.device
    )
    real = batch["attention_mask"].bool()  # (B, T)

    # Three models side by side: the base as the adapter was trained on it; the adapter on a view of
    # it; and a copy with its own bytes that the update is merged into (merging writes the weights).
    base = _bare_base(source, cache, share=True)
    adapter_model = PeftModel.from_pretrained(
        _bare_base(source, cache, share=True), source.adapter_dir
    ).eval()
    to_merge = _bare_base(source, cache, share=False)
    if precision_of(cfg) == "nf4":
        to_merge = to_merge.dequantize(dtype=device_dtype(cache.device))
        merged_into = (
            "a dequantised copy of the 4-bit (NF4) base: NF4 weights cannot absorb the update exactly"
        )
    else:
        merged_into = "a copy of the base weights"
    merging = PeftModel.from_pretrained(to_merge, source.adapter_dir).eval()
    start = time.perf_counter()
    merged = merging.merge_and_unload().eval()
    merge_ms = (time.perf_counter() - start) * 1000

    models = {"adapter": adapter_model, "merged": merged, "base": base}
    logits, latency_ms = _interleaved(models, batch, repeats, cache.device)
    adapter_logits, merged_logits = logits["adapter"], logits["merged"]
    diff = (merged_logits.float() - adapter_logits.float()).abs()[real]  # (real tokens, vocab)
    return MergeReport(
        adapter=source.name,
        max_abs_logit_diff=float(diff.max()),
        latency_ms=latency_ms,
        prompts=len(prompts),
        tokens=int(real.sum()),
        repeats=repeats,
        device=cache.device,
        dtype=str(merged_logits.dtype).removeprefix("torch."),
        base_precision=precision_of(cfg),
        merged_into=merged_into,
        merge_ms=merge_ms,
    )


def _bare_base(source: AdapterSource, cache: ModelCache, share: bool) -> Any:
    """The base model without any adapter: qlora's prepared 4-bit load, else a copy from the cache
    (``share``: a view of the cache's weights; otherwise its own bytes, for a merge to write into)."""
    cfg = source.config
    if precision_of(cfg) == "nf4":
        model, _ = load_base(cfg, source.task, cache, lambda stage, fraction: None)
    else:
        model = cache.get(cfg.model, share_weights=share).model
    return model.eval().requires_grad_(False)


@torch.no_grad()
def _interleaved(
    models: dict[str, Any], batch: dict[str, torch.Tensor], repeats: int, device: str
) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """Each model's logits and median ms of one forward pass over ``batch``. After one untimed warm-up
    each, the models take turns in every round, so a change in the machine's load (a shared CPU)
    falls on all three alike instead of on whichever was timed last."""
    logits = {name: model(**batch).logits for name, model in models.items()}
    times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(max(1, repeats)):
        for name, model in models.items():
            _sync(device)
            start = time.perf_counter()
            model(**batch)
            _sync(device)
            times[name].append((time.perf_counter() - start) * 1000)
    return logits, {name: statistics.median(values) for name, values in times.items()}


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()
