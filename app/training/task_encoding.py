"""Turning task examples into tensors: chat template + answer-only labels, classification batches.

Chat examples are rendered with the model's own chat template (``tokenizer.apply_chat_template``).
The loss covers only the answer: every label is -100 except the answer's tokens and the
end-of-turn token that closes it, so the model learns what to say and when to stop — not the prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

IGNORE_INDEX = -100  # label value the cross-entropy loss skips
# used only when a tokenizer has no chat template (e.g. a bare test tokenizer)
FALLBACK_USER = "### User:\n"
FALLBACK_ASSISTANT = "\n### Assistant:\n"
# end-of-turn markers of common chat templates (ChatML, Llama 3, Gemma)
END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>")


@dataclass(frozen=True)
class ChatEncoding:
    input_ids: list[int]
    labels: list[int]  # IGNORE_INDEX outside the answer


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def prompt_text(tokenizer: Any, prompt: str) -> str:
    """The text a model continues to answer ``prompt`` (template with the generation prompt)."""
    if has_chat_template(tokenizer):
        messages = [{"role": "user", "content": prompt}]
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return f"{FALLBACK_USER}{prompt}{FALLBACK_ASSISTANT}"


def end_of_turn_id(tokenizer: Any) -> int:
    """The token that closes an assistant turn: the one the chat template writes, else EOS."""
    template = getattr(tokenizer, "chat_template", None) or ""
    for token in END_OF_TURN_TOKENS:
        if token in template:
            token_id = tokenizer.convert_tokens_to_ids(token)
            if isinstance(token_id, int) and token_id >= 0 and token_id != tokenizer.unk_token_id:
                return token_id
    if tokenizer.eos_token_id is None:
        raise ValueError("tokenizer has neither an end-of-turn nor an EOS token")
    return int(tokenizer.eos_token_id)


def _full_text(tokenizer: Any, prompt: str, answer: str) -> tuple[str, int]:
    """Rendered conversation and the character offset where the answer starts."""
    if not has_chat_template(tokenizer):
        head = f"{FALLBACK_USER}{prompt}{FALLBACK_ASSISTANT}"
        return head + answer, len(head)
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    head = prompt_text(tokenizer, prompt)
    if full.startswith(head):
        return full, len(head)
    start = full.rfind(answer)  # templates that rewrite the turn header (rare)
    if start < 0:
        raise ValueError("chat template does not reproduce the answer text")
    return full, start


def encode_chat(tokenizer: Any, prompt: str, answer: str, max_len: int) -> ChatEncoding:
    """Token ids of prompt + answer and labels that keep only the answer and its end-of-turn token."""
    text, answer_start = _full_text(tokenizer, prompt, answer)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = list(encoded["input_ids"])
    offsets: list[tuple[int, int]] = [tuple(o) for o in encoded["offset_mapping"]]
    end_id = end_of_turn_id(tokenizer)

    first = next((i for i, (s, _) in enumerate(offsets) if s >= answer_start), len(ids))
    stop = next((i for i in range(first, len(ids)) if ids[i] == end_id), None)
    if stop is None:  # template without an end-of-turn token: add one so the model learns to stop
        ids = ids + [end_id]
        stop = len(ids) - 1
    ids = ids[: stop + 1]  # drop what the template puts after the turn (e.g. a newline)
    labels = [IGNORE_INDEX] * first + ids[first:]
    return _truncate(ChatEncoding(ids, labels), first, max_len)


def _truncate(enc: ChatEncoding, answer_start: int, max_len: int) -> ChatEncoding:
    """Keep the answer: cut the prompt from the left; an answer longer than max_len keeps its head."""
    if len(enc.input_ids) <= max_len:
        return enc
    start = min(len(enc.input_ids) - max_len, answer_start)
    end = start + max_len
    return ChatEncoding(enc.input_ids[start:end], enc.labels[start:end])


def collate_chat(encodings: Sequence[ChatEncoding], pad_id: int) -> dict[str, Tensor]:
    """Right-pad to the longest example: input_ids, attention_mask, labels — each (B, T)."""
    width = max(len(e.input_ids) for e in encodings)
    input_ids = torch.full((len(encodings), width), pad_id, dtype=torch.long)
    labels = torch.full((len(encodings), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(encodings), width), dtype=torch.long)
    for row, enc in enumerate(encodings):
        n = len(enc.input_ids)
        input_ids[row, :n] = torch.tensor(enc.input_ids)
        labels[row, :n] = torch.tensor(enc.labels)
        mask[row, :n] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


def pad_id_of(tokenizer: Any) -> int:
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return int(pad) if pad is not None else 0


def chat_batch(tokenizer: Any, pairs: Sequence[tuple[str, str]], max_len: int) -> dict[str, Tensor]:
    """(prompt, answer) pairs → a padded causal-LM batch with answer-only labels."""
    encodings = [encode_chat(tokenizer, prompt, answer, max_len) for prompt, answer in pairs]
    return collate_chat(encodings, pad_id_of(tokenizer))


def classification_batch(
    tokenizer: Any, texts: Sequence[str], labels: Sequence[str], label_names: Sequence[str], max_len: int
) -> dict[str, Tensor]:
    """Texts → padded/truncated encoder inputs; labels → class indices in ``label_names`` order."""
    index = {name: i for i, name in enumerate(label_names)}
    batch = tokenizer(list(texts), padding=True, truncation=True, max_length=max_len, return_tensors="pt")
    out = {key: batch[key] for key in ("input_ids", "attention_mask") if key in batch}
    out["labels"] = torch.tensor([index[label] for label in labels], dtype=torch.long)
    return out
