"""Quiz questions about the student's own finished run, computed from that run's stored events.

After a run ends in ``done`` the quiz offers two or three questions whose answers only that run's
events hold: how many parameters the same LoRA run would train at twice the rank, the step of its
lowest held-out loss, and how many directions held 90% of ΔW's energy in one module. The server
builds them from the stored events whenever it is asked (nothing is kept between the two requests),
and grades them the same way, so a student cannot supply their own numbers. Choice ids are opaque
(a hash of the job and the choice's value), so they do not give the answer away.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from app.lesson.quiz import Choice, Question, Quiz, QuizResult, balanced_orders, grade_answers

# The ids the class dashboard counts (one per kind; each student's numbers differ).
OWN_RUN_TEXT = {
    "own-run-rank": "Your run at twice its LoRA rank: how many trainable parameters?",
    "own-run-best-step": "Your run: the step of its lowest held-out loss",
    "own-run-energy": "Your run: directions holding 90% of ΔW's energy in one module",
    "own-run-share": "Your run: the share of the model it trained",
}
LORA_FAMILY = frozenset({"lora", "qlora", "sft", "dpo"})
MAX_QUESTIONS = 3


class RunNotFinished(ValueError):
    """The run has not ended in ``done``: there is nothing final to ask about yet."""


def _count(value: float) -> str:
    return f"{round(value):,}"


def _pct(value: float) -> str:
    return f"{float(f'{value:.2g}'):g}%"


def _choices(job_id: str, right: str, wrong: Sequence[str]) -> list[Choice]:
    texts = [right, *[w for w in dict.fromkeys(wrong) if w != right]][:4]

    def opaque(text: str) -> str:
        return "c" + hashlib.sha256(f"{job_id}:{text}".encode()).hexdigest()[:10]

    return [Choice(id=opaque(t), text=t, correct=t == right) for t in texts]


def _rank(job_id: str, started: dict[str, Any], events: list[dict[str, Any]]) -> Question | None:
    config = started.get("config", {})
    rank, trainable = config.get("rank"), started.get("trainable_params", 0)
    if started.get("method") not in LORA_FAMILY or not rank or config.get("use_dora") or not trainable:
        return None  # DoRA's magnitude vectors do not grow with r
    per_rank = trainable / rank  # B (d_out × r) and A (r × d_in): the count is r × Σ(d_out + d_in)
    right = _count(per_rank * 2 * rank)
    wrong = [_count(per_rank * 4 * rank), _count(trainable), _count(per_rank * rank / 2)]
    return Question(
        id="own-run-rank",
        section="lora",
        text=f"Your {started['method']} run with r = {rank} trained {_count(trainable)} parameters. "
        f"With the same modules and r = {2 * rank}, how many would it train?",
        choices=_choices(job_id, right, wrong),
        explanation="A LoRA adapter trains B (d_out × r) and A (r × d_in) on each module, so the count is "
        f"r times a sum fixed by the modules: {_count(trainable)} / {rank} = {_count(per_rank)} per unit "
        f"of rank, and {right} at r = {2 * rank}.",
    )


def _best_step(job_id: str, started: dict[str, Any], events: list[dict[str, Any]]) -> Question | None:
    evals = [(e["step"], e["eval_loss"]) for e in events if e["type"] == "eval"]
    steps = sorted({step for step, _ in evals})
    if len(steps) < 3:
        return None
    best_step, best_loss = min(evals, key=lambda item: (item[1], item[0]))
    others = [s for s in steps if s != best_step]
    spread = [others[round(i * (len(others) - 1) / 2)] for i in range(3)] if len(others) > 3 else others
    listing = ", ".join(f"step {s}: {loss:.3f}" for s, loss in evals)
    return Question(
        id="own-run-best-step",
        section="full-fine-tuning",
        text="At which step was your run's held-out loss lowest? (The live panel's loss plot shows it.)",
        choices=_choices(job_id, f"step {best_step}", [f"step {s}" for s in spread]),
        explanation=f"Your run's held-out losses were {listing}: the lowest, {best_loss:.3f}, came at step "
        f"{best_step}. Where it stops falling is where more steps stop helping.",
    )


def _energy(job_id: str, started: dict[str, Any], events: list[dict[str, Any]]) -> Question | None:
    last = next((e for e in reversed(events) if e["type"] == "spectrum" and e.get("layers")), None)
    if last is None:
        return None
    layer = min(last["layers"], key=lambda layer: layer["name"])
    right, size = layer["effective_rank"], layer.get("num_values") or len(layer["singular_values"])
    if size < 4:
        return None
    candidates = [right + 1, max(1, right - 1), min(size, right * 2), size, 1, min(size, right + 3)]
    wrong = [str(c) for c in candidates if c != right]
    return Question(
        id="own-run-energy",
        section="lora",
        text=f"At step {last['step']}, how many directions held 90% of the energy of your run's ΔW in module "
        f"{layer['name']}? (The spectrum plot marks it.)",
        choices=_choices(job_id, str(right), wrong),
        explanation=f"That module's ΔW had {size} singular values; the largest {right} of them hold 90% of "
        f"σ₁² + σ₂² + …, so its effective rank was {right}.",
    )


def _share(job_id: str, started: dict[str, Any], events: list[dict[str, Any]]) -> Question | None:
    pct, trainable = started.get("trainable_pct"), started.get("trainable_params")
    total = started.get("total_params")
    if not pct or not total:
        return None
    right = _pct(pct)
    wrong = [_pct(min(100.0, pct * 10)), _pct(pct / 10), "100%" if pct < 50 else _pct(pct / 100)]
    return Question(
        id="own-run-share",
        section="comparison",
        text="What share of the model's parameters did your run train? (The live panel's trainable share.)",
        choices=_choices(job_id, right, wrong),
        explanation=f"Your run trained {_count(trainable)} of {_count(total)} parameters, {right}.",
    )


KINDS: tuple[Callable[[str, dict[str, Any], list[dict[str, Any]]], Question | None], ...] = (
    _rank,
    _best_step,
    _energy,
    _share,
)


def own_run_questions(job_id: str, events: list[dict[str, Any]]) -> list[Question]:
    """Two or three questions from a finished run's events (with their answers: server side only)."""
    if not events or events[-1].get("type") != "done":
        raise RunNotFinished(f"run {job_id} has not finished successfully; its questions come after 'done'")
    started = next((e for e in events if e["type"] == "started"), None)
    if started is None:
        raise RunNotFinished(f"run {job_id} has no 'started' event")
    found = [q for kind in KINDS if (q := kind(job_id, started, events)) is not None]
    return found[:MAX_QUESTIONS]


def public_questions(job_id: str, events: list[dict[str, Any]], seed: str) -> list[dict[str, Any]]:
    """The questions as the browser gets them: no answers, choices in the student's balanced order."""
    questions = own_run_questions(job_id, events)
    orders = balanced_orders(questions, f"{seed}:{job_id}")
    return [
        {
            "id": q.id,
            "text": q.text,
            "section": q.section,
            "figure": None,
            "choices": [{"id": c.id, "text": c.text} for c in orders[q.id]],
        }
        for q in questions
    ]


def grade_own_run(job_id: str, events: list[dict[str, Any]], answers: dict[str, str]) -> QuizResult:
    """Grade ``{question id: choice id}`` against the questions rebuilt from the stored events.
    Raises ``QuizAnswerError`` naming unknown questions or choices."""
    return grade_answers(Quiz(questions=own_run_questions(job_id, events)), answers, f"run {job_id}")
