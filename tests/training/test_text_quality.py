"""Degenerate text: the distinct-bigram gate, and the voice metric that no longer rewards a loop."""

from __future__ import annotations

import pytest

from app.training.tasks import voice
from app.training.text_quality import degenerate_share, distinct_bigram_ratio, is_degenerate

LOOP = "Fair winds! Fair winds! Fair winds!"
PROSE = "Ahoy there, matey! Brew it in a kettle, add a pint of water, and let it steep till it's smooth."


def test_distinct_bigram_ratio_of_a_loop_and_of_prose() -> None:
    assert distinct_bigram_ratio(LOOP) == pytest.approx(2 / 5)  # (fair winds), (winds fair) of 5 pairs
    assert distinct_bigram_ratio(PROSE) == 1.0
    assert distinct_bigram_ratio("Arr") == 1.0  # no pair to judge


def test_is_degenerate_needs_enough_words_and_repetition() -> None:
    assert is_degenerate(LOOP)
    assert is_degenerate("Arrr! Arrr! Arrr! Arrr!")
    assert not is_degenerate(PROSE)
    assert not is_degenerate("Arr, matey!")  # too short to call
    assert degenerate_share([LOOP, PROSE, "", "Arr"]) == 0.25
    assert degenerate_share([]) == 0.0


def test_voice_counts_only_replies_that_do_not_loop() -> None:
    markers = ["fair winds", "matey"]
    assert voice([LOOP, PROSE], ["", ""], markers) == 0.5
    assert voice(["Aye, it steeps well, matey."], [""], markers) == 1.0
    assert voice(["It steeps well."], [""], markers) == 0.0
