"""`kasuhara logs` and the formula-injection-safe CSV export, on a real SQLite log in tmp_path."""

from __future__ import annotations

import csv
import io
import itertools
import json
import socket
from datetime import datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from assistant.cli.logs_commands import logs, printable
from assistant.core.settings import Settings
from assistant.csv_export import BOM, csv_bytes, safe_cell, write_table
from assistant.question_log import OFFICE_TZ, LogRecord, QuestionLog

HOSTILE = ['=HYPERLINK("http://evil.example","開く")', "@SUM(A1:A9)", "-1+2", "\t=cmd|' /C calc'!A0", "+81と書いた"]
CONTROL = "画面\x1b[2J消去\x07ベル\r戻り\u202e逆順"


def record(log: QuestionLog, question: str, when: datetime, **overrides) -> str:
    fields = dict(surface="web", question=question, level="consult", answered=True,
                  answer="相談窓口へ。", citations=[{"chunk_id": "c1", "section": "相談体制の整備①",
                                                   "page": 28, "quote": "相談窓口", "source": "manual"}])
    fields.update(overrides)
    rec = LogRecord.new(**fields)
    return log.record(LogRecord(**{**rec.__dict__, "created_at": when}))


@pytest.fixture()
def uids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("KASUHARA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KASUHARA_DATABASE_URL", raising=False)
    base = datetime(2025, 3, 4, 10, 0, tzinfo=OFFICE_TZ)
    with QuestionLog.open(Settings()) as log:
        out = {
            "old": record(log, "先月の相談", base - timedelta(days=30)),
            "urgent": record(log, "刃物を出された", base, level="urgent"),
            "unanswered": record(log, "駐車場のトラブル", base + timedelta(hours=1), answered=False, citations=[]),
            "control": record(log, CONTROL, base + timedelta(hours=2)),
        }
        for i, text in enumerate(HOSTILE):
            out[f"hostile{i}"] = record(log, text, base + timedelta(hours=3, minutes=i))
        log.set_status(out["urgent"], "対応中", "山田")
        log.add_note(out["urgent"], "山田", "店長へ連絡済み")
    return out


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(logs, list(args), catch_exceptions=False)


# --- list ----------------------------------------------------------------------------------------


