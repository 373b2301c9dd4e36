"""Merging a LoRA adapter into the weights, measured: does the merged model answer as the adapter did,
and what does each cost per forward pass?

    report = merge_report(source, cache)   # source: adapter_lab.AdapterSource of a finished job
    report.max_abs_logit_diff, report.latency_ms  # {"adapter", "merged", "base"}

peft does the merge (``merge_and_unload``: W ← W + s·B·A, the LoRA modules removed). The inputs are
the job's held-out prompts, chat-templated and left-padded as generation sees them; all three models
get the same token batch on the same device, and each latency is the median of ``repeats`` timed
forward passes after one untimed warm-up. The logit difference is taken over real (unpadded) tokens.

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

from app.training.adapter_lab import AdapterSource, precision_of
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

    nf4 = precision_of(cfg) == "nf4"
    # The base as the adapter was trained on it; for the merge, a base with its own bytes (merging writes)
    base = _bare_base(source, cache, share=True)
    adapter_model = PeftModel.from_pretrained(_bare_base(source, cache, share=False), source.adapter_dir)
    adapter_model = adapter_model.eval()
    adapter_logits, adapter_ms = _timed_logits(adapter_model, batch, repeats, cache.device)
    _, base_ms = _timed_logits(base, batch, repeats, cache.device)
    del base

    if nf4:
        to_merge = _bare_base(source, cache, share=False)
        to_merge = to_merge.dequantize(dtype=device_dtype(cache.device))
        merged_into = (
            "a dequantised copy of the 4-bit (NF4) base: NF4 weights cannot absorb the update exactly"
        )
        del adapter_model
        merging = PeftModel.from_pretrained(to_merge, source.adapter_dir).eval()
    else:
        merged_into = "a copy of the base weights"
        merging = adapter_model
    start = time.perf_counter()
    merged = merging.merge_and_unload()
    merge_ms = (time.perf_counter() - start) * 1000
    merged_logits, merged_ms = _timed_logits(merged.eval(), batch, repeats, cache.device)

    diff = (merged_logits.float() - adapter_logits.float()).abs()[real]  # (real tokens, vocab)
    return MergeReport(
        adapter=source.name,
        max_abs_logit_diff=float(diff.max()),
        latency_ms={"adapter": adapter_ms, "merged": merged_ms, "base": base_ms},
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
def _timed_logits(
    model: Any, batch: dict[str, torch.Tensor], repeats: int, device: str
) -> tuple[torch.Tensor, float]:
    """(logits, median ms) of one forward pass over ``batch``, after an untimed warm-up."""
    logits = model(**batch).logits
    times = []
    for _ in range(max(1, repeats)):
        _sync(device)
        start = time.perf_counter()
        model(**batch)
        _sync(device)
        times.append((time.perf_counter() - start) * 1000)
    return logits, statistics.median(times)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()
