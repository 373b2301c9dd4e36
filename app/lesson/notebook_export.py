"""A finished run as a Jupyter notebook that reproduces it with plain transformers + peft, no ftlab.

The notebook carries the run's data (the task's training and held-out examples, in the order the lab
used), its settings and seed, and the lab's procedure written out in plain code: the chat template with
answer-only labels, batches drawn by ``random.Random(seed)`` (a fresh permutation each epoch), the model
loaded in float32 and then ``torch.manual_seed(seed)`` before peft wraps it, AdamW without weight decay,
linear warmup over a tenth of the steps then cosine decay, gradient clipping at 1.0, and the held-out
loss over the first 32 held-out examples. Cells then plot the loss and ΔW's singular values.

Covered: the full and LoRA methods on built-in chat tasks. Others (qlora's 4-bit base, prompt and prefix
tuning, trl's SFT and DPO pipelines, the encoder head) raise ``NotebookUnsupported``.
"""

from __future__ import annotations

import json
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from app.training.registry import spec_for
from app.training.tasks import ChatExample, builtin_task_names, load_builtin_task

METHODS = ("full", "lora")
MEDIA_TYPE = "application/x-ipynb+json"


class NotebookUnsupported(ValueError):
    """The run cannot be exported (not finished, or a method or task the export does not cover)."""


def notebook_for_run(events: list[dict[str, Any]], title: str) -> nbformat.NotebookNode:
    """The notebook of a run from its events (the ``started`` event's config, the step losses)."""
    if not events or events[-1].get("type") != "done":
        raise NotebookUnsupported("only a finished run (ending in 'done') can be exported")
    started = next((e for e in events if e["type"] == "started"), None)
    if started is None:
        raise NotebookUnsupported("the run has no 'started' event")
    config = started["config"]
    if config["method"] not in METHODS:
        raise NotebookUnsupported(
            f"the notebook export covers the methods {', '.join(METHODS)}, not {config['method']!r}"
        )
    if config["task"] not in builtin_task_names():
        raise NotebookUnsupported(f"the notebook export covers built-in tasks, not {config['task']!r}")
    task = load_builtin_task(config["task"])
    if task.kind != "chat":
        raise NotebookUnsupported(f"task {task.name!r} is not a chat task")
    spec = spec_for(config["model"])
    recorded = [(e["step"], e["loss"]) for e in events if e["type"] == "step"]
    recorded_eval = [(e["step"], e["eval_loss"]) for e in events if e["type"] == "eval"]

    def pairs(examples: Any) -> list[dict[str, str]]:
        return [{"prompt": e.prompt, "answer": e.answer} for e in examples if isinstance(e, ChatExample)]

    cells = [
        new_markdown_cell(_intro(title, config, started, spec.hub_id)),
        new_code_cell(_settings(config, started, spec.hub_id)),
        new_code_cell(
            f"TRAIN = {pairs(task.train)!r}\nHELD_OUT = {pairs(task.test)!r}\nlen(TRAIN), len(HELD_OUT)"
        ),
        new_code_cell(ENCODING),
        new_code_cell(_model_cell(config)),
        new_code_cell(TRAINING),
        new_code_cell(f"RECORDED_LOSS = {recorded!r}\nRECORDED_EVAL = {recorded_eval!r}\n{PLOT_LOSS}"),
        new_code_cell(SPECTRA),
    ]
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["ftlab"] = {"job_id": started.get("job_id", ""), "method": config["method"]}
    nbformat.validate(notebook)
    return notebook


def notebook_bytes(notebook: nbformat.NotebookNode) -> bytes:
    return nbformat.writes(notebook).encode("utf-8")


def _intro(title: str, config: dict[str, Any], started: dict[str, Any], hub_id: str | None) -> str:
    rows = "\n".join(f"| `{key}` | `{json.dumps(value)}` |" for key, value in sorted(config.items()))
    return f"""# {title}

This notebook reproduces a run of the Fine-Tuning Lab with plain `transformers` and `peft`: the same
data in the same order, the same seed, settings and learning-rate schedule. It does not need ftlab.

- Model: `{hub_id or config["model"]}` (set the environment variable `FTLAB_NOTEBOOK_MODEL` to a local
  folder to load the weights from there, for example offline).
- The run's weights came from: {started.get("weights") or "not recorded"}. Other weights (the hub's
  original bf16 model, say) give somewhat different losses.
- Method: **{config["method"]}**, {config["steps"]} steps of {config["batch_size"]} examples.

| setting | value |
| --- | --- |
{rows}
"""


