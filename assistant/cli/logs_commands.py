"""`kasuhara logs`: list, show, export and check the question log.

A thin layer over `assistant.question_log`. Questions are untrusted text typed by staff, so what
reaches the terminal has control characters made visible (an escape sequence in a question must
not repaint an officer's terminal, and nothing here may crash on it).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from assistant.answer_parts import (
    AnswerParts,
    guidance_lines,
    logged_parts,
)
from assistant.core.errors import KasuharaError
from assistant.core.levels import feedback_label
from assistant.core.settings import Settings
from assistant.policy import load_policy
from assistant.question_log import (
    FEEDBACK_FILTERS,
    LEVELS,
    OFFICE_TZ,
    STATUSES,
    SURFACES,
    LogFilters,
    LogRow,
    QuestionLog,
)

_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_QUESTION_WIDTH = 60


# --- output helpers ---------------------------------------------------------------------------


def printable(text: str, keep_newlines: bool = False) -> str:
    """Text as typed, except control and bidi-override characters, shown as \\x1b-style escapes;
    without `keep_newlines`, line breaks and tabs become spaces (one record per line)."""
    out = []
    for ch in text:
        if ch in "\n\t" and keep_newlines:
            out.append(ch)
        elif ch in "\r\n\t":
            out.append(" ")
        elif unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS:
            out.append(ascii(ch)[1:-1])
        else:
            out.append(ch)
    return "".join(out)


def _local(value: datetime | None, seconds: bool = False) -> str:
    if value is None:
        return "-"
    return value.astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _shorten(text: str, width: int) -> str:
    text = printable(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _json_default(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _dumps(value: Any) -> str:
    # ensure_ascii=False keeps Japanese readable; json escapes control characters itself.
    return json.dumps(value, ensure_ascii=False, indent=2, default=_json_default)


def _row_dict(row: LogRow) -> dict[str, Any]:
    return row.to_dict()


@contextmanager
def _user_errors() -> Iterator[None]:
    """Core errors become one Japanese line, not a traceback."""
    try:
        yield
    except KasuharaError as exc:
        raise click.ClickException(str(exc)) from exc


def _labels() -> dict[str, str]:
    """{level id: label}, from the policy file (the one set of labels every surface shows)."""
    with _user_errors():
        return load_policy(Settings().policy_path).labels


@contextmanager
def _open_log() -> Iterator[QuestionLog]:
    """The configured log; core errors raised inside the `with` body become ClickExceptions too."""
    with _user_errors():
        log = QuestionLog.open(Settings())
        try:
            yield log
        finally:
            log.close()


# --- filter options shared by list and export --------------------------------------------------

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def filter_options(default_limit: int | None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The same filter options on every command that selects questions."""
    limit_help = "表示する最大件数です。" + ("" if default_limit is None else f"(既定: {default_limit})")
    options = [
        click.option("--since", type=_DATE, metavar="YYYY-MM-DD", help="この日(日本時間)以降の質問に絞ります。形式: YYYY-MM-DD"),
        click.option("--until", type=_DATE, metavar="YYYY-MM-DD", help="この日(日本時間)までの質問に絞ります。形式: YYYY-MM-DD"),
        click.option("--level", type=click.Choice(LEVELS), help="区分で絞ります(urgent=緊急, report=報告, consult=相談, none=情報, outside=対象外)。"),
        click.option("--unanswered", is_flag=True, help="マニュアルから回答できなかった質問だけにします。"),
        click.option("--status", type=click.Choice(STATUSES), help="対応状況で絞ります。"),
        click.option("--feedback", type=click.Choice(FEEDBACK_FILTERS), help="評価で絞ります(up=役に立った, down=役に立たなかった, none=評価なし)。"),
        click.option("--search", "-q", help="質問か回答にこの文字列を含むものに絞ります。"),
        click.option("--surface", type=click.Choice(SURFACES), help="利用経路で絞ります(cli, web, eval)。"),
        click.option("--urgent-first", is_flag=True, help="緊急の質問を先頭に並べます。"),
        click.option("--limit", "-n", type=click.IntRange(min=0), default=default_limit, help=limit_help),
    ]

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _filters(**opts: Any) -> LogFilters:
    with _user_errors():
        return LogFilters(
            since=opts["since"].date() if opts["since"] else None,
            until=opts["until"].date() if opts["until"] else None,
            level=opts["level"],
            answered=False if opts["unanswered"] else None,
            status=opts["status"],
            feedback=opts["feedback"],
            text=opts["search"],
            surface=opts["surface"],
            urgent_first=opts["urgent_first"],
            limit=opts["limit"],
        )


