"""`kasuhara ingest` and `kasuhara chunks`: summaries, listings, and clear refusals that leave the index alone."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from pdf_fixtures import write_scanned_pdf

from assistant.cli import main
from assistant.core.index import IndexStore
from assistant.core.settings import PROJECT_ROOT, Settings


@pytest.fixture
def cli_env(settings: Settings, monkeypatch) -> Settings:
    """The CLI builds its own Settings(): point it at the temporary corpus and data directory."""
    monkeypatch.setenv("KASUHARA_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("KASUHARA_DATA_DIR", str(settings.data_dir))
    return settings


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def indexed(cli_env: Settings) -> Settings:
    result = invoke("ingest", "--quiet")
    assert result.exit_code == 0, result.output
    return cli_env


def snapshot(settings: Settings) -> tuple[str, int, list[str]]:
    store = IndexStore(settings.index_dir)
    return (store.pointer.read_text("utf-8"), store.current_manifest().chunk_count,
            sorted(p.name for p in store.builds.iterdir()))


def test_ingest_shows_progress_and_a_summary(cli_env):
    result = invoke("ingest")
    assert result.exit_code == 0, result.output
    assert "索引を作成しました: ファイル 1 件、ページ 1、チャンク 9 件、" in result.stdout
    assert "秒" in result.stdout
    assert "埋め込み" in result.stderr and "9/9" in result.stderr  # the progress bar
    again = invoke("ingest", "--quiet")
    assert again.exit_code == 0 and "索引はそのまま" in again.stdout and "--force" in again.stdout
    forced = invoke("ingest", "--force", "--quiet")
    assert forced.exit_code == 0 and "索引を作成しました" in forced.stdout


def test_ingest_named_paths(cli_env, tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("# 店舗メモ\n\n- 怒鳴られたら店長に相談する\n- 記録を残す\n", encoding="utf-8")
    result = invoke("ingest", "--quiet", str(notes))
    assert result.exit_code == 0, result.output
    assert "ファイル 1 件、ページ 1、チャンク 2 件" in result.stdout


def test_chunks_lists_what_was_indexed(indexed):
    result = invoke("chunks")
    assert result.exit_code == 0
    assert result.stdout.count("p.28  2章 未然防止 › 相談体制の整備①") == 9
    assert "組織横断的な相談窓口を設置してください。" in result.stdout

    as_json = invoke("chunks", "--json")
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert len(rows) == 9 and len({r["id"] for r in rows}) == 9
    assert rows[2]["section_path"] == ["相談体制の整備①", "相談体制の整備(例)", "相談窓口・相談対応者の設置"]
    assert rows[2]["page"] == 28 and rows[2]["document"] == "tokyo-kasuhara-manual"
    assert rows[2]["source_url"].endswith("kasuharamanual_20250304.pdf")


def test_chunks_without_an_index_says_what_to_do(cli_env):
    result = invoke("chunks")
    assert result.exit_code != 0
    assert "kasuhara ingest" in result.output and "Traceback" not in result.output


def bad_inputs(tmp_path: Path, good: Path) -> dict[str, tuple[list[str], str]]:
    docx = tmp_path / "manual.docx"
    docx.write_bytes(b"PK\x03\x04 not really a docx")
    scanned = write_scanned_pdf(tmp_path / "scan.pdf")
    garbage = tmp_path / "garbage.txt"
    garbage.write_bytes(os.urandom(4096))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    folder = tmp_path / "folder"
    folder.mkdir()
    return {
        "missing": ([str(tmp_path / "nope.pdf")], "ファイルが見つかりません"),
        "unsupported": ([str(docx)], "対応していない形式です"),
        "scanned": ([str(scanned)], "OCR"),
        "undecodable": ([str(garbage)], "文字コードを判別できません"),
        "no text": ([str(empty)], "本文が見つかりませんでした"),
        "folder": ([str(folder)], "ファイルではありません"),
        "one bad among good": ([str(good), str(scanned)], "OCR"),
    }


@pytest.mark.parametrize("case", ["missing", "unsupported", "scanned", "undecodable", "no text", "folder",
                                  "one bad among good"])
def test_bad_input_is_refused_and_the_index_untouched(indexed, tmp_path, case):
    good = next((indexed.corpus_dir / "manual").glob("*.txt"))
    paths, message = bad_inputs(tmp_path, good)[case]
    before = snapshot(indexed)
    result = invoke("ingest", "--force", "--quiet", *paths)
    assert result.exit_code == 1
    assert message in result.output
    assert result.output.startswith("Error: ") and "Traceback" not in result.output
    assert snapshot(indexed) == before


def test_an_empty_corpus_is_refused_and_the_index_untouched(indexed, monkeypatch, tmp_path):
    before = snapshot(indexed)
    empty = tmp_path / "empty-corpus"
    (empty / "manual").mkdir(parents=True)
    (empty / "manifest.toml").write_text(indexed.manifest_path.read_text("utf-8"), encoding="utf-8")
    monkeypatch.setenv("KASUHARA_CORPUS_DIR", str(empty))
    result = invoke("ingest", "--force")
    assert result.exit_code == 1
    assert "取り込むファイルがありません" in result.output
    assert snapshot(indexed) == before


def test_a_broken_manifest_is_refused_and_the_index_untouched(indexed):
    before = snapshot(indexed)
    indexed.manifest_path.write_text("[[documents]\nid = ", encoding="utf-8")
    result = invoke("ingest", "--force")
    assert result.exit_code == 1 and "マニフェスト" in result.output
    assert snapshot(indexed) == before


def test_commands_have_help(cli_env):
    ingest_help = invoke("ingest", "--help")
    assert ingest_help.exit_code == 0
    for words in ("PATHS", "corpus/manual/", "--force", "--json", "--quiet", "終了コード 3", "文字化け"):
        assert words in ingest_help.stdout, words
    chunks_help = invoke("chunks", "--help")
    assert chunks_help.exit_code == 0 and "索引に入っているチャンク" in chunks_help.stdout
    assert "--json" in chunks_help.stdout


def test_ingest_reports_each_file_and_has_a_json_form(cli_env):
    text = invoke("ingest")
    assert "■ 000_0ebf01af85e31d0d.txt  形式: 文書サイトのページ書き出し(出典が表形式)" in text.stdout
    assert "p.28" in text.stdout and "チャンク  9  2章 未然防止 › 相談体制の整備①" in text.stdout
    assert "[文書サイトのヘッダー(サイト名・出典・注記)]  よむ、つかう、まなぶ。" in text.stdout

    result = invoke("ingest", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    [file] = data["files"]
    assert (file["format"], file["document"]) == ("export-table", "tokyo-kasuhara-manual")
    assert file["pages"] == [{"index": 1, "page": 28, "found": "export", "title": "相談体制の整備①",
                              "chapter": "2章 未然防止", "chunks": 9}]
    assert {"line": "1章 総論 2章 未然防止 3章 発生時 4章 発生後 5章 企業間 6章 その他", "why": "chapter-tabs",
            "count": 2} in file["removed"]
    assert data["warnings"] == [] and data["refit"] == [] and data["chunks"] == 9


def test_a_garbled_page_is_refused_by_name_and_the_rest_indexed(cli_env, tmp_path):
    """Text that decodes but is not Japanese any more (what a font without a Unicode map gives)."""
    path = tmp_path / "two-pages.txt"
    good = "相談の流れ\n・暴言を受けたら、すぐに店長へ相談してください。\n1"
    garbled = "솓뭏\uE012\uE013\n・ꀕꀖꀗ솓뭏솓뭏\uE001です。\n2"
    path.write_text(f"{good}\f{garbled}", encoding="utf-8")
    result = invoke("ingest", "--quiet", str(path))
    assert result.exit_code == 3, result.output
    assert "two-pages.txt の 2 ページ目(印刷ページ 2)は文字化けしています" in result.stderr
    assert "OCR" in result.stderr
    assert "ページ 1、チャンク 1 件" in result.stdout
    listed = invoke("chunks")
    assert "暴言を受けたら" in listed.stdout and "です。" not in listed.stdout


def test_a_file_garbled_throughout_does_not_stop_the_others(cli_env, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("相談の流れ\n・暴言を受けたら、すぐに店長へ相談してください。\n", encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_text("솓뭏\uE012\uE013 ꀕꀖꀗ솓뭏솓뭏\n", encoding="utf-8")
    result = invoke("ingest", "--json", str(good), str(bad))
    assert result.exit_code == 3
    data = json.loads(result.stdout)
    refused = {f["file"]: f["refused"] for f in data["files"]}
    assert refused["good.txt"] == [] and refused["bad.txt"][0]["index"] == 1
    assert "bad.txt の 1 ページ目は文字化けしています" in refused["bad.txt"][0]["reason"]
    assert data["chunks"] == 1


def test_json_errors_reach_stdout(cli_env, tmp_path):
    result = invoke("ingest", "--json", str(tmp_path / "nope.pdf"))
    assert result.exit_code == 1
    assert "ファイルが見つかりません" in json.loads(result.stdout.splitlines()[0])["error"]


def test_ingest_says_what_to_refit_when_the_corpus_changes(cli_env, tmp_path):
    shutil.copy(PROJECT_ROOT / "corpus" / "escalation.toml", cli_env.policy_path)
    notes = tmp_path / "notes.md"
    notes.write_text("# 店舗メモ\n\n- 怒鳴られたら店長に相談する\n", encoding="utf-8")
    result = invoke("ingest", "--quiet", str(notes))  # the manual's page is gone from the index
    assert result.exit_code == 0, result.output
    assert "`kasuhara eval calibrate` で作り直し" in result.stderr
    assert "レベル「urgent」が根拠とする「警察・弁護士との連携が必要となる場合」が索引にありません" in result.stderr
    assert "corpus/escalation.toml の cites" in result.stderr
    back = invoke("ingest", "--quiet")
    assert back.exit_code == 0 and back.stderr == ""  # the shipped page again: nothing to refit
