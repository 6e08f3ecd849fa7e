"""One evaluation run: the question set through every retrieval mode, both fusions, the baseline and
the whole assistant, on the same questions, into one `EvalResult`.

Retrieval and answers come from the assistant API (`HybridRetriever`, `Assistant.ask`), never from a
re-implementation. Gold relevance: a chunk is relevant when it contains one of the question's evidence
substrings (NFKC); questions with answerable=false are left out of the retrieval metrics.
"""

from __future__ import annotations

import sys
import tempfile
import time
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from tqdm import tqdm

from assistant.answering import Answer, Assistant
from assistant.citations import Citation
from assistant.core.embeddings import VectorEmbeddings
from assistant.core.index import IndexReader
from assistant.core.levels import LEVELS
from assistant.core.settings import Settings
from assistant.question_log import QuestionLog
from assistant.retrieval import FUSIONS, MODES, HybridRetriever, check_choice
from evals import metrics, routing_report
from evals.baseline import BASELINE_MODES, Baseline, BaselineConfig
from evals.dataset import DEFAULT_SET, EvalQuestion, check_evidence, load_questions
from evals.pages import source_pages
from evals.routing_eval import evaluate_routing

K = 10  # ranking depth for MRR@10 and nDCG@10
RETRIEVAL_METRICS = ("recall_at_1", "recall_at_3", "mrr_at_10", "ndcg_at_10", "chars_at_3")
ASSISTANT_METRICS = ("escalation_accuracy", "abstention_precision", "abstention_recall",
                     "citation_validity", "latency_p50_ms", "latency_p95_ms")
LOWER_IS_BETTER = ("chars_at_3", "latency_p50_ms", "latency_p95_ms")
ASSISTANT_ROW = "assistant"


@dataclass(frozen=True)
class RetrievalMetrics:
    recall_at_1: float
    recall_at_3: float
    mrr_at_10: float
    ndcg_at_10: float
    chars_at_3: float  # characters a reader gets in the top 3 (what a Recall@3 hit costs to read)
    questions: int
    chunks: int  # size of the collection ranked (the assistant row: the index)


@dataclass(frozen=True)
class AssistantMetrics:
    questions: int
    escalation_accuracy: float
    levels: list[str]
    confusion: list[list[int]]  # rows: expected level, columns: routed level, in `levels` order
    abstention_precision: float
    abstention_recall: float
    abstained: int
    out_of_scope: int
    citation_validity: float
    citations_checked: int
    invalid_citations: list[str]
    latency_p50_ms: float
    latency_p95_ms: float


@dataclass(frozen=True)
class QuestionOutcome:
    id: str
    question: str
    answerable: bool
    expected_level: str
    level: str
    answered: bool
    first_gold_rank: dict[str, int | None]  # per retrieval row; None when no gold in the top K


@dataclass(frozen=True)
class EvalResult:
    created_at: str
    question_set: str
    questions: int
    answerable: int
    index_version: str
    embedder: str
    default_fusion: str
    modes: list[str]
    baseline: dict[str, Any]
    retrieval: dict[str, RetrievalMetrics]
    fusions: dict[str, RetrievalMetrics]
    assistant: AssistantMetrics
    outcomes: list[QuestionOutcome] = field(default_factory=list)
    routing: dict[str, Any] | None = None  # evals.routing_eval.RoutingReport as JSON
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def flat(self) -> dict[str, float]:
        return flatten(self.to_json())


def flatten(data: dict[str, Any]) -> dict[str, float]:
    """The comparable numbers of a result (or its JSON): retrieval.<row>.<metric>, fusion.<name>.<metric>,
    assistant.<metric>."""
    out: dict[str, float] = {}
    for section, prefix in (("retrieval", "retrieval"), ("fusions", "fusion")):
        for row, values in data.get(section, {}).items():
            for name in RETRIEVAL_METRICS:
                if name in values:
                    out[f"{prefix}.{row}.{name}"] = float(values[name])
    for name in ASSISTANT_METRICS:
        if name in data.get("assistant", {}):
            out[f"assistant.{name}"] = float(data["assistant"][name])
    if data.get("routing"):
        out.update(routing_report.flat(data["routing"]))
    return out


