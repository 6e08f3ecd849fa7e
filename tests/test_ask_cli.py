"""`kasuhara ask` as a person and a script use it, and help text on every command."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from assistant.cli import main

pytest_plugins = ["built_index"]


@pytest.fixture
def runner(built_settings, monkeypatch) -> CliRunner:
    monkeypatch.setenv("KASUHARA_DATA_DIR", str(built_settings.data_dir))
    return CliRunner()


def test_ask_prints_answer_level_and_citations(runner: CliRunner) -> None:
    result = runner.invoke(main, ["ask", "お客様に怒鳴られた。誰に相談すればいい？"])
    assert result.exit_code == 0, result.output
    assert "対応レベル: 相談 (consult)" in result.output
    assert "[1] 相談窓口・相談対応者の設置 p.28 ─ " in result.output  # the label, first words included
    assert "2章 未然防止 › 相談体制の整備①" in result.output  # and where it sits in the manual
    assert "記録ID: " in result.output


def test_an_english_question_gets_the_lines_after_the_answer_in_english(runner: CliRunner) -> None:
    result = runner.invoke(main, ["ask", "A customer shouted at me for twenty minutes. Who should I talk to?"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("[Guidance from your organisation]\n")
    assert "Level: Consult (consult)" in result.output and "Log ID: " in result.output
    assert "対応レベル" not in result.output and "記録ID" not in result.output


def test_ask_json_has_the_documented_object(runner: CliRunner) -> None:
    result = runner.invoke(main, ["ask", "--json", "客に殴られた"])
    data = json.loads(result.output)
    assert data["escalation"]["level"] == "urgent" and data["answered"] is True
    assert data["citations"][0]["page"] == 28 and len(data["log_id"]) == 32
    parts = data["parts"]  # the answer's parts, as every surface renders them
    assert parts["level"]["id"] == "urgent" and parts["contacts"][0]["tel"] == "tel:110"
    assert parts["guidance"] and parts["quotes"][0]["label"].startswith("[1] ")


def test_ask_json_stdin_answers_each_line_in_order(runner: CliRunner) -> None:
    lines = ["客に殴られた", "", "店長としてスタッフから相談を受けた。次は？", "明日の天気は？"]
    result = runner.invoke(main, ["ask", "--json", "-"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.output.splitlines()]
    assert [o["question"] for o in objects] == [lines[0], lines[2], lines[3]]
    assert [o["escalation"]["level"] for o in objects] == ["urgent", "report", "outside"]
    assert [o["answered"] for o in objects] == [True, True, False]


def test_a_batch_answers_every_line_whatever_its_bytes(runner: CliRunner, built_settings) -> None:
    """A Shift_JIS line in a UTF-8 batch, and a line that is too long: each gets its own object, and
    the urgent question after them is still answered."""
    data = ("お客様に怒鳴られた。誰に相談すれば？\n".encode()
            + "店長に相談したいです\n".encode("cp932")
            + ("長" * 2000 + "\n").encode()
            + "客に殴られた\n".encode())
    result = runner.invoke(main, ["ask", "--json", "-"], input=data)
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objects) == 4 and result.exit_code == 1  # 1: one line had an error
    assert objects[0]["input_note"] == "" and objects[0]["escalation"]["level"] == "consult"
    assert "\ufffd" in objects[1]["question"] and objects[1]["input_note"].startswith("読めないバイト列")
    assert "error" in objects[2] and "質問が長すぎます" in objects[2]["error"]
    assert objects[3]["escalation"]["level"] == "urgent" and objects[3]["answered"] is True
    from assistant.question_log import QuestionLog

    log = QuestionLog.open(built_settings)
    assert log.get(objects[1]["log_id"]).input_note == objects[1]["input_note"]
    assert log.get(objects[3]["log_id"]).input_note == ""


def test_one_json_question_that_gets_no_answer_exits_1_like_text_mode(runner: CliRunner) -> None:
    too_long = "長" * 2000
    as_json = runner.invoke(main, ["ask", "--json", too_long])
    as_text = runner.invoke(main, ["ask", too_long])
    error = json.loads(as_json.stdout)["error"]
    assert "質問が長すぎます" in error and "110 番" in error  # refused, but never without the way to safety
    assert (as_json.exit_code, as_text.exit_code) == (1, 1)


def test_an_undecodable_argument_is_answered_and_noted(runner: CliRunner) -> None:
    question = "客に殴られた".encode("cp932").decode("utf-8", "surrogateescape")  # as argv gives it
    result = runner.invoke(main, ["ask", "--json", question])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["question"].count("\ufffd") > 0 and data["input_note"]
    assert "Traceback" not in result.output


def test_ask_rejects_empty_question_with_japanese_message(runner: CliRunner) -> None:
    result = runner.invoke(main, ["ask", "   "])
    assert result.exit_code != 0
    assert "質問が空です" in result.output
    assert "Traceback" not in result.output


def test_ask_without_index_builds_it_first(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KASUHARA_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["ask", "--json", "客に殴られた"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[-1])["escalation"]["level"] == "urgent"


def _commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


def test_every_command_and_option_has_help_text() -> None:
    assert main.help
    for name, command in _commands(main):
        assert (command.help or "").strip(), f"`kasuhara {name}` has no help text"
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert (param.help or "").strip(), f"`kasuhara {name} {param.opts[0]}` has no help text"


def test_the_default_embedder_never_imports_torch(built_settings) -> None:
    # torch is a large import; only a configured sentence-transformers model may pull it in.
    import os
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from assistant.answering import Assistant\n"
        "import assistant.web.app\n"
        "Assistant().ask('客に殴られた', surface='eval')\n"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    env = {**os.environ, "KASUHARA_DATA_DIR": str(built_settings.data_dir)}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_ask_with_the_log_database_down_answers_and_says_the_question_was_kept(built_settings, tmp_path,
                                                                                 monkeypatch) -> None:
    import shutil
    import socket

    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    shutil.copytree(built_settings.index_dir, tmp_path / "index")
    monkeypatch.setenv("KASUHARA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KASUHARA_DATABASE_URL", f"postgresql+psycopg://x@127.0.0.1:{port}/none?connect_timeout=2")
    result = CliRunner().invoke(main, ["ask", "--json", "客に殴られた"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["escalation"]["level"] == "urgent"
    assert "1 件を一時保存しています" in result.stderr
    assert "OperationalError" not in result.stderr
