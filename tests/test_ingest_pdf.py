"""PDF ingest on generated pages that imitate the manual's layout, read back as the pipeline reads them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import SEED_PAGE
from pdf_fixtures import PAGE_28, PageSpec, write_manual_pdf, write_scanned_pdf

from assistant.core.settings import Settings
from ingest.chunks import make_chunks
from ingest.cleaning import clean_page, clean_pages
from ingest.errors import SourceError
from ingest.loaders import load_pages
from ingest.manifest import load_manifest
from ingest.pipeline import prepare
from ingest.structure import structure_page

TITLE = "相談体制の整備①"
EXAMPLE_PATH = (TITLE, "相談体制の整備(例)", "相談窓口・相談対応者の設置")
CHAPTER_NAMES = ("総論", "未然防止", "発生時", "発生後", "企業間", "その他")

# Printed 27: a page before p.28; printed 28: p.28 itself; 29: a page of another chapter;
# the fourth page prints no number (a figure page) and must still come out as 30.
PAGE_27 = PageSpec(
    title="基本方針の策定",
    viewpoints=["カスタマー・ハラスメントへの対応方針を明確にし、社内外に周知することが推奨されます。"],
    example="基本方針(例)",
    subsection="方針の周知",
    bullets=["経営者は、カスタマー・ハラスメントには組織として毅然と対応する旨の基本方針を定め、ホームページ等で公表してください。"],
)
PAGE_29 = PageSpec(
    title="発生時の対応①",
    viewpoints=["顧客等の要求内容が妥当かどうかを確認し、対応方法を判断することが大切です。"],
    example="発生時の対応(例)",
    subsection="複数名での対応",
    bullets=["大声で威圧的な言動があった場合は、複数名で対応し、やり取りを記録してください。",
             "長時間の拘束が続く場合は、対応を打ち切ることも検討してください。"],
)
PAGE_30 = PageSpec(title="対応の流れ(図)", paragraph="顧客等からのクレームを受けた就業者は、まず現場監督者に報告します。")


def set_chapters(manifest: Path, chapters: dict[str, list[int]]) -> None:
    """Point the manifest's chapter labels at the given printed pages."""
    text = manifest.read_text(encoding="utf-8")
    for label, pages in chapters.items():
        text, count = re.subn(
            rf'(label = "{label}"\npages = )\[[^\]]*\]', lambda m: f"{m[1]}{pages}", text
        )
        assert count == 1, label
    manifest.write_text(text, encoding="utf-8")


@pytest.fixture
def pdf_corpus(corpus_dir: Path) -> Path:
    set_chapters(corpus_dir / "manifest.toml", {"2章 未然防止": [27, 28], "3章 発生時": [29, 30]})
    return corpus_dir


def ingest_pdf(corpus: Path, name: str = "kasuharamanual_test.pdf", **pdf_options):
    path = write_manual_pdf(
        corpus / "manual" / name, [PAGE_27, PAGE_28, PAGE_29, PAGE_30], first_printed=27,
        unnumbered=frozenset({3}), **pdf_options,
    )
    manifest = load_manifest(corpus / "manifest.toml")
    raws = load_pages(path, manifest, corpus)
    pages = [structure_page(page) for page in clean_pages(raws)]
    return raws, pages, make_chunks(pages)


@pytest.mark.parametrize("bullet_style", ["separate", "inline"])
@pytest.mark.parametrize("tabs_first", [False, True])
def test_pdf_pages_become_chunks_with_sections_and_printed_pages(pdf_corpus, bullet_style, tabs_first):
    raws, pages, chunks = ingest_pdf(pdf_corpus, bullet_style=bullet_style, tabs_first=tabs_first)
    assert [raw.page for raw in raws] == [27, 28, 29, 30]  # printed numbers, not PDF page indexes 1-4
    assert [page.title for page in pages] == ["基本方針の策定", TITLE, "発生時の対応①", "対応の流れ(図)"]

    p28 = [c for c in chunks if c.page == 28]
    assert [c.kind for c in p28] == ["viewpoint"] * 2 + ["bullet"] * 3
    assert [c.section_path for c in p28] == [(TITLE, "視点")] * 2 + [EXAMPLE_PATH] * 3
    assert p28[2].text == PAGE_28.bullets[0]
    assert "組織横断的な相談窓口を設置してください。" in p28[4].text  # hard-wrapped 組織横断 / 的な
    assert p28[0].text == PAGE_28.viewpoints[0].replace("\n", "")

    p29 = [c for c in chunks if c.page == 29]
    assert [c.section_path for c in p29] == [("発生時の対応①", "視点")] + [
        ("発生時の対応①", "発生時の対応(例)", "複数名での対応")] * 2
    assert [c.text for c in chunks if c.page == 30] == [PAGE_30.paragraph]

    for chunk in chunks:
        assert "章" not in chunk.text and not chunk.text.endswith(CHAPTER_NAMES), chunk.text  # no tabs glued on
        assert not re.search(r"\d{2}$", chunk.text)  # no page number glued on
        assert chunk.document == "tokyo-kasuhara-manual"


