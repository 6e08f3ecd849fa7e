"""Printed page numbers: found wherever extraction puts them, checked for sense across the document.

Extractors put a footer's number on the last line, a header's on the first, and sometimes glue it to
the text next to it (「相談体制の整備①33」, 「33相談体制の整備①」) when the two sit side by side. Each
page's candidates are those lines; the numbers chosen must make sense together:
- a candidate whose distance from the PDF page index agrees with most pages wins;
- otherwise a number on a line of its own beats one glued to text;
- the chosen numbers must increase page after page (an excerpt of pages 33 and 40 may skip), and a
  number that breaks the order is dropped.
A page left without a number gets its PDF index plus the offset of the nearest numbered page (else the
manifest's `pdf_page_offset`), and is reported as such.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_ALONE = re.compile(
    r"^[-‐–—－−\s]*(?:[pPｐＰ][.．]?\s*)?(?P<number>[0-9]{1,3})\s*(?:ページ|頁)?[-‐–—－−\s]*(?:/\s*[0-9]{1,3})?$"
)
_GLUED_AFTER = re.compile(r"^(?P<text>.*[^0-9A-Za-z.,:/\-–()（）\s])\s*(?P<number>[0-9]{1,3})$")
_GLUED_BEFORE = re.compile(r"^(?P<number>[0-9]{1,3})\s*(?P<text>[^0-9A-Za-z.,:/\-–()（）年月日章節条項\s].*)$")
_DIGITS_AFTER = re.compile(r"[0-9０-９]{1,3}$")
_DIGITS_BEFORE = re.compile(r"^[0-9０-９]{1,3}")
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_EDGE_LINES = 3  # non-empty lines at each end of a page that may hold its number


@dataclass(frozen=True)
class Candidate:
    number: int
    line: int  # index in the page's lines
    rest: str | None  # the line without the number; None when the line held only the number

    @property
    def glued(self) -> bool:
        return self.rest is not None


@dataclass(frozen=True)
class PageNumber:
    """The page's number and how it was found: "top" or "bottom" (a line of its own at that end),
    "glued" (cut from the text next to it) or "inferred" (none printed, or none that fits: PDF index +
    the offset of a numbered neighbour; `number` is None when that would be below 1, a cover say)."""

    number: int | None
    found: str
    lines: tuple[str, ...]  # the page's lines without its printed number
    removed: tuple[str, ...] = ()  # the number lines taken out (a rejected lone number too)


def lone_number(line: str) -> int | None:
    """The number, if the line holds only a page number (「12」, 「- 12 -」, 「P.12」, 「12 / 40」)."""
    match = _ALONE.match(line.translate(_FULL_WIDTH_DIGITS).strip())
    return int(match["number"]) if match else None


def number_pages(pages: list[list[str]], fallback_offset: int = 0) -> list[PageNumber]:
    """One PageNumber per page of a document, in order (`pages` are lines as extracted)."""
    candidates = [_candidates(lines) for lines in pages]
    chosen = _increasing(_choose(candidates))
    offsets = [c.number - index if c else None for index, c in enumerate(chosen, start=1)]
    numbered = []
    for index, (lines, page_candidates, candidate) in enumerate(zip(pages, candidates, chosen), start=1):
        if candidate is None:
            number = index + _nearest(offsets, index - 1, fallback_offset)
            # A lone number that did not fit (numbering restarted in an appendix) is still no text.
            lone = [c for c in page_candidates if not c.glued]
            kept = [line for i, line in enumerate(lines) if i not in {c.line for c in lone}]
            numbered.append(PageNumber(number if number >= 1 else None, "inferred", tuple(kept),
                                       tuple(lines[c.line].strip() for c in lone)))
        else:
            numbered.append(PageNumber(candidate.number, _where(lines, candidate), _without(lines, candidate),
                                       (lines[candidate.line].strip(),) if not candidate.glued else
                                       (str(candidate.number),)))
    return numbered


def _where(lines: list[str], candidate: Candidate) -> str:
    if candidate.glued:
        return "glued"
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return "top" if filled.index(candidate.line) < len(filled) / 2 else "bottom"


def _candidates(lines: list[str]) -> list[Candidate]:
    filled = [i for i, line in enumerate(lines) if line.strip()]
    edges = list(dict.fromkeys(filled[:_EDGE_LINES] + filled[-_EDGE_LINES:]))
    found = []
    for i in edges:
        line = lines[i].translate(_FULL_WIDTH_DIGITS).strip()  # not NFKC: it reads ① as 1
        if (number := lone_number(line)) is not None:
            found.append(Candidate(number, i, None))
        elif i in (filled[0], filled[-1]):
            for pattern in (_GLUED_AFTER, _GLUED_BEFORE):
                if (match := pattern.match(line)) and len(match["text"].strip()) >= 2:
                    found.append(Candidate(int(match["number"]), i, _cut(lines[i], pattern)))
    return [c for c in found if c.number > 0]


def _cut(original: str, pattern: re.Pattern[str]) -> str:
    """The original line without the glued number (its digits may be full-width there)."""
    edge = _DIGITS_AFTER if pattern is _GLUED_AFTER else _DIGITS_BEFORE
    return edge.sub("", original.strip()).strip()


def _choose(candidates: list[list[Candidate]]) -> list[Candidate | None]:
    """Per page: the candidate agreeing with the usual offset, else a lone number, else a glued one."""
    usual = _usual_offset(candidates)
    chosen = []
    for index, page in enumerate(candidates, start=1):
        ranked = sorted(page, key=lambda c: (c.number - index != usual, c.glued))
        chosen.append(ranked[0] if ranked else None)
    return chosen


def _usual_offset(candidates: list[list[Candidate]]) -> int | None:
    """The distance between printed number and PDF index that two or more pages share, if any."""
    votes = Counter(c.number - index for index, page in enumerate(candidates, start=1) for c in page)
    if not votes:
        return None
    offset, count = votes.most_common(1)[0]
    return offset if count >= 2 else None


def _increasing(chosen: list[Candidate | None]) -> list[Candidate | None]:
    """Keep the longest strictly increasing chain of numbers, with room for the pages between them;
    between chains of one length, the one whose offsets agree most."""
    items = [(i, c) for i, c in enumerate(chosen) if c is not None]
    offsets = Counter(c.number - i for i, c in items)
    best: list[tuple[int, int, list[int]]] = []  # per item: (length, agreement, chain of item positions)
    for k, (i, c) in enumerate(items):
        chain = (1, offsets[c.number - i], [k])
        for j in range(k):
            pj, cj = items[j]
            if c.number - cj.number >= i - pj:
                length, agreement, links = best[j]
                chain = max(chain, (length + 1, agreement + offsets[c.number - i], links + [k]),
                            key=lambda t: t[:2])
        best.append(chain)
    keep = {items[k][0] for k in max(best, key=lambda t: t[:2], default=(0, 0, []))[2]}
    return [c if i in keep else None for i, c in enumerate(chosen)]


def _nearest(offsets: list[int | None], at: int, fallback: int) -> int:
    for distance in range(1, len(offsets)):
        for j in (at - distance, at + distance):
            if 0 <= j < len(offsets) and offsets[j] is not None:
                return offsets[j]
    return fallback


def _without(lines: list[str], candidate: Candidate) -> tuple[str, ...]:
    kept = list(lines)
    if candidate.rest:
        kept[candidate.line] = candidate.rest
    else:
        del kept[candidate.line]
    return tuple(kept)