def _settings(config: dict[str, Any], started: dict[str, Any], hub_id: str | None) -> str:
    return f"""import math
import os
import random

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

MODEL_ID = {hub_id or config["model"]!r}
MODEL_PATH = os.environ.get("FTLAB_NOTEBOOK_MODEL") or MODEL_ID  # a local folder, or the hub id
CONFIG = {config!r}
SEED, STEPS, LR = CONFIG["seed"], CONFIG["steps"], CONFIG["lr"]
BATCH, SEQ_LEN, EVAL_EVERY = CONFIG["batch_size"], CONFIG["seq_len"], CONFIG["eval_every"]
# Stop after fewer steps (the schedule still spans STEPS); skip the held-out loss with FTLAB_NOTEBOOK_EVAL=0.
RUN_STEPS = min(STEPS, int(os.environ.get("FTLAB_NOTEBOOK_STEPS") or STEPS))
EVALUATE = os.environ.get("FTLAB_NOTEBOOK_EVAL", "1") != "0"
WARMUP_FRACTION, MAX_GRAD_NORM = 0.1, 1.0
EVAL_EXAMPLES, EVAL_BATCH = 32, 8
"""


ENCODING = '''tokenizer = AutoTokenizer.from_pretrained(MODEL_PATH)
if tokenizer.pad_token is None:
    tokenizer.pad_token = tokenizer.eos_token
IGNORE = -100  # labels the loss skips: everything but the answer and the token that ends it


def end_of_turn_id():
    template = tokenizer.chat_template or ""
    for token in ("<|im_end|>", "<|eot_id|>", "<end_of_turn>"):
        if token in template:
            token_id = tokenizer.convert_tokens_to_ids(token)
            if isinstance(token_id, int) and token_id >= 0 and token_id != tokenizer.unk_token_id:
                return token_id
    return tokenizer.eos_token_id


def prompt_text(prompt):
    if tokenizer.chat_template:
        messages = [{"role": "user", "content": prompt}]
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return f"### User:\\n{prompt}\\n### Assistant:\\n"


def encode(prompt, answer):
    """Token ids of the conversation, labels only on the answer; long examples lose the prompt's head."""
    head = prompt_text(prompt)
    if tokenizer.chat_template:
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
        text = tokenizer.apply_chat_template(messages, tokenize=False)
        start = len(head) if text.startswith(head) else text.rfind(answer)
    else:
        text, start = head + answer, len(head)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = list(encoded["input_ids"]), encoded["offset_mapping"]
    first = next((i for i, (s, _) in enumerate(offsets) if s >= start), len(ids))
    end = end_of_turn_id()
    stop = next((i for i in range(first, len(ids)) if ids[i] == end), None)
    if stop is None:
        ids, stop = ids + [end], len(ids)
    ids = ids[: stop + 1]
    labels = [IGNORE] * first + ids[first:]
    if len(ids) > SEQ_LEN:
        cut = min(len(ids) - SEQ_LEN, first)
        ids, labels = ids[cut : cut + SEQ_LEN], labels[cut : cut + SEQ_LEN]
    return ids, labels


def make_batch(examples):
    encoded = [encode(e["prompt"], e["answer"]) for e in examples]
    width = max(len(ids) for ids, _ in encoded)
    input_ids = torch.full((len(encoded), width), tokenizer.pad_token_id, dtype=torch.long)
    labels = torch.full((len(encoded), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, (ids, labs) in enumerate(encoded):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, : len(ids)] = torch.tensor(labs)
        mask[row, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


def batches(examples, size, seed):
    """Endless batches: each epoch a fresh permutation from one random.Random(seed)."""
    rng, pool = random.Random(seed), []
    while True:
        if len(pool) < size:
            epoch = list(examples)
            rng.shuffle(epoch)
            pool += epoch
        yield pool[:size]
        pool = pool[size:]
'''


def _model_cell(config: dict[str, Any]) -> str:
    load = """model = AutoModelForCausalLM.from_pretrained(MODEL_PATH, dtype=torch.float32)
torch.manual_seed(SEED)  # after loading: the adapter's random start depends on the seed alone
"""
    if config["method"] == "full":
        return (
            load
            + """model.requires_grad_(True)  # full fine-tuning: every weight trains
# ΔW = W - W0 is measured on the attention projections of three blocks (first, middle, last)
blocks = model.config.num_hidden_layers
WATCHED = {
    f"model.layers.{b}.self_attn.{p}.weight"
    for b in (0, blocks // 2, blocks - 1)
    for p in ("q_proj", "v_proj")
}
START = {n: p.detach().clone() for n, p in model.named_parameters() if n in WATCHED}
"""
        )
    return (
        load
        + f"""from peft import LoraConfig, get_peft_model

model = get_peft_model(
    model,
    LoraConfig(
        r={config["rank"]!r},
        lora_alpha={config["alpha"]!r},
        lora_dropout={config["dropout"]!r},
        target_modules={config["target_modules"]!r},
        use_dora={config.get("use_dora", False)!r},
        use_rslora={config.get("use_rslora", False)!r},
        task_type="CAUSAL_LM",
    ),
)
model.print_trainable_parameters()
"""
    )


