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
    if any(unicodedata.category(ch)[0] == "C" for ch in text):
        raise ValueError("nickname contains control or invisible characters")
    return text


def nickname_key(nickname: str) -> str:
    """Uniqueness key: 'Ada', 'ada' and 'ＡＤＡ' are the same student name."""
    return clean_nickname(nickname).casefold()
