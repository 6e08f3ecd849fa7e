"""The one Japanese tokeniser (fugashi + unidic-lite), shared by the index and the questions."""

from __future__ import annotations

import pytest

from assistant.core.tokens import TOKENIZER_NAME, JapaneseTokenizer, get_tokenizer


@pytest.fixture(scope="module")
def tokenize() -> JapaneseTokenizer:
    return get_tokenizer()


def test_one_shared_instance(tokenize):
    assert get_tokenizer() is tokenize
    assert tokenize.name == TOKENIZER_NAME


def test_half_width_and_full_width_tokenise_alike(tokenize):
    assert tokenize("ｶｽﾊﾗ") == tokenize("カスハラ") == tokenize("カスタマー・ハラスメント")
    assert tokenize("ｶｽﾊﾗ") == ["カスタマー", "ハラスメント"]
    assert tokenize("ＳＮＳ") == tokenize("SNS") == ["sns"]
    assert tokenize("１名") == tokenize("1名")


def test_content_words_become_base_forms(tokenize):
    assert tokenize("お客様に怒鳴られた。誰に相談すれば？") == ["客", "怒鳴る", "相談"]
    assert tokenize("どなられた") == ["怒鳴る"]
    assert tokenize("設置してください") == ["設置"]


def test_particles_auxiliaries_and_punctuation_are_dropped(tokenize):
    assert tokenize("は、が。を！に？") == []
    assert tokenize("") == []
    tokens = tokenize("本社に組織横断的な相談窓口を設置してください。")
    assert tokens == ["本社", "組織", "横断", "相談", "窓口", "設置"]
    assert not {"に", "を", "な", "。", "て", "ください"} & set(tokens)


def test_english_questions_keep_their_words(tokenize):
    assert tokenize("What should I do if a customer yells at me?") == ["customer", "yells"]
