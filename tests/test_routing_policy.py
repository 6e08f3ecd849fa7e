"""The escalation policy is data: loading checks it against the index; safety phrases only raise."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core.settings import PROJECT_ROOT
from assistant.core.text import fold
from assistant.policy import PolicyError, load_policy
from assistant.routing import Router

pytest_plugins = ["built_index"]

POLICY = PROJECT_ROOT / "corpus" / "escalation.toml"


def _route(assistant, router: Router, text: str):
    return router.route(text, assistant.tokenizer(text), assistant.embeddings.embed_question(text))


def test_fold_makes_width_and_script_variants_match() -> None:
    assert fold("ﾄﾞｹﾞｻﾞ") == fold("ドゲザ") == fold("どげざ") == "どげざ"
    assert fold("ＡＢＣ") == "abc"


def test_shipped_policy_cites_passages_that_exist(assistant) -> None:
    route = _route(assistant, assistant.router, "客に殴られた")
    assert route.level == "urgent"
    assert route.evidence[0].text.startswith("また、客が刑法犯")
    levels = assistant.router.policy.levels
    assert [l.id for l in levels] == ["urgent", "report", "consult", "none", "outside"]
    assert all(level.cites for level in levels if level.id in ("urgent", "report", "consult"))


def test_a_cite_missing_from_the_index_is_a_clear_error(assistant, tmp_path: Path) -> None:
    policy = tmp_path / "escalation.toml"
    policy.write_text(POLICY.read_text(encoding="utf-8").replace(
        'cites = ["本社の相談窓口に速やかに報告"]', 'cites = ["この文言はマニュアルにない"]'), encoding="utf-8")
    with pytest.raises(PolicyError, match="report.*この文言はマニュアルにない.*索引にありません"):
        Router(load_policy(policy), assistant.reader.chunks, assistant.router.model)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text.replace('id = "report"', 'id = "later"'), "内容が正しくありません"),
        (lambda text: text + "\n[[levels]\n", "内容が正しくありません"),
        (lambda text: text.split('[[levels]]\nid = "outside"')[0], "outside"),
    ],
)
def test_an_invalid_policy_file_names_the_problem(tmp_path: Path, edit, message: str) -> None:
    policy = tmp_path / "escalation.toml"
    policy.write_text(edit(POLICY.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(PolicyError, match=message):
        load_policy(policy)


def test_missing_policy_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="見つかりません"):
        load_policy(tmp_path / "nothing.toml")


def test_an_officer_safety_phrase_raises_a_message_to_urgent_without_code(assistant, tmp_path: Path) -> None:
    question = "お客様にしつこくポイントカードを作れと言われる"
    assert _route(assistant, assistant.router, question).level != "urgent"
    policy = tmp_path / "escalation.toml"
    policy.write_text(POLICY.read_text(encoding="utf-8").replace('"殺す", ', '"殺す", "ポイントカード", ', 1),
                      encoding="utf-8")
    router = Router(load_policy(policy), assistant.reader.chunks, assistant.router.model)
    route = _route(assistant, router, question)
    assert route.level == "urgent"
    assert route.reasons[0] == "安全のための語句「ポイントカード」(必ず緊急として扱います)"


def test_safety_phrases_never_lower_a_level(assistant, tmp_path: Path) -> None:
    """With no safety phrases at all, a message the router finds dangerous is still urgent."""
    policy = tmp_path / "escalation.toml"
    text = POLICY.read_text(encoding="utf-8")
    policy.write_text(text[: text.index("[safety]")], encoding="utf-8")
    router = Router(load_policy(policy), assistant.reader.chunks, assistant.router.model)
    assert router.policy.safety.phrases == []
    route = _route(assistant, router, "閉店後にいつも駐車場で待っている客がいて、帰り道をつけられた")
    assert route.level == "urgent"
    assert not any("安全のための語句" in r for r in route.reasons)


def test_kana_and_halfwidth_spellings_of_a_safety_phrase_match(assistant) -> None:
    for question in ("ﾄﾞｹﾞｻﾞしろって言われた", "どげざしろっていわれた"):
        assert assistant.router.safety_phrase(question) is not None, question