def test_list_newest_first_with_short_ids(uids: dict[str, str]) -> None:
    result = run("list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(uids)
    assert lines[-1].startswith(uids["old"][:12])
    assert "緊急" in result.stdout and "未回答" in result.stdout


def test_list_filters(uids: dict[str, str]) -> None:
    assert run("list", "--level", "urgent").stdout.count("\n") == 1
    unanswered = run("list", "--unanswered").stdout
    assert unanswered.startswith(uids["unanswered"][:12]) and unanswered.count("\n") == 1
    assert uids["old"][:12] not in run("list", "--since", "2025-03-01").stdout
    assert run("list", "--limit", "2").stdout.count("\n") == 2
    assert run("list", "--urgent-first").stdout.startswith(uids["urgent"][:12])
    assert run("list", "--search", "駐車場").stdout.startswith(uids["unanswered"][:12])
    assert "該当する質問はありません" in run("list", "--status", "完了").stdout


def test_list_json(uids: dict[str, str]) -> None:
    data = json.loads(run("list", "--json", "--limit", "100").stdout)
    assert {d["uid"] for d in data} == set(uids.values())
    by_uid = {d["uid"]: d for d in data}
    assert by_uid[uids["control"]]["question"] == CONTROL
    assert by_uid[uids["urgent"]]["status"] == "対応中"
    assert datetime.fromisoformat(by_uid[uids["urgent"]]["created_at"]).tzinfo is not None


def test_bad_options_are_refused_by_click(uids: dict[str, str]) -> None:
    assert run("list", "--since", "04/03/2025").exit_code == 2
    assert run("list", "--level", "high").exit_code == 2


def test_control_characters_never_crash_or_reach_the_terminal(uids: dict[str, str]) -> None:
    for result in (run("list"), run("show", uids["control"])):
        assert result.exit_code == 0
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout and "\u202e" not in result.stdout
        assert "\\x1b[2J消去" in result.stdout and "\\u202e逆順" in result.stdout


def test_printable_keeps_japanese_and_newlines_when_asked() -> None:
    assert printable("怒鳴られた。\n誰に？") == "怒鳴られた。 誰に？"
    assert printable("怒鳴られた。\n誰に？", keep_newlines=True) == "怒鳴られた。\n誰に？"
    assert printable("\x00") == "\\x00"


# --- show ----------------------------------------------------------------------------------------


def test_show_by_prefix(uids: dict[str, str]) -> None:
    result = run("show", uids["urgent"][:8])
    assert result.exit_code == 0
    out = result.stdout
    assert uids["urgent"] in out and "刃物を出された" in out
    assert "相談体制の整備① p.28" in out and "「相談窓口」" in out
    assert "対応中" in out and "山田" in out and "店長へ連絡済み" in out


def test_show_json(uids: dict[str, str]) -> None:
    data = json.loads(run("show", uids["urgent"], "--json").stdout)
    assert data["uid"] == uids["urgent"]
    assert data["notes"][0]["text"] == "店長へ連絡済み"
    assert data["status_events"][0]["status"] == "対応中"


@pytest.mark.parametrize(
    ("uid", "message"),
    [("0123456789", "見つかりません"), ("abc", "6文字以上"), ("日本語の値", "16進数")],
)
def test_show_errors_are_one_japanese_line(uids: dict[str, str], uid: str, message: str) -> None:
    result = run("show", uid)
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.output


# --- export --------------------------------------------------------------------------------------


def parse_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM.encode("utf-8"))
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_export_to_stdout_is_excel_safe(uids: dict[str, str]) -> None:
    result = run("export")
    assert result.exit_code == 0
    rows = parse_csv(result.stdout_bytes)
    header, body = rows[0], rows[1:]
    assert header[0] == "ID" and "質問" in header
    assert len(body) == len(uids)
    questions = {r[0]: r[header.index("質問")] for r in body}
    for i, text in enumerate(HOSTILE):
        assert questions[uids[f"hostile{i}"]] == "'" + text
    assert questions[uids["urgent"]] == "刃物を出された"
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_export_to_file_with_filters(uids: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "out" / "urgent.csv"
    target.parent.mkdir()
    result = run("export", "-o", str(target), "--level", "urgent")
    assert result.exit_code == 0
    assert "1 件" in result.stderr
    rows = parse_csv(target.read_bytes())
    assert len(rows) == 2 and rows[1][0] == uids["urgent"]
    assert b"\r\n" in target.read_bytes()  # Excel's line ending


def test_export_to_unwritable_place_is_a_clear_error(uids: dict[str, str], tmp_path: Path) -> None:
    result = run("export", "-o", str(tmp_path / "missing-dir" / "x.csv"))
    assert result.exit_code != 0 and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-1+2", "'-1+2"),
        ("+1", "'+1"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("＝1+1", "'＝1+1"),
        ("普通の質問 = 1", "普通の質問 = 1"),
        ("", ""),
        (None, ""),
        (28, "28"),
        (-1, "'-1"),
    ],
)
def test_safe_cell(value: object, expected: str) -> None:
    assert safe_cell(value) == expected


def test_write_table_quotes_header_and_keeps_newlines() -> None:
    buffer = io.StringIO(newline="")
    write_table(["=header", "b"], [["複数行\n質問", "@x"]], buffer)
    text = buffer.getvalue()
    assert text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(text[1:], newline="")))
    assert rows == [["'=header", "b"], ["複数行\n質問", "'@x"]]


def test_csv_bytes_of_no_rows_is_a_header() -> None:
    rows = parse_csv(csv_bytes([], {}))
    assert len(rows) == 1 and rows[0][0] == "ID"


