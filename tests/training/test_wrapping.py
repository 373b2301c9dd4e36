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


def test_qlora_gradients_reach_early_layers_after_an_evaluation(tmp_path) -> None:  # noqa: ANN001
    """The step-0 evaluation (eval mode, no grad) must not change how the 4-bit base trains: the
    gradients of the first layer's LoRA B equal those of a model that was never evaluated. (Without
    keep_4bit_weights_differentiable, on CPUs with AVX512-BF16, they came out as zeros.)"""
    from app.training import evaluation as ev
    from app.training.methods import resolve_config
    from app.training.tasks import load_builtin_task
    from app.training.train_config import TrainConfig
    from app.training.wrapping import prepare

    cache = ModelCache(tmp_path, device="cpu")
    task = load_builtin_task("tone")
    cfg = resolve_config(TrainConfig(model="tiny-llama", method="qlora", task="tone", steps=2), task.kind)

    def first_layer_grads(evaluate_first: bool) -> dict[str, torch.Tensor]:
        torch.manual_seed(0)
        p = prepare(cfg, task, cache, lambda stage, fraction: None)
        if evaluate_first:
            ev.eval_loss(p.model, p.tokenizer, task, 64, "cpu")
        p.model.train()
        p.model(**ev.make_batch(p.tokenizer, task, task.train[:4], 64)).loss.backward()
        return {n: w.grad for n, w in p.model.named_parameters() if "layers.0." in n and "lora_B" in n}

    fresh, evaluated = first_layer_grads(False), first_layer_grads(True)
    assert fresh and all(grad.abs().sum() > 0 for grad in fresh.values())
    for name, grad in fresh.items():
        assert torch.allclose(evaluated[name], grad, rtol=1e-4, atol=1e-7), name
