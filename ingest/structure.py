"""Structure: a clean page -> page title and blocks (viewpoints, bullets, paragraphs) with section paths.

Hard-wrapped lines are joined without inserting spaces (組織横断 / 的な -> 組織横断的な), except where
Latin text wraps at a space (two ASCII words, or ASCII punctuation then a letter). The page text built
here is the "cleaned page" that spans refer to.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ingest.cleaning import CleanPage, normalise
from ingest.manifest import Layout

_TITLE_MAX_CHARS = 40
_SENTENCE_END = ("。", ".", "!", "?", "！", "？", "」")
_LIST_INTRO_END = (":", "：")
_NAKAGURO = ("・", "･")  # a list marker, but also the middle dot of 警察・弁護士 that a wrap can put first
_FULL_LINE = 0.8  # a line this close to the page's longest line reached the margin: it was hard-wrapped
_MIN_WRAP = 30  # a page whose longest line is shorter was not hard-wrapped at all (a short list)
_ASCII_PUNCT_BEFORE_SPACE = ",.;:!?"


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
    wrap_width: int = 0  # characters of the page's longest line, to tell hard wraps from line ends
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
        if text and _wrapped_at_space(text[-1], line[0]):
            text += " "
        text += line
    return text


def _wrapped_at_space(last: str, first: str) -> bool:
    """Latin text only wraps at a space: "word / word", "wrapped, / across". Japanese never does."""
    if not (first.isascii() and first.isalnum()):
        return False
    if _is_ascii_word(last):
        return True
    return last in _ASCII_PUNCT_BEFORE_SPACE and first.isalpha()  # not "1. / 5" (a decimal)


def _is_ascii_word(char: str) -> bool:
    return char.isascii() and char.isalnum()


def structure_page(page: CleanPage) -> StructuredPage:
    lines = list(page.lines)
    builder = _Builder(layout=page.raw.layout, wrap_width=max((len(normalise(l)) for l in lines), default=0))
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
        return _original_group(lines.pop(0), match, "title")
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
        if not _blank_inside_block(builder):
            builder.close()
    elif layout.matches("viewpoint_heading", line):
        builder.close()
        builder.heading, builder.subsection = "視点", ""
        builder.emit_line(original.strip())
    elif match := layout.matches("example_heading", line):
        builder.close()
        builder.heading, builder.subsection = _original_group(original, match, "title"), ""
        builder.emit_line(original.strip())
    elif (match := layout.matches("subsection", line)) and _is_heading(match["title"]):
        builder.close()
        builder.subsection = _original_group(original, match, "title")
        builder.emit_line(original.strip())
    elif match:
        # "○ 長い文。" is a list item written with a circle, not a heading: keep it as text.
        builder.open("bullet", _original_group(original, match, "title"))
    elif match := layout.matches("viewpoint", line):
        builder.open("viewpoint", _original_group(original, match, "text"))
    elif (match := layout.matches("bullet", line)) and not _continues_wrap(builder, original):
        builder.open("bullet", _original_group(original, match, "text"))
    elif builder.open_kind is None:
        builder.open("paragraph", original)
    else:
        builder.open_lines.append(original)


def _blank_inside_block(builder: _Builder) -> bool:
    """A blank line that extraction or an export put inside a block, not between blocks: after a lone
    bullet mark, or after a line that ran to the margin without ending a sentence (組織横断 / / 的な)."""
    if builder.open_kind is None:
        return False
    if not builder.open_lines:
        return True
    return _reached_margin_mid_sentence(builder, builder.open_lines[-1])


def _reached_margin_mid_sentence(builder: _Builder, original: str) -> bool:
    previous = normalise(original)
    if builder.wrap_width < _MIN_WRAP:
        return False
    reached_margin = len(previous) >= _FULL_LINE * builder.wrap_width
    return reached_margin and not previous.endswith(_SENTENCE_END + _LIST_INTRO_END)


def _is_heading(title: str) -> bool:
    title = title.strip()
    return len(title) <= _TITLE_MAX_CHARS and not title.endswith(_SENTENCE_END)


def _continues_wrap(builder: _Builder, original: str) -> bool:
    """A line starting with "・" right after a line that ran to the margin without ending a sentence
    is the rest of that line (警察 / ・弁護士), not a new item."""
    if not original.lstrip().startswith(_NAKAGURO) or builder.open_kind is None or not builder.open_lines:
        return False
    return _reached_margin_mid_sentence(builder, builder.open_lines[-1])


def _original_group(original: str, match: re.Match[str], group: str) -> str:
    """The original characters of a regex group found in the NFKC line (normalise(original)).

    NFKC may merge characters (ｸﾞ -> グ) or split them (㈱ -> (株)), so offsets are mapped by
    normalising prefixes of the original, not character by character."""
    start, end = match.span(group)
    text = original.strip()
    lengths = [len(unicodedata.normalize("NFKC", text[:k])) for k in range(len(text) + 1)]
    first = next(k for k, n in enumerate(lengths) if n >= start)
    last = max(k for k, n in enumerate(lengths) if n <= end)
    return text[first:max(first, last)].strip()
