"""Generation used for samples and metrics: each method's answer equals greedy decoding by hand
(the full sequence through the model's forward each step, no KV cache), so a sample really shows
what the tuned model says. Prefix tuning is the case that needs its own decoding."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from app.training.evaluation import generate
from app.training.models import ModelCache
from app.training.tasks import end_of_turn_id, prompt_text

PROMPTS = ["Why is the sky blue?", "How do I make a good cup of tea?"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> ModelCache:
    return ModelCache(tmp_path_factory.mktemp("models"), device="cpu")


@torch.no_grad()
def greedy_by_hand(model: Any, tokenizer: Any, prompt: str, max_new_tokens: int) -> str:
    ids = tokenizer(prompt_text(tokenizer, prompt), return_tensors="pt", add_special_tokens=False)[
        "input_ids"
    ]
    new: list[int] = []
    for _ in range(max_new_tokens):
        token = int(
            model(input_ids=torch.cat([ids, torch.tensor([new], dtype=ids.dtype)], 1)).logits[0, -1].argmax()
        )
        if token == end_of_turn_id(tokenizer):
            break
        new.append(token)
    return tokenizer.decode(new, skip_special_tokens=True).strip()


def _wrapped(cache: ModelCache, method: str) -> tuple[Any, Any]:
    from peft import LoraConfig, PrefixTuningConfig, PromptTuningConfig, get_peft_model

    loaded = cache.get("tiny-llama")
    torch.manual_seed(0)
    configs = {
        "prompt": PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=4),
        "prefix": PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=4),
        "lora": LoraConfig(
            task_type="CAUSAL_LM", r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False
        ),
    }
    if method == "base":
        return loaded.model.eval(), loaded.tokenizer
    model = get_peft_model(loaded.model, configs[method]).eval()
    if method in ("prompt", "prefix"):
        with torch.no_grad():  # large virtual tokens, so that the answer differs from the base model's
            model.prompt_encoder["default"].embedding.weight.mul_(30)
    return model, loaded.tokenizer


@pytest.mark.parametrize("method", ["base", "lora", "prompt", "prefix"])
def test_generate_equals_greedy_decoding_by_hand(cache: ModelCache, method: str) -> None:
    model, tokenizer = _wrapped(cache, method)
    answers = generate(model, tokenizer, PROMPTS, 8, "cpu")
    assert answers == [greedy_by_hand(model, tokenizer, prompt, 8) for prompt in PROMPTS]


def test_the_prefix_changes_the_answer(cache: ModelCache) -> None:
    """The check above would pass if decoding ignored the prefix and the prefix did nothing."""
    base, tokenizer = _wrapped(cache, "base")
    tuned, _ = _wrapped(cache, "prefix")
    assert generate(tuned, tokenizer, PROMPTS, 8, "cpu") != generate(base, tokenizer, PROMPTS, 8, "cpu")
