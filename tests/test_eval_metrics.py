"""Evaluation metrics, the gate and run-to-run deltas on small hand-made cases (answers worked out by hand)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from assistant.retrieval import RetrievalModeError
from evals import metrics
from evals.dataset import DatasetError
from evals.gate import Thresholds, check, load_thresholds
from evals.report import compare, compare_text, summary_table
from evals.runner import flatten, parse_modes

T, F = True, False


def test_recall_at_k_is_a_hit_within_the_top_k() -> None:
    assert metrics.recall_at_k([F, T, F], 1) == 0.0
    assert metrics.recall_at_k([F, T, F], 2) == 1.0
    assert metrics.recall_at_k([T, T], 3) == 1.0  # two gold chunks still count once
    assert metrics.recall_at_k([], 3) == 0.0


def test_reciprocal_rank_of_the_first_relevant_item() -> None:
    assert metrics.reciprocal_rank([F, F, T, T]) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank([T]) == 1.0
    assert metrics.reciprocal_rank([F, F]) == 0.0
    assert metrics.reciprocal_rank([F] * 10 + [T], k=10) == 0.0  # rank 11 is outside MRR@10


def test_ndcg_binary_gains() -> None:
    # relevant at ranks 2 and 4, two relevant in all:
    # DCG = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068; IDCG = 1/log2(2) + 1/log2(3) = 1 + 0.63093
    assert metrics.ndcg_at_k([F, T, F, T], 10, 2) == pytest.approx((0.6309298 + 0.4306766) / 1.6309298, abs=1e-6)
    assert metrics.ndcg_at_k([F, T, F, T], 10, 2) == pytest.approx(0.650921, abs=1e-6)
    # ranks 1 and 3 of three relevant, k = 3: DCG = 1 + 0.5; IDCG = 1 + 0.63093 + 0.5
    assert metrics.ndcg_at_k([T, F, T], 3, 3) == pytest.approx(1.5 / 2.1309298, abs=1e-6)
    assert metrics.ndcg_at_k([T, T], 2, 5) == 1.0  # the ideal list is cut at k as well
    assert metrics.ndcg_at_k([T], 10, 1) == 1.0
    assert metrics.ndcg_at_k([F, F], 10, 0) == 0.0  # nothing relevant anywhere


def test_confusion_matrix_rows_expected_columns_predicted() -> None:
    matrix = metrics.confusion(["a", "a", "b", "c"], ["a", "b", "b", "a"], ["a", "b", "c"])
    assert matrix == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]
    assert metrics.accuracy(["a", "a", "b", "c"], ["a", "b", "b", "a"]) == 0.5
    with pytest.raises(ValueError):
        metrics.confusion(["a"], [], ["a"])


def test_precision_and_recall_of_one_class() -> None:
    pr = metrics.precision_recall([T, T, F, F], [T, F, T, F])
    assert (pr.precision, pr.recall, pr.true_positives) == (0.5, 0.5, 1)
    assert pr.f1 == 0.5
    pr = metrics.precision_recall([T, T, F], [T, T, T])  # abstains on everything
    assert pr.precision == pytest.approx(2 / 3) and pr.recall == 1.0
    nothing = metrics.precision_recall([T, F], [F, F])  # claims nothing: precision is vacuous
    assert nothing.precision == 1.0 and nothing.recall == 0.0


def test_percentile_interpolates_like_numpy() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert metrics.percentile(values, 50) == 2.5
    assert metrics.percentile(values, 95) == pytest.approx(3.85)  # position 2.85 between 3 and 4
    assert metrics.percentile(values, 0) == 1.0 and metrics.percentile(values, 100) == 4.0
    assert metrics.percentile([7.0], 95) == 7.0
    assert metrics.percentile([], 50) == 0.0


def _result(recall3: float = 0.95, latency: float = 40.0, validity: float = 1.0) -> dict:
    row = {"recall_at_1": 0.8, "recall_at_3": recall3, "mrr_at_10": 0.85, "ndcg_at_10": 0.86,
           "chars_at_3": 200.0, "questions": 10, "chunks": 9}
    return {
        "created_at": "2025-01-01T00:00:00+00:00", "question_set": "q.jsonl", "questions": 12, "answerable": 10,
        "index_version": "v1", "embedder": "e", "default_fusion": "rrf", "seconds": 1.0,
        "retrieval": {"hybrid": row, "assistant": row},
        "fusions": {"rrf": row, "weighted": dict(row, recall_at_1=0.9)},
        "assistant": {"questions": 12, "escalation_accuracy": 0.9, "levels": ["urgent", "report", "consult", "none"],
                      "confusion": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 8]],
                      "abstention_precision": 1.0, "abstention_recall": 1.0, "abstained": 2, "out_of_scope": 2,
                      "citation_validity": validity, "citations_checked": 30, "invalid_citations": [],
                      "latency_p50_ms": latency, "latency_p95_ms": 2 * latency},
        "outcomes": [],
    }


def test_flatten_names_every_comparable_metric() -> None:
    flat = flatten(_result())
    assert flat["retrieval.assistant.recall_at_3"] == 0.95
    assert flat["fusion.weighted.recall_at_1"] == 0.9
    assert flat["assistant.latency_p95_ms"] == 80.0
    assert not any(k.endswith((".questions", ".chunks", ".confusion")) for k in flat)


def test_gate_reports_each_missed_bound_and_missing_metrics() -> None:
    thresholds = Thresholds(minimum={"retrieval.assistant.recall_at_3": 0.9, "assistant.citation_validity": 1.0,
                                     "retrieval.nope.recall_at_3": 0.1},
                            maximum={"assistant.latency_p95_ms": 100.0})
    failures = check(flatten(_result(recall3=0.85, latency=60.0, validity=0.99)), thresholds)
    assert {f.metric for f in failures} == {"retrieval.assistant.recall_at_3", "assistant.citation_validity",
                                            "retrieval.nope.recall_at_3", "assistant.latency_p95_ms"}
    assert check(flatten(_result(recall3=0.9)), Thresholds({"retrieval.assistant.recall_at_3": 0.9}, {})) == []


def test_thresholds_file_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[minimum]\n"assistant.escalation_accuracy" = 0.9\n', encoding="utf-8")
    assert load_thresholds(path).minimum == {"assistant.escalation_accuracy": 0.9}
    path.write_text('[minimun]\n"x" = 1\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="minimun"):
        load_thresholds(path)


def test_shipped_thresholds_never_below_the_issue_floors() -> None:
    minimum = load_thresholds().minimum
    assert minimum["retrieval.assistant.recall_at_3"] >= 0.9
    assert minimum["assistant.escalation_accuracy"] >= 0.9
    assert minimum["assistant.abstention_recall"] >= 0.9
    assert minimum["assistant.citation_validity"] == 1.0
    for split in ("sealed", "sealed2", "sealed3", "sealed_all"):
        assert minimum[f"routing.learned.{split}.urgent_recall"] >= 0.95
        assert minimum[f"routing.learned.{split}.accuracy"] >= 0.90  # issue 8's floor
    for split in ("sealed3", "sealed_all"):  # the clean split and the pool hold issue 8's recall floor
        assert minimum[f"routing.learned.{split}.urgent_recall"] >= 0.97


def test_compare_signs_deltas_by_direction() -> None:
    rows = {r[0]: r for r in compare(_result(recall3=0.9, latency=40.0), _result(recall3=0.95, latency=50.0))}
    key, old, new, delta, verdict = rows["retrieval.assistant.recall_at_3"]
    assert (old, new, verdict) == (0.9, 0.95, "改善") and delta == pytest.approx(0.05)
    assert rows["assistant.latency_p50_ms"][4] == "悪化"  # slower is worse
    assert rows["assistant.escalation_accuracy"][4] == "同じ"
    text = compare_text(_result(recall3=0.9), _result(recall3=0.95))
    assert "+0.0500" in text and "改善 4 件" in text  # hybrid, assistant and both fusion rows


def test_summary_table_shows_rows_fusions_and_gate() -> None:
    data = _result()
    text = summary_table(data, failures=[])
    assert "hybrid (rrf)" in text and "hybrid:weighted" in text and "assistant" in text
    assert "合格基準: すべて満たしています" in text


def test_modes_accept_commas_and_repeats_in_canonical_order() -> None:
    assert parse_modes(["hybrid,bm25"]) == ["bm25", "hybrid"]
    assert parse_modes(["dense", "bm25"]) == ["bm25", "dense"]
    assert parse_modes([]) == ["bm25", "dense", "hybrid"]
    with pytest.raises(RetrievalModeError, match="bm25, dense"):
        parse_modes(["sparse"])
    assert not math.isnan(metrics.mean([]))


def test_routing_report_shows_the_batch_cv_column_only_when_measured() -> None:
    from dataclasses import asdict

    from evals import routing_report
    from evals.routing_eval import scores

    row = asdict(scores(["urgent", "consult"], ["urgent", "urgent"]))
    routing = {"training_examples": 2, "corrections": 0, "corrections_routed_as_corrected": 0,
               "urgent_threshold": 0.2, "learned_cv": row, "learned_batch_cv": row, "lexicon_train": row,
               "sealed": [], "learned_sealed_all": None}
    flat = routing_report.flat(routing)
    assert flat["routing.learned.cv_batch.urgent_recall"] == 1.0
    assert flat["routing.learned.cv_batch.accuracy"] == 0.5
    assert "学習型 CV(書き手の回ごと)" in routing_report.summary_text(routing)
    assert "書き手の回ごとの CV は" in "\n".join(routing_report.markdown(routing))
    routing["learned_batch_cv"] = None  # not measured (and result.json files written before it)
    assert "routing.learned.cv_batch.accuracy" not in routing_report.flat(routing)
    assert "書き手の回ごと" not in routing_report.summary_text(routing)
