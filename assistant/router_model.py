"""The learned router: which level a staff message needs, as calibrated probabilities.

Features are what the assistant already computes for retrieval, plus spelling variants:
- the e5 query vector (meaning across wording, dialect and English),
- the fugashi lemmas and lemma bigrams (どなられた and 怒鳴られた are one lemma),
- character 1-3-grams of the folded text (kana-only messages, typos, half-width katakana).

Two scikit-learn learners are stacked. A linear SVM (one-vs-rest, balanced class weights) with Platt
scaling (`CalibratedClassifierCV`, sigmoid) reads all three feature families; the 10 labelled examples
nearest by tf-idf cosine vote, weighted by similarity; a logistic regression trained on their
out-of-fold outputs gives the final P(level). Chosen by stratified 5-fold cross-validation on the
training split as it was then (`kasuhara eval routing --select`, which now folds by source page;
figures in evals/README.md): among single models
the SVM with Platt scaling had the best accuracy after the urgent threshold (0.890) with calibrated
probabilities (ECE 0.09; logistic regression 0.08-0.23 depending on C), and the stack improved on it
(accuracy 0.905 -> 0.922, ECE 0.089 -> 0.010, after the threshold 0.890 -> 0.911), mostly on short
messages and on who the harasser is, where a close labelled example says more than a weight.
The SVM's coefficients give the words shown as reasons; the voting neighbours are shown too.

The decision is cost-sensitive. Missing an urgent message costs far more than escalating one that is
not, so a message is urgent when P(urgent) reaches a threshold set on out-of-fold probabilities for an
urgent recall of at least 0.98, even when another level is more probable. Folds hold out whole source
pages, so the threshold is set on messages the model meets as it meets new ones.

Training takes seconds and happens when the assistant loads (never while answering); the fitted
model is cached on disk, keyed by everything it was trained from.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import joblib
import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

from assistant.core.errors import KasuharaError
from assistant.core.text import fold

log = logging.getLogger(__name__)

# Bump when features, model or decision change: the cache key includes it.
ROUTER_VERSION = "router-v10"
URGENT = "urgent"
URGENT_RECALL_TARGET = 0.98
CV_FOLDS = 5
CV_SEED = 0
THRESHOLD_REPEATS = 5  # fold draws whose median urgent threshold is used
KNN_K = 10  # neighbours that vote; 5 and 20 measured the same in cross-validation
STACKER_C = 1.0
# Chosen by cross-validation (see the module docstring); `kasuhara eval routing --select` re-measures.
MODEL_C = 2.0
DENSE_WEIGHT = 1.0
CHAR_NGRAM_MAX = 3
_NEIGHBOURS = 2
_WEIGHED_TERMS = 3


class RoutingDataError(KasuharaError):
    """The routing examples file is missing or malformed."""


@dataclass(frozen=True)
class RoutingExample:
    """One labelled staff message. `officer` is set for a correction made in the console; its text is
    a logged staff question, so it is never shown to staff as a reason."""

    id: str
    text: str
    level: str
    source: str = ""
    workplace: str = ""
    style: str = ""
    officer: str = ""
    batch: str = ""  # the writing batch (evals/README.md); empty for a correction

    @property
    def is_correction(self) -> bool:
        return bool(self.officer)

    @property
    def page(self) -> str:
        """The group that folds keep whole: the source page; a correction is its own group."""
        return self.id if self.is_correction else (self.source or self.id)


@dataclass(frozen=True)
class RoutingInput:
    """What the router reads of one message: its text, fugashi lemmas and e5 query vector (dim,)."""

    text: str
    tokens: tuple[str, ...]
    vector: np.ndarray


def load_examples(path: Path, levels: Sequence[str]) -> list[RoutingExample]:
    """Read a JSON-lines routing set ({"id", "text", "level", ...} per line).

    Raises RoutingDataError naming the file and line when a line is not JSON, lacks id/text/level,
    has an unknown level or repeats an id.
    """
    if not path.is_file():
        raise RoutingDataError(f"ルーティングの例文ファイルが見つかりません: {path}")
    examples, seen = [], set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name} の {number} 行目"
        try:
            row = json.loads(line)
            example = RoutingExample(**{k: row[k] for k in RoutingExample.__dataclass_fields__ if k in row})
        except (json.JSONDecodeError, TypeError) as exc:
            raise RoutingDataError(f"{where}が読めません({exc})。1 行に 1 つの JSON で書いてください。") from exc
        if not example.id or not example.text.strip():
            raise RoutingDataError(f"{where}: id と text が必要です。")
        if example.level not in levels:
            raise RoutingDataError(f"{where}: level「{example.level}」は使えません。{', '.join(levels)} のいずれかです。")
        if example.id in seen:
            raise RoutingDataError(f"{where}: id「{example.id}」が重複しています。")
        seen.add(example.id)
        examples.append(example)
    return examples


def _char_text(text: str) -> str:
    return "".join(fold(text).split())


Doc = tuple[str, tuple[str, ...]]  # folded text, lemmas


def text_terms(doc: Doc, char_ngram_max: int = CHAR_NGRAM_MAX) -> list[str]:
    """The sparse terms of one message: 「character n-grams」 of its folded text, then its lemmas and
    lemma bigrams. The term itself is what a reason shows, so no second name table is needed."""
    chars, tokens = doc
    grams = [f"「{chars[i:i + n]}」" for n in range(1, char_ngram_max + 1) for i in range(len(chars) - n + 1)]
    return grams + list(tokens) + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]


class RoutingFeatures(BaseEstimator, TransformerMixin):
    """RoutingInput list -> sparse matrix [tf-idf of text_terms | dense_weight * e5 vector]."""

    def __init__(self, dense_weight: float = DENSE_WEIGHT, use_text: bool = True, char_ngram_max: int = CHAR_NGRAM_MAX):
        self.dense_weight = dense_weight
        self.use_text = use_text
        self.char_ngram_max = char_ngram_max

    def fit(self, X: Sequence[RoutingInput], y=None) -> "RoutingFeatures":
        analyzer = partial(text_terms, char_ngram_max=self.char_ngram_max)
        self.text_ = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True) if self.use_text else None
        if self.text_ is not None:
            self.text_.fit([_doc(x) for x in X])
            # Read per answer (reasons); get_feature_names_out rebuilds the array on every call.
            self.term_names_ = list(self.text_.get_feature_names_out())
        return self

    def transform(self, X: Sequence[RoutingInput]) -> sp.csr_matrix:
        dense = sp.csr_matrix(np.vstack([x.vector for x in X]) * self.dense_weight)
        if self.text_ is None:
            return dense
        return sp.hstack([self.text_.transform([_doc(x) for x in X]), dense], format="csr")


def _doc(x: RoutingInput) -> Doc:
    return _char_text(x.text), x.tokens


def make_pipeline(C: float = MODEL_C, dense_weight: float = DENSE_WEIGHT, use_text: bool = True,
                  char_ngram_max: int = CHAR_NGRAM_MAX, model: str = "svm") -> Pipeline:
    """features -> the chosen model: a linear SVM (one-vs-rest, balanced class weights) whose scores
    are turned into probabilities by Platt scaling (sigmoid) fitted on 3 internal folds.
    `model="logreg"` gives the multinomial logistic regression it was compared with."""
    if model == "logreg":
        # newton-cg: the same optimum as lbfgs on these ~60k sparse columns, about ten times faster.
        estimator = LogisticRegression(C=C, class_weight="balanced", solver="newton-cg", max_iter=200)
    else:
        # random_state: liblinear shuffles in its dual solver; a fixed seed makes every fit the same.
        svm = LinearSVC(C=C, class_weight="balanced", random_state=0)
        estimator = CalibratedClassifierCV(svm, method="sigmoid", cv=3)
    features = RoutingFeatures(dense_weight, use_text=use_text, char_ngram_max=char_ngram_max)
    return Pipeline([("features", features), ("model", estimator)])


@dataclass(frozen=True)
class LinearScorer:
    """The fitted linear model as arrays: k weight sets (the folds of CalibratedClassifierCV, or 1).

    Platt scaling: P_k(class c) = 1 / (1 + exp(a_kc * s_kc + b_kc)) on each fold's one-vs-rest score
    s_kc, normalised over the classes, then averaged over the folds (sklearn's own procedure).
    Without calibrators (logistic regression) the scores go through a softmax.
    """

    weights: np.ndarray  # (k, n_classes, n_features)
    intercepts: np.ndarray  # (k, n_classes)
    platt: np.ndarray | None  # (k, n_classes, 2): a, b

    @classmethod
    def of(cls, model) -> "LinearScorer":
        if not hasattr(model, "calibrated_classifiers_"):
            return cls(model.coef_[None], model.intercept_[None], None)
        folds = model.calibrated_classifiers_
        return cls(np.stack([f.estimator.coef_ for f in folds]), np.stack([f.estimator.intercept_ for f in folds]),
                   np.asarray([[[c.a_, c.b_] for c in f.calibrators] for f in folds]))

    def probabilities(self, terms: sp.csr_matrix | None, dense: np.ndarray) -> np.ndarray:
        """P(class) for one row: sparse text terms (1, n_terms) and the weighted dense vector (dim,)."""
        scores = self.intercepts + self.weights[:, :, -dense.size:] @ dense
        if terms is not None:
            scores = scores + self.weights[:, :, terms.indices] @ terms.data
        if self.platt is None:
            exp = np.exp(scores[0] - scores[0].max())
            return exp / exp.sum()
        proba = 1.0 / (1.0 + np.exp(self.platt[:, :, 0] * scores + self.platt[:, :, 1]))
        sums = proba.sum(axis=1, keepdims=True)
        proba = np.where(sums > 0, proba / np.where(sums > 0, sums, 1.0), 1.0 / proba.shape[1])
        return proba.mean(axis=0)


Folds = list[tuple[np.ndarray, np.ndarray]]


def page_folds(examples: Sequence[RoutingExample], n_splits: int = CV_FOLDS, seed: int = CV_SEED) -> Folds:
    """Stratified k-fold (train, test) index pairs that never split the messages of one source page.

    Writers ground several messages on one page, and those share wording; a fold that holds out a
    message while training on its sibling scores it too kindly. Holding out whole pages scores the
    router as it meets new messages (the sealed splits share no page with training either).
    A correction has no page and is its own group.
    """
    labels = [e.level for e in examples]
    groups = [e.page for e in examples]
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(folds.split(np.zeros(len(labels)), labels, groups))


def out_of_fold_probabilities(pipeline: Pipeline, inputs: Sequence[RoutingInput], labels: Sequence[str],
                              folds: Folds) -> np.ndarray:
    """Out-of-fold P(level) over `folds` (see `page_folds`), shape (n, n_classes), classes in sorted order."""
    return cross_val_predict(clone(pipeline), list(inputs), np.asarray(labels), cv=folds, method="predict_proba")


def urgent_threshold(is_urgent: np.ndarray, p_urgent: np.ndarray, target: float = URGENT_RECALL_TARGET) -> float:
    """The highest P(urgent) threshold whose recall on these (out-of-fold) scores is >= target."""
    scores = np.sort(p_urgent[is_urgent])
    if scores.size == 0:
        return 0.5
    allowed_misses = math.floor(scores.size * (1 - target) + 1e-9)
    return float(scores[allowed_misses])


@dataclass(frozen=True)
class Neighbour:
    example: RoutingExample
    similarity: float  # cosine of the tf-idf term vectors


@dataclass(frozen=True)
class ModelDecision:
    level: str
    probabilities: dict[str, float]
    weighed_terms: list[str]  # the words that pushed the SVM most towards `level`
    neighbours: list[Neighbour]  # the nearest labelled examples (they vote in the decision)
    same_as: RoutingExample | None = None  # a labelled example with the same text decided it
    by_threshold: bool = False  # urgent by the cost-sensitive threshold, although not the most probable


def knn_votes(similarities: np.ndarray, onehot: np.ndarray, k: int = KNN_K) -> np.ndarray:
    """Similarity-weighted votes of the k most similar examples: (n, n_examples) x (n_examples, c) -> (n, c).

    Rows sum to 1 (uniform when no neighbour has a positive similarity).
    """
    k = min(k, similarities.shape[1])
    top = np.argpartition(-similarities, k - 1, axis=1)[:, :k]
    weights = np.clip(np.take_along_axis(similarities, top, axis=1), 0.0, None)
    votes = np.einsum("nk,nkc->nc", weights, onehot[top])
    totals = votes.sum(axis=1, keepdims=True)
    return np.where(totals > 0, votes / np.where(totals > 0, totals, 1.0), 1.0 / onehot.shape[1])


def _meta(svm_probabilities: np.ndarray, votes: np.ndarray) -> np.ndarray:
    """The stacker's input: log P_svm(level) and the neighbours' votes, (n, 2c)."""
    return np.hstack([np.log(svm_probabilities + 1e-6), votes])


@dataclass
class RouterModel:
    """A fitted router. Build with `fit_router_model`; call `decide` per message (about 1 ms).

    Two learners, stacked: the linear SVM with Platt scaling (`pipeline`) and a vote of the k most
    similar labelled examples by tf-idf cosine; a logistic regression (`stacker`) trained on their
    out-of-fold outputs turns both into one calibrated P(level).
    """

    pipeline: Pipeline
    stacker: LogisticRegression
    text_matrix: sp.csr_matrix  # (n_examples, n_terms) L2-normalised tf-idf of the examples
    urgent_threshold: float
    examples: list[RoutingExample]
    oof_probabilities: np.ndarray = field(repr=False)  # (n_examples, n_classes), stacked, out-of-fold

    def __post_init__(self) -> None:
        # Corrections come last, so an officer's label wins over a written example with the same text.
        self._same_text = {_char_text(e.text): e for e in self.examples}
        self._scorer = LinearScorer.of(self.pipeline.named_steps["model"])
        self._term_weights = self._scorer.weights.mean(axis=0)
        self._onehot = (np.asarray([e.level for e in self.examples])[:, None] == np.asarray(self.classes)).astype(float)
        self._text_columns = self.text_matrix.tocsc()

    # Derived state is rebuilt on load, so a cached model never carries stale helpers.
    _DERIVED = ("_same_text", "_scorer", "_term_weights", "_onehot", "_text_columns")

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in self._DERIVED}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    @property
    def classes(self) -> list[str]:
        return list(self.pipeline.classes_)

    def probabilities(self, inputs: Sequence[RoutingInput]) -> np.ndarray:
        """P(level) for many inputs through scikit-learn's own predict_proba: (n, n_classes), `classes` order.

        The reference for `decide`, which computes the same numbers faster for one message.
        """
        terms = self.pipeline.named_steps["features"].text_.transform([_doc(x) for x in inputs])
        votes = knn_votes((self.text_matrix @ normalize(terms).T).T.toarray(), self._onehot)
        return self.stacker.predict_proba(_meta(self.pipeline.predict_proba(list(inputs)), votes))

    def decide_from(self, probabilities: np.ndarray) -> tuple[str, bool]:
        """The cost-sensitive level for one row of probabilities, and whether the threshold made it urgent."""
        classes = self.classes
        best = classes[int(np.argmax(probabilities))]
        if best != URGENT and URGENT in classes and probabilities[classes.index(URGENT)] >= self.urgent_threshold:
            return URGENT, True
        return best, False

    def decide(self, text: str, tokens: Sequence[str], vector: np.ndarray) -> ModelDecision:
        """The level for one message (fugashi lemmas, e5 query vector of shape (dim,)), with its reasons."""
        probabilities, terms, similarities = self._score((_char_text(text), tuple(tokens)),
                                                         np.asarray(vector, np.float32))
        level, by_threshold = self.decide_from(probabilities)
        same = self._same_text.get(_char_text(text))
        if same is not None:
            level, by_threshold = same.level, False
        order = np.argsort(-similarities)[:_NEIGHBOURS]
        return ModelDecision(
            level=level,
            probabilities=dict(zip(self.classes, map(float, probabilities))),
            weighed_terms=self._weighed_terms(terms, level),
            neighbours=[Neighbour(self.examples[i], float(similarities[i])) for i in order],
            same_as=same,
            by_threshold=by_threshold,
        )

    def _score(self, doc: Doc, vector: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
        """P(level) for one message, its tf-idf terms and its similarity to every example.

        The same numbers as `probabilities` (a test checks it), computed from the fitted weights:
        scikit-learn's per-call input checks took most of the router's time per answer.
        """
        features: RoutingFeatures = self.pipeline.named_steps["features"]
        terms = features.text_.transform([doc])
        svm = self._scorer.probabilities(terms, vector * features.dense_weight)
        # cosine with every example: only the query's own columns matter (CSC slicing, no sparse product)
        norm = float(np.sqrt(terms.data @ terms.data)) or 1.0
        similarities = self._text_columns[:, terms.indices] @ (terms.data / norm)
        meta = _meta(svm[None, :], knn_votes(similarities[None, :], self._onehot))[0]
        logits = self.stacker.coef_ @ meta + self.stacker.intercept_
        exp = np.exp(logits - logits.max())
        return exp / exp.sum(), terms, similarities

    def _weighed_terms(self, terms: sp.csr_matrix, level: str) -> list[str]:
        names = self.pipeline.named_steps["features"].term_names_
        coef = self._term_weights[self.classes.index(level)]
        # Words only: character n-grams weigh too, but 「ふから」 tells a reader nothing.
        scored = sorted(((coef[j] * v, names[j]) for j, v in zip(terms.indices, terms.data)
                         if not names[j].startswith("「")), reverse=True)
        return [name for weight, name in scored[:_WEIGHED_TERMS] if weight > 0]


def fit_router_model(examples: Sequence[RoutingExample], inputs: Sequence[RoutingInput]) -> RouterModel:
    """Fit on all examples; the urgent threshold comes from 5-fold out-of-fold probabilities.

    Folds hold out whole source pages (`page_folds`). The SVM's out-of-fold probabilities and each
    example's leave-one-out neighbour votes train the stacker; the stacker's own out-of-fold
    probabilities set the threshold (the median over several fold draws). Shapes: one RoutingInput
    per example, in the same order. Raises RoutingDataError if a level has fewer than 5 examples.
    """
    labels = np.asarray([e.level for e in examples])
    counts = {level: int((labels == level).sum()) for level in set(labels)}
    thin = sorted(level for level, n in counts.items() if n < CV_FOLDS)
    if thin:
        raise RoutingDataError(f"ルーティングの例文が少なすぎるレベルがあります: {thin}(各 {CV_FOLDS} 件以上必要です)。")
    classes = sorted(counts)
    folds = page_folds(examples)
    svm_oof = out_of_fold_probabilities(make_pipeline(), inputs, labels, folds)
    svm = make_pipeline().fit(list(inputs), labels)
    text_matrix = normalize(svm.named_steps["features"].text_.transform([_doc(x) for x in inputs])).tocsr()
    similarities = (text_matrix @ text_matrix.T).toarray()
    np.fill_diagonal(similarities, -1.0)  # leave one out: an example does not vote for itself
    onehot = (labels[:, None] == np.asarray(classes)).astype(float)
    meta = _meta(svm_oof, knn_votes(similarities, onehot))
    stacker = LogisticRegression(C=STACKER_C, max_iter=2000)
    oof = cross_val_predict(stacker, meta, labels, cv=folds, method="predict_proba")
    threshold = _stable_threshold(stacker, meta, labels, examples, oof) if URGENT in counts else 1.0
    return RouterModel(svm, stacker.fit(meta, labels), text_matrix, threshold, list(examples), oof)


def _stable_threshold(stacker: LogisticRegression, meta: np.ndarray, labels: np.ndarray,
                      examples: Sequence[RoutingExample], oof: np.ndarray) -> float:
    """The median over THRESHOLD_REPEATS fold draws of the urgent threshold on the stacker's
    out-of-fold probabilities. One draw's threshold is a low order statistic of a few hundred urgent
    probabilities and moves with the draw; the median moves less (the stacker refits in milliseconds)."""
    u = sorted(set(labels)).index(URGENT)
    is_urgent = labels == URGENT
    thresholds = [urgent_threshold(is_urgent, oof[:, u])]
    for seed in range(CV_SEED + 1, CV_SEED + THRESHOLD_REPEATS):
        draw = cross_val_predict(stacker, meta, labels, cv=page_folds(examples, seed=seed), method="predict_proba")
        thresholds.append(urgent_threshold(is_urgent, draw[:, u]))
    return float(np.median(thresholds))


def build_inputs(texts: Sequence[str], tokenizer: Callable[[str], list[str]],
                 embed_questions: Callable[[list[str]], np.ndarray]) -> list[RoutingInput]:
    """RoutingInputs for many texts: one batched embedding call, one tokeniser call per text."""
    vectors = embed_questions(list(texts)) if texts else np.zeros((0, 1), dtype=np.float32)
    return [RoutingInput(t, tuple(tokenizer(t)), v) for t, v in zip(texts, vectors)]


def training_key(examples: Sequence[RoutingExample], embedder: str, tokenizer: str) -> str:
    """What a fitted model depends on: examples, embedder, tokeniser, router and library versions."""
    digest = hashlib.sha256()
    for part in (ROUTER_VERSION, sklearn.__version__, embedder, tokenizer):
        digest.update(part.encode() + b"\0")
    for e in examples:
        digest.update(json.dumps([e.id, e.text, e.level, e.officer], ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()[:24]


def load_or_fit(examples: Sequence[RoutingExample], key: str, cache_dir: Path,
                make_inputs: Callable[[list[str]], list[RoutingInput]]) -> RouterModel:
    """The fitted model for these examples: from cache_dir/router-<key>.joblib, else fitted and cached.

    A newly cached model replaces the others (about 20 MB each; every officer's correction changes the key).
    """
    path = cache_dir / f"router-{key}.joblib"
    if path.is_file():
        try:
            return joblib.load(path)
        except Exception:  # a cache written by another version or cut short: refit
            log.warning("router cache %s unreadable; refitting", path)
    model = fit_router_model(examples, make_inputs([e.text for e in examples]))
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    joblib.dump(model, partial)
    partial.replace(path)
    for stale in cache_dir.glob("router-*.joblib"):
        if stale != path:
            stale.unlink(missing_ok=True)
    return model
