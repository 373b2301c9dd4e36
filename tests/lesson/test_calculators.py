"""The memory/parameter calculator: hand-worked cases, the papers' figures, real model shapes built
with transformers + peft, bad inputs, and the shared cases file the JavaScript mirror reads."""

from __future__ import annotations

import json

import pytest

from app.lesson import calculators as calc
from tests.utils.calculator_cases import FIXTURE, build_cases

B7, B70, SMOL = calc.preset("7"), calc.preset("70"), calc.preset("0.135")


@pytest.mark.parametrize(
    ("d_out", "d_in", "rank", "expected"),
    [(4096, 4096, 16, 131_072), (4096, 4096, 8, 65_536), (8, 4, 2, 24), (192, 576, 16, 12_288), (1, 1, 1, 2)],
)
def test_lora_params_of_one_matrix(d_out: int, d_in: int, rank: int, expected: int) -> None:
    assert calc.lora_params(d_out, d_in, rank) == expected


def test_lora_against_full_for_the_lesson_example() -> None:
    full, lora = calc.dense_params(4096, 4096), calc.lora_params(4096, 4096, 16)
    assert (full, lora, full // lora) == (16_777_216, 131_072, 128)


def test_lora_for_a_whole_model_sums_its_shapes() -> None:
    shapes = [(4096, 4096), (1024, 4096)] * 3
    assert calc.lora_model_params(shapes, 8) == 3 * (8 * 8192 + 8 * 5120)
    # A 7B model, q and v in each of 32 layers, rank 16.
    assert calc.trainable_params(B7, "lora", rank=16) == 2 * 32 * 16 * (4096 + 4096)


def test_seven_b_full_fine_tuning_in_fp32() -> None:
    est = calc.training_memory(B7, "fp32", "full")
    assert (est.weights, est.gradients, est.optimizer) == (28e9, 28e9, 56e9)
    assert est.saved == 28e9 and est.trainable_pct == 100


def test_mixed_precision_costs_sixteen_bytes_per_parameter() -> None:
    est = calc.training_memory(B7, "bf16", "full")
    assert est.weights == est.gradients == 14e9
    assert est.weights + est.gradients + est.optimizer == 16 * 7e9


def test_adapters_keep_the_base_frozen() -> None:
    est = calc.training_memory(B7, "bf16", "lora", rank=16)
    n = 2 * 32 * 16 * 8192
    assert est.trainable == n
    assert est.weights == 14e9 + 4 * n  # bf16 base + fp32 adapter
    assert (est.gradients, est.optimizer, est.saved) == (4 * n, 8 * n, 4 * n)
    # The backward pass still runs through every frozen layer: same activations as full fine-tuning.
    assert est.activations == calc.training_memory(B7, "bf16", "full").activations


def test_activation_estimate_by_hand() -> None:
    # 32 layers · s·b·h·(34 + 5·a·s/h), s = 512, h = 4096, a = 32 → 34 + 20 = 54 (Korthikanti et al. 2022).
    assert calc.activation_bytes(B7, 512) == 32 * 512 * 4096 * 54
    assert calc.activation_bytes(B7, 512, batch=2, precision="fp32") == 4 * 32 * 512 * 4096 * 54
    prompt = calc.training_memory(B7, "bf16", "prompt", seq_len=512, virtual_tokens=20)
    assert prompt.activations == calc.activation_bytes(B7, 532)  # the soft prompt is 20 more tokens


def test_nf4_bits_per_weight_follow_the_qlora_paper() -> None:
    assert calc.nf4_bits_per_param(double_quant=False) == 4.5  # 32/64 = 0.5 bits of constants
    assert calc.nf4_bits_per_param() == 4 + 8 / 64 + 32 / (64 * 256)
    assert round(calc.nf4_bits_per_param() - 4, 3) == 0.127  # "0.127 bits per parameter"
    # Double quantisation saves about 3 GB on a 65B model (the paper's figure).
    saving = calc.quantised_weight_bytes(65e9, double_quant=False) - calc.quantised_weight_bytes(65e9)
    assert 2.9e9 < saving < 3.1e9


def test_seventy_b_in_four_bits_does_not_fit_a_24_gb_card() -> None:
    codes = 70e9 * 4 / 8
    weights = calc.quantised_weight_bytes(70e9)
    assert codes == 35e9 and weights > codes
    kv = calc.kv_cache_bytes(B70, 4096)
    assert kv == 2 * 80 * 1024 * 4096 * 2
    assert calc.cards_needed(weights + kv, 24) == 2
    assert calc.bits_to_fit(70e9, 24) < 4
    est = calc.training_memory(B70, "4bit", "qlora", rank=16)
    assert est.weights == pytest.approx(weights + 4 * est.trainable)


def test_sixty_five_b_on_one_48_gb_gpu_needs_gradient_checkpointing() -> None:
    """QLoRA's headline (Dettmers et al. 2023: 65B on one 48 GB GPU) holds only with checkpointing."""
    b65 = calc.preset("65")
    plain = calc.training_memory(b65, "4bit", "qlora", rank=16)
    ckpt = calc.training_memory(b65, "4bit", "qlora", rank=16, checkpointing=True)
    assert plain.total > 48e9 > ckpt.total
    # 80 layers · s·b·h·54 without; 80 layer inputs of 2·s·b·h plus one layer rebuilt with it
    assert plain.activations == 80 * 512 * 8192 * 54
    assert ckpt.activations == 80 * 2 * 512 * 8192 + 512 * 8192 * 54


def test_eight_bit_adamw_keeps_two_bytes_of_state() -> None:
    adam = calc.training_memory(B7, "bf16", "full")
    eight = calc.training_memory(B7, "bf16", "full", optimizer="adamw8bit")
    assert adam.optimizer == 7e9 * (8 + 4) and eight.optimizer == 7e9 * (2 + 4)  # + the fp32 master copy
    paged = calc.training_memory(B7, "bf16", "full", optimizer="paged_adamw8bit")
    assert paged.total == eight.total  # paging moves bytes under pressure; the steady figure is the same


def test_zero3_shards_states_but_not_activations() -> None:
    one = calc.training_memory(B70, "bf16", "full", checkpointing=True)
    eight = calc.training_memory(B70, "bf16", "full", checkpointing=True, gpus=8)
    assert eight.weights == one.weights / 8 and eight.gradients == one.gradients / 8
    assert eight.optimizer == one.optimizer / 8 and eight.activations == one.activations
    sixteen = calc.training_memory(B70, "bf16", "full", checkpointing=True, gpus=16)
    assert one.total > 1000e9 and eight.total > 80e9 > sixteen.total  # 70B full FT: sixteen 80 GB cards


def test_prompt_prefix_and_head_counts() -> None:
    assert calc.trainable_params(SMOL, "prompt", virtual_tokens=20) == 20 * 576
    assert calc.trainable_params(SMOL, "prefix", virtual_tokens=20) == 2 * 30 * 20 * 192
    assert calc.classifier_head_params(384, 2) == 770


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"precision": "4bit", "method": "full"}, "4-bit"),
        ({"precision": "fp8", "method": "lora"}, "precision"),
        ({"precision": "bf16", "method": "lora", "rank": 0}, "rank"),
        ({"precision": "bf16", "method": "prompt", "virtual_tokens": 0}, "virtual_tokens"),
        ({"precision": "bf16", "method": "adapter"}, "method"),
        ({"precision": "bf16", "method": "full", "seq_len": 0}, "seq_len"),
        ({"precision": "bf16", "method": "lora", "optimizer": "sgd"}, "optimizer"),
        ({"precision": "bf16", "method": "full", "gpus": 0}, "gpus"),
    ],
)
def test_bad_inputs_are_refused_by_name(kwargs: dict, names: str) -> None:
    with pytest.raises(calc.CalculatorError, match=names):
        calc.training_memory(B7, **kwargs)