def parse_modes(values: Iterable[str]) -> list[str]:
    """Retrieval modes from repeated and/or comma-separated values, in canonical order; all by default."""
    chosen = {v.strip() for value in values for v in value.split(",") if v.strip()}
    for mode in chosen:
        check_choice("検索方式", mode, MODES)
    return [m for m in ("bm25", "dense", "hybrid") if m in chosen] or ["bm25", "dense", "hybrid"]


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _gold_flags(question: EvalQuestion, texts: Sequence[str]) -> list[bool]:
    evidence = [_nfkc(e) for e in question.evidence]
    return [any(e in _nfkc(t) for e in evidence) for t in texts]


class _RankingAccumulator:
    """Per-question ranking metrics for one retrieval row."""

    def __init__(self, collection_size: int) -> None:
        self.collection_size = collection_size
        self.r1: list[float] = []
        self.r3: list[float] = []
        self.rr: list[float] = []
        self.ndcg: list[float] = []
        self.chars: list[float] = []

    def add(self, relevance: list[bool], relevant_total: int, texts: Sequence[str]) -> int | None:
        self.r1.append(metrics.recall_at_k(relevance, 1))
        self.r3.append(metrics.recall_at_k(relevance, 3))
        self.rr.append(metrics.reciprocal_rank(relevance, K))
        self.ndcg.append(metrics.ndcg_at_k(relevance, K, relevant_total))
        self.chars.append(float(sum(len(t) for t in texts[:3])))
        return next((rank for rank, rel in enumerate(relevance[:K], start=1) if rel), None)

    def result(self) -> RetrievalMetrics:
        return RetrievalMetrics(
            recall_at_1=metrics.mean(self.r1), recall_at_3=metrics.mean(self.r3),
            mrr_at_10=metrics.mean(self.rr), ndcg_at_10=metrics.mean(self.ndcg),
            chars_at_3=metrics.mean(self.chars), questions=len(self.r1), chunks=self.collection_size,
        )


class _QueryCache(VectorEmbeddings):
    """The assistant's embedder, remembering query vectors, so the diagnostic rows and the baseline
    reuse the vector the assistant computed for the same text (its own latency stays uncached)."""

    def __init__(self, inner: VectorEmbeddings) -> None:
        self.inner = inner
        self.name = inner.name
        self._vectors: dict[str, Any] = {}

    def remember(self, text: str, vector: Any) -> None:
        self._vectors[text] = vector

    def embed_passages(self, texts: Sequence[str]):
        return self.inner.embed_passages(texts)

    def embed_question(self, text: str):
        if text not in self._vectors:
            self._vectors[text] = self.inner.embed_question(text)
        return self._vectors[text]


def index_is_stale(settings: Settings) -> bool:
    """True when the corpus, embedder or tokeniser changed since the index being served was built
    (then `kasuhara ingest` must run first, or the evaluation measures the old corpus)."""
    from assistant.core.embeddings import embedder_name
    from assistant.core.index import IndexStore
    from assistant.core.tokens import TOKENIZER_NAME
    from ingest.index import build_key
    from ingest.pipeline import prepare

    manifest = IndexStore(settings.index_dir).current_manifest()
    if manifest is None:
        return True
    key = build_key(prepare(settings).corpus_hash, embedder_name(settings), TOKENIZER_NAME)
    return manifest.build_key != key


def citation_problems(citations: Sequence[Citation], by_id: dict, pages: dict[tuple[str, int | None], str]) -> list[str]:
    """Why each invalid citation fails: unknown chunk, quote not verbatim in the chunk, or not in the
    cleaned source page text."""
    problems = []
    for c in citations:
        chunk = by_id.get(c.chunk_id)
        if chunk is None:
            problems.append(f"{c.chunk_id}: 索引にない断片")
        elif c.quote not in chunk.text:
            problems.append(f"{c.chunk_id}: 引用が断片の本文と一致しない")
        elif c.quote not in pages.get((chunk.source_file, chunk.page), ""):
            problems.append(f"{c.chunk_id}: 引用が元ページ({chunk.source_file} p.{chunk.page})の本文にない")
    return problems


