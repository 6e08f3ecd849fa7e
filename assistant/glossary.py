"""English questions, Japanese manual: add the manual's terms for the English phrases a question uses.

Only the lexical side (BM25 and the coverage check) reads the expansion; e5 embeds the question as
written, being multilingual. The glossary is data (corpus/glossary.toml).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from assistant.core.errors import KasuharaError


class GlossaryError(KasuharaError):
    """corpus/glossary.toml is invalid."""


class Glossary:
    def __init__(self, terms: dict[str, str]) -> None:
        # Longest phrase first, whole words only: "hr" must not match inside "three".
        ordered = sorted(terms, key=len, reverse=True)
        self._terms = {t.lower(): terms[t] for t in ordered}
        self._pattern = (
            re.compile(r"\b(" + "|".join(re.escape(t.lower()) for t in ordered) + r")\b") if terms else None
        )

    def expand(self, text: str) -> str:
        if self._pattern is None:
            return text
        found = [self._terms[m.group(1)] for m in self._pattern.finditer(text.lower())]
        return f"{text}\n{' '.join(found)}" if found else text


def load_glossary(path: Path) -> Glossary:
    if not path.is_file():
        return Glossary({})
    try:
        terms = tomllib.loads(path.read_text(encoding="utf-8")).get("terms", {})
    except tomllib.TOMLDecodeError as exc:
        raise GlossaryError(f"用語集 {path} の書式が正しくありません: {exc}") from exc
    if not all(isinstance(v, str) for v in terms.values()):
        raise GlossaryError(f"用語集 {path} の [terms] は「英語 = 日本語」の組にしてください。")
    return Glossary(terms)