# --- commands ------------------------------------------------------------------------------------


@click.group()
def logs() -> None:
    """質問ログ(スタッフの質問・判定・回答の記録)を一覧・表示・書き出しします。"""


def _list_line(row: LogRow, labels: dict[str, str]) -> str:
    answered = "回答済" if row.answered else "未回答"
    level = labels.get(row.level, row.level)
    return (
        f"{row.uid[:12]}  {_local(row.created_at)}  {level:　<4}  {answered}  {row.status}  "
        f"{_shorten(row.question, _QUESTION_WIDTH)}"
    )


@logs.command("list")
@filter_options(default_limit=20)
@click.option("--json", "as_json", is_flag=True, help="JSON の配列で出力します。")
def list_(as_json: bool, **opts: Any) -> None:
    """質問を新しい順に一覧します。ID は先頭 12 文字を表示します(show には 6 文字以上で指定できます)。"""
    filters = _filters(**opts)
    with _open_log() as log:
        rows = log.list(filters)
    if as_json:
        click.echo(_dumps([_row_dict(r) for r in rows]))
        return
    if not rows:
        click.echo("該当する質問はありません。")
    labels = _labels()
    for row in rows:
        click.echo(_list_line(row, labels))


def _show_lines(row: LogRow, log: QuestionLog, labels: dict[str, str]) -> Iterator[str]:
    parts = logged_parts(row, labels)
    yield f"ID: {row.uid}"
    yield f"日時: {_local(row.created_at, seconds=True)} (日本時間)"
    yield f"利用経路: {row.surface}    セッション: {printable(row.session_id) or '-'}"
    yield f"区分: {labels.get(row.level, row.level)} ({row.level})" + (
        f" — {printable(parts.level.route)}" if parts.level.route else "")
    if parts.language != "ja":
        yield f"回答の言語: {parts.language}"
    if row.input_note:
        yield f"入力の注記: {printable(row.input_note)}"
    yield f"判定理由: {printable(' / '.join(row.reasons)) or '-'}"
    yield f"回答: {'あり' if row.answered else 'なし(マニュアルで回答できず)'}    方式: {row.answer_mode}"
    if row.fallback_reason:
        yield f"フォールバック理由: {printable(row.fallback_reason)}"
    yield f"対応状況: {row.status}    評価: {feedback_label(row.feedback)}"
    yield f"所要時間: {row.latency_ms:.0f} ms    埋め込みモデル: {printable(row.embedder) or '-'}    索引: {printable(row.index_version) or '-'}"
    yield ""
    yield "質問:"
    yield "  " + printable(row.question, keep_newlines=True).replace("\n", "\n  ")
    yield from _listed("いまやること:", guidance_lines(parts))
    yield from _listed("相談先:", [f"{c.title}: {c.text}" for c in parts.contacts])
    if parts.contacts_note:
        yield f"  {printable(parts.contacts_note)}"
    yield "回答:"
    yield "  " + (printable(row.answer, keep_newlines=True).replace("\n", "\n  ") or "-")
    yield from _citation_lines(parts)
    yield from _retrieved_lines(row)
    yield from _officer_lines(row, log)


def _listed(title: str, lines: list[str]) -> Iterator[str]:
    yield title
    yield from (f"  ・{printable(line)}" for line in lines) if lines else ["  -"]