def run(
    settings: Settings,
    set_path: Path = DEFAULT_SET,
    modes: Sequence[str] = ("bm25", "dense", "hybrid"),
    baseline: bool = True,
    baseline_config: BaselineConfig | None = None,
    progress: bool = True,
    log_questions: bool = False,
    assistant_factory: Callable[[Settings, QuestionLog], Assistant] | None = None,
    routing_cv: bool = True,
) -> EvalResult:
    """Evaluate the question set at `set_path` against the current index.

    Eval questions go to a scratch question log unless `log_questions` (then to the configured log,
    surface "eval"), so officers' statistics are not filled with test traffic.
    The routing set is scored too (evals.routing_eval): sealed split always, nested cross-validation
    unless `routing_cv` is False (it refits the router about 30 times).
    Raises `evals.dataset.DatasetError` when a gold evidence substring no longer occurs in the index.
    """
    started = time.perf_counter()
    modes = parse_modes(modes)
    check_choice("統合方式", settings.fusion, FUSIONS)
    questions = load_questions(set_path)
    # Before anything else loads: a corpus edit that dropped gold text is the evaluator's first news.
    check_evidence(questions, IndexReader(settings).chunks)
    with tempfile.TemporaryDirectory(prefix="kasuhara-eval-") as scratch, QuestionLog.open(settings) as officers_log:
        if log_questions:
            question_log = officers_log
        else:
            question_log = QuestionLog(f"sqlite:///{Path(scratch) / 'eval-log.db'}", Path(scratch) / "spool",
                                       mask=settings.mask_personal_data)
        # The router learns from officers' corrections in the real log, whichever log the answers go to.
        default_factory = lambda s, l: Assistant(  # noqa: E731
            s, question_log=l, corrections=officers_log.level_corrections)
        try:
            assistant = (assistant_factory or default_factory)(settings, question_log)
            result = _run(settings, assistant, questions, set_path, modes, baseline,
                          baseline_config or BaselineConfig(), progress, started)
            routing = evaluate_routing(assistant, cross_validate=routing_cv, progress=progress)
            return replace(result, routing=routing.to_json(),
                           seconds=round(time.perf_counter() - started, 2))
        finally:
            question_log.close()