def test_unknown_preset_lists_the_choices() -> None:
    with pytest.raises(calc.CalculatorError, match="0.135, 1, 7, 13, 65, 70"):
        calc.preset("3")


def test_shared_cases_file_matches_the_calculator() -> None:
    """The JavaScript mirror is tested against this file; it must say what the calculator says."""
    on_disk = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(build_cases())), (
        "tests/fixtures/calculator_cases.json is stale: run `python -m tests.utils.calculator_cases`"
    )
    assert len(on_disk["memory"]) >= 10 and len(on_disk["errors"]) >= 3


def test_presets_match_real_architectures() -> None:
    """Build the preset shapes as real Llama models on the meta device (no weights) and let peft
    count: SmolLM2-135M's parameters, and LoRA on q/v (peft's default targets for Llama)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    peft = pytest.importorskip("peft")
    smollm2 = transformers.LlamaConfig(
        vocab_size=49152,
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        tie_word_embeddings=True,
    )  # fmt: skip  (SmolLM2-135M's published config)
    llama70 = transformers.LlamaConfig(
        vocab_size=32000,
        hidden_size=8192,
        intermediate_size=28672,
        num_hidden_layers=80,
        num_attention_heads=64,
        num_key_value_heads=8,
    )  # fmt: skip  (Llama-2-70B's published config)
    with torch.device("meta"):
        small = transformers.LlamaForCausalLM(smollm2)
        big = transformers.LlamaForCausalLM(llama70)
    assert sum(p.numel() for p in small.parameters()) == SMOL.params
    assert 68e9 < sum(p.numel() for p in big.parameters()) < 70e9  # "70B" is nominal
    for model, preset in ((small, SMOL), (big, B70)):
        lora = peft.get_peft_model(model, peft.LoraConfig(r=16, target_modules=["q_proj", "v_proj"]))
        trainable = sum(p.numel() for p in lora.parameters() if p.requires_grad)
        assert trainable == calc.trainable_params(preset, "lora", rank=16)


def test_all_linear_lora_count_is_peft_s() -> None:
    """QLoRA's advice (every linear layer): the calculator's count equals peft's "all-linear" on a
    meta-device Llama-2-7B (the shape the lesson quotes) and SmolLM2-135M."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    peft = pytest.importorskip("peft")
    configs = {
        "7": dict(
            vocab_size=32000,
            hidden_size=4096,
            intermediate_size=11008,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=32,
        ),
        "0.135": dict(
            vocab_size=49152,
            hidden_size=576,
            intermediate_size=1536,
            num_hidden_layers=30,
            num_attention_heads=9,
            num_key_value_heads=3,
            tie_word_embeddings=True,
        ),
    }  # fmt: skip  (the published configs)
    for key, config in configs.items():
        with torch.device("meta"):
            model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**config))
        lora = peft.get_peft_model(model, peft.LoraConfig(r=16, target_modules="all-linear"))
        trainable = sum(p.numel() for p in lora.parameters() if p.requires_grad)
        assert trainable == calc.lora_model_params(calc.preset(key).all_linear_targets(), 16), key
