"""Tokens: the one Japanese tokeniser, used at index time and query time alike.

fugashi + unidic-lite. Text is NFKC-normalised first (so ｶｽﾊﾗ and カスハラ are one token), then content
words are reduced to their dictionary lemma (どなられた and 怒鳴られた -> 怒鳴る); particles, auxiliaries
and punctuation are dropped. Words the dictionary does not know (English, new coinages) keep their
lower-cased surface.
"""

from __future__ import annotations

import threading
import unicodedata
from typing import Callable

import fugashi

# Bump when the token rules change: the build key includes it, so `kasuhara ingest` rebuilds.
TOKENIZER_NAME = "fugashi-unidic-lite/lemma-v2"
Tokenizer = Callable[[str], list[str]]

# Adverbs (そもそも, ずっと) are left out: they carry tone, not topic.
_CONTENT_POS = {"名詞", "動詞", "形容詞", "形状詞"}
# Lemmas too common to tell passages apart (light verbs, formal nouns).
_STOP_LEMMAS = {
    "する", "ある", "いる", "なる", "れる", "られる", "こと", "もの", "よう", "ため", "場合", "ない",
    "できる", "思う", "等", "など", "いう", "何", "方", "為る", "下さる", "良い", "居る", "有る", "成る",
    "出来る", "言う", "貰う", "呉れる", "様", "教える", "知る", "分かる", "どう", "方法", "仕方", "遣り方",
    "時", "事", "所", "今",
}
# Abbreviations the dictionary splits into nonsense (カスハラ -> 滓 + 腹): spelled out before tagging.
_EXPANSIONS = {"カスハラ": "カスタマー・ハラスメント"}
_STOP_ENGLISH = {
    "a", "an", "the", "i", "me", "my", "you", "your", "we", "is", "are", "was", "be", "to", "of",
    "in", "on", "at", "and", "or", "do", "does", "did", "what", "who", "should", "it", "this", "that",
    "for", "with", "can", "how", "if", "when",
}


class JapaneseTokenizer:
    name = TOKENIZER_NAME

    def __init__(self) -> None:
        self._tagger = fugashi.Tagger()
        self._lock = threading.Lock()  # a MeCab tagger must not parse two strings at once

    def __call__(self, text: str) -> list[str]:
        return [token for _, token in self._tagged(text)]

    def nouns(self, text: str) -> list[str]:
        """The topic words (nouns, incl. unknown words such as English): what a question is about."""
        return [token for pos, token in self._tagged(text) if pos == "名詞"]

    def _tagged(self, text: str) -> list[tuple[str, str]]:
        normalised = unicodedata.normalize("NFKC", text).lower()
        for short, full in _EXPANSIONS.items():
            normalised = normalised.replace(short, full)
        with self._lock:
            words = [(w.surface, w.feature) for w in self._tagger(normalised)]
        return [(feature.pos1, token) for surface, feature in words if (token := _token(surface, feature))]


def _token(surface: str, feature) -> str | None:
    if feature.pos1 not in _CONTENT_POS:
        return None
    lemma = feature.lemma or surface
    lemma = lemma.split("-", 1)[0] if "-" in lemma and not lemma.startswith("-") else lemma
    if lemma in _STOP_LEMMAS or lemma in _STOP_ENGLISH or not any(c.isalnum() for c in lemma):
        return None
    return lemma


_shared: JapaneseTokenizer | None = None
_shared_lock = threading.Lock()


def get_tokenizer() -> JapaneseTokenizer:
    """The process-wide tokeniser (loading the dictionary takes a moment; do it once)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = JapaneseTokenizer()
        return _shared
