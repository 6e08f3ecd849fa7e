"""Citations: numbered manual passages, and the check that generated text cites them faithfully.

Every [n] must name a passage that was retrieved, and every quoted span 「…」 must occur, character for
character after NFKC, in the passage its marker names (the kotaemon/Onyx habit).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from assistant.core.chunks import Chunk

_MARKER = re.compile(r"\[(\d+)\]")
_QUOTE = re.compile(r"「([^「」]+)」\s*(?:\[(\d+)\])?")


@dataclass(frozen=True)
class Citation:
    n: int
    chunk_id: str
    section: str
    page: int | None
    quote: str
    source: str
    source_url: str
    chapter: str = ""
    page_title: str = ""
    heading: str = ""  # the section below the page title, e.g. 相談体制の整備(例) › 相談窓口・相談対応者の設置

    def to_json(self) -> dict:
        return asdict(self)


def cite(chunks: list[Chunk]) -> list[Citation]:
    """Number distinct chunks from 1, in order; the quote is the chunk's verbatim text."""
    unique = list({c.id: c for c in chunks}.values())
    return [
        Citation(n, c.id, c.section, c.page, c.text, c.document_title, c.source_url, c.chapter, c.page_title,
                 " › ".join(p for p in c.section_path if p and p != c.page_title))
        for n, c in enumerate(unique, start=1)
    ]


_LEAD_MARKS = re.compile(r"^[\s・•○●◯➢▶■□◆◇※\-–—*]+|^(?:\(?[0-9０-９①-⑳]+[.)．）]\s*)")
LABEL_LEAD_CHARS = 14  # first words of a passage in its label; grown until no two labels are equal
_LABEL_LEAD_MAX = 60


def citation_labels(citations: Sequence[Citation]) -> list[str]:
    """One label per citation that can be told apart at a glance: where the passage sits, its page,
    and its first words, e.g. 「[2] 相談窓口・相談対応者の設置 p.28 ─ 現場監督者(例:店長)1名を…」.

    Passages under one heading differ by their first words; those are lengthened (up to 60
    characters) while two labels, numbers aside, would still read the same."""
    leads = [_LEAD_MARKS.sub("", " ".join(c.quote.split())) for c in citations]
    size = LABEL_LEAD_CHARS
    while True:
        bodies = [_label_body(c, lead, size) for c, lead in zip(citations, leads)]
        if len(set(bodies)) == len(bodies) or size >= _LABEL_LEAD_MAX:
            return [f"[{c.n}] {body}" for c, body in zip(citations, bodies)]
        size += 8


def _label_body(citation: Citation, lead: str, size: int) -> str:
    where = citation.heading.split(" › ")[-1] if citation.heading else citation.page_title or citation.section
    page = f" p.{citation.page}" if citation.page not in (None, "") else ""
    first_words = lead if len(lead) <= size else lead[:size] + "…"
    return f"{where}{page} ─ {first_words}"


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def citation_problems(text: str, citations: list[Citation]) -> list[str]:
    """What is wrong with the citations in generated text; empty when every marker and quote holds."""
    by_n = {c.n: c for c in citations}
    problems = [f"[{n}] は検索結果にない番号です" for n in map(int, _MARKER.findall(text)) if n not in by_n]
    for match in _QUOTE.finditer(text):
        quote, marker = match.group(1), match.group(2)
        if marker is None:
            problems.append(f"引用「{quote[:20]}」に出典番号がありません")
        elif int(marker) in by_n and _nfkc(quote) not in _nfkc(by_n[int(marker)].quote):
            problems.append(f"引用「{quote[:20]}」は [{marker}] の本文にありません")
    if not _MARKER.search(text):
        problems.append("出典番号 [n] が一つもありません")
    return problems
