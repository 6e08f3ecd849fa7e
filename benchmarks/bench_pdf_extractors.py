"""PDF extractor benchmark: pypdf, pypdfium2 and pdfminer.six on hard Japanese PDFs.

    .venv/bin/python benchmarks/bench_pdf_extractors.py [--json] [--show CASE]

Cases (tests/pdf_hard_fixtures.py, tests/pdf_fixtures.py): predefined CMaps without ToUnicode
(EUC-H, 90ms-RKSJ-H, H), vertical writing (reportlab V CMap; Chromium vertical-rl), a Chromium-printed
word-processor page (letter-spacing, radicals, page number after the title) and 20 ordinary manual
pages (the easy case). Per case and extractor:

- acc: character accuracy, 1 - Levenshtein distance / len(expected) (floored at 0), summed over the
  pages, after removing all white space and applying NFKC to both texts. The distance is an exact
  Levenshtein distance (Hyyrö's bit-parallel algorithm), not difflib's ratio.
- acc raw: for the browser case, the same against the HTML's own text (radicals kept).
- garbled: share of the extracted non-space characters that are none of hiragana, katakana, CJK
  unified ideographs, ASCII, full-width forms, common Japanese punctuation and symbols (Hangul, Yi,
  private use, CJK compatibility and vertical forms, U+FFFD, ...). Radicals are counted apart.
- spaced: runs of 3+ Japanese characters separated by single spaces (letter-spacing left in).
- radicals: code points from Kangxi Radicals / CJK Radicals Supplement in the extracted text.
- 1-char lines: share of non-empty lines holding a single character (vertical text read as one
  character per line; whitespace-free accuracy does not see it, line-based cleaning does).
- pageno: pages whose last line holding only 1-3 digits (NFKC) is the printed page number (the
  loader's rule); "at end": pages whose last non-empty line is that number (where it is printed).
- s/page: best of 3 runs of the whole document (open + every page), divided by the page count.

pdfminer's extract_text runs once per document and is split at its form feeds (one per page).
Nothing reaches the network; Chromium cases are skipped when Chromium or playwright is missing.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the PDF generators the tests use

from pdf_fixtures import generate_pages, write_manual_pdf
from pdf_hard_fixtures import (
    expected_manual_text,
    has_to_unicode,
    write_browser_pdf,
    write_predefined_cmap_pdf,
    write_vertical_pdf,
)

REPEATS = 3


# --- extractors ---------------------------------------------------------------------------------


def extract_pypdf(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(path).pages]


def extract_pypdfium2(path: Path) -> list[str]:
    import pypdfium2

    document = pypdfium2.PdfDocument(path)
    try:
        texts = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return texts
    finally:
        document.close()


def _pdfminer(path: Path, **laparams) -> list[str]:
    from pdfminer.high_level import extract_text
    from pdfminer.layout import LAParams

    pages = extract_text(str(path), laparams=LAParams(**laparams)).split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


EXTRACTORS = {
    "pypdf": extract_pypdf,
    "pypdfium2": extract_pypdfium2,
    "pdfminer": lambda path: _pdfminer(path),
    "pdfminer detect_vertical": lambda path: _pdfminer(path, detect_vertical=True),
}


# --- measures -----------------------------------------------------------------------------------


def levenshtein(a: str, b: str) -> int:
    """Exact edit distance (insert, delete, substitute = 1), bit-parallel (Myers 1999 / Hyyrö 2003)."""
    if not a:
        return len(b)
    if not b:
        return len(a)
    masks: dict[str, int] = {}
    for i, char in enumerate(a):
        masks[char] = masks.get(char, 0) | (1 << i)
    full = (1 << len(a)) - 1
    top = 1 << (len(a) - 1)
    positive, negative, score = full, 0, len(a)
    for char in b:
        eq = masks.get(char, 0)
        xv = eq | negative
        xh = (((eq & positive) + positive) ^ positive) | eq
        hp = negative | (~(xh | positive) & full)
        hn = positive & xh
        if hp & top:
            score += 1
        elif hn & top:
            score -= 1
        hp = ((hp << 1) | 1) & full
        hn = (hn << 1) & full
        positive = hn | (~(xv | hp) & full)
        negative = hp & xv
    return score


def _normalise(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def accuracy(extracted: list[str], expected: list[str]) -> float:
    """1 - summed edit distance / summed expected length, page by page (missing pages count empty)."""
    distance = length = 0
    for index, want in enumerate(expected):
        got = extracted[index] if index < len(extracted) else ""
        want_n = _normalise(want)
        distance += levenshtein(want_n, _normalise(got))
        length += len(want_n)
    return max(0.0, 1 - distance / max(length, 1))


_RADICAL = ((0x2E80, 0x2EFF), (0x2F00, 0x2FDF))
_ORDINARY = (
    (0x0020, 0x007E),  # ASCII
    (0x00A7, 0x00A7), (0x00B0, 0x00B1), (0x00D7, 0x00D7), (0x00F7, 0x00F7),  # § ° ± × ÷
    (0x2010, 0x2026), (0x2030, 0x2030), (0x203B, 0x203B),  # dashes, quotes, • … ‰ ※
    (0x2190, 0x21FF), (0x2460, 0x24FF), (0x25A0, 0x25FF), (0x2605, 0x2606),  # arrows ①-⑳ ○■ ★
    (0x2700, 0x27BF),  # dingbats (➢)
    (0x3000, 0x303F), (0x3040, 0x309F), (0x30A0, 0x30FF),  # CJK punctuation, hiragana, katakana
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF),  # CJK unified ideographs (+ extension A)
    (0xFF01, 0xFFEF),  # full-width and half-width forms
)


def _in(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)


def odd_characters(text: str) -> Counter:
    """The garbled characters of `text` (neither ordinary Japanese-manual characters nor radicals)."""
    return Counter(c for c in text if not c.isspace() and not _in(ord(c), _ORDINARY) and not _in(ord(c), _RADICAL))


def radical_count(text: str) -> int:
    return sum(1 for c in text if _in(ord(c), _RADICAL))


_JAPANESE = r"[\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\u2E80-\u2FDF々〆ー]"
_SPACED = re.compile(rf"{_JAPANESE}(?:[ \u3000]{_JAPANESE}){{2,}}")
_PAGE_NUMBER = re.compile(r"^[0-9]{1,3}$")


def printed_number(text: str) -> int | None:
    """The loader's rule: the last line that holds only a number."""
    for line in reversed(text.splitlines()):
        normalised = unicodedata.normalize("NFKC", line).strip()
        if _PAGE_NUMBER.match(normalised):
            return int(normalised)
    return None


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return unicodedata.normalize("NFKC", lines[-1]).strip() if lines else ""


