"""``tiny-llama``: a tiny randomly initialised Llama with a small real tokenizer, built in-process.

It is untrained (its answers are noise) and exists so that tests and instant demos run every method
through the same code as the real models in a second. The tokenizer is a byte-level BPE trained on the
built-in task texts, with a ChatML chat template, so chat encoding, answer-only labels and generation
work exactly as with SmolLM2. Weights come from a fixed seed: every build is the same model.
"""

from __future__ import annotations

from pathlib import Path

import torch

from app.training.registry import Progress

VOCAB_SIZE = 1024
SEED = 0
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]  # ids 0, 1, 2 as in SmolLM2
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _corpus() -> list[str]:
    from app.training.tasks import ChatExample, LabelledExample, builtin_task_names, load_builtin_task

    texts: list[str] = []
    for name in builtin_task_names():
        for example in load_builtin_task(name).train:
            if isinstance(example, ChatExample):
                texts += [example.prompt, example.answer]
            elif isinstance(example, LabelledExample):
                texts.append(example.text)
            # preference pairs reuse the tone texts: without them the tokenizer (and model) stay as before
    return texts


def build_tokenizer():  # noqa: ANN201  (a transformers fast tokenizer)
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte: no unknown input
        show_progress=False,
    )
    core.train_from_iterator(_corpus(), trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<|im_start|>", eos_token="<|im_end|>", pad_token="<|im_end|>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_llama(out: Path, report: Progress) -> None:
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    report("build", 0.0)
    tokenizer = build_tokenizer()
    report("build", 0.5)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(SEED)
    try:
        model = LlamaForCausalLM(config)
    finally:
        torch.random.set_rng_state(generator_state)  # building must not disturb the caller's RNG
    model.generation_config = GenerationConfig.from_model_config(config)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    report("build", 1.0)
