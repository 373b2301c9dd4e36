"""Nicknames that could pass for another student's, or for nobody (issue 22, fault 9)."""

from __future__ import annotations

import pytest

from app.classroom.codes import clean_nickname, nickname_key


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("\u0410da", "mixes letters of Cyrillic and Latin"),  # Cyrillic А beside Latin "da": looks like Ada
        ("\u03bflga", "mixes letters of Greek and Latin"),  # Greek omicron for o
        ("\u3164", "blank-looking"),  # Hangul filler: a name that shows as nothing
        ("\u2800\u2800", "blank-looking"),  # blank braille patterns
        ("Ada\u3164", "blank-looking"),
        ("A\u200bda", "invisible"),  # zero-width space
        ("   ", "empty"),
    ],
)
def test_lookalike_and_blank_nicknames_are_refused(raw: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        clean_nickname(raw)


@pytest.mark.parametrize("name", ["Ada", "Zoë", "Алиса", "Ελένη", "山田 Taro", "さくら", "민준", "Ada 2"])
def test_real_names_in_one_script_pass(name: str) -> None:
    assert clean_nickname(name) == name


def test_width_and_case_variants_are_one_name() -> None:
    assert nickname_key("ＡＤＡ") == nickname_key("ada") == nickname_key(" Ada ")
