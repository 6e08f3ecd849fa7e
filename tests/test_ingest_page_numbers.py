"""Issue 9: printed page numbers found wherever extraction puts them, and checked for sense."""

from __future__ import annotations

from ingest.page_numbers import number_pages


def found(pages, offset=0):
    return [(p.number, p.found) for p in number_pages(pages, offset)]


def test_last_or_first_line():
    assert found([["題名", "本文。", "27"], ["28", "題名", "本文。"]]) == [(27, "printed"), (28, "printed")]


def test_glued_to_the_title_after_or_before_and_cut_from_it():
    pages = number_pages([["相談体制の整備①33", "本文。"], ["40発生時の対応", "本文。"]])
    assert [(p.number, p.found, p.lines[0]) for p in pages] == [
        (33, "glued", "相談体制の整備①"), (40, "glued", "発生時の対応")]  # ① is not read as a digit


def test_full_width_and_dashed_numbers():
    assert found([["題名", "本文。", "－ １２ －"], ["題名", "本文。", "- 13 -"]]) == [(12, "printed"), (13, "printed")]


def test_a_number_that_breaks_the_order_is_dropped_and_inferred_from_its_neighbours():
    pages = [["題名", "本文。", "27"], ["題名", "本文。", "99"], ["題名", "本文。", "29"]]
    assert found(pages) == [(27, "printed"), (28, "inferred"), (29, "printed")]


def test_the_offset_most_pages_agree_on_beats_a_lone_number_in_the_text():
    pages = [["題名", "本文", "5"], ["2024", "題名", "本文", "6"], ["題名", "本文", "7"]]
    assert found(pages) == [(5, "printed"), (6, "printed"), (7, "printed")]


def test_an_excerpt_may_skip_pages():
    assert found([["題名", "本文。", "33"], ["題名", "本文。", "40"]]) == [(33, "printed"), (40, "printed")]


def test_no_number_anywhere_uses_the_manifest_offset():
    assert found([["題名", "本文。"], ["題名", "本文。"]], offset=2) == [(3, "inferred"), (4, "inferred")]


def test_numbers_inside_sentences_are_not_page_numbers():
    pages = [["題名", "相談は24時間受け付けます。", "対応は3名で行います。"]]
    assert found(pages) == [(1, "inferred")]
