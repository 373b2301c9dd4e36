"""Runs the JavaScript unit tests (``node --test``) of the pure front-end modules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def node_binary() -> str:
    """node, or a skip (a failure in CI, which must run the JavaScript tests)."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed; CI must run the JavaScript unit tests")
        pytest.skip("node is not installed")
    return node


def test_javascript_units() -> None:
    node = node_binary()
    files = sorted(str(p) for p in HERE.glob("*.test.mjs"))
    assert files, "no JavaScript tests found"
    result = subprocess.run([node, "--test", *files], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


def test_memory_widget_matches_server_calculator() -> None:
    """memory-math.js (the widget) and app.lesson.calculators (the lesson's numbers) agree on a grid."""
    from app.api.health import page_facts
    from app.lesson.calculators import PRESETS, CalculatorError, training_memory

    node = node_binary()
    cases = [
        {"model": key, "precision": precision, "method": method, "rank": rank, "seqLen": seq}
        for key in PRESETS
        for precision in ("fp32", "bf16", "4bit")
        for method in ("full", "lora", "qlora", "prompt", "prefix")
        for rank in (1, 16)
        for seq in (128, 2048)
    ]
    module = (HERE.parents[1] / "static" / "js" / "memory-math.js").as_uri()
    facts = (HERE.parents[1] / "static" / "js" / "facts.js").as_uri()
    script = (  # the widget reads the method specs from the page facts, as on the page
        f"import {{ memory }} from '{module}'; import {{ setFacts }} from '{facts}';"
        "setFacts(JSON.parse(process.argv[2]));"
        "const cases = JSON.parse(process.argv[1]);"
        "console.log(JSON.stringify(cases.map((c) => { try { return memory(c); }"
        " catch (e) { return { error: e.message }; } })));"
    )
    result = subprocess.run(
        [node, "--input-type=module", "-e", script, json.dumps(cases), page_facts()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert len(answers) == len(cases)
    for case, js in zip(cases, answers, strict=True):
        try:
            py = training_memory(
                PRESETS[case["model"]], case["precision"], case["method"], case["rank"], case["seqLen"]
            ).as_dict()
        except CalculatorError:
            assert "error" in js, case
            continue
        for key in ("trainable", "weights", "gradients", "optimizer", "activations", "total", "saved"):
            assert js[key] == pytest.approx(py[key], rel=1e-12), (case, key)
        assert js["trainablePct"] == pytest.approx(py["trainable_pct"], rel=1e-12)


def test_page_facts_fixture_is_the_servers() -> None:
    """The node tests' page facts (tests/fixtures/page_facts.json) are what the server renders."""
    from app.api.health import page_facts

    fixture = json.loads((HERE.parent / "fixtures" / "page_facts.json").read_text(encoding="utf-8"))
    assert fixture == json.loads(page_facts())
