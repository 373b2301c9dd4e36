"""The bare reference: a training loop written directly with torch + peft, nothing else.

Same model files, same data (the task's batches in the same order, encoded by the same chat
template code, since that is data preparation and not ftlab's machinery), same batch, seed,
optimizer, schedule and clipping as the ftlab loop; no events, no store, no evaluation, no spectra.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import torch


def load_base(model_dir: Any, name: str = "smollm2-135m") -> tuple[Any, Any]:
    """(model, tokenizer) straight from the cached files with transformers, on the device (and in
    the dtype) ftlab's runner would use: float32 on the CPU, bf16 on a CUDA GPU."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from app.training.models import device_dtype, resolve_device
    from app.training.registry import spec_for

    device = resolve_device("auto")
    path = model_dir / spec_for(name).dir_name
    model = AutoModelForCausalLM.from_pretrained(path, dtype=device_dtype(device)).to(device)
    return model, AutoTokenizer.from_pretrained(path)


def bare_run(
    base: Any,
    tokenizer: Any,
    method: str,
    steps: int,
    *,
    task_name: str = "tone",
    lr: float,
    batch_size: int,
    seq_len: int,
    seed: int = 0,
    rank: int = 8,
    alpha: float = 16.0,
    targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj"),
) -> list[float]:
    """Seconds of each step (forward, backward, clip, optimizer step, loss.item())."""
    from app.training.loop import warmup_cosine
    from app.training.tasks import batches, chat_batch, load_builtin_task

    torch.manual_seed(seed)
    model = copy.deepcopy(base)
    device = next(model.parameters()).device
    if method == "lora":
        from peft import LoraConfig, get_peft_model

        model.requires_grad_(False)
        model = get_peft_model(
            model,
            LoraConfig(
                r=rank,
                lora_alpha=alpha,
                lora_dropout=0.0,
                target_modules=list(targets),
                task_type="CAUSAL_LM",
            ),
        )
    else:
        model.requires_grad_(True)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    schedule = warmup_cosine(optimizer, steps)  # the same schedule as ftlab's loop
    task = load_builtin_task(task_name)
    data = batches(task.train, batch_size, seed)
    model.train()
    times = []
    start = time.perf_counter()
    for _ in range(steps):
        examples = next(data)
        batch = chat_batch(tokenizer, [(e.prompt, e.answer) for e in examples], seq_len)
        batch = {key: value.to(device) for key, value in batch.items()}
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        loss.item()  # also waits for the GPU
        now = time.perf_counter()
        times.append(now - start)
        start = now
    del model, optimizer
    return times
