"""The solo learner's own point (static/js/experiment/measures.js) is measured from its events the
way the class's points are (app.experiments.measures), on every recorded run the lesson ships."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from app.experiments.measures import measures_of
from tests.js.test_node import node_binary

HERE = Path(__file__).resolve().parent
RECORDED = HERE.parents[1] / "lessons" / "fine-tuning-llms" / "recorded"


def test_solo_measures_equal_the_servers() -> None:
    node = node_binary()
    runs = sorted(RECORDED.glob("*.jsonl"))
    assert runs, "no recorded runs to measure"
    module = (HERE.parents[1] / "static" / "js" / "experiment" / "measures.js").as_uri()
    script = (
        f"import {{ measuresFromEvents }} from '{module}';"
        "import { readFileSync } from 'node:fs';"
        "const files = JSON.parse(process.argv[1]);"
        "console.log(JSON.stringify(files.map((f) => measuresFromEvents("
        "readFileSync(f, 'utf8').split('\\n').filter((l) => l.trim()).map((l) => JSON.parse(l))))));"
    )
    result = subprocess.run(
        [node, "--input-type=module", "-e", script, json.dumps([str(p) for p in runs])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for path, js in zip(runs, json.loads(result.stdout), strict=True):
        _, py = measures_of(path.read_text(encoding="utf-8").splitlines())
        assert set(js) == set(py), path.name
        for name, value in py.items():
            if value is None:
                assert js[name] is None, (path.name, name)
            else:
                assert js[name] == pytest.approx(value, rel=1e-9), (path.name, name)
        assert py["eval_loss"] is not None, path.name  # the comparison covers real numbers
