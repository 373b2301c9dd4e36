"""Held-out loss, the task metric, and answers to prompts (greedy generation, or a predicted label)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from app.training.tasks import (
    IGNORE_INDEX,
    ChatExample,
    LabelledExample,
    PreferenceExample,
    Task,
    chat_batch,
    chunks,
    classification_batch,
    end_of_turn_id,
    pad_id_of,
    prompt_text,
)
from app.training.text_quality import degenerate_share

EVAL_LOSS_EXAMPLES = 32  # held-out examples in the loss (all of them for the built-in tasks but one)
EVAL_METRIC_PROMPTS = 8  # chat tasks: held-out prompts answered by generation for the metric
EVAL_BATCH = 8


def to_device(batch: dict[str, torch.Tensor], device: str) -> dict[str, torch.Tensor]:
    return {key: value.to(device) for key, value in batch.items()}


def make_batch(tokenizer: Any, task: Task, examples: Sequence[Any], seq_len: int) -> dict[str, torch.Tensor]:
    """(B, T) tensors for either kind of task: input_ids, attention_mask, labels."""
    if task.kind == "chat":
        return chat_batch(tokenizer, [(e.prompt, e.answer) for e in examples], seq_len)
    return classification_batch(
        tokenizer, [e.text for e in examples], [e.label for e in examples], task.labels, seq_len
    )


@torch.no_grad()
def eval_loss(model: nn.Module, tokenizer: Any, task: Task, seq_len: int, device: str) -> float:
    """Mean loss per target (answer token, or example) over the first held-out examples."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for examples in chunks(task.test[:EVAL_LOSS_EXAMPLES], EVAL_BATCH):
        batch = to_device(make_batch(tokenizer, task, examples, seq_len), device)
        # causal LM loss is a mean over shifted label tokens; weight batches by that count
        weight = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum()) if task.kind == "chat" else len(examples)
        total += float(model(**batch).loss) * weight
        count += weight
    model.train(was_training)
    return total / max(count, 1)


@torch.no_grad()
def generate(
    model: nn.Module, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int, device: str
) -> list[str]:
    """Greedy answers to chat prompts, batched with left padding (the model continues the right edge)."""
    was_training = model.training
    model.eval()
    texts = [prompt_text(tokenizer, prompt) for prompt in prompts]
    if _is_prefix_tuned(model):
        answers = [_greedy_prefix(model, tokenizer, text, max_new_tokens, device) for text in texts]
        model.train(was_training)
        return answers
    batch = tokenizer(texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
    batch = to_device(dict(batch), device)
    out = model.generate(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        max_new_tokens=max_new_tokens,
        do_sample=False,
        pad_token_id=pad_id_of(tokenizer),
        eos_token_id=end_of_turn_id(tokenizer),
    )
    model.train(was_training)
    new_tokens = out[:, batch["input_ids"].shape[1] :]  # (B, new)
    return [text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]


def _is_prefix_tuned(model: nn.Module) -> bool:
    config = getattr(model, "peft_config", {}).get(getattr(model, "active_adapter", None))
    return config is not None and config.peft_type.value == "PREFIX_TUNING"


@torch.no_grad()
def _greedy_prefix(model: Any, tokenizer: Any, text: str, max_new_tokens: int, device: str) -> str:
    """Greedy decoding for prefix tuning, by hand: with transformers 5 + peft 0.21, ``generate`` drops
    the prefix from the KV cache (the answer would be the base model's). The first forward goes
    through peft, which puts the prefix into the cache; each next token goes through the base model
    with that cache, the attention mask covering prefix + prompt + answer so far."""
    enc = tokenizer(text, return_tensors="pt", add_special_tokens=False)
    input_ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)  # (1, T)
    out = model(input_ids=input_ids, attention_mask=mask, use_cache=True)
    prefix = model.peft_config[model.active_adapter].num_virtual_tokens
    mask = torch.ones(1, prefix + input_ids.shape[1], dtype=mask.dtype, device=device)
    cache, eos, base = out.past_key_values, end_of_turn_id(tokenizer), model.get_base_model()
    tokens: list[int] = []
    for _ in range(max_new_tokens):
        token = int(out.logits[0, -1].argmax())
        if token == eos:
            break
        tokens.append(token)
        mask = torch.cat([mask, mask.new_ones(1, 1)], dim=1)
        out = base(input_ids=torch.tensor([[token]], device=device), attention_mask=mask, cache=cache)
        cache = out.past_key_values
    return tokenizer.decode(tokens, skip_special_tokens=True).strip()


@torch.no_grad()
def classify(
    model: nn.Module, tokenizer: Any, texts: Sequence[str], labels: Sequence[str], seq_len: int, device: str
) -> list[tuple[str, float]]:
    """(predicted label, its probability) for each text."""
    was_training = model.training
    model.eval()
    results: list[tuple[str, float]] = []
    for start in range(0, len(texts), EVAL_BATCH * 4):
        part = list(texts[start : start + EVAL_BATCH * 4])
        batch = tokenizer(part, padding=True, truncation=True, max_length=seq_len, return_tensors="pt")
        batch = {k: v.to(device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}
        probs = model(**batch).logits.float().softmax(dim=-1)  # (B, labels)
        best = probs.max(dim=-1)
        results += [(labels[i], float(p)) for i, p in zip(best.indices.tolist(), best.values, strict=True)]
    model.train(was_training)
    return results


def answer(
    model: nn.Module,
    tokenizer: Any,
    task: Task,
    prompts: Sequence[str],
    max_new_tokens: int,
    seq_len: int,
    device: str,
) -> list[str]:
    """What the model says to each prompt: generated text (chat, preference) or 'label (p=0.93)'
    (classification)."""
    if task.kind != "classification":
        return generate(model, tokenizer, prompts, max_new_tokens, device)
    return [
        f"{label} (p={p:.2f})"
        for label, p in classify(model, tokenizer, prompts, task.labels, seq_len, device)
    ]


def task_scores(
    model: nn.Module, tokenizer: Any, task: Task, max_new_tokens: int, seq_len: int, device: str
) -> tuple[float, float | None]:
    """(the task's metric, the degenerate share of the generated answers; None for classification)."""
    if task.kind == "chat":
        examples = [e for e in task.test if isinstance(e, ChatExample)][:EVAL_METRIC_PROMPTS]
        predictions = generate(model, tokenizer, [e.prompt for e in examples], max_new_tokens, device)
        return task.metric(predictions, [e.answer for e in examples]), degenerate_share(predictions)
    examples = [e for e in task.test if isinstance(e, LabelledExample)]
    predicted = classify(model, tokenizer, [e.text for e in examples], task.labels, seq_len, device)
    return task.metric([label for label, _ in predicted], [e.label for e in examples]), None


def degenerate_rate(model: nn.Module, tokenizer: Any, task: Task, max_new_tokens: int, device: str) -> float:
    """Degenerate share of greedy answers to the first held-out prompts of a preference task (DPO's
    metric comes from trl's rewards, which cannot see a reply that loops)."""
    prompts = [e.prompt for e in task.test if isinstance(e, PreferenceExample)][:EVAL_METRIC_PROMPTS]
    return degenerate_share(generate(model, tokenizer, prompts, max_new_tokens, device))
