"""Plain text and Markdown: encodings, chapter tabs, bullets, headings, wrap joining."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.chunks import make_chunks
from ingest.cleaning import clean_page
from ingest.errors import SourceError
from ingest.loaders import RawPage, load_pages
from ingest.manifest import load_manifest
from ingest.structure import structure_page

SJIS_TEXT = (
    "カスハラ対応の基本\n"
    "・暴言を受けたら、一人で抱え込まずに店長へ相談してください。\n"
    "・やり取りは日時とともに記録してください。\n"
    "\n"
    "緊急時は１１０番に通報します。（注）全角記号も含みます。\n"
)


def chunks_of(corpus: Path, name: str, data: bytes):
    path = corpus / "manual" / name
    path.write_bytes(data)
    raws = load_pages(path, load_manifest(corpus / "manifest.toml"), corpus)
    return make_chunks(structure_page(clean_page(raw)) for raw in raws)


@pytest.mark.parametrize("encoding", ["cp932", "shift_jis", "utf-8", "utf-8-sig", "euc_jp", "iso2022_jp"])
def test_japanese_text_files_are_decoded(corpus_dir, encoding):
    chunks = chunks_of(corpus_dir, f"notes-{encoding}.txt", SJIS_TEXT.encode(encoding))
    assert [(c.kind, c.text) for c in chunks] == [
        ("bullet", "暴言を受けたら、一人で抱え込まずに店長へ相談してください。"),
        ("bullet", "やり取りは日時とともに記録してください。"),
        ("paragraph", "緊急時は１１０番に通報します。（注）全角記号も含みます。"),  # full-width kept as is
    ]
    assert all(c.page_title == "カスハラ対応の基本" and c.document == f"notes-{encoding}" for c in chunks)
    assert all(c.page is None and c.chapter == "" for c in chunks)


def test_a_short_cp932_file_with_machine_dependent_characters(corpus_dir):
    text = "相談窓口①\n・内線は№１２です。\n"  # ① and № exist in CP932, not in JIS X 0208
    chunks = chunks_of(corpus_dir, "short.txt", text.encode("cp932"))
    assert [c.text for c in chunks] == ["内線は№１２です。"]
    assert chunks[0].page_title == "相談窓口①"


@pytest.mark.parametrize("encoding", ["cp932", "euc_jp"])
def test_half_width_katakana_is_ordinary_text(corpus_dir, encoding):
    """Issue 9: a valid Shift_JIS file with half-width katakana was refused as undecodable."""
    lines = ["ｶｽﾀﾏｰﾊﾗｽﾒﾝﾄ相談ﾏﾆｭｱﾙ", "ﾃﾝﾁｮｳ(店長)にすぐ相談してください。", "ｼﾌﾄ中のﾄﾗﾌﾞﾙはﾒﾓに残します。"]
    path = corpus_dir / "manual" / f"hankaku-{encoding}.txt"
    path.write_bytes("\n".join(lines).encode(encoding))
    raws = load_pages(path, load_manifest(corpus_dir / "manifest.toml"), corpus_dir)
    assert list(raws[0].lines) == lines  # the source's characters, not NFKC


@pytest.mark.parametrize("data", [os.urandom(2048), bytes(range(256)) * 4,
                                  "相談窓口について。".encode() + b"\xff\xfe\x00\x81" + "続き".encode()])
def test_undecodable_text_is_a_clear_error(corpus_dir, data):
    with pytest.raises(SourceError, match="文字コードを判別できません"):
        chunks_of(corpus_dir, "garbage.txt", data)


def test_utf16_with_a_bom_is_decoded(corpus_dir):
    chunks = chunks_of(corpus_dir, "utf16.txt", SJIS_TEXT.encode("utf-16"))
    assert [c.text for c in chunks][0] == "暴言を受けたら、一人で抱え込まずに店長へ相談してください。"


def test_damaged_utf8_is_not_misread_as_shift_jis(corpus_dir):
    data = SJIS_TEXT.encode("utf-8")
    data = data[:40] + b"\xff" + data[40:]
    with pytest.raises(SourceError, match="UTF-8 として壊れた箇所"):
        chunks_of(corpus_dir, "damaged.txt", data)


def test_form_feeds_separate_pages(corpus_dir):
    chunks = chunks_of(corpus_dir, "paged.txt", "第一頁\n本文一。\f第二頁\n本文二。\n".encode())
    assert [(c.page, c.page_title, c.text) for c in chunks] == [(1, "第一頁", "本文一。"), (2, "第二頁", "本文二。")]


def test_markdown_title_sections_and_items(corpus_dir):
    markdown = """# 店舗向けカスハラ対応手順

この手順書は店舗の就業者向けです。
迷ったときは店長に相談してください。

## 相談先

- 店長に相談する
- 本社の相談窓口に報告する
* 夜間は警備室に連絡する

### 緊急時

1. 警察に通報する
2. やり取りを記録する

## その他

