"""Method wrapping details that the event stream does not show."""

from __future__ import annotations

import pytest
import torch

from app.training.models import ModelCache
from app.training.wrapping import init_prefix_from_text


def test_prefix_starts_as_the_base_model_reading_the_init_text(tmp_path) -> None:  # noqa: ANN001
    """Prefix KV from a real text: the prefixed model's logits equal the base model's on text + input."""
    from peft import PrefixTuningConfig, get_peft_model

    cache = ModelCache(tmp_path, "cpu")
    tokenizer = cache.get_tokenizer("tiny-llama")
    base = cache.get("tiny-llama").model.eval()
    k, text = 5, "Answer the question below."
    model = get_peft_model(
        cache.get("tiny-llama").model, PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=k)
    )
    before = model.prompt_encoder["default"].embedding.weight.detach().clone()
    init_prefix_from_text(model.eval(), tokenizer, text)
    assert not torch.equal(before, model.prompt_encoder["default"].embedding.weight)

    prefix = (tokenizer(text, add_special_tokens=False)["input_ids"] * k)[:k]
    x = tokenizer("Why is the sky blue?", add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        got = model(input_ids=x, attention_mask=torch.ones_like(x)).logits
        expected = base(input_ids=torch.cat([torch.tensor([prefix]), x], dim=1)).logits[:, k:]
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("k", [1, 12])
def test_prefix_init_repeats_or_cuts_the_text(tmp_path, k: int) -> None:  # noqa: ANN001
    from peft import PrefixTuningConfig, get_peft_model

    cache = ModelCache(tmp_path, "cpu")
    model = get_peft_model(
        cache.get("tiny-llama").model, PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=k)
    )
    init_prefix_from_text(model, cache.get_tokenizer("tiny-llama"), "Hi there.")
    assert model.prompt_encoder["default"].embedding.weight.shape[0] == k
    assert torch.isfinite(model.prompt_encoder["default"].embedding.weight).all()