def _citation_lines(parts: AnswerParts) -> Iterator[str]:
    yield "引用:"
    if not parts.quotes:
        yield "  -"
    for c, label in zip(parts.quotes, parts.labels):
        yield f"  {printable(label)}"
        yield f"      {printable(c.section)} [{printable(c.chunk_id)}]"
        if c.quote:
            yield f"      「{printable(c.quote)}」"


def _retrieved_lines(row: LogRow) -> Iterator[str]:
    yield "検索結果:"
    if not row.retrieved:
        yield "  -"
    for r in row.retrieved:
        scores = "  ".join(
            f"{k}={r[k]:.4f}" if isinstance(r.get(k), float) else f"{k}={r.get(k)}"
            for k in ("bm25", "dense", "fused")
        )
        yield f"  {r.get('rank', '-')}. {printable(str(r.get('chunk_id', '')))}  {scores}"


def _officer_lines(row: LogRow, log: QuestionLog) -> Iterator[str]:
    events = log.status_events(row.uid)
    notes = log.notes(row.uid)
    if events:
        yield "対応履歴:"
        yield from (f"  {_local(e.at)}  {e.status}  {printable(e.officer)}" for e in events)
    if notes:
        yield "メモ:"
        yield from (f"  {_local(n.at)}  {printable(n.officer)}: {printable(n.text)}" for n in notes)


@logs.command()
@click.argument("uid")
@click.option("--json", "as_json", is_flag=True, help="JSON で出力します。")
def show(uid: str, as_json: bool) -> None:
    """質問 1 件の詳細(回答・引用・検索結果・対応履歴・メモ)を表示します。UID は 6 文字以上の先頭部分でも構いません。"""
    with _open_log() as log:
        row = log.get(uid)
        if as_json:
            data = _row_dict(row)
            data["status_events"] = [vars(e) for e in log.status_events(row.uid)]
            data["notes"] = [vars(n) for n in log.notes(row.uid)]
            click.echo(_dumps(data))
            return
        for line in _show_lines(row, log, _labels()):
            click.echo(line)


@logs.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path), help="書き出し先の CSV ファイルです。省略すると標準出力に書きます。")
@filter_options(default_limit=None)
def export(output: Path | None, **opts: Any) -> None:
    """質問を CSV(Excel で開ける UTF-8 BOM 付き)に書き出します。数式として解釈されうるセルは ' を付けて無害化します。"""
    from assistant.csv_export import csv_bytes, export_csv

    filters = _filters(**opts)
    with _open_log() as log:
        rows = log.list(filters)
    if output is None:
        click.get_binary_stream("stdout").write(csv_bytes(rows, _labels()))
        return
    try:
        export_csv(rows, output, _labels())
    except OSError as exc:
        raise click.ClickException(f"{output} に書き出せません: {exc.strerror or exc}") from exc
    click.echo(f"{len(rows)} 件を {output} に書き出しました。", err=True)


@logs.command()
def status() -> None:
    """質問ログの保存先(パスワードは伏せ字)、記録件数、未反映の一時保存(スプール)件数を表示します。"""
    with _open_log() as log:
        info = log.info()
    click.echo(f"データベース: {info.url}")
    click.echo(f"種類: {info.backend}    スキーマ版: {info.revision or '-'}")
    click.echo(f"記録件数: {'-' if info.rows is None else info.rows}")
    click.echo(f"未反映の一時保存: {info.pending_spool} 件 ({log.spool_dir})")
    if info.error:
        raise click.ClickException(info.error)


@logs.command()
def flush() -> None:
    """データベースに書けずに一時保存(スプール)された質問を、データベースへ書き込みます。"""
    with _open_log() as log:
        replayed = log.flush_spool()
        remaining = log.pending_spool()
    click.echo(f"{replayed} 件を書き込みました。残り {remaining} 件。")


def register(group: click.Group) -> None:
    group.add_command(logs)

