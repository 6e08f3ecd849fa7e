"""The escalation policy is data: loading checks it against the index; matching follows its rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.routing import PolicyError, Router, fold, load_policy
from assistant.settings import PROJECT_ROOT
from ingest.tokens import get_tokenizer

pytest_plugins = ["built_index"]

POLICY = PROJECT_ROOT / "corpus" / "escalation.toml"


def _no_embeddings(texts: list[str]) -> np.ndarray:
    return np.zeros((len(texts), 4), dtype=np.float32)


def _router(path: Path, chunks) -> Router:
    return Router(load_policy(path), chunks, _no_embeddings)


def test_fold_makes_width_and_script_variants_match() -> None:
    assert fold("ﾄﾞｹﾞｻﾞ") == fold("ドゲザ") == fold("どげざ") == "どげざ"
    assert fold("ＡＢＣ") == "abc"


def test_shipped_policy_cites_passages_that_exist(assistant) -> None:
    router = assistant.router
    question = "客に殴られた"
    evidence = router.route(question, get_tokenizer()(question)).evidence
    assert evidence[0].text.startswith("また、客が刑法犯")
    assert all(level.cites or level.id == "none" for level in router.policy.levels)


def test_a_cite_missing_from_the_index_is_a_clear_error(assistant, tmp_path: Path) -> None:
    policy = tmp_path / "escalation.toml"
    policy.write_text(POLICY.read_text(encoding="utf-8").replace(
        'cites = ["本社の相談窓口に速やかに報告"]', 'cites = ["この文言はマニュアルにない"]'), encoding="utf-8")
    with pytest.raises(PolicyError, match="report.*この文言はマニュアルにない.*索引にありません"):
        _router(policy, assistant.reader.chunks)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text.replace('id = "report"', 'id = "later"'), "内容が正しくありません"),
        (lambda text: text + "\n[[levels]\n", "内容が正しくありません"),
        (lambda text: text.split('[[levels]]\nid = "none"')[0], "none"),
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


def test_an_officer_edit_changes_routing_without_code(assistant, tmp_path: Path) -> None:
    question = "お客様にしつこくポイントカードを作れと言われる"
    tokens = get_tokenizer()(question)
    assert _router(POLICY, assistant.reader.chunks).route(question, tokens).level != "urgent"
    policy = tmp_path / "escalation.toml"
    shutil.copy(POLICY, policy)
    text = policy.read_text(encoding="utf-8").replace('"殺すぞ", ', '"殺すぞ", "ポイントカード", ', 1)
    policy.write_text(text, encoding="utf-8")
    route = _router(policy, assistant.reader.chunks).route(question, tokens)
    assert route.level == "urgent" and "表現「ポイントカード」" in route.reasons


def test_unless_phrases_veto_a_level(assistant) -> None:
    router = assistant.router
    setup = "クレームに備えて、会社として何を整備すべきですか"
    assert router.route(setup, get_tokenizer()(setup)).level == "none"


def test_example_questions_match_by_meaning(assistant) -> None:
    router = assistant.router
    example = router.policy.level("urgent").examples[0]
    vector = assistant.embeddings.embed_question(example)
    route = router.route("（定型文）", [], vector)  # no trigger words at all: only the example matches
    assert route.level == "urgent" and "例文に近い" in route.reasons[0]
