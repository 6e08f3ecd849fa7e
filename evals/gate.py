"""The CI gate: metric floors (and ceilings) kept in evals/thresholds.toml, checked against a result.

Keys are the flattened metric names of `evals.runner.flatten` (e.g. "retrieval.assistant.recall_at_3").
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from evals.dataset import EVALS_DIR, DatasetError

THRESHOLDS = EVALS_DIR / "thresholds.toml"


@dataclass(frozen=True)
class Thresholds:
    minimum: dict[str, float]
    maximum: dict[str, float]


@dataclass(frozen=True)
class GateFailure:
    metric: str
    value: float | None
    bound: float
    kind: str  # "minimum" | "maximum"

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.metric}: 結果にありません(基準 {self.kind} {self.bound})"
        sign = "≥" if self.kind == "minimum" else "≤"
        return f"{self.metric} = {self.value:.4f}(基準 {sign} {self.bound})"


def load_thresholds(path: Path = THRESHOLDS) -> Thresholds:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"合格基準のファイルが見つかりません: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DatasetError(f"合格基準のファイル {path.name} が読めません: {exc}") from exc
    unknown = set(data) - {"minimum", "maximum"}
    if unknown:
        raise DatasetError(f"{path.name}: 表 {sorted(unknown)} は使えません。[minimum] と [maximum] だけです。")
    return Thresholds(
        minimum={k: float(v) for k, v in data.get("minimum", {}).items()},
        maximum={k: float(v) for k, v in data.get("maximum", {}).items()},
    )


def check(flat: dict[str, float], thresholds: Thresholds) -> list[GateFailure]:
    """Every bound the result misses; a metric the run did not produce counts as a miss."""
    failures = []
    for metric, bound in thresholds.minimum.items():
        value = flat.get(metric)
        if value is None or value < bound - 1e-9:
            failures.append(GateFailure(metric, value, bound, "minimum"))
    for metric, bound in thresholds.maximum.items():
        value = flat.get(metric)
        if value is None or value > bound + 1e-9:
            failures.append(GateFailure(metric, value, bound, "maximum"))
    return failures