# --- cases --------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    path: Path
    expected: list[str]
    printed: list[int]
    raw: list[str] | None = None
    vertical: bool = False
    note: str = ""


@dataclass
class Row:
    case: str
    extractor: str
    pages: int
    accuracy: float
    accuracy_raw: float | None
    garbled: float
    garbled_top: str
    spaced_runs: int
    radicals: int
    one_char_lines: float
    page_numbers_found: int
    page_numbers_at_end: int
    seconds_per_page: float
    error: str = ""
    texts: list[str] = field(default_factory=list, repr=False)


def _numbers(expected: list[str]) -> list[int]:
    return [int(unicodedata.normalize("NFKC", text.splitlines()[-1])) for text in expected]


def build_cases(directory: Path) -> tuple[list[Case], list[str]]:
    cases, skipped = [], []
    for encoding in ("EUC-H", "90ms-RKSJ-H", "H"):
        path = directory / f"cmap-{encoding}.pdf"
        expected = write_predefined_cmap_pdf(path, encoding)
        assert not has_to_unicode(path), f"{path.name} has a /ToUnicode map"
        cases.append(Case(f"cmap {encoding}", path, expected, _numbers(expected), note="no ToUnicode"))
    path = directory / "vertical-cid.pdf"
    expected = write_vertical_pdf(path, producer="cid")
    cases.append(Case("vertical cid", path, expected, _numbers(expected), vertical=True))
    try:
        path = directory / "vertical-chromium.pdf"
        expected = write_vertical_pdf(path, producer="chromium")
        cases.append(Case("vertical chromium", path, expected, _numbers(expected), vertical=True))
        path = directory / "browser.pdf"
        expected, raw = write_browser_pdf(path, printed=(33, 40))
        cases.append(Case("browser", path, expected, [33, 40], raw=raw))
    except Exception as exc:  # noqa: BLE001 - no Chromium / playwright: the reportlab cases still run
        skipped.append(f"Chromium cases skipped: {exc}")
    path = directory / "manual-20.pdf"
    pages = generate_pages(20)
    write_manual_pdf(path, pages, first_printed=27)
    expected = expected_manual_text(pages, first_printed=27)
    cases.append(Case("easy (20 pages)", path, expected, _numbers(expected)))
    return cases, skipped


