"""Issue 9: printed page numbers found wherever extraction puts them, and checked for sense."""

from __future__ import annotations

from ingest.page_numbers import number_pages


def found(pages, offset=0):
    return [(p.number, p.found) for p in number_pages(pages, offset)]


def test_last_or_first_line():
    assert found([["題名", "本文。", "27"], ["28", "題名", "本文。"]]) == [(27, "bottom"), (28, "top")]


def test_glued_to_the_title_after_or_before_and_cut_from_it():
    pages = number_pages([["相談体制の整備①33", "本文。"], ["40発生時の対応", "本文。"]])
    assert [(p.number, p.found, p.lines[0]) for p in pages] == [
        (33, "glued", "相談体制の整備①"), (40, "glued", "発生時の対応")]  # ① is not read as a digit


def test_full_width_and_dashed_numbers():
    assert found([["題名", "本文。", "－ １２ －"], ["題名", "本文。", "- 13 -"]]) == [(12, "bottom"), (13, "bottom")]


def test_a_number_that_breaks_the_order_is_dropped_and_inferred_from_its_neighbours():
    pages = [["題名", "本文。", "27"], ["題名", "本文。", "99"], ["題名", "本文。", "29"]]
    assert found(pages) == [(27, "bottom"), (28, "inferred"), (29, "bottom")]


def test_the_offset_most_pages_agree_on_beats_a_lone_number_in_the_text():
    pages = [["題名", "本文", "5"], ["2024", "題名", "本文", "6"], ["題名", "本文", "7"]]
    assert found(pages) == [(5, "bottom"), (6, "bottom"), (7, "bottom")]


def test_an_excerpt_may_skip_pages():
    assert found([["題名", "本文。", "33"], ["題名", "本文。", "40"]]) == [(33, "bottom"), (40, "bottom")]


def test_p_and_page_suffix_forms():
    assert found([["題名", "本文。", "P.11"], ["題名", "本文。", "12ページ"]]) == [(11, "bottom"), (12, "bottom")]


def test_restarted_numbering_is_inferred_and_its_numbers_leave_the_text():
    pages = number_pages([["題名", "本文。", str(n)] for n in (1, 2, 3, 1, 2)])
    assert [(p.number, p.found) for p in pages] == [(1, "bottom"), (2, "bottom"), (3, "bottom"), (4, "inferred"),
                                                     (5, "inferred")]
    assert all(p.lines == ("題名", "本文。") for p in pages)


def test_an_inferred_number_below_one_is_no_number():
    assert found([["表紙です"], ["題名", "本文。", "1"], ["題名", "本文。", "2"]]) == [
        (None, "inferred"), (1, "bottom"), (2, "bottom")]


def test_no_number_anywhere_uses_the_manifest_offset():
    assert found([["題名", "本文。"], ["題名", "本文。"]], offset=2) == [(3, "inferred"), (4, "inferred")]


def test_numbers_inside_sentences_are_not_page_numbers():
    pages = [["題名", "相談は24時間受け付けます。", "対応は3名で行います。"]]
    assert found(pages) == [(1, "inferred")]
