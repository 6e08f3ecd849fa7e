"""Question sets (evals/*.jsonl): load, check, and confirm the gold evidence still exists."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from assistant.core.chunks import Chunk
from assistant.core.errors import KasuharaError
from assistant.core.levels import LEVELS

EVALS_DIR = Path(__file__).resolve().parent
DEFAULT_SET = EVALS_DIR / "questions.jsonl"
CALIBRATION_SET = EVALS_DIR / "calibration_questions.jsonl"


class DatasetError(KasuharaError):
    """A question set is malformed or its gold evidence no longer occurs in the corpus."""


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    history: tuple[str, ...]
    answerable: bool
    level: str
    evidence: tuple[str, ...]
    tags: tuple[str, ...]


def load_questions(path: Path = DEFAULT_SET) -> list[EvalQuestion]:
    if not path.is_file():
        raise DatasetError(f"質問セットが見つかりません: {path}")
    questions, seen = [], set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            item = EvalQuestion(
                id=raw["id"], question=raw["question"], history=tuple(raw.get("history", [])),
                answerable=bool(raw["answerable"]), level=raw["level"],
                evidence=tuple(raw.get("evidence", [])), tags=tuple(raw.get("tags", [])),
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DatasetError(f"{path.name} の {number} 行目が読めません: {exc}") from exc
        if item.level not in LEVELS:
            raise DatasetError(f"{path.name} の {item.id}: level「{item.level}」は {LEVELS} のいずれかにしてください。")
        if item.id in seen:
            raise DatasetError(f"{path.name} の id「{item.id}」が重複しています。")
        if item.answerable and not item.evidence:
            raise DatasetError(f"{path.name} の {item.id}: 答えられる質問には evidence が必要です。")
        seen.add(item.id)
        questions.append(item)
    return questions


def check_evidence(questions: list[EvalQuestion], chunks: list[Chunk]) -> None:
    """Fail loudly when a gold substring no longer occurs in any indexed chunk."""
    missing = [
        f"{q.id}: 「{e}」"
        for q in questions for e in q.evidence
        if not any(unicodedata.normalize("NFKC", e) in unicodedata.normalize("NFKC", c.text) for c in chunks)
    ]
    if missing:
        raise DatasetError(
            "質問セットの正解根拠が索引の本文に見つかりません(コーパスが変わった可能性があります):\n  "
            + "\n  ".join(missing[:20])
        )
