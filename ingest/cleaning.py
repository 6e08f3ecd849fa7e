"""Clean: drop site boilerplate, chapter tabs and the page number; keep one copy of repeated text.

Lines keep their original characters; NFKC is applied only to decide what a line is.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ingest.loaders import RawPage
from ingest.manifest import Layout

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class CleanPage:
    raw: RawPage
    lines: tuple[str, ...]  # original characters, right-stripped; "" marks a paragraph break


def normalise(text: str) -> str:
    """For matching only: NFKC and trimmed. Never shown to people."""
    return unicodedata.normalize("NFKC", text).strip()


def clean_page(page: RawPage) -> CleanPage:
    segments = _segments_without_noise(page)
    kept: list[list[str]] = []
    seen = ""
    for segment in segments:
        squeezed = squeeze("".join(segment))
        if squeezed and squeezed in seen:
            continue  # the document site repeats the page text; keep the first copy
        kept.append(segment)
        seen += squeezed
    lines = [line for segment in kept for line in segment]
    return CleanPage(raw=page, lines=tuple(_trim_breaks(lines)))


def _segments_without_noise(page: RawPage) -> list[list[str]]:
    """Lines minus noise, split where chapter tabs stood (the site prints them between copies)."""
    layout = page.layout
    segments: list[list[str]] = [[]]
    lines = page.lines
    i = 0
    while i < len(lines):
        original = lines[i].rstrip()
        line = normalise(original)
        tab_width = _chapter_tabs_width(lines, i, layout)
        if tab_width:
            if segments[-1]:
                segments.append([])
            i += tab_width
            continue
        if _is_page_number(line, page, layout) or (line and layout.is_boilerplate(line)):
            i += 1
            continue
        segments[-1].append(original if line else "")
        i += 1
    return [s for s in segments if any(s)]


def _chapter_tabs_width(lines: tuple[str, ...], i: int, layout: Layout) -> int:
    """How many lines from i form a block of chapter tabs ("2章" / "未然防止" / "3章" ...), else 0.

    A tab block is two or more consecutive tab lines, or one "N章 name" line. A lone "2章" or
    "その他" is kept: it is more likely a hard-wrapped piece of a sentence than a tab.
    """
    end, combined = i, False
    while end < len(lines) and (kind := _tab_kind(normalise(lines[end]), layout)):
        combined |= kind == "combined"
        end += 1
    width = end - i
    return width if width >= 2 or combined else 0


def _tab_kind(line: str, layout: Layout) -> str:
    """"label" for "2章", "name" for "未然防止", "combined" for "2章 未然防止", "" otherwise."""
    if not line:
        return ""
    if line in layout.chapter_names:
        return "name"
    if layout.matches("chapter_tab", line):
        return "label"
    label, _, name = line.partition(" ")
    if name.strip() in layout.chapter_names and layout.matches("chapter_tab", label):
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
