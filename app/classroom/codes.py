"""Join codes and nicknames: short codes read aloud in class, nicknames compared the way people do."""

from __future__ import annotations

import re
import secrets
import unicodedata

# No 0/O, 1/I/L, 5/S: codes are read off a projector and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRTUVWXYZ2346789"
CODE_LENGTH = 6
CODE_PATTERN = r"^[A-Za-z0-9-]{4,12}$"
NICKNAME_MAX = 32


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    """What a student types ("abc-d2f ") to the stored form ("ABCD2F")."""
    return re.sub(r"[\s-]", "", raw).upper()


def clean_nickname(raw: str) -> str:
    """NFKC, inner whitespace collapsed, trimmed; raises ValueError naming the rule broken."""
    text = " ".join(unicodedata.normalize("NFKC", raw).split())
    if not text:
        raise ValueError("nickname is empty")
    if len(text) > NICKNAME_MAX:
        raise ValueError(f"nickname is longer than {NICKNAME_MAX} characters")
    if any(unicodedata.category(ch)[0] == "C" or ch in BLANK_LOOKING for ch in text):
        raise ValueError("nickname contains control, invisible or blank-looking characters")
    scripts = _letter_scripts(text)
    if len(scripts) > 1 and not any(scripts <= together for together in SCRIPTS_WRITTEN_TOGETHER):
        raise ValueError(
            f"nickname mixes letters of {' and '.join(s.title() for s in sorted(scripts))} scripts; use one "
            "(letters that look alike across scripts could pass for another student's name)"
        )
    return text


# Letters that print as nothing (Hangul fillers, the blank braille pattern, Mongolian vowel separator):
# a name of them looks empty, or looks like another name with a gap.
BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
# Scripts one name may mix (Unicode's "highly restrictive" profile of UTS #39).
SCRIPTS_WRITTEN_TOGETHER = (
    frozenset({"LATIN", "CJK", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "CJK", "BOPOMOFO"}),
    frozenset({"LATIN", "CJK", "HANGUL"}),
)


def _letter_scripts(text: str) -> set[str]:
    """The script of each letter, by its Unicode name's first word ("CYRILLIC CAPITAL LETTER A")."""
    scripts = set()
    for ch in text:
        if unicodedata.category(ch).startswith("L"):
            name = unicodedata.name(ch, "")
            scripts.add("CJK" if name.startswith("CJK") else name.split(" ")[0])
    return scripts


def nickname_key(nickname: str) -> str:
    """Uniqueness key: 'Ada', 'ada' and 'ＡＤＡ' are the same student name."""
    return clean_nickname(nickname).casefold()
