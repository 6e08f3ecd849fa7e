"""Issue 9: PDFs made the way real ones are made, each kind read right or refused clearly.

The fixtures come from tests/pdf_hard_fixtures.py: reportlab fonts addressed through predefined CMaps
without ToUnicode, vertical writing, and pages printed by real Chromium (letter-spacing, CJK radical
code points, the page number right after the title in the content stream)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pdf_hard_fixtures import (
    has_to_unicode,
    write_browser_pdf,
    write_predefined_cmap_pdf,
    write_unmapped_pdf,
    write_vertical_pdf,
)

from ingest.artefacts import garbled_share
from ingest.chunks import make_chunks
from ingest.cleaning import clean_pages, squeeze
from ingest.loaders import load_file
from ingest.manifest import load_manifest
from ingest.structure import structure_page

RADICALS = range(0x2E80, 0x2FE0)


def read(corpus: Path, path: Path):
    loaded = load_file(path, load_manifest(corpus / "manifest.toml"), corpus)
    pages = [structure_page(page) for page in clean_pages(list(loaded.pages))]
    return loaded, pages, make_chunks(pages)


def page_text(chunks, page: int) -> str:
    return squeeze("".join(c.text for c in chunks if c.page == page))


def body(expected_page: str, drop_last: int = 1) -> str:
    """The expected page text without its title, page number (and tabs), bullet marks and wraps."""
    lines = expected_page.split("\n")[1:len(expected_page.split("\n")) - drop_last]
    return squeeze("".join(line.removeprefix("・") for line in lines))


@pytest.mark.parametrize("encoding", ["EUC-H", "90ms-RKSJ-H", "H"])
def test_a_predefined_cmap_without_tounicode_is_read(corpus_dir, encoding):
    path = corpus_dir / "manual" / f"dtp-{encoding}.pdf"
    expected = write_predefined_cmap_pdf(path, encoding, first_printed=12)
    assert not has_to_unicode(path)
    loaded, pages, chunks = read(corpus_dir, path)
    assert loaded.refused == ()
    assert [(p.page, p.page_found) for p in loaded.pages] == [(12, "bottom"), (13, "bottom"), (14, "bottom")]
    assert [p.title for p in pages] == [e.split("\n")[0] for e in expected]
    for number, page in zip((12, 13, 14), expected):
        assert page_text(chunks, number) == body(page)
    assert all(c.kind == "bullet" for c in chunks)


@pytest.mark.parametrize("producer", ["cid", "chromium"])
def test_vertical_writing_is_read_in_column_order(corpus_dir, producer):
    path = corpus_dir / "manual" / f"tategaki-{producer}.pdf"
    expected = write_vertical_pdf(path, producer=producer, first_printed=5)
    loaded, pages, chunks = read(corpus_dir, path)
    assert [(p.page, p.page_found) for p in loaded.pages] == [(5, "bottom"), (6, "bottom")]
    assert [p.title for p in pages] == [e.split("\n")[0] for e in expected]
    for number, page in zip((5, 6), expected):
        assert page_text(chunks, number) == body(page)  # 、 and 。, not the vertical forms ︑ ︒
    assert not any("\ufe10" <= ch <= "\ufe19" for c in chunks for ch in c.text)


@pytest.fixture(scope="module")
def browser_pdf(tmp_path_factory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("browser") / "kasuharamanual_browser.pdf"
    expected, _raw = write_browser_pdf(path, printed=(33, 40))
    return path, expected


def test_a_browser_printed_pdf_loses_letter_spacing_radicals_and_tabs(corpus_dir, browser_pdf):
    """Claimed by the manual's manifest entry (its file name), so its chapter tabs are known."""
    source, expected = browser_pdf
    path = corpus_dir / "manual" / source.name
    path.write_bytes(source.read_bytes())
    loaded, pages, chunks = read(corpus_dir, path)
    # The number follows the title in the content stream; it is the page's, not the text's.
    assert [(p.page, p.page_found) for p in loaded.pages] == [(33, "bottom"), (40, "bottom")]
    assert [p.title for p in pages] == [e.split("\n")[0] for e in expected]
    for number, page in zip((33, 40), expected):
        assert page_text(chunks, number) == body(page, drop_last=13)  # 12 tab lines and the number
    texts = [c.text for c in chunks]
    assert "相談窓口" in texts  # the letter-spaced heading 「相 談 窓 口」, spaces removed
    assert not any(ord(ch) in RADICALS for text in texts for ch in text)  # 店⻑ -> 店長, 窓⼝ -> 窓口
    assert any("店長" in text for text in texts)
    assert not any("総論" in text or "章" in text for text in texts)  # the tabs never leak into text


def test_a_pdf_whose_fonts_have_no_unicode_map_is_refused_by_page(corpus_dir, tmp_path):
    path = write_unmapped_pdf(tmp_path / "nomap.pdf")
    loaded = load_file(path, load_manifest(corpus_dir / "manifest.toml"), corpus_dir)
    assert loaded.pages == ()
    assert [r.index for r in loaded.refused] == [1, 2]
    assert loaded.refused[0].reason.startswith("nomap.pdf の 1 ページ目")
    assert "文字化けしています" in loaded.refused[0].reason and "OCR" in loaded.refused[0].reason


def test_only_the_garbled_pages_of_a_pdf_are_refused(corpus_dir, tmp_path, browser_pdf):
    """One good page and two without a Unicode map, in one file: the good page is kept."""
    from pypdf import PdfReader, PdfWriter

    good = browser_pdf[0]
    bad = write_unmapped_pdf(tmp_path / "bad.pdf")
    writer = PdfWriter()
    for page in [*PdfReader(good).pages[:1], *PdfReader(bad).pages]:
        writer.add_page(page)
    mixed = tmp_path / "mixed.pdf"
    with mixed.open("wb") as out:
        writer.write(out)
    loaded = load_file(mixed, load_manifest(corpus_dir / "manifest.toml"), corpus_dir)
    assert len(loaded.pages) == 1 and garbled_share("".join(loaded.pages[0].lines)) == 0
    assert [r.index for r in loaded.refused] == [2, 3]
    assert "mixed.pdf の 2 ページ目" in loaded.refused[0].reason and "OCR" in loaded.refused[0].reason


def test_a_page_without_text_in_a_text_pdf_is_reported(corpus_dir, tmp_path, browser_pdf):
    """An image-only page between text pages: nothing to index, and the report says to OCR it."""
    from pdf_fixtures import write_scanned_pdf
    from pypdf import PdfReader, PdfWriter

    from ingest.report import build_report

    good = PdfReader(browser_pdf[0]).pages
    writer = PdfWriter()
    for page in [good[0], PdfReader(write_scanned_pdf(tmp_path / "scan.pdf")).pages[0], good[1]]:
        writer.add_page(page)
    path = corpus_dir / "manual" / "kasuharamanual_with_scan.pdf"
    with path.open("wb") as out:
        writer.write(out)
    loaded, pages, chunks = read(corpus_dir, path)
    assert loaded.blank == (2,) and [p.position for p in loaded.pages] == [1, 3]
    [file] = build_report([loaded], pages, chunks).files
    assert [p.index for p in file.pages] == [1, 3]
    assert any("2 ページ目" in w and "OCR" in w for w in file.warnings)
