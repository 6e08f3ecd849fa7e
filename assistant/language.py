"""Which language a question is asked in, so that the organisation's parts of the answer are shown
in it (the manual's quotes stay Japanese).

Japanese is told by its script: kana and kanji. A question mostly in other letters is given the
configured language whose `words` (prompts/extractive.toml) it uses most; Japanese when it uses
none, because only the Japanese texts are certain to exist. Measured on the routing set by
`tests/test_answer_parts.py` (every English message English, every Japanese one Japanese).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

JAPANESE = "ja"
# Below this share of kana and kanji among the letters, a question is not Japanese: an English
# message quoting a customer's Japanese words (「土下座しろ」) stays English.
JAPANESE_SHARE = 0.3
_WORD = re.compile(r"[^\W\d_]+")


def _is_japanese_letter(ch: str) -> bool:
    name = unicodedata.name(ch, "")
    return name.startswith(("HIRAGANA", "KATAKANA", "CJK UNIFIED", "CJK COMPATIBILITY IDEOGRAPH"))


def japanese_share(text: str) -> float:
    """Share of kana and kanji among the letters of `text` (0.0 when it has no letters)."""
    letters = [ch for ch in unicodedata.normalize("NFKC", text) if unicodedata.category(ch).startswith("L")]
    if not letters:
        return 1.0
    return sum(map(_is_japanese_letter, letters)) / len(letters)


def question_language(text: str, words: Mapping[str, frozenset[str]]) -> str:
    """The language code to answer `text` in. `words`: {language: lower-case marker words} of the
    languages other than Japanese that have texts; the one with most hits wins, ties by order."""
    if japanese_share(text) >= JAPANESE_SHARE:
        return JAPANESE
    tokens = [w.lower() for w in _WORD.findall(unicodedata.normalize("NFKC", text))]
    best, hits = JAPANESE, 0
    for language, markers in words.items():
        count = sum(t in markers for t in tokens)
        if count > hits:
            best, hits = language, count
    return best
