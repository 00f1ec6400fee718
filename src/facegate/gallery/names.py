"""Person names as stored: one Unicode form (NFC), no invisible or control characters."""

from __future__ import annotations

import unicodedata

MAX_NAME_LENGTH = 200
INVISIBLE_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def person_name(value: str, max_length: int = MAX_NAME_LENGTH) -> str:
    """Return the NFC form of a person's name; refuse empty, over-long or invisible characters."""
    name = unicodedata.normalize("NFC", value).strip()
    if not name:
        raise ValueError("a person's name must not be empty")
    if len(name) > max_length:
        raise ValueError(f"a person's name is at most {max_length} characters")
    bad = [
        c
        for c in name
        if unicodedata.category(c) in INVISIBLE_CATEGORIES or (c.isspace() and c != " ")
    ]
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad)
        raise ValueError(
            f"a person's name must not contain invisible or control characters ({shown})"
        )
    return name
