"""Text folding for matching (the one place that decides which spellings count as the same), and
input that cannot be shown made showable."""

from __future__ import annotations

import re
import unicodedata

REPLACEMENT = "\ufffd"
REPLACED_NOTE = "読めないバイト列を置き換え文字(�)にしました"
_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_unreadable(text: str) -> tuple[str, str]:
    """(text, note): lone surrogates become U+FFFD so that the text can be encoded, shown and logged.

    They are how Python carries undecodable bytes (argv and stdin use surrogateescape: a Shift_JIS
    line in a UTF-8 batch), and what a JSON string may hold ("\\ud800"). Bytes carried that way
    are decoded again as UTF-8 first, so that valid characters between them survive. Guessing a
    legacy encoding from a few bytes was tried: accidental UTF-8 sequences in Shift_JIS bytes, and
    UTF-8 with a stray byte, both came out as mojibake, so none is guessed. `note` is REPLACED_NOTE when anything was replaced, else ""."""
    if not _SURROGATE.search(text):
        return text, ""
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # surrogates that no byte produced
        pass
    return _SURROGATE.sub(REPLACEMENT, text), REPLACED_NOTE


def fold(text: str) -> str:
    """NFKC, lower case, katakana -> hiragana: ドゲザ, どげざ and ﾄﾞｹﾞｻﾞ all fold to どげざ.

    For matching only; quotes shown to users keep the source's characters.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)
