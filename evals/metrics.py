"""Evaluation metrics as pure functions over plain values (no index, no model).

Ranking metrics take `relevance`: one bool per returned item, in rank order (rank 1 first).
Recall@k is the hit rate used for question answering: 1 when at least one relevant item is in the
top k (a question's gold evidence may sit in more than one chunk; a hit on any of them answers it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Hashable, Sequence


def recall_at_k(relevance: Sequence[bool], k: int) -> float:
    return 1.0 if any(relevance[:k]) else 0.0


def reciprocal_rank(relevance: Sequence[bool], k: int = 10) -> float:
    """1/rank of the first relevant item within the top k; 0 when there is none."""
    for rank, relevant in enumerate(relevance[:k], start=1):
        if relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(relevance: Sequence[bool], k: int, relevant_total: int) -> float:
    """Binary nDCG: gain 1 per relevant item at rank i, discounted by log2(i + 1); the ideal list
    puts min(relevant_total, k) relevant items first. 0 when nothing is relevant at all."""
    ideal_count = min(relevant_total, k)
    if ideal_count <= 0:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, rel in enumerate(relevance[:k], start=1) if rel)
    idcg = sum(1.0 / math.log2(rank + 1) for rank in range(1, ideal_count + 1))
    return dcg / idcg


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def confusion(expected: Sequence[Hashable], predicted: Sequence[Hashable],
              labels: Sequence[Hashable]) -> list[list[int]]:
    """matrix[i][j] = how many items of label i (expected) were predicted as label j."""
    if len(expected) != len(predicted):
        raise ValueError("expected and predicted differ in length")
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for e, p in zip(expected, predicted):
        matrix[index[e]][index[p]] += 1
    return matrix


def accuracy(expected: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    if len(expected) != len(predicted):
        raise ValueError("expected and predicted differ in length")
    return mean([1.0 if e == p else 0.0 for e, p in zip(expected, predicted)])


@dataclass(frozen=True)
class PrecisionRecall:
    precision: float
    recall: float
    true_positives: int
    predicted_positives: int
    actual_positives: int

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def precision_recall(actual: Sequence[bool], predicted: Sequence[bool]) -> PrecisionRecall:
    """For one positive class. An empty denominator gives 1.0 (nothing claimed, nothing missed)."""
    if len(actual) != len(predicted):
        raise ValueError("actual and predicted differ in length")
    tp = sum(1 for a, p in zip(actual, predicted) if a and p)
    predicted_positives = sum(1 for p in predicted if p)
    actual_positives = sum(1 for a in actual if a)
    return PrecisionRecall(
        precision=tp / predicted_positives if predicted_positives else 1.0,
        recall=tp / actual_positives if actual_positives else 1.0,
        true_positives=tp,
        predicted_positives=predicted_positives,
        actual_positives=actual_positives,
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); 0 for no values."""
    if not values:
        return 0.0
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
