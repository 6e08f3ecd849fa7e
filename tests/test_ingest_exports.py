"""Issue 9: both export layouts of the document site, boilerplate by recurrence, blank lines anywhere,
chapters from the shipped manifest, and the ingest report."""

from __future__ import annotations

from pathlib import Path

import pytest
from export_fixtures import PAGES, ExportPage, joined, plain_layout, table_layout

from assistant.core.settings import Settings
from ingest.pipeline import read_corpus

SITE_WORDS = ("まなびのひろば", "ひろばは", "公開元URL", "出典情報", "資料テキスト", "ページ画像", "マニュアル (")


@pytest.fixture
def export_corpus(corpus_dir: Path) -> Path:
    """p.33 in layout "table", p.40 and p.55 in layout "plain" (no seed page)."""
    (corpus_dir / "manual" / "033.txt").write_text(table_layout(PAGES[0]), encoding="utf-8")
    (corpus_dir / "manual" / "040.txt").write_text(plain_layout(PAGES[1]), encoding="utf-8")
    (corpus_dir / "manual" / "055.txt").write_text(plain_layout(PAGES[2]), encoding="utf-8")
    return corpus_dir


def expected_chunks(page: ExportPage, chapter: str) -> list[tuple]:
    """What a reader of the page would index: the viewpoint and each bullet, with their sections."""
    example_path = (page.title, page.example, page.subsection)
    return [(chapter, page.page, (page.title, "視点"), joined(page.viewpoint))] + [
        (chapter, page.page, example_path, joined(bullet)) for bullet in page.bullets
    ]


def test_both_layouts_give_the_same_chunks_with_sections_pages_and_chapters(export_corpus, data_dir):
    build, report = read_corpus(Settings(corpus_dir=export_corpus, data_dir=data_dir))
    got = [(c.chapter, c.page, c.section_path, c.text) for c in build.chunks]
    assert got == (expected_chunks(PAGES[0], "3章 発生時") + expected_chunks(PAGES[1], "3章 発生時")
                   + expected_chunks(PAGES[2], "4章 発生後"))
    assert {c.source_url for c in build.chunks} == {"https://www.hataraku.metro.tokyo.lg.jp/plan/kasuharamanual_20250304.pdf"}
    assert [(f.file, f.format) for f in report.files] == [
        ("033.txt", "export-table"), ("040.txt", "export-plain"), ("055.txt", "export-plain")]


def test_site_header_tabs_and_page_numbers_never_reach_the_index(export_corpus, data_dir):
    build, report = read_corpus(Settings(corpus_dir=export_corpus, data_dir=data_dir))
    for chunk in build.chunks:
        assert not any(word in chunk.text for word in SITE_WORDS), chunk.text
        assert "総論" not in chunk.text and not chunk.text.endswith(str(chunk.page))
    plain = next(f for f in report.files if f.file == "040.txt")
    removed = {(r.line, r.why) for r in plain.removed}
    assert ("ひろばは、働く人のための法令・指針・手引きを集めて、", "site-header") in removed
    assert ("1章 総論", "chapter-tabs") in removed and ("40", "page-number") in removed
    assert report.warnings == []


def test_a_page_seen_once_in_each_layout_is_indexed_once(export_corpus, data_dir):
    (export_corpus / "manual" / "033-again.txt").write_text(plain_layout(PAGES[0]), encoding="utf-8")
    build, _ = read_corpus(Settings(corpus_dir=export_corpus, data_dir=data_dir))
    assert sum(1 for c in build.chunks if c.page == 33) == 3


@pytest.mark.parametrize("page_break", ["\f", "\n"], ids=["form-feeds", "save-as-text"])
def test_running_headers_and_footers_are_found_by_recurrence(corpus_dir, data_dir, page_break):
    """A company's own manual: lines no layout profile knows, recurring on every page, are dropped;
    the structure heading 「視 点」 recurs as often and stays. Without form feeds ("save as text"),
    the pages are cut at the page-number lines that count up through the file."""
    pages = []
    for n, (title, bullet) in enumerate([
        ("相談の受け方", "・相談を受けたら、日時と内容を記録してください。"),
        ("報告の流れ", "・店長は当日中に本部のお客様相談室へ報告します。"),
        ("通報の判断", "・身の危険を感じたら、ためらわず110番してください。"),
        ("ケアの手順", "・被害を受けた従業員には、産業医との面談を案内します。"),
    ], start=1):
        pages.append("\n".join([
            "みなと食品株式会社 カスハラ対応手引き(社外秘)", title, "視 点",
            "➢ 一人で抱え込まないことが大切です。", bullet, "Copyright みなと食品", f"- {n + 4} -",
        ]))
    (corpus_dir / "manual" / "minato.txt").write_text(page_break.join(pages), encoding="utf-8")
    build, report = read_corpus(Settings(corpus_dir=corpus_dir, data_dir=data_dir),
                                [corpus_dir / "manual" / "minato.txt"])
    [file] = report.files
    assert [(p.page, p.found, p.title) for p in file.pages] == [
        (5, "bottom", "相談の受け方"), (6, "bottom", "報告の流れ"), (7, "bottom", "通報の判断"), (8, "bottom", "ケアの手順")]
    running = {r.line for r in file.removed if r.why == "running"}
    assert running == {"みなと食品株式会社 カスハラ対応手引き(社外秘)", "Copyright みなと食品"}
    assert [c.section_path[-1] for c in build.chunks if c.kind == "viewpoint"] == ["視点"] * 4
    assert not any("みなと食品" in c.text for c in build.chunks)
    # An organisation's own manual is not in the manifest: no chapters, and the report says so.
    assert any("章が割り当てられていません" in w for w in report.warnings)


def test_a_verso_header_with_its_page_number_is_a_running_header(corpus_dir, data_dir):
    """Even pages print 「NN　第1章 総論」 at the top: the number differs on each, the line recurs."""
    pages = []
    for n in range(10, 16):
        header = [f"{n}　第1章 総論"] if n % 2 == 0 else []
        pages.append("\n".join([*header, f"対応の手順{'①②③④⑤⑥'[n - 10]}", f"・相談を受けたら{n}日以内に記録します。",
                                str(n)]))
    (corpus_dir / "manual" / "verso.txt").write_text("\f".join(pages), encoding="utf-8")
    build, report = read_corpus(Settings(corpus_dir=corpus_dir, data_dir=data_dir))
    [file] = report.files
    assert [p.title for p in file.pages] == [f"対応の手順{c}" for c in "①②③④⑤⑥"]  # not running lines
    assert [p.page for p in file.pages] == list(range(10, 16))
    assert not any("総論" in c.text for c in build.chunks)
    assert {r.why for r in file.removed if "総論" in r.line} == {"running"}


def test_copies_and_empty_files_are_named_in_the_report(corpus_dir, data_dir):
    manual = corpus_dir / "manual"
    (manual / "033.txt").write_text(table_layout(PAGES[0]), encoding="utf-8")
    (manual / "033 (コピー).txt").write_bytes((manual / "033.txt").read_bytes())
    (manual / "empty.txt").write_text("\n\n", encoding="utf-8")
    build, report = read_corpus(Settings(corpus_dir=corpus_dir, data_dir=data_dir))
    assert sum(1 for c in build.chunks if c.page == 33) == 3
    [copy] = [f for f in report.files if f.format == "duplicate"]
    original = ({"033.txt", "033 (コピー).txt"} - {copy.file}).pop()
    assert f"{copy.file} は {original} と同じ内容のため、読み込みませんでした。" in report.warnings
    assert "empty.txt に本文が見つかりませんでした。ファイルの中身を確認してください。" in report.warnings
