"""`kasuhara ask`: a question in, whom to consult and the cited manual passages out."""

from __future__ import annotations

import json
import logging
import sys

import click

from assistant.core.errors import KasuharaError
from assistant.core.settings import Settings
from assistant.core.text import replace_unreadable


def _assistant():
    from assistant.answering import Assistant
    from ingest.pipeline import ensure_index

    settings = Settings()
    ensure_index(settings, progress=sys.stderr.isatty())
    return Assistant(settings)


def _print_person(answer, wording) -> None:
    """The answer text, then its level, reasons and sources, in the answer's language."""
    parts = answer.parts
    texts = wording[parts.language]
    click.echo(answer.answer)
    click.echo("")
    click.echo(texts["cli_level"].format(label=parts.level.label, id=parts.level.id, route=parts.level.route))
    click.echo(texts["cli_reasons"].format(reasons=" / ".join(parts.reasons)))
    if parts.quotes:
        click.echo(texts["cli_sources"])
        for c, label in zip(parts.quotes, parts.labels):
            click.echo(f"  {label}")
            click.echo(f"      {c.section}『{c.source}』")
    if not answer.answered and parts.level.id not in ("report", "consult"):  # those keep their route
        click.echo(texts["cli_unanswered"])
    click.echo(texts["cli_log_id"].format(uid=answer.log_id, ms=answer.latency_ms))


def _stdin_lines():
    """Standard input line by line, whatever its bytes: a Shift_JIS line in a UTF-8 batch is one
    question with replaced characters, not the end of the batch."""
    for raw in sys.stdin.buffer:
        yield raw.decode("utf-8", "surrogateescape").rstrip("\r\n")


@click.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="結果を JSON で出力します(QUESTION が - なら 1 行 1 問で読み、1 行 1 件で出力)。")
@click.option("--history", multiple=True, help="直前までの質問(追加の質問のとき。古い順に複数指定可)。")
@click.option("--session", default="", help="会話を束ねる匿名のセッションID。")
def ask(question: str, as_json: bool, history: tuple[str, ...], session: str) -> None:
    """質問に答えます: 相談先・エスカレーションの要否・根拠となるマニュアルの箇所。

    QUESTION に - を指定すると、標準入力から 1 行に 1 問ずつ読みます。空の行は飛ばし、それ以外の
    どの行も必ず答えるか(読めない文字は置き換えて答え、記録に注記します)、その行のエラーを出して
    次の行に進みます。質問は既定では 1,000 文字までです。
    """
    # Library warnings are for server logs; a person at the terminal gets the Japanese notes below.
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")
    try:
        assistant = _assistant()
    except KasuharaError as exc:
        raise click.ClickException(str(exc)) from exc
    batch = question == "-"
    failed = False
    for line in (_stdin_lines() if batch else [question]):
        if batch and not line.strip():
            continue
        text, note = replace_unreadable(line)
        try:
            answer = assistant.ask(text, history=history, surface="cli", session_id=session, input_note=note)
        except KasuharaError as exc:
            failed = True
            if as_json:
                click.echo(json.dumps({"question": text, "error": str(exc)}, ensure_ascii=False))
                continue
            if not batch:
                raise click.ClickException(str(exc)) from exc
            click.echo(f"エラー: {exc}", err=True)
            continue
        if as_json:
            click.echo(json.dumps({**answer.to_json(), "input_note": note}, ensure_ascii=False))
        else:
            if note:
                click.echo(f"注意: {note}。", err=True)
            _print_person(answer, assistant.wording)
            if batch:
                click.echo("-" * 40)
    pending = assistant.question_log.pending_spool()
    if pending:
        click.echo(f"注意: 質問の記録先に接続できないため、{pending} 件を一時保存しています。"
                   "接続が戻ると自動で記録されます(`kasuhara logs status` で確認できます)。", err=True)
    if failed:  # every mode: a question that got no answer is a failure for a script
        sys.exit(1)


def register(group: click.Group) -> None:
    group.add_command(ask)