TRAINING = '''params = [p for p in model.parameters() if p.requires_grad]
optimizer = torch.optim.AdamW(params, lr=LR, weight_decay=0.0)
warmup = max(1, round(WARMUP_FRACTION * STEPS))


def factor(done):  # update k = done + 1 of STEPS: linear warmup, then cosine decay
    k = done + 1
    return k / warmup if k <= warmup else 0.5 * (1 + math.cos(math.pi * (k - warmup) / (STEPS - warmup + 1)))


schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@torch.no_grad()
def held_out_loss():
    """Mean loss per answer token over the first held-out examples."""
    model.eval()
    total, count = 0.0, 0
    examples = HELD_OUT[:EVAL_EXAMPLES]
    for start in range(0, len(examples), EVAL_BATCH):
        batch = make_batch(examples[start : start + EVAL_BATCH])
        weight = int((batch["labels"][:, 1:] != IGNORE).sum())
        total += float(model(**batch).loss) * weight
        count += weight
    model.train()
    return total / max(count, 1)


history = {"step": [], "loss": [], "eval_step": [], "eval_loss": []}
if EVALUATE:
    history["eval_step"].append(0)
    history["eval_loss"].append(held_out_loss())
data = batches(TRAIN, BATCH, SEED)
model.train()
for step in range(1, RUN_STEPS + 1):
    loss = model(**make_batch(next(data))).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
    optimizer.step()
    schedule.step()
    optimizer.zero_grad(set_to_none=True)
    history["step"].append(step)
    history["loss"].append(loss.item())
    print(f"step {step} loss {loss.item():.6f}")
    if EVALUATE and (step % EVAL_EVERY == 0 or step == STEPS):
        history["eval_step"].append(step)
        history["eval_loss"].append(held_out_loss())
        print(f"step {step} held-out loss {history['eval_loss'][-1]:.6f}")
'''

PLOT_LOSS = '''import plotly.graph_objects as go


def show(figure, fallback):
    """Inline in Jupyter; run as a plain script, the figure is written to an HTML file instead."""
    try:
        get_ipython  # noqa: B018 (defined only inside IPython)
    except NameError:
        figure.write_html(fallback, include_plotlyjs=True)
        print(f"wrote {fallback}")
    else:
        figure.show()


figure = go.Figure()
figure.add_scatter(x=history["step"], y=history["loss"], name="training loss (this notebook)")
figure.add_scatter(
    x=history["eval_step"], y=history["eval_loss"], name="held-out loss (this notebook)", mode="lines+markers"
)
figure.add_scatter(
    x=[s for s, _ in RECORDED_LOSS],
    y=[v for _, v in RECORDED_LOSS],
    name="training loss (lab)",
    line={"dash": "dot"},
)
figure.add_scatter(
    x=[s for s, _ in RECORDED_EVAL],
    y=[v for _, v in RECORDED_EVAL],
    name="held-out loss (lab)",
    mode="markers",
)
figure.update_layout(xaxis_title="step", yaxis_title="loss", title="Loss: this notebook and the lab's run")
show(figure, "loss.html")
for (step, ours), (_, theirs) in zip(zip(history["step"], history["loss"]), RECORDED_LOSS):
    print(f"step {step}: notebook {ours:.4f}, lab {theirs:.4f}")
'''

SPECTRA = """# ΔW's singular values, as the lesson draws them: each module's σ_i / σ_1, and the effective rank
# (how many directions hold 90% of the energy σ1² + σ2² + …).
def delta_ws():
    if hasattr(model, "peft_config"):
        for name, module in model.named_modules():
            if hasattr(module, "lora_A") and "default" in module.lora_A:
                a, b = module.lora_A["default"].weight, module.lora_B["default"].weight
                yield name, (module.scaling["default"] * b @ a).detach()
    else:
        current = dict(model.named_parameters())
        for name, start in START.items():
            yield name, (current[name] - start).detach()


def effective_rank(sigma, share=0.9):
    energy = (sigma**2).cumsum(0) / (sigma**2).sum()
    return int((energy < share).sum()) + 1


figure = go.Figure()
for name, delta in delta_ws():
    sigma = torch.linalg.svdvals(delta.float())
    if float(sigma[0]) == 0.0:
        continue  # an update that never moved
    print(f"{name}: effective rank {effective_rank(sigma)} of {len(sigma)}")
    figure.add_scatter(y=(sigma / sigma[0]).tolist(), name=name.split("model.")[-1], mode="lines")
figure.update_layout(yaxis_type="log", xaxis_title="i", yaxis_title="σ_i / σ_1", title="ΔW's singular values")
show(figure, "spectra.html")
"""
