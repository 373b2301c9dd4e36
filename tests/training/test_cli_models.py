"""``ftlab models fetch``'s progress output: stages show a percentage bar without a rate (a % has no
meaningful rate), and a model already in the cache gets one ``NAME: cached`` line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.cli import _StageBar, main
from app.config import get_settings


def test_a_cached_model_prints_cached_without_a_bar_or_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FTLAB_MODEL_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()  # the command reads the settings once per process
    assert main(["models", "fetch", "tiny-llama"]) == 0  # builds it into the empty cache
    capsys.readouterr()
    assert main(["models", "fetch", "tiny-llama"]) == 0  # now from the cache
    out = capsys.readouterr()
    assert out.err.strip() == "tiny-llama: cached"
    assert out.out.strip() == f"tiny-llama: {tmp_path / 'models' / 'tiny-llama'}"
    get_settings.cache_clear()


def test_stage_bars_show_progress_and_no_rate(capsys: pytest.CaptureFixture[str]) -> None:
    bar = _StageBar("smollm2-135m")
    for fraction in (0.0, 0.25, 1.0):
        bar("download", fraction)
    bar("convert", 1.0)
    bar.close()
    err = capsys.readouterr().err
    assert "smollm2-135m: download: 100%" in err and "smollm2-135m: convert: 100%" in err
    assert not re.search(r"/s\b", err), err  # no "%/s" (or any) rate
