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
    assert "[1] 2章 未然防止 › 相談体制の整備①" in result.output and "(p.28)" in result.output
    assert "記録ID: " in result.output


def test_ask_json_has_the_documented_object(runner: CliRunner) -> None:
    result = runner.invoke(main, ["ask", "--json", "客に殴られた"])
    data = json.loads(result.output)
    assert data["escalation"]["level"] == "urgent" and data["answered"] is True
    assert data["citations"][0]["page"] == 28 and len(data["log_id"]) == 32


def test_ask_json_stdin_answers_each_line_in_order(runner: CliRunner) -> None:
    lines = ["客に殴られた", "", "店長としてスタッフから相談を受けた。次は？", "明日の天気は？"]
    result = runner.invoke(main, ["ask", "--json", "-"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.output.splitlines()]
    assert [o["question"] for o in objects] == [lines[0], lines[2], lines[3]]
    assert [o["escalation"]["level"] for o in objects] == ["urgent", "report", "outside"]
    assert [o["answered"] for o in objects] == [True, True, False]


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
