"""CSV export of the question log that is safe to open in Excel.

- UTF-8 with a BOM: without it Excel reads Japanese as mojibake.
- Formula injection: staff questions are untrusted text. Any cell that starts with = + - @, a tab
  or a carriage return (or their full-width forms, which some spreadsheet imports fold to ASCII)
  is prefixed with a single quote, so the spreadsheet shows it as text instead of running it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from assistant.answer_parts import (
    AnswerParts,
    contact_lines,
    guidance_lines,
    logged_parts,
)
from assistant.core.levels import feedback_label
from assistant.question_log import OFFICE_TZ, LogRow

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")



def safe_cell(value: Any) -> str:
    """The cell's text, quoted with a leading ' when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def write_table(header: Sequence[str], rows: Iterable[Sequence[Any]], fp: IO[str]) -> None:
    """Write a BOM, the header and the rows to a text stream opened with newline=""."""
    fp.write(BOM)
    # CRLF is what Excel writes and expects; newlines inside cells are kept, quoted.
    writer = csv.writer(fp, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])


def _local_time(value: datetime | None) -> str:
    return value.astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M:%S") if value else ""


# (header shown to officers, how to get the value from a row, its answer's parts and the
# policy's level labels). 区分 is always the policy's label, whatever language the staff member saw.
LOG_COLUMNS: list[tuple[str, Callable[[LogRow, AnswerParts, Mapping[str, str]], Any]]] = [
    ("ID", lambda r, p, labels: r.uid),
    ("日時(JST)", lambda r, p, labels: _local_time(r.created_at)),
    ("利用経路", lambda r, p, labels: r.surface),
    ("セッション", lambda r, p, labels: r.session_id),
    ("区分", lambda r, p, labels: labels.get(r.level, r.level)),
    ("区分ID", lambda r, p, labels: r.level),
    ("対応先", lambda r, p, labels: p.level.route),
    ("判定理由", lambda r, p, labels: " / ".join(r.reasons)),
    ("回答済み", lambda r, p, labels: "はい" if r.answered else "いいえ"),
    ("対応状況", lambda r, p, labels: r.status),
    ("評価", lambda r, p, labels: feedback_label(r.feedback)),
    ("評価日時(JST)", lambda r, p, labels: _local_time(r.feedback_at)),
    ("質問", lambda r, p, labels: r.question),
    ("入力の注記", lambda r, p, labels: r.input_note),
    ("言語", lambda r, p, labels: p.language),
    ("いまやること", lambda r, p, labels: "\n".join(guidance_lines(p))),
    ("相談先", lambda r, p, labels: "\n".join(contact_lines(p))),
    ("回答", lambda r, p, labels: r.answer),
    ("引用", lambda r, p, labels: "\n".join(p.labels)),
    ("回答方式", lambda r, p, labels: r.answer_mode),
    ("フォールバック理由", lambda r, p, labels: r.fallback_reason or ""),
    ("所要時間(ms)", lambda r, p, labels: f"{r.latency_ms:.0f}"),
    ("埋め込みモデル", lambda r, p, labels: r.embedder),
    ("索引バージョン", lambda r, p, labels: r.index_version),
]


def write_csv(rows: Iterable[LogRow], fp: IO[str], labels: Mapping[str, str]) -> None:
    """Question-log rows as CSV to a text stream (open files with newline="").
    `labels`: {level id: label}, the policy's."""
    header = [name for name, _ in LOG_COLUMNS]
    table = ((row, logged_parts(row, labels)) for row in rows)
    write_table(header, ([get(r, p, labels) for _, get in LOG_COLUMNS] for r, p in table), fp)


def csv_bytes(rows: Iterable[LogRow], labels: Mapping[str, str]) -> bytes:
    """The same CSV as UTF-8 bytes (BOM included), e.g. for a download or stdout."""
    buffer = io.StringIO(newline="")
    write_csv(rows, buffer, labels)
    return buffer.getvalue().encode("utf-8", "replace")


def export_csv(rows: Iterable[LogRow], path: Path | str, labels: Mapping[str, str]) -> None:
    with open(path, "w", encoding="utf-8", errors="replace", newline="") as fp:
        write_csv(rows, fp, labels)
