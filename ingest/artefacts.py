"""Extraction artefacts: characters that PDF producers and text extractors add to what the source says.

Four artefacts are repaired, and they are the only changes a quote ever carries:
- **CJK radical code points.** Fonts of word processors and browsers often map a glyph to a radical
  (⻑ U+2ED1 in 店⻑, ⼝ U+2F1D in 窓⼝) instead of the ideograph it prints. Kangxi Radicals and CJK
  Radicals Supplement are mapped to their equivalent unified ideograph, as Unicode's
  EquivalentUnifiedIdeograph.txt (UCD 14.0, shipped in ingest/data/) lists them. NFKC alone maps the
  Kangxi block but only two characters of the Supplement.
- **Vertical presentation forms.** Vertical text comes out with the glyphs of vertical writing (︑ ︒
  ︵ ︶ for 、 。 （ ）); they are mapped to the characters they stand for (their NFKC form).
- **A misread middle dot.** Chromium's Noto CJK fonts map the glyph of 「・」 to U+2027 HYPHENATION
  POINT, which no Japanese text holds; it is mapped back to 「・」.
- **Letter-spacing.** A spaced heading (相 談 窓 口) comes out with a space between every character.
  A run of three or more single Japanese characters separated by one space, or a whole line of two or
  more, loses those spaces. Spaces between words (「大声 で」, 'call 110') stay.

What cannot be repaired is measured: `garbled_share` is the share of characters that no Japanese
manual holds (Hangul, Yi, private use, the replacement character, other scripts), which is what text
from a font with a predefined CMap and no ToUnicode map turns into.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

_RADICAL_TABLE = Path(__file__).with_name("data") / "EquivalentUnifiedIdeograph.txt"
_RADICAL_BLOCKS = range(0x2E80, 0x2FE0)  # CJK Radicals Supplement + Kangxi Radicals
_VERTICAL_FORMS = [*range(0xFE10, 0xFE1A), *range(0xFE30, 0xFE50)]  # Vertical Forms, CJK Compatibility Forms

_JAPANESE_CHAR = r"[\u3041-\u309F\u30A0-\u30FA\u30FC-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\uFF66-\uFF9F々〆〇ー]"
_SPACE = r"[ \u3000]"
_SPACED_RUN = re.compile(rf"(?<!{_JAPANESE_CHAR}){_JAPANESE_CHAR}(?:{_SPACE}{_JAPANESE_CHAR}){{2,}}")
_SPACED_LINE = re.compile(rf"^\s*{_JAPANESE_CHAR}(?:{_SPACE}{_JAPANESE_CHAR})+\s*$")

# Ranges of the characters a Japanese manual holds: kana, ideographs, ASCII, Latin-1 signs (not its
# letters: Ã or þ in a Japanese page is mojibake), punctuation, arrows, enclosed numbers (①), shapes
# (○●■※), dingbats (➢), CJK symbols, full-width forms.
_ORDINARY = (
    (0x0009, 0x000D), (0x0020, 0x007E), (0x00A0, 0x00BF), (0x00D7, 0x00D7), (0x00F7, 0x00F7),
    (0x2000, 0x206F), (0x2100, 0x23FF),
    (0x2460, 0x27BF), (0x2E80, 0x2FDF), (0x3000, 0x30FF), (0x3190, 0x31FF), (0x3200, 0x33FF),
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF01, 0xFFEF),
)


@lru_cache(maxsize=1)
def artefact_map() -> dict[int, str]:
    """str.translate table: each radical of the two radical blocks -> its unified ideograph, each
    vertical presentation form -> its horizontal character, and U+2027 -> 「・」."""
    table = {code: unicodedata.normalize("NFKC", chr(code)) for code in _VERTICAL_FORMS}
    table = {code: text for code, text in table.items() if text != chr(code)}
    table[0x2027] = "・"
    for line in _RADICAL_TABLE.read_text(encoding="utf-8").splitlines():
        data = line.split("#", 1)[0].strip()
        if not data:
            continue
        source, target = (part.strip() for part in data.split(";"))
        first, _, last = source.partition("..")
        for code in range(int(first, 16), int(last or first, 16) + 1):
            if code in _RADICAL_BLOCKS:
                table[code] = chr(int(target, 16))
    return table


def repair_line(line: str) -> str:
    """The line without extraction artefacts: radicals and vertical forms mapped, letter-spacing removed."""
    line = line.translate(artefact_map())
    if _SPACED_LINE.match(line):
        lead, trail = _edges(line)
        return lead + re.sub(_SPACE, "", line.strip()) + trail
    return _SPACED_RUN.sub(lambda m: re.sub(_SPACE, "", m[0]), line)


def _edges(line: str) -> tuple[str, str]:
    """Leading and trailing white space, kept so that indentation survives a repaired line."""
    stripped = line.strip()
    if not stripped:
        return "", ""
    start = line.index(stripped[0])
    return line[:start], line[start + len(stripped):]


def garbled_share(text: str) -> float:
    """Share (0..1) of the non-space characters of `text` that a Japanese manual never holds."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    odd = sum(1 for c in chars if not _ordinary(ord(c)))
    return odd / len(chars)


def _ordinary(code: int) -> bool:
    return any(low <= code <= high for low, high in _ORDINARY)