# --- status --------------------------------------------------------------------------------------


def test_status(uids: dict[str, str], tmp_path: Path) -> None:
    result = run("status")
    assert result.exit_code == 0
    assert str(tmp_path / "questions.db") in result.stdout
    assert f"記録件数: {len(uids)}" in result.stdout
    assert "未反映の一時保存: 0 件" in result.stdout
    assert "スキーマ版: 0005" in result.stdout


def test_status_hides_password_and_reports_outage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("KASUHARA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KASUHARA_DATABASE_URL", f"postgresql+psycopg://officer:s3cret@127.0.0.1:{port}/kasuhara")
    with QuestionLog.open(Settings()) as log:
        log.record(LogRecord.new(surface="cli", question="停止中", level="none", answered=False))
    result = run("status")
    assert result.exit_code == 1
    assert "s3cret" not in result.output and "***" in result.stdout
    assert "未反映の一時保存: 1 件" in result.stdout
    assert "接続できません" in result.stderr
    flush = run("flush")
    assert flush.exit_code == 1 and "接続できません" in flush.stderr


def test_flush_replays_spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KASUHARA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KASUHARA_DATABASE_URL", raising=False)
    with QuestionLog("postgresql+psycopg://x@127.0.0.1:1/none", Settings().spool_dir) as down:
        down.record(LogRecord.new(surface="cli", question="あとで反映", level="none", answered=False))
    result = run("flush")
    assert result.exit_code == 0 and "1 件を書き込みました。残り 0 件。" in result.stdout
    assert "あとで反映" in run("list").stdout


# --- help ----------------------------------------------------------------------------------------


def test_every_command_and_option_has_japanese_help() -> None:
    def japanese(text: str | None) -> bool:
        return bool(text) and any(ord(ch) > 0x3000 for ch in text)

    assert japanese(logs.help)
    for name, command in logs.commands.items():
        assert japanese(command.help), name
        for param in command.params:
            if isinstance(param, click.Option):
                assert japanese(param.help), f"{name} {param.opts}"
        assert run(name, "--help").exit_code == 0


def test_bad_database_url_is_a_japanese_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KASUHARA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KASUHARA_DATABASE_URL", "not a url")
    result = run("status")
    assert result.exit_code == 1 and "データベースURL" in result.stderr


def test_an_unrated_answer_has_one_name_in_the_cli_and_the_csv(tmp_path) -> None:
    """Issue 10: the CLI said なし, the CSV left it empty and the console said 未評価."""
    from dataclasses import fields

    from assistant.cli.logs_commands import _show_lines
    from assistant.csv_export import LOG_COLUMNS
    from assistant.question_log import LogRecord, LogRow, QuestionLog

    record = LogRecord.new(surface="cli", question="q", level="consult", answered=True)
    unrated = LogRow(**{f.name: getattr(record, f.name) for f in fields(LogRecord)})
    rated = LogRow(**{f.name: getattr(record, f.name) for f in fields(LogRecord)}, feedback=-1)
    column = dict(LOG_COLUMNS)["評価"]
    assert column(unrated, None, {}) == "未評価" and column(rated, None, {}) == "役に立たなかった"
    lines = _show_lines(unrated, QuestionLog("sqlite://", tmp_path / "spool"), {"consult": "相談"})
    noted = LogRow(**{**{f.name: getattr(record, f.name) for f in fields(LogRecord)},
                      "input_note": "読めないバイト列を置き換え文字(�)にしました"})
    # The header lines only: the officer lines after them read the row's history from the log.
    shown = list(itertools.takewhile(lambda line: line != "質問:", _show_lines(
        noted, QuestionLog("sqlite://", tmp_path / "spool2"), {"consult": "相談"})))
    assert "入力の注記: 読めないバイト列を置き換え文字(�)にしました" in shown and "区分: 相談 (consult)" in shown
    assert any(line.endswith("評価: 未評価") for line in lines)
