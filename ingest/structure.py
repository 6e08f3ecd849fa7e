"""Structure: a clean page -> page title and blocks (viewpoints, bullets, paragraphs) with section paths.

Hard-wrapped lines are joined without inserting spaces (組織横断 / 的な -> 組織横断的な), except between
two ASCII word characters. The page text built here is the "cleaned page" that spans refer to.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from ingest.cleaning import CleanPage, normalise
from ingest.manifest import Layout

_TITLE_MAX_CHARS = 40
_SENTENCE_END = ("。", ".", "!", "?", "！", "？", "」")


@dataclass(frozen=True)
class Block:
    kind: str  # "viewpoint" | "bullet" | "paragraph"
    text: str  # original characters, wraps joined
    section_path: tuple[str, ...]
    start: int  # span in StructuredPage.text
    end: int


@dataclass(frozen=True)
class StructuredPage:
    clean: CleanPage
    title: str
    text: str
    blocks: tuple[Block, ...]


@dataclass
class _Builder:
    layout: Layout
    title: str = ""
    heading: str = ""  # 視点 or an example block title
    subsection: str = ""
    parts: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    open_kind: str | None = None
    open_lines: list[str] = field(default_factory=list)
    offset: int = 0

    def section_path(self) -> tuple[str, ...]:
        return tuple(p for p in (self.title, self.heading, self.subsection) if p)

    def emit_line(self, text: str) -> None:
        self.parts.append(text)
        self.offset += len(text) + 1

    def close(self) -> None:
        text = join_wrapped(self.open_lines)
        if self.open_kind and text:
            start = self.offset
            self.emit_line(text)
            self.blocks.append(Block(self.open_kind, text, self.section_path(), start, start + len(text)))
        self.open_kind, self.open_lines = None, []

    def open(self, kind: str, first_text: str) -> None:
        self.close()
        self.open_kind, self.open_lines = kind, [first_text] if first_text else []


def join_wrapped(lines: list[str]) -> str:
    text = ""
    for line in (l.strip() for l in lines):
        if not line:
            continue
        if text and _is_ascii_word(text[-1]) and _is_ascii_word(line[0]):
            text += " "
        text += line
    return text


def _is_ascii_word(char: str) -> bool:
    return char.isascii() and char.isalnum()


def structure_page(page: CleanPage) -> StructuredPage:
    builder = _Builder(layout=page.raw.layout)
    lines = list(page.lines)
    builder.title = _take_title(lines, builder.layout)
    if builder.title:
        builder.emit_line(builder.title)
    for line in lines:
        _consume(builder, line)
    builder.close()
    return StructuredPage(page, builder.title, "\n".join(builder.parts), tuple(builder.blocks))


def _take_title(lines: list[str], layout: Layout) -> str:
    """The page title: a `title` pattern match, else a short first line that is not a sentence or marker."""
    if not lines:
        return ""
    first = normalise(lines[0])
    match = layout.matches("title", first)
    if match:
        lines.pop(0)
        return match["title"].strip()
    if len(first) <= _TITLE_MAX_CHARS and not first.endswith(_SENTENCE_END) and not _marker(first, layout):
        return lines.pop(0).strip()
    return ""


def _marker(line: str, layout: Layout) -> bool:
    return any(
        layout.matches(name, line)
        for name in ("viewpoint_heading", "example_heading", "subsection", "viewpoint", "bullet")
    )


def _consume(builder: _Builder, original: str) -> None:
    line = normalise(original)
    layout = builder.layout
    if not line:
        builder.close()
    elif layout.matches("viewpoint_heading", line):
        builder.close()
        builder.heading, builder.subsection = "視点", ""
        builder.emit_line(original.strip())
    elif match := layout.matches("example_heading", line):
        builder.close()
        builder.heading, builder.subsection = _original_group(original, match["title"]), ""
        builder.emit_line(original.strip())
    elif match := layout.matches("subsection", line):
        builder.close()
        builder.subsection = _original_group(original, match["title"])
        builder.emit_line(original.strip())
    elif match := layout.matches("viewpoint", line):
        builder.open("viewpoint", _original_group(original, match["text"]))
    elif match := layout.matches("bullet", line):
        builder.open("bullet", _original_group(original, match["text"]))
    elif builder.open_kind is None:
        builder.open("paragraph", original)
    else:
        builder.open_lines.append(original)


def _original_group(original: str, normalised_group: str) -> str:
    """Map a regex group found in the NFKC line back to the original characters."""
    group = normalised_group.strip()
    if not group:
        return ""
    starts, folded = [], ""
    for index, char in enumerate(original):
        starts.extend([index] * len(unicodedata.normalize("NFKC", char)))
        folded += unicodedata.normalize("NFKC", char)
    at = folded.find(group)
    if at < 0:
        return original.strip()
    end = starts[at + len(group) - 1] + 1
    return original[starts[at]:end].strip()