English notes are wrapped,
across lines like this.
"""
    chunks = chunks_of(corpus_dir, "store.md", markdown.encode())
    title = "店舗向けカスハラ対応手順"
    assert [(c.kind, c.section_path, c.text) for c in chunks] == [
        ("paragraph", (title,), "この手順書は店舗の就業者向けです。迷ったときは店長に相談してください。"),
        ("bullet", (title, "相談先"), "店長に相談する"),
        ("bullet", (title, "相談先"), "本社の相談窓口に報告する"),
        ("bullet", (title, "相談先"), "夜間は警備室に連絡する"),
        ("bullet", (title, "相談先", "緊急時"), "警察に通報する"),
        ("bullet", (title, "相談先", "緊急時"), "やり取りを記録する"),
        ("paragraph", (title, "その他"), "English notes are wrapped, across lines like this."),
    ]
    assert all(c.page_title == title for c in chunks)


def test_nakaguro_lists_in_plain_text_stay_items(corpus_dir):
    text = "カスハラに当たる行為の例：\n・暴言\n・威嚇\n・長時間の拘束\n"
    chunks = chunks_of(corpus_dir, "list.txt", text.encode())
    assert [c.text for c in chunks] == ["暴言", "威嚇", "長時間の拘束"]


def test_placeholder_circles_are_text_not_a_subsection(corpus_dir):
    """○. starts a subsection, but "〇〇様" at the start of a wrapped line is a placeholder name."""
    text = ("電話対応の例\n"
            "• お客様には、次のようにお伝えしてください。「本日は\n"
            "〇〇様のご要望にはお応えできかねます」\n"
            "○.記録の残し方\n"
            "• 日時と内容を記録してください。\n")
    chunks = chunks_of(corpus_dir, "phone.txt", text.encode())
    assert [(c.section_path, c.text) for c in chunks] == [
        (("電話対応の例",), "お客様には、次のようにお伝えしてください。「本日は〇〇様のご要望にはお応えできかねます」"),
        (("電話対応の例", "記録の残し方"), "日時と内容を記録してください。"),
    ]


def test_a_long_circle_item_is_kept_as_text(corpus_dir):
    text = "対応の基本\n○ 顧客等から暴言を受けた場合は、一人で対応せず、速やかに現場監督者に報告してください。\n"
    chunks = chunks_of(corpus_dir, "circle.txt", text.encode())
    assert [c.text for c in chunks] == ["顧客等から暴言を受けた場合は、一人で対応せず、速やかに現場監督者に報告してください。"]


# Chapter tabs under the manual's layout (a file the manifest claims for the Tokyo manual).

def clean_manual_lines(corpus: Path, lines: list[str], page: int = 30) -> tuple[str, ...]:
    manifest = load_manifest(corpus / "manifest.toml")
    document = manifest.documents[0]
    raw = RawPage(Path("x.pdf"), document, manifest.layout_for(document), page, tuple(lines), "", "")
    return clean_page(raw).lines


def test_chapter_tab_lines_go_but_sentences_mentioning_a_chapter_stay(corpus_dir):
    lines = ["対応の流れ", "2章", "未然防止", "2章で述べたとおり、相談窓口を設置します。", "その他",
             "社内の規程を整備します。", "3章 発生時", "30"]
    assert clean_manual_lines(corpus_dir, lines) == (
        "対応の流れ", "2章で述べたとおり、相談窓口を設置します。", "その他", "社内の規程を整備します。")


def test_a_chapter_label_alone_in_a_wrapped_sentence_stays(corpus_dir):
    lines = ["対応の流れ", "詳しい手順はマニュアルの", "2章", "を参照してください。", "30"]
    assert clean_manual_lines(corpus_dir, lines) == ("対応の流れ", "詳しい手順はマニュアルの", "2章", "を参照してください。")


def test_all_six_tabs_in_any_order_go(corpus_dir):
    labels = ["1章", "2章", "3章", "4章", "5章", "6章"]
    names = ["総論", "未然防止", "発生時", "発生後", "企業間", "その他"]
    lines = labels + ["対応の流れ", "本文です。"] + names + ["３０"]  # full-width page number
    assert clean_manual_lines(corpus_dir, lines) == ("対応の流れ", "本文です。")


def test_a_number_in_the_text_is_not_taken_for_the_page_number(corpus_dir):
    lines = ["対応の流れ", "罰金は", "100", "万円以下です。", "30"]
    assert clean_manual_lines(corpus_dir, lines) == ("対応の流れ", "罰金は", "100", "万円以下です。")


def test_a_short_list_keeps_one_chunk_per_item(corpus_dir):
    """No line of a short list reaches a wrap margin: 「・」 always starts a new item."""
    text = "初期対応\n・話を聞く\n・要求が不当な場合ははっきりお断りする\n・店長に報告する\n・本社相談室(内線200)\n・警察(110番)\n"
    chunks = chunks_of(corpus_dir, "list.txt", text.encode("utf-8"))
    assert [c.text for c in chunks] == ["話を聞く", "要求が不当な場合ははっきりお断りする", "店長に報告する",
                                        "本社相談室(内線200)", "警察(110番)"]


def test_markers_before_half_width_kana_with_voicing_marks_are_removed(corpus_dir):
    """NFKC merges ｸﾞ into グ: markers must still be cut at the right place in the original."""
    text = "# ｸﾞﾙｰﾌﾟ対応ﾏﾆｭｱﾙ\n### ｸﾞﾙｰﾌﾟ対応\n1. ｶﾞｲﾄﾞﾗｲﾝﾍﾞﾙ\n- ﾊﾞｽﾞ\n・ﾊﾞﾋﾞﾌﾞ\n"
    chunks = chunks_of(corpus_dir, "kana.md", text.encode("cp932"))
    assert [c.text for c in chunks] == ["ｶﾞｲﾄﾞﾗｲﾝﾍﾞﾙ", "ﾊﾞｽﾞ", "ﾊﾞﾋﾞﾌﾞ"]
    assert chunks[0].section_path == ("ｸﾞﾙｰﾌﾟ対応ﾏﾆｭｱﾙ", "ｸﾞﾙｰﾌﾟ対応")
