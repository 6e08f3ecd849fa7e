"""Masking of phone numbers and e-mail addresses in staff questions."""

from __future__ import annotations

import pytest

from assistant.personal_data import (
    EMAIL_MASK,
    PHONE_MASK,
    mask_emails,
    mask_personal_data,
    mask_phone_numbers,
)


@pytest.mark.parametrize(
    "phone",
    [
        "090-1234-5678",
        "080 1234 5678",
        "09012345678",
        "090ー1234ー5678",  # IME long-vowel mark typed as a hyphen
        "０９０－１２３４－５６７８",  # full-width digits and hyphen
        "03-1234-5678",
        "03(1234)5678",
        "03（1234）5678",
        "(03)1234-5678",
        "０３（１２３４）５６７８",
        "06-6123-4567",
        "0120-123-456",
        "0120123456",
        "0800-123-4567",
        "045-123-4567",
        "+81 90 1234 5678",
        "+81-3-1234-5678",
        "+81 (0)90-1234-5678",
        "＋８１ ９０ １２３４ ５６７８",
    ],
)
def test_phone_numbers_are_masked_in_context(phone: str) -> None:
    text = f"お客様の番号は{phone}です。"
    assert mask_personal_data(text) == f"お客様の番号は{PHONE_MASK}です。"


@pytest.mark.parametrize(
    "email",
    [
        "taro@example.com",
        "taro.yamada+claims@example.co.jp",
        "09012345678@docomo.ne.jp",  # digits in the local part: masked whole, as an address
        "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        "taro＠example.jp",
    ],
)
def test_email_addresses_are_masked_in_context(email: str) -> None:
    text = f"メールは{email}に来ました"
    assert mask_personal_data(text) == f"メールは{EMAIL_MASK}に来ました"


@pytest.mark.parametrize(
    "text",
    [
        "2025-03-04に来店したお客様",
        "２０２５－０３－０４",
        "2025/03/04 10:30",
        "2025年3月4日",
        "マニュアル28ページ、p.28、28頁",
        "01-02-2025",
        "〒160-0023",
        "1234-5678",
        "注文番号 123-4567-8901",
        "金額は12,000円、3回目",
        "第3章 発生時の対応(3-2)",
        "午後3時から5時まで",
        "@を含むがアドレスではない: 社内@チャット",
        "",
    ],
)
def test_other_text_is_untouched(text: str) -> None:
    assert mask_personal_data(text) == text


def test_several_items_and_surrounding_text_are_kept() -> None:
    text = "電話090-1234-5678とメールa@b.jp、2025-03-04の件(28ページ)。"
    assert mask_personal_data(text) == f"電話{PHONE_MASK}とメール{EMAIL_MASK}、2025-03-04の件(28ページ)。"


def test_separate_maskers_only_mask_their_kind() -> None:
    text = "090-1234-5678 a@b.jp"
    assert mask_phone_numbers(text) == f"{PHONE_MASK} a@b.jp"
    assert mask_emails(text) == f"090-1234-5678 {EMAIL_MASK}"


def test_number_inside_a_longer_digit_run_is_not_masked() -> None:
    assert mask_personal_data("0312345678901234") == "0312345678901234"
