"""Abstention: does the loaded manual cover a question at all?

Two signals from retrieval: the cosine similarity of the nearest chunk (e5 scores are compressed, most
pairs land between 0.7 and 0.9, so no constant is safe) and the share of the question's content words
that occur in the corpus. Their weighted sum is compared with a threshold that `kasuhara eval
calibrate` fits on the labelled in-scope and out-of-scope questions and writes to assistant/calibration.json.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

from assistant.core.errors import KasuharaError

_WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


class CalibrationError(KasuharaError):
    pass


@dataclass(frozen=True)
class Calibration:
    threshold: float
    lexical_weight: float
    embedder: str
    questions: int
    balanced_accuracy: float
    corpus: str = ""  # ingest.chunks.corpus_fingerprint of the chunks it was fitted on ("" if unknown)

    def fitted_on_other_corpus(self, fingerprint: str) -> bool:
        """True when the threshold was fitted on other chunks than those `fingerprint` stands for."""
        return bool(self.corpus) and self.corpus != fingerprint

    def score(self, dense_top: float, lexical_coverage: float) -> float:
        return dense_top + self.lexical_weight * lexical_coverage

    def covers(self, dense_top: float, lexical_coverage: float) -> bool:
        return self.score(dense_top, lexical_coverage) >= self.threshold

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "Calibration":
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise CalibrationError(
                f"回答可否の判定基準 {path} がありません。`kasuhara eval calibrate` で作成してください。"
            ) from None
        except (json.JSONDecodeError, TypeError) as exc:
            raise CalibrationError(f"回答可否の判定基準 {path} が壊れています({exc})。`kasuhara eval calibrate` で作り直してください。") from exc


def fit(samples: Iterable[tuple[float, float, bool]], embedder: str, corpus: str = "") -> Calibration:
    """Pick the weight and threshold with the best balanced accuracy on (dense, coverage, in_scope)."""
    samples = list(samples)
    positives = sum(1 for *_, in_scope in samples if in_scope)
    negatives = len(samples) - positives
    if not positives or not negatives:
        raise CalibrationError("判定基準の作成には、マニュアルで答えられる質問と答えられない質問の両方が必要です。")
    best: tuple[float, float, float, float] | None = None
    for weight in _WEIGHTS:
        scores = sorted({dense + weight * coverage for dense, coverage, _ in samples})
        spread = (scores[-1] - scores[0]) or 1.0
        # Candidates midway between neighbouring scores; among equally accurate ones, the widest gap
        # (relative to the spread of scores) generalises best to questions not in the set.
        for low, high in zip(scores, scores[1:]):
            threshold = (low + high) / 2
            accuracy = _balanced_accuracy(samples, weight, threshold, positives, negatives)
            candidate = (accuracy, (high - low) / spread, weight, threshold)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    assert best is not None
    accuracy, _, weight, threshold = best
    return Calibration(round(threshold, 5), weight, embedder, len(samples), round(accuracy, 4), corpus)


def _balanced_accuracy(samples, weight: float, threshold: float, positives: int, negatives: int) -> float:
    true_pos = sum(1 for d, c, y in samples if y and d + weight * c >= threshold)
    true_neg = sum(1 for d, c, y in samples if not y and d + weight * c < threshold)
    return (true_pos / positives + true_neg / negatives) / 2
