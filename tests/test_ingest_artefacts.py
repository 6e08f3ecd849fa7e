"""Issue 9: extraction artefacts repaired (radicals, vertical forms, letter-spacing), nothing else
changed, and garbled text measured."""

from __future__ import annotations

import unicodedata

import pytest

from ingest.artefacts import artefact_map, garbled_share, repair_line


def test_radicals_become_the_ideographs_they_print():
    assert repair_line("店⻑と窓⼝に意⾒を伝える") == "店長と窓口に意見を伝える"
    assert unicodedata.normalize("NFKC", "⻑") == "⻑"  # why NFKC is not enough: the Supplement block
    radicals = {code: text for code, text in artefact_map().items() if 0x2E80 <= code < 0x2FE0}
    assert len(radicals) > 300
    assert all(unicodedata.name(text).startswith("CJK UNIFIED IDEOGRAPH") for text in radicals.values())


def test_vertical_forms_and_the_misread_middle_dot_become_what_they_print():
    assert repair_line("窓口を設け︑周知します︒") == "窓口を設け、周知します。"
    assert repair_line("‧ 店長に相談する") == "・ 店長に相談する"


@pytest.mark.parametrize(("extracted", "repaired"), [
    ("相 談 窓 口", "相談窓口"),
    ("視 点", "視点"),
    ("相 談 窓 口を設置する", "相談窓口を設置する"),
    ("  ➢ 連 携 の 手 順", "  ➢ 連携の手順"),
    ("連　携　の　手　順", "連携の手順"),  # ideographic spaces
    ("・対 応 者 は 店 長", "・対応者は店長"),  # a list mark before the spaced run
])
def test_letter_spacing_is_removed(extracted, repaired):
    assert repair_line(extracted) == repaired


@pytest.mark.parametrize("text", [
    "大声 で 怒鳴られた",  # spaces between words
    "call 110 now",
    "A 社 と B 社",
    "（注）１１０番・＃９１１０に通報",  # full-width forms are the source's characters
    "① 記録を残す ※ 必須",
])
def test_everything_else_is_left_as_the_source_has_it(text):
    assert repair_line(text) == text


def test_garbled_share_counts_what_no_japanese_manual_holds():
    assert garbled_share("相談窓口は本社に置きます。（例：店長）①→ ➢ • ※ 110番 #9110") == 0
    assert garbled_share("솓뭏ꀕꀖ\ue012\ufffd") == 1
    assert garbled_share("U˚æk<Zıˆ¯Ø") >= 0.5  # Latin-1 letters in a Japanese page: mojibake
    assert garbled_share("") == 0