def measure(case: Case, name: str) -> Row:
    extractor = EXTRACTORS[name]
    best = float("inf")
    texts: list[str] = []
    error = ""
    for _ in range(REPEATS):
        start = time.perf_counter()
        try:
            texts = extractor(case.path)
        except Exception as exc:  # noqa: BLE001 - an extractor that fails scores 0
            error, texts = f"{type(exc).__name__}: {exc}", []
            break
        best = min(best, time.perf_counter() - start)
    joined = "".join(texts)
    odd = odd_characters(joined)
    visible = sum(1 for c in joined if not c.isspace())
    found = sum(
        1 for index, number in enumerate(case.printed)
        if index < len(texts) and printed_number(texts[index]) == number
    )
    at_end = sum(
        1 for index, number in enumerate(case.printed)
        if index < len(texts) and _last_line(texts[index]) == str(number)
    )
    lines = [line.strip() for text in texts for line in text.splitlines() if line.strip()]
    return Row(
        case=case.name,
        extractor=name,
        pages=len(case.expected),
        accuracy=accuracy(texts, case.expected),
        accuracy_raw=accuracy(texts, case.raw) if case.raw else None,
        garbled=sum(odd.values()) / visible if visible else 0.0,
        garbled_top="".join(c for c, _ in odd.most_common(6)),
        spaced_runs=sum(len(_SPACED.findall(text)) for text in texts),
        radicals=radical_count(joined),
        one_char_lines=sum(1 for line in lines if len(line) == 1) / len(lines) if lines else 0.0,
        page_numbers_found=found,
        page_numbers_at_end=at_end,
        seconds_per_page=(best / len(case.expected)) if texts else float("nan"),
        error=error,
        texts=texts,
    )


def markdown(rows: list[Row]) -> str:
    lines = [
        ("| case | extractor | acc | acc raw | garbled | odd chars | spaced | radicals | 1-char lines "
         "| pageno | at end | s/page |"),
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        raw = f"{r.accuracy_raw:.3f}" if r.accuracy_raw is not None else "-"
        odd = " ".join(f"{c}(U+{ord(c):04X})" for c in r.garbled_top[:3]) or "-"
        lines.append(
            f"| {r.case} | {r.extractor}{' (' + r.error + ')' if r.error else ''} | {r.accuracy:.3f} | {raw} "
            f"| {r.garbled:.1%} | {odd} | {r.spaced_runs} | {r.radicals} | {r.one_char_lines:.0%} "
            f"| {r.page_numbers_found}/{r.pages} | {r.page_numbers_at_end}/{r.pages} | {r.seconds_per_page:.4f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    parser.add_argument("--show", metavar="CASE", help="also print each extractor's text of this case")
    args = parser.parse_args()
    logging.disable(logging.ERROR)  # pypdf logs unknown CMaps as errors; pdfminer warns on Type3 fonts
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="kasuhara-pdfbench-") as tmp:
        cases, skipped = build_cases(Path(tmp))
        for case in cases:
            for name in EXTRACTORS:
                rows.append(measure(case, name))
                if args.show and args.show == case.name:
                    print(f"--- {case.name} / {name}")
                    for index, text in enumerate(rows[-1].texts):
                        print(f"[page {index + 1}] {text!r}")
    if args.json:
        print(json.dumps({"rows": [{k: v for k, v in asdict(r).items() if k != "texts"} for r in rows],
                          "skipped": skipped}, ensure_ascii=False, indent=2))
    else:
        print(markdown(rows))
        for line in skipped:
            print(f"\n{line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
