"""Routing evaluation: the learned router beside today's lexicon router, on the routing set.

- Cross-validation on the training split (corpus/routing_examples.jsonl plus officers' corrections):
  stratified 5-fold by source page (`page_folds`) and nested, so each outer fold is fitted exactly as
  the product fits (its own inner cross-validation sets the urgent threshold) and scored on messages
  from pages it never saw.
- Optionally, nested cross-validation by writing batch (`batch_folds`): each batch of messages one
  writer wrote in one round is scored by a router fitted without it, which is how the router meets a
  writer it never saw (a diagnostic for tuning; the product folds by page).
- The sealed splits (`SEALED_SETS`), each scored by the router the assistant serves, and pooled.
  Nothing is tuned on them; their SHA-256 are recorded in evals/README.md.

Both routers are scored with the product's safety phrases on top (they can only raise to urgent),
since that is what staff get. `select_models` compares candidate models by cross-validation.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)
from sklearn.pipeline import Pipeline
from tqdm import tqdm

from assistant.answering import Assistant
from assistant.core.levels import LEVELS
from assistant.router_model import (
    URGENT,
    Folds,
    RoutingExample,
    RoutingFeatures,
    RoutingInput,
    fit_router_model,
    load_examples,
    make_pipeline,
    out_of_fold_probabilities,
    page_folds,
    urgent_threshold,
)
from assistant.routing import Router
from evals.baselines.lexicon_router import LexiconRouter

_ROUTING_DIR = Path(__file__).resolve().parent / "routing"
SEALED_SET = _ROUTING_DIR / "sealed.jsonl"
# Written on 2026-11-30 from pages neither earlier split used, by a writer who never saw the router,
# its data or its outputs, after the first sealed split had been scored nine times (evals/README.md).
SEALED_SET_2 = _ROUTING_DIR / "sealed-2.jsonl"
# Written on 2026-11-30 by two more such writers (briefed without example phrases), from pages no
# earlier split used, and sealed before the training batches written beside it were added.
SEALED_SET_3 = _ROUTING_DIR / "sealed-3.jsonl"
SEALED_SETS = (SEALED_SET, SEALED_SET_2, SEALED_SET_3)


@dataclass(frozen=True)
class LevelScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class RoutingScores:
    examples: int
    accuracy: float
    macro_f1: float
    urgent_recall: float
    per_level: dict[str, LevelScores]
    levels: list[str]
    confusion: list[list[int]]  # rows: expected level, columns: routed level, in `levels` order
    misses: list[dict[str, str]] = field(default_factory=list)  # id, expected, routed (sealed only)


@dataclass(frozen=True)
class SealedScores:
    """Both routers on one sealed split."""

    name: str  # the metric prefix: "sealed" for sealed.jsonl, "sealed2" for sealed-2.jsonl
    file: str
    sha256: str
    learned: RoutingScores
    lexicon: RoutingScores


@dataclass(frozen=True)
class RoutingReport:
    training_examples: int
    corrections: int
    corrections_routed_as_corrected: int
    urgent_threshold: float
    learned_cv: RoutingScores | None
    learned_batch_cv: RoutingScores | None  # nested, one writing batch held out at a time
    lexicon_train: RoutingScores
    sealed: list[SealedScores]
    learned_sealed_all: RoutingScores | None  # the learned router on every sealed split pooled

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def scores(expected: Sequence[str], routed: Sequence[str], ids: Sequence[str] = (), keep_misses: bool = False
           ) -> RoutingScores:
    """Accuracy, macro-F1 over the five levels, urgent recall, per-level P/R/F1 and the confusion matrix."""
    levels = list(LEVELS)
    p, r, f, s = precision_recall_fscore_support(expected, routed, labels=levels, zero_division=0)
    per_level = {l: LevelScores(float(p[i]), float(r[i]), float(f[i]), int(s[i])) for i, l in enumerate(levels)}
    misses = [{"id": i, "expected": e, "routed": g} for i, e, g in zip(ids, expected, routed) if e != g]
    return RoutingScores(
        examples=len(expected),
        accuracy=float(accuracy_score(expected, routed)),
        macro_f1=float(f1_score(expected, routed, labels=levels, average="macro", zero_division=0)),
        urgent_recall=per_level[URGENT].recall,
        per_level=per_level,
        levels=levels,
        confusion=confusion_matrix(expected, routed, labels=levels).tolist(),
        misses=misses if keep_misses else [],
    )


def evaluate_routing(assistant: Assistant, cross_validate: bool = True, progress: bool = False,
                     sealed_paths: Sequence[Path] = SEALED_SETS, by_batch: bool = False) -> RoutingReport:
    """Score the learned and the lexicon router. Cross-validation by page (5 outer fits) and by
    writing batch (one fit per batch, about 30 s each) are optional."""
    make_inputs = assistant.routing_inputs
    router = assistant.router
    training = router.model.examples
    train_inputs = make_inputs([e.text for e in training])
    lexicon = LexiconRouter(assistant.embeddings.embed_passages)

    def lexicon_levels(inputs: Sequence[RoutingInput]) -> list[str]:
        return [_floor(router, x.text, lexicon.route(x.text, x.tokens, x.vector)) for x in inputs]

    sealed, pooled_expected, pooled_routed, pooled_ids = [], [], [], []
    for number, path in enumerate(sealed_paths, start=1):
        examples = load_examples(path, LEVELS)
        inputs = make_inputs([e.text for e in examples])
        expected, ids = [e.level for e in examples], [e.id for e in examples]
        routed = [router.route(x.text, x.tokens, x.vector).level for x in inputs]
        sealed.append(SealedScores(
            name="sealed" if number == 1 else f"sealed{number}", file=path.name, sha256=sha256_of(path),
            learned=scores(expected, routed, ids, keep_misses=True),
            lexicon=scores(expected, lexicon_levels(inputs), ids, keep_misses=True)))
        pooled_expected += expected
        pooled_routed += routed
        pooled_ids += ids
    corrections = [(e, x) for e, x in zip(training, train_inputs) if e.is_correction]
    return RoutingReport(
        training_examples=len(training),
        corrections=len(corrections),
        corrections_routed_as_corrected=sum(
            router.route(x.text, x.tokens, x.vector).level == e.level for e, x in corrections),
        urgent_threshold=router.model.urgent_threshold,
        learned_cv=(_nested_cv(assistant, training, train_inputs, page_folds(training), "交差検証", progress)
                    if cross_validate else None),
        learned_batch_cv=(_nested_cv(assistant, training, train_inputs, folds, "書き手別の交差検証", progress)
                          if by_batch and (folds := batch_folds(training)) else None),
        lexicon_train=scores([e.level for e in training], lexicon_levels(train_inputs)),
        sealed=sealed,
        learned_sealed_all=scores(pooled_expected, pooled_routed, pooled_ids) if pooled_ids else None,
    )


def _floor(router: Router, text: str, level: str) -> str:
    return URGENT if router.safety_phrase(text) is not None else level


def batch_folds(examples: Sequence[RoutingExample]) -> Folds:
    """Leave-one-batch-out (train, test) index pairs, batches in sorted order. Examples without a
    batch (officers' corrections) are one more group. Empty when there are fewer than two groups."""
    groups = np.asarray([e.batch or "(corrections)" for e in examples])
    names = sorted(set(groups))
    if len(names) < 2:
        return []
    return [(np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in names]


def _nested_cv(assistant: Assistant, examples: Sequence[RoutingExample], inputs: Sequence[RoutingInput],
               folds: Folds, desc: str, progress: bool) -> RoutingScores:
    """Each fold fitted exactly as the product fits (its own inner folds set the threshold), scored on its test part."""
    labels = np.asarray([e.level for e in examples])
    routed = np.empty(len(examples), dtype=object)
    for train, test in tqdm(folds, desc=desc, unit="分割", file=sys.stderr, disable=not progress):
        model = fit_router_model([examples[i] for i in train], [inputs[i] for i in train])
        fold_router = Router(assistant.router.policy, assistant.reader.chunks, model)
        for i in test:
            routed[i] = fold_router.route(inputs[i].text, inputs[i].tokens, inputs[i].vector).level
    return scores(list(labels), list(routed))


# --- model selection ------------------------------------------------------------------------------


def candidate_models() -> dict[str, Pipeline]:
    """Single models compared by `kasuhara eval routing --select`, beside the stack the product uses
    (whose first learner is the first of these)."""
    platt_logreg = CalibratedClassifierCV(
        LogisticRegression(C=64.0, class_weight="balanced", solver="newton-cg"), method="sigmoid", cv=3)
    return {
        "linear SVM C=2 + Platt: e5 + lemmas + char": make_pipeline(),
        "linear SVM C=0.5 + Platt: e5 + lemmas + char": make_pipeline(C=0.5),
        "linear SVM C=2 + Platt: char n-grams up to 4": make_pipeline(char_ngram_max=4),
        "logreg C=4: e5 + lemmas + char": make_pipeline(C=4.0, model="logreg"),
        "logreg C=16: e5 + lemmas + char": make_pipeline(C=16.0, model="logreg"),
        "logreg C=64: e5 + lemmas + char": make_pipeline(C=64.0, model="logreg"),
        "logreg C=64 + Platt: e5 + lemmas + char": Pipeline([("features", RoutingFeatures()), ("model", platt_logreg)]),
        "linear SVM C=2 + Platt: e5 vector only": make_pipeline(use_text=False),
        "linear SVM C=2 + Platt: lemmas + char only": make_pipeline(dense_weight=0.0),
    }


@dataclass(frozen=True)
class CandidateScores:
    name: str
    accuracy: float
    macro_f1: float
    log_loss: float
    brier: float
    ece: float  # expected calibration error of the top-label probability, 10 bins
    urgent_recall: float  # with the cost-sensitive threshold
    raised_to_urgent: float  # share of non-urgent messages the threshold sends to urgent
    decided_accuracy: float  # level accuracy of the cost-sensitive decision (what staff get)


def select_models(assistant: Assistant, progress: bool = False,
                  candidates: Callable[[], dict[str, Pipeline]] = candidate_models) -> list[CandidateScores]:
    """Out-of-fold probabilities of each candidate on the training split (5 folds by source page)."""
    examples = load_examples(assistant.settings.routing_examples_path, LEVELS)
    inputs = assistant.routing_inputs([e.text for e in examples])
    labels = np.asarray([e.level for e in examples])
    folds = page_folds(examples)
    results = [_candidate_scores("stack: SVM + 10 nearest by tf-idf (chosen)", labels,
                                 fit_router_model(examples, inputs).oof_probabilities)]
    for name, pipeline in tqdm(candidates().items(), desc="モデル比較", file=sys.stderr, disable=not progress):
        oof = out_of_fold_probabilities(clone(pipeline), inputs, labels, folds)
        results.append(_candidate_scores(name, labels, oof))
    return results


def _candidate_scores(name: str, labels: np.ndarray, oof: np.ndarray) -> CandidateScores:
    classes = sorted(set(labels))
    onehot = (labels[:, None] == np.asarray(classes)[None, :]).astype(float)
    argmax = np.asarray(classes)[oof.argmax(axis=1)]
    u = classes.index(URGENT)
    threshold = urgent_threshold(labels == URGENT, oof[:, u])
    decided = np.where(oof[:, u] >= threshold, URGENT, argmax)
    not_urgent = labels != URGENT
    return CandidateScores(
        name=name,
        accuracy=float(accuracy_score(labels, argmax)),
        macro_f1=float(f1_score(labels, argmax, average="macro")),
        log_loss=float(log_loss(labels, oof, labels=classes)),
        brier=float(np.mean(np.sum((oof - onehot) ** 2, axis=1))),
        ece=_ece(oof.max(axis=1), argmax == labels),
        urgent_recall=float(np.mean(decided[labels == URGENT] == URGENT)),
        raised_to_urgent=float(np.mean(decided[not_urgent] == URGENT)) if not_urgent.any() else 0.0,
        decided_accuracy=float(accuracy_score(labels, decided)),
    )


def _ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        mask = (confidence > low) & (confidence <= high)
        if mask.any():
            total += mask.mean() * abs(confidence[mask].mean() - correct[mask].mean())
    return float(total)
