"""The widgets that show the recorded runs' truth, in a real browser: exact ranks on the same modules,
the compare table's budget columns, the explorer's real ΔW, and the calculator's new switches."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from app.lesson import recorded_runs as lesson_runs
from tests.browser.conftest import open_lesson

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


def to_precision(x: float, digits: int = 3) -> str:
    """JavaScript's Number.prototype.toPrecision for 1e-6 < |x| < 10**digits (format.js: num)."""
    return f"{x:.{max(0, digits - 1 - math.floor(math.log10(abs(x))))}f}"


def mounted(page, widget: str, ready: str):  # noqa: ANN201 (a Playwright locator)
    """The lesson with every widget mounted, scrolled to ``widget`` once ``ready`` is inside it."""
    open_lesson(page)
    page.evaluate("window.ftlabMountAll()")
    located = page.locator(f"#widget-{widget}")
    located.scroll_into_view_if_needed()
    page.wait_for_selector(f"#widget-{widget} {ready}", timeout=60_000)
    return located


def test_spectrum_table_shows_exact_ranks_on_the_same_modules(page) -> None:
    full = lesson_runs.recorded_runs()["full"].final_layers()
    widget = mounted(page, "spectrum-live", "td[data-rank=full]")
    cells = widget.locator("td[data-rank=full]").all_inner_texts()
    expected = [f"{layer['effective_rank']} of {layer['num_values']}" for layer in full.values()]
    assert cells == expected
    lora = widget.locator("td[data-rank=lora]").all_inner_texts()
    assert len(lora) == len(expected) and all(text.endswith("(r = 8)") for text in lora), lora


def test_compare_rows_show_steps_lr_and_tokens(page) -> None:
    run = lesson_runs.recorded_runs()["lora"]
    table = mounted(page, "compare", "tbody tr th").locator("table")
    headers = table.locator("thead th").all_inner_texts()
    for column in ("budget", "looping replies"):
        assert column in headers, headers
    row = table.locator("tbody tr", has=page.locator("th", has_text=re.compile(r"^lora$"))).first
    cells = row.locator("td").all_inner_texts()
    budget = cells[headers.index("budget") - 1]  # "20 steps · lr 2e-5 · batch 4 · 12,345 tokens"
    steps, lr, batch, tokens = budget.split(" · ")
    assert steps == f"{run.config['steps']} steps" and batch == f"batch {run.config['batch_size']}"
    assert lr.startswith("lr ") and float(lr[3:]) == pytest.approx(run.config["lr"], rel=0.05)
    assert tokens.replace(",", "") == f"{run.summary['tokens_seen']} tokens"


def test_compare_rows_show_the_spread_over_the_recorded_seeds(page) -> None:
    """Each recorded row with several seeds names them and the range of their final held-out loss
    and metric, from the recordings (the row itself is seed 0, the run the page plays)."""
    seeds = lesson_runs.seed_runs()
    table = mounted(page, "compare", "tbody tr th").locator("table")
    checked = 0
    for method, runs in seeds.items():
        if len(runs) < 2:
            continue
        row = table.locator("tbody tr", has=page.locator("th", has_text=re.compile(f"^{method}$"))).first
        text = row.locator("[data-seeds]").inner_text()
        losses = [r.last["eval_loss"] for r in runs]
        low, high = to_precision(min(losses)), to_precision(max(losses))
        assert f"{len(runs)} seeds: loss {low if low == high else f'{low}–{high}'}" in text, text
        checked += 1
    assert checked >= len(lesson_runs.LM_METHODS), f"only {checked} recorded methods have several seeds"


def test_explorer_approximates_the_recorded_full_runs_delta(page) -> None:
    real = json.loads((ROOT / "static" / "data" / "full-delta.json").read_text())
    open_lesson(page, "?r=8")
    widget = page.locator("#widget-lora-explorer")
    widget.scroll_into_view_if_needed()
    page.wait_for_selector("#widget-lora-explorer [data-count=energy]", timeout=60_000)
    assert widget.locator("[data-count=effective-rank]").inner_text() == str(real["effective_rank"])
    s = real["singular_values"]
    kept = sum(v * v for v in s[:8]) / sum(v * v for v in s)
    assert widget.locator("[data-count=energy]").inner_text() == f"{100 * kept:.1f}%"


def test_memory_calculator_shows_65b_needs_checkpointing(page) -> None:
    open_lesson(page, "?mem_model=65&mem_precision=4bit&mem_method=qlora&mem_rank=16&mem_ckpt=0")
    widget = page.locator("#widget-memory-calculator")
    widget.scroll_into_view_if_needed()
    page.wait_for_selector("#widget-memory-calculator [data-part=total]")
    assert widget.locator("[data-part=total]").inner_text() == "52.3 GB"
    widget.locator("#mem-ckpt").check()
    assert widget.locator("[data-part=total]").inner_text() == "35.1 GB"
    widget.get_by_role("button", name="8-bit AdamW", exact=True).click()
    assert widget.locator("[data-part=total]").inner_text() != "35.1 GB"