def test_chapters_follow_the_manifest_by_printed_page(pdf_corpus):
    _, _, chunks = ingest_pdf(pdf_corpus)
    chapters = {c.page: c.chapter for c in chunks}
    assert chapters == {27: "2章 未然防止", 28: "2章 未然防止", 29: "3章 発生時", 30: "3章 発生時"}


def test_an_unclaimed_pdf_gets_its_file_name_and_no_chapter(pdf_corpus):
    _, _, chunks = ingest_pdf(pdf_corpus, name="industry-manual.pdf")
    assert chunks
    assert {c.document for c in chunks} == {"industry-manual"}
    assert {c.chapter for c in chunks} == {""}
    assert {c.page for c in chunks} == {27, 28, 29, 30}


def test_the_pdf_and_the_page_export_give_the_same_ids(pdf_corpus):
    """Stable ids: the same text in the same place of the same document has one id, whatever file it came from."""
    _, _, pdf_chunks = ingest_pdf(pdf_corpus)
    shutil.copy(SEED_PAGE, pdf_corpus / "manual" / SEED_PAGE.name)
    manifest = load_manifest(pdf_corpus / "manifest.toml")
    seed_chunks = make_chunks(
        structure_page(clean_page(r)) for r in load_pages(pdf_corpus / "manual" / SEED_PAGE.name, manifest, pdf_corpus)
    )
    seed_ids = {c.text: c.id for c in seed_chunks}
    p28 = [c for c in pdf_chunks if c.page == 28]
    assert [c.id for c in p28] == [seed_ids[c.text] for c in p28]


def test_a_nakaguro_that_a_wrap_puts_first_continues_the_bullet(pdf_corpus):
    """警察 / ・弁護士: a "・" starting the line after a full line is the middle dot, not a new item."""
    first_line = "また、客が刑法犯に該当する行為を行っている場合など、警察"
    bullet = first_line + "・弁護士との連携が必要となる場合に備えてください。"
    spec = PageSpec(title="相談体制の整備②", example="連携(例)", subsection="警察との連携",
                    bullets=[bullet, "次の項目です。"])
    path = write_manual_pdf(pdf_corpus / "manual" / "kasuharamanual_wrap.pdf", [spec], first_printed=28,
                            width=len(first_line))
    manifest = load_manifest(pdf_corpus / "manifest.toml")
    [raw] = load_pages(path, manifest, pdf_corpus)
    assert any(line.startswith("・弁護士") for line in raw.lines)  # the wrap really put ・ first
    chunks = make_chunks([structure_page(clean_page(raw))])
    assert [c.text for c in chunks] == [bullet, "次の項目です。"]


def test_a_scanned_pdf_says_ocr_is_needed(corpus_dir):
    path = write_scanned_pdf(corpus_dir / "manual" / "scan.pdf", pages=2)
    with pytest.raises(SourceError, match="OCR"):
        load_pages(path, load_manifest(corpus_dir / "manifest.toml"), corpus_dir)


def test_a_damaged_pdf_is_a_clear_error(corpus_dir):
    path = corpus_dir / "manual" / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\ngarbage")
    with pytest.raises(SourceError, match="PDF"):
        load_pages(path, load_manifest(corpus_dir / "manifest.toml"), corpus_dir)


def test_prepare_reads_every_source_of_a_mixed_corpus(pdf_corpus, data_dir):
    ingest_pdf(pdf_corpus)
    shutil.copy(SEED_PAGE, pdf_corpus / "manual" / SEED_PAGE.name)
    (pdf_corpus / "manual" / "._kasuharamanual_test.pdf").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    build = prepare(Settings(corpus_dir=pdf_corpus, data_dir=data_dir))
    assert [p.name for p in build.files] == [SEED_PAGE.name, "kasuharamanual_test.pdf"]
    assert build.pages == 5
    # The generated PDF reprints page 28: its passages that the seed page already gave are indexed once.
    settings = Settings(corpus_dir=pdf_corpus, data_dir=data_dir)
    pdf_only = prepare(settings, [pdf_corpus / "manual" / "kasuharamanual_test.pdf"])
    seed_texts = {(c.page, c.text) for c in build.chunks if c.source_file == SEED_PAGE.name}
    reprinted = [c for c in pdf_only.chunks if (c.page, c.text) in seed_texts]
    assert len(seed_texts) == 9 and reprinted
    assert len(build.chunks) == 9 + len(pdf_only.chunks) - len(reprinted)
    assert len({c.id for c in build.chunks}) == len(build.chunks)
