"""Each ingest stage on the shipped page (p.28 as exported by the document site)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from conftest import SEED_PAGE

from ingest.chunks import make_chunks
from ingest.cleaning import clean_page
from ingest.loaders import load_pages
from ingest.manifest import load_manifest
from ingest.structure import structure_page

TITLE = "相談体制の整備①"
EXAMPLE = "相談体制の整備(例)"
SUBSECTION = "相談窓口・相談対応者の設置"
MANUAL_URL = "https://www.hataraku.metro.tokyo.lg.jp/plan/kasuharamanual_20250304.pdf"
BULLET_STARTS = ["会員企業においては", "会員企業の置かれた", "また、客が刑法犯", "現場監督者である", "これらの相談対応者",
                 "小規模な運営", "カスタマー・ハラスメント対策を推進"]


@pytest.fixture
def raw(seed_corpus: Path):
    manifest = load_manifest(seed_corpus / "manifest.toml")
    pages = load_pages(seed_corpus / "manual" / SEED_PAGE.name, manifest, seed_corpus)
    assert len(pages) == 1
    return pages[0]


@pytest.fixture
def structured(raw):
    return structure_page(clean_page(raw))


@pytest.fixture
def chunks(structured):
    return make_chunks([structured])


def test_load_reads_the_export_header(raw):
    assert raw.page == 28  # from "(28 ページ)"
    assert raw.source_url == MANUAL_URL  # the 出典 field 公開元URL
    assert raw.source_title == "カスタマー・ハラスメント防止のための各団体共通マニュアル(3/4)《東京都》"
    assert raw.document.id == "tokyo-kasuhara-manual"
    assert raw.layout.chapter_names[1] == "未然防止"
    # The site header is not page text.
    assert raw.lines[0] == TITLE
    assert not any("プレーンテキスト" in line or "ページ画像" in line for line in raw.lines)


def test_clean_drops_boilerplate_tabs_and_the_page_number(raw):
    lines = clean_page(raw).lines
    joined = "\n".join(lines)
    for noise in ("よむ、つかう、まなぶ。", "出典情報", "公開元URL", "低解像度画像", "資料テキストは"):
        assert noise not in joined
    for tab in ("1章", "総論", "2章", "未然防止", "3章", "発生時", "6章", "その他"):
        assert tab not in lines
    assert "28" not in lines
    assert lines[0] == TITLE


def test_clean_keeps_one_copy_of_the_repeated_text(raw):
    original = "\n".join(raw.lines)
    assert original.count("【相談体制の整備(例)】") == 2  # the site gives the page text twice
    lines = clean_page(raw).lines
    assert lines.count("【相談体制の整備(例)】") == 1
    assert lines.count("視点") == 1  # the letter-spaced heading 「視 点」 is repaired
    assert sum(1 for line in lines if line.strip() == "•") == 7


def test_structure_joins_wraps_without_spaces_and_keeps_spans(structured):
    assert structured.title == TITLE  # ① kept: NFKC would have made it "1"
    assert "組織横断的な相談窓口" in structured.text
    assert "組織横断 的な" not in structured.text
    assert [b.kind for b in structured.blocks] == ["viewpoint"] * 2 + ["bullet"] * 7
    for block in structured.blocks:
        assert structured.text[block.start:block.end] == block.text
        assert "\n" not in block.text


def test_page_28_is_two_viewpoints_and_seven_bullets(chunks):
    assert len(chunks) == 9
    viewpoints, bullets = chunks[:2], chunks[2:]
    assert all(c.kind == "viewpoint" and c.section_path == (TITLE, "視点") for c in viewpoints)
    assert all(c.kind == "bullet" and c.section_path == (TITLE, EXAMPLE, SUBSECTION) for c in bullets)
    assert [next(s for s in BULLET_STARTS if c.text.startswith(s)) for c in bullets] == BULLET_STARTS
    assert viewpoints[0].text.startswith("各業界団体においては")
    assert viewpoints[1].text.endswith("あらかじめ決めておくことが大切です。")
    assert bullets[-1].text.endswith("「カスタマー・ハラスメント防止対策推進チーム(仮)」を設置することなどが考えられます。")


def test_chunks_carry_provenance(chunks, structured):
    for chunk in chunks:
        assert chunk.document == "tokyo-kasuhara-manual"
        assert chunk.document_title == "カスタマー・ハラスメント防止のための各団体共通マニュアル"
        assert chunk.chapter == "2章 未然防止"
        assert chunk.page_title == TITLE
        assert chunk.page == 28
        assert chunk.source_url == MANUAL_URL
        assert chunk.source_file == SEED_PAGE.name
        assert structured.text[chunk.start:chunk.end] == chunk.text
    assert chunks[2].section == f"2章 未然防止 › {TITLE} › {EXAMPLE} › {SUBSECTION}"


def test_quotes_are_the_original_characters(chunks):
    """Every chunk is a verbatim piece of the source once wraps are joined; nothing is NFKC-folded."""
    source = SEED_PAGE.read_text(encoding="utf-8").replace("\n", "")
    for chunk in chunks:
        assert chunk.text in source
    assert any("(例:店長)1名" in c.text for c in chunks)
    assert all(c.page_title == TITLE != unicodedata.normalize("NFKC", TITLE) for c in chunks)


def test_chunk_ids_are_stable_and_unique(seed_corpus, chunks):
    assert len({c.id for c in chunks}) == 9
    manifest = load_manifest(seed_corpus / "manifest.toml")
    again = make_chunks(
        structure_page(clean_page(raw)) for raw in load_pages(seed_corpus / "manual" / SEED_PAGE.name, manifest, seed_corpus)
    )
    assert [c.id for c in again] == [c.id for c in chunks]


def test_the_same_page_under_another_file_name_is_claimed_by_its_url(corpus_dir):
    """An exported page the manifest's globs do not name still belongs to the document whose PDF it
    came from (its 公開元URL), so it is cleaned with that layout and gets its chapter."""
    text = SEED_PAGE.read_text(encoding="utf-8")
    other = corpus_dir / "manual" / "page28-export.txt"
    other.write_text(text, encoding="utf-8")
    manifest = load_manifest(corpus_dir / "manifest.toml")
    pages = [structure_page(clean_page(r)) for r in load_pages(other, manifest, corpus_dir)]
    chunks = make_chunks(pages)
    assert len(chunks) == 9
    assert {c.chapter for c in chunks} == {"2章 未然防止"}
    assert {c.document for c in chunks} == {"tokyo-kasuhara-manual"}


def test_an_export_of_an_unknown_document_keeps_its_title_and_url(corpus_dir):
    text = SEED_PAGE.read_text(encoding="utf-8").replace(MANUAL_URL, "https://example.jp/other.pdf")
    other = corpus_dir / "manual" / "other-export.txt"
    other.write_text(text, encoding="utf-8")
    manifest = load_manifest(corpus_dir / "manifest.toml")
    [raw] = load_pages(other, manifest, corpus_dir)
    assert raw.document.id == "other-export"
    assert raw.document.title == "カスタマー・ハラスメント防止のための各団体共通マニュアル(3/4)《東京都》"
    assert raw.source_url == "https://example.jp/other.pdf"
    assert raw.lines[0] == TITLE  # the site header is dropped even without the manual's layout


def test_the_same_page_from_two_sources_is_indexed_once(seed_corpus, chunks):
    """When the whole manual is added beside the shipped page, page 28 must not be quoted twice."""
    manifest = load_manifest(seed_corpus / "manifest.toml")
    seed = seed_corpus / "manual" / SEED_PAGE.name
    copy = seed.with_name("000_copy_of_page28.txt")  # claimed by the same document's glob
    copy.write_bytes(seed.read_bytes())
    pages = [structure_page(clean_page(r)) for path in (seed, copy) for r in load_pages(path, manifest, seed_corpus)]
    both = make_chunks(pages)
    assert [c.id for c in both] == [c.id for c in chunks]
    assert {c.source_file for c in both} == {SEED_PAGE.name}
