"""Clean: drop running headers and footers, site boilerplate, chapter tabs and the page number; keep
one copy of repeated text.

Boilerplate is found two ways. Across a document's pages, a short line that recurs on half of them or
more (three at least) is a running header, footer or chapter tab, as PDF tools find running heads;
this needs no knowledge of the layout. Within a page, the layout profile's patterns catch what a single
page shows (the chapter tabs of a one-page export, its site lines). Lines the layout reads as structure
(視点, 【…】, ○., ➢, •) are never boilerplate, however often they recur.

Lines keep their original characters; NFKC is applied only to decide what a line is.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from ingest.loaders import RawPage
from ingest.manifest import Layout

_SPACE = re.compile(r"\s+")
_EDGE_NUMBER = re.compile(r"^[0-9]+(?=\s)|(?<=\s)[0-9]+$")
_RUNNING_MAX_CHARS = 60  # running heads and tabs are short; a recurring sentence is text
_RUNNING_SHARE = 0.5
_RUNNING_MIN_PAGES = 3
_STRUCTURE = ("viewpoint_heading", "example_heading", "subsection", "viewpoint", "bullet")


@dataclass(frozen=True)
class CleanPage:
    raw: RawPage
    lines: tuple[str, ...]  # original characters, right-stripped; "" marks a paragraph break
    removed: tuple[tuple[str, str], ...] = ()  # (line, why) per line dropped; why: see ingest.report.REMOVED_LABELS


def clean_pages(pages: list[RawPage]) -> list[CleanPage]:
    """Clean each page, with the running lines of its document found across all of `pages`."""
    by_document: dict[str, list[RawPage]] = {}
    for page in pages:
        by_document.setdefault(page.document.id, []).append(page)
    running = {doc: running_lines(doc_pages) for doc, doc_pages in by_document.items()}
    return [clean_page(page, running[page.document.id]) for page in pages]


def running_lines(pages: list[RawPage]) -> frozenset[str]:
    """Running-line keys (see _running_key) that recur on at least half of a document's pages, and on
    three or more."""
    if len(pages) < _RUNNING_MIN_PAGES:
        return frozenset()
    counts: Counter[str] = Counter()
    for page in pages:
        counts.update({key for line in page.lines if (key := _running_key(line, page.layout))})
    needed = max(_RUNNING_MIN_PAGES, math.ceil(len(pages) * _RUNNING_SHARE))
    return frozenset(key for key, count in counts.items() if count >= needed)


def _running_key(line: str, layout: Layout) -> str:
    """The line as running lines are compared: NFKC, with a page number set apart by a space at
    either end folded (「32 第1章 総論」 on page 32 and 「34 第1章 総論」 on page 34 are one running
    header; 「整備①」 and 「整備②」 stay two titles); "" for lines that cannot be one."""
    text = normalise(line)
    if not text or len(text) > _RUNNING_MAX_CHARS or any(layout.matches(p, text) for p in _STRUCTURE):
        return ""
    return _EDGE_NUMBER.sub("#", text)


def normalise(text: str) -> str:
    """For matching only: NFKC and trimmed. Never shown to people."""
    return unicodedata.normalize("NFKC", text).strip()


def clean_page(page: RawPage, running: frozenset[str] = frozenset()) -> CleanPage:
    """One page without boilerplate; `running` are its document's running lines (see running_lines)."""
    segments, removed = _segments_without_noise(page, running)
    kept: list[list[str]] = []
    seen = ""
    for segment in segments:
        squeezed = squeeze("".join(segment))
        if squeezed and squeezed in seen:
            removed.extend((line, "repeated-copy") for line in segment if line)
            continue  # the document site repeats the page text; keep the first copy
        kept.append(segment)
        seen += squeezed
    lines = [line for segment in kept for line in segment]
    return CleanPage(raw=page, lines=tuple(_trim_breaks(lines)), removed=tuple(removed))


def _segments_without_noise(
    page: RawPage, running: frozenset[str]
) -> tuple[list[list[str]], list[tuple[str, str]]]:
    """Lines minus noise, split where tabs or running lines stood (the site prints them between
    copies of the text), and the lines removed with the reason."""
    layout = page.layout
    segments: list[list[str]] = [[]]
    removed: list[tuple[str, str]] = list(page.removed)
    lines = page.lines
    i = 0
    while i < len(lines):
        original = lines[i].rstrip()
        line = normalise(original)
        tab_width = _chapter_tabs_width(lines, i, layout)
        if _is_page_number(line, page, layout):
            removed.append((original.strip(), "page-number"))
        elif tab_width or (running and _running_key(original, layout) in running):
            if segments[-1]:
                segments.append([])
            width = tab_width or 1
            reason = "chapter-tabs" if tab_width else "running"
            removed.append((" ".join(l.strip() for l in lines[i:i + width] if l.strip()), reason))
            i += width
            continue
        elif line and layout.is_boilerplate(line):
            removed.append((original.strip(), "layout"))
        else:
            segments[-1].append(original if line else "")
        i += 1
    return [s for s in segments if any(s)], removed


def _chapter_tabs_width(lines: tuple[str, ...], i: int, layout: Layout) -> int:
    """How many lines from i form a block of chapter tabs ("2章" / "未然防止" / "3章" ...), else 0.

    A tab block is two or more tab lines (blank lines between them allowed, as extractors put them),
    or one "N章 name" line. A lone "2章" or "その他" is kept: it is more likely a hard-wrapped piece
    of a sentence than a tab.
    """
    end, tabs, combined = i, 0, False
    while end < len(lines):
        line = normalise(lines[end])
        kind = _tab_kind(line, layout)
        if not kind and (line or not tabs):
            break
        tabs += bool(kind)
        combined |= kind == "combined"
        end += 1
    while end > i and not lines[end - 1].strip():
        end -= 1  # trailing blank lines stay: they may end a paragraph
    return end - i if tabs >= 2 or combined else 0


def _tab_kind(line: str, layout: Layout) -> str:
    """"label" for "2章", "name" for "未然防止", "combined" for "2章 未然防止" or "2章未然防止", "" otherwise."""
    if not line:
        return ""
    if line in layout.chapter_names:
        return "name"
    if layout.matches("chapter_tab", line):
        return "label"
    for name in layout.chapter_names:
        label = line.removesuffix(name).rstrip()
        if label != line and layout.matches("chapter_tab", label):
            return "combined"
    return ""


def _is_page_number(line: str, page: RawPage, layout: Layout) -> bool:
    if not line or not layout.matches("page_number", line):
        return False
    return page.page is None or int(line) == page.page


def squeeze(text: str) -> str:
    """NFKC without any white space: for telling whether two texts say the same thing."""
    return _SPACE.sub("", normalise(text))


def _trim_breaks(lines: list[str]) -> list[str]:
    """Collapse runs of blank lines and drop leading/trailing ones."""
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return out
