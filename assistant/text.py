"""Text folding for matching: the one place that decides which spellings count as the same."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """NFKC, lower case, katakana -> hiragana: ドゲザ, どげざ and ﾄﾞｹﾞｻﾞ all fold to どげざ.

    For matching only; quotes shown to users keep the source's characters.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)