def _run(settings: Settings, assistant: Assistant, questions: list[EvalQuestion], set_path: Path,
         modes: list[str], with_baseline: bool, baseline_config: BaselineConfig, progress: bool,
         started: float) -> EvalResult:
    reader = assistant.reader
    check_evidence(questions, reader.chunks)
    pages = source_pages(settings)
    page_text = {p.key: p.text for p in pages}

    embeddings = _QueryCache(assistant.embeddings)

    def retriever(mode: str, fusion: str) -> HybridRetriever:
        # The assistant's own retriever with another mode/fusion: whatever else it is configured with
        # (tokeniser, query expansion...) stays the same, so the rows differ only in what they name.
        return assistant.retriever.model_copy(
            update={"embeddings": embeddings, "k": K, "mode": mode, "fusion": fusion})

    rows: dict[str, HybridRetriever] = {m: retriever(m, settings.fusion) for m in modes if m != "hybrid"}
    fusion_rows: dict[str, HybridRetriever] = (
        {f: retriever("hybrid", f) for f in FUSIONS} if "hybrid" in modes else {}
    )
    base = Baseline(pages, embeddings, baseline_config) if with_baseline else None
    n_chunks = len(reader.chunks)
    acc = {name: _RankingAccumulator(n_chunks) for name in rows}
    fusion_acc = {name: _RankingAccumulator(n_chunks) for name in fusion_rows}
    acc[ASSISTANT_ROW] = _RankingAccumulator(n_chunks)
    if base is not None:
        for mode in BASELINE_MODES:
            acc[f"baseline:{mode}"] = _RankingAccumulator(len(base.texts))

    expected, routed, out_of_scope, abstained, latencies = [], [], [], [], []
    invalid: list[str] = []
    checked = 0
    outcomes: list[QuestionOutcome] = []
    try:
        for q in tqdm(questions, desc="評価", unit="問", file=sys.stderr, disable=not progress):
            answer: Answer = assistant.ask(q.question, list(q.history), surface="eval")
            if answer.retrieval is not None:
                embeddings.remember(answer.retrieval.query, answer.retrieval.vector)
            expected.append(q.level)
            routed.append(answer.route.level)
            out_of_scope.append(not q.answerable)
            abstained.append(not answer.answered)
            latencies.append(answer.latency_ms)
            problems = citation_problems(answer.citations, reader.by_id, page_text)
            checked += len(answer.citations)
            invalid += [f"{q.id} {p}" for p in problems]
            first_gold: dict[str, int | None] = {}
            if q.answerable:
                # the text the assistant retrieved on (cleaned, follow-up folded in)
                text = answer.retrieval.query if answer.retrieval else assistant.context_text(q.question, q.history)
                gold = _gold_flags(q, [c.text for c in reader.chunks])
                gold_total = sum(gold)
                gold_ids = {c.id for c, g in zip(reader.chunks, gold) if g}
                for name, r in rows.items():
                    hits = r.retrieve(text).hits
                    first_gold[name] = acc[name].add([h.chunk.id in gold_ids for h in hits], gold_total,
                                                     [h.chunk.text for h in hits])
                for name, r in fusion_rows.items():
                    hits = r.retrieve(text).hits
                    first_gold[f"hybrid:{name}"] = fusion_acc[name].add(
                        [h.chunk.id in gold_ids for h in hits], gold_total, [h.chunk.text for h in hits])
                cited = answer.citations[:K]
                first_gold[ASSISTANT_ROW] = acc[ASSISTANT_ROW].add(
                    [c.chunk_id in gold_ids for c in cited], gold_total, [c.quote for c in cited])
                if base is not None:
                    base_total = sum(_gold_flags(q, base.texts))
                    for mode in BASELINE_MODES:
                        texts = base.search(mode, text, K)
                        first_gold[f"baseline:{mode}"] = acc[f"baseline:{mode}"].add(
                            _gold_flags(q, texts), base_total, texts)
            if f"hybrid:{settings.fusion}" in first_gold:
                first_gold["hybrid"] = first_gold[f"hybrid:{settings.fusion}"]
            outcomes.append(QuestionOutcome(q.id, q.question, q.answerable, q.level, answer.route.level, answer.answered,
                                            first_gold))
    finally:
        if base is not None:
            base.close()

    retrieval = {name: a.result() for name, a in acc.items()}
    fusions = {name: a.result() for name, a in fusion_acc.items()}
    if fusions:
        retrieval["hybrid"] = fusions[settings.fusion]
    order = [m for m in ("bm25", "dense", "hybrid") if m in retrieval] + [ASSISTANT_ROW] + [
        f"baseline:{m}" for m in BASELINE_MODES if f"baseline:{m}" in retrieval]
    abstention = metrics.precision_recall(out_of_scope, abstained)
    assistant_metrics = AssistantMetrics(
        questions=len(questions),
        escalation_accuracy=metrics.accuracy(expected, routed),
        levels=list(LEVELS),
        confusion=metrics.confusion(expected, routed, LEVELS),
        abstention_precision=abstention.precision,
        abstention_recall=abstention.recall,
        abstained=abstention.predicted_positives,
        out_of_scope=abstention.actual_positives,
        citation_validity=(checked - len(invalid)) / checked if checked else 1.0,
        citations_checked=checked,
        invalid_citations=invalid,
        latency_p50_ms=metrics.percentile(latencies, 50),
        latency_p95_ms=metrics.percentile(latencies, 95),
    )
    return EvalResult(
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        question_set=str(set_path),
        questions=len(questions),
        answerable=sum(1 for q in questions if q.answerable),
        index_version=reader.version,
        embedder=assistant.embeddings.name,
        default_fusion=settings.fusion,
        modes=list(modes),
        baseline=base.config.to_json() | {"chunks": len(base.texts)} if base is not None else {},
        retrieval={name: retrieval[name] for name in order},
        fusions=fusions,
        assistant=assistant_metrics,
        outcomes=outcomes,
        seconds=round(time.perf_counter() - started, 2),
    )
