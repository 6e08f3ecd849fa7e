"""Turn a logged question into an evaluation item, so a real question that went wrong becomes a
regression test (`kasuhara eval add-from-log`, and the officers' console button)."""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Iterator, Sequence

from assistant.core.index import IndexReader
from assistant.core.levels import LEVELS
from assistant.core.settings import Settings
from assistant.question_log import OFFICE_TZ, LogFilters, LogRow, QuestionLog
from evals.dataset import (
    DEFAULT_SET,
    DatasetError,
    EvalQuestion,
    check_evidence,
    load_questions,
)

FROM_LOG_TAG = "from_log"
_MAX_HISTORY = 3  # earlier turns of the same session kept as history


def add_from_log(
    settings: Settings,
    uid: str,
    level: str,
    evidence: Sequence[str] = (),
    answerable: bool = True,
    set_path: Path = DEFAULT_SET,
    history: Sequence[str] | None = None,
) -> EvalQuestion:
    """Append the logged question `uid` (full id or unique prefix) to the question set at `set_path`.

    `level` is the escalation the officer expects; `evidence` the manual substrings that answer it
    (each must occur in an indexed chunk; none when `answerable` is False). The history is the
    session's earlier questions unless given. The new item's id is "log-<first 8 hex of uid>".
    Raises DatasetError (or a question-log error) with a message for the officer.
    """
    if level not in LEVELS:
        raise DatasetError(f"区分「{level}」は使えません。{', '.join(LEVELS)} のいずれかを指定してください。")
    evidence = tuple(e.strip() for e in evidence if e and e.strip())
    if answerable and not evidence:
        raise DatasetError("答えられる質問には、正解の根拠となるマニュアルの文言(evidence)を1つ以上指定してください。")
    if not answerable and evidence:
        raise DatasetError("答えられない質問(--not-answerable)には evidence を指定しないでください。")

    with QuestionLog.open(settings) as log:
        row = log.get(uid)
        turns = tuple(history) if history is not None else _session_history(log, row)
    tags = [FROM_LOG_TAG] + (["followup"] if turns else []) + ([] if answerable else ["out_of_scope"])
    if evidence:
        reader = IndexReader(settings)
        probe = EvalQuestion(id="log", question=row.question, history=turns, answerable=answerable,
                             level=level, evidence=evidence, tags=tuple(tags))
        check_evidence([probe], reader.chunks)

    with _locked(set_path):
        existing = load_questions(set_path) if set_path.stat().st_size else []
        raw_lines = _raw_items(set_path)
        if any(item.get("log_uid") == row.uid for item in raw_lines):
            taken = next(item["id"] for item in raw_lines if item.get("log_uid") == row.uid)
            raise DatasetError(f"この質問はすでに評価セットにあります(id: {taken})。")
        item_id = _unique_id(row.uid, {q.id for q in existing})
        item = {
            "id": item_id,
            "question": row.question,
            "history": list(turns),
            "answerable": answerable,
            "level": level,
            "evidence": list(evidence),
            "tags": tags,
            "log_uid": row.uid,
        }
        _append_line(set_path, json.dumps(item, ensure_ascii=False))
        added = next(q for q in load_questions(set_path) if q.id == item_id)  # the file still parses
    return added


def _session_history(log: QuestionLog, row: LogRow) -> tuple[str, ...]:
    """The same session's questions asked before this one (the previous day onwards), oldest first."""
    if not row.session_id:
        return ()
    day = row.created_at.astimezone(OFFICE_TZ).date()
    earlier = [
        r for r in log.list(LogFilters(since=day - timedelta(days=1), until=day, limit=None))
        if r.session_id == row.session_id and r.created_at < row.created_at and r.uid != row.uid
    ]
    earlier.sort(key=lambda r: r.created_at)
    return tuple(r.question for r in earlier[-_MAX_HISTORY:])


def _unique_id(uid: str, taken: set[str]) -> str:
    for length in (8, 12, 16, 32):
        candidate = f"log-{uid[:length]}"
        if candidate not in taken:
            return candidate
    raise DatasetError(f"id「log-{uid}」はすでに使われています。")


def _raw_items(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _append_line(path: Path, line: str) -> None:
    data = path.read_bytes() if path.exists() else b""
    prefix = "\n" if data and not data.endswith(b"\n") else ""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(prefix + line + "\n")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer at a time (two officers pressing the button at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:  # the set file itself: no lock file left behind
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
