"""Where the lesson's data lives in the repository: one place for every path under ``lessons/``."""

from __future__ import annotations

from pathlib import Path

LESSONS_DIR = Path(__file__).resolve().parents[2] / "lessons"
RECORDED_DIR = LESSONS_DIR / "fine-tuning-llms" / "recorded"  # the lesson's recorded runs
ADAPTER_LAB_SESSION = RECORDED_DIR / "adapter-lab.json"  # scripts/record_adapter_lab.py writes it
