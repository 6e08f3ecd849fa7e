"""Hybrid retrieval: BM25 over fugashi tokens + dense search in Chroma, fused.

Exposed as a LangChain `BaseRetriever` so it composes with LangChain chains; `retrieve()` returns the
richer `Retrieval` (hits with both scores, the query vector and tokens) that the assistant uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from assistant.core.chunks import Chunk
from assistant.core.errors import KasuharaError

MODES = ("hybrid", "bm25", "dense")
FUSIONS = ("rrf", "weighted")
RRF_K = 60  # the constant from Cormack et al.; damps the weight of rank 1 vs rank 2
_DENSE_POOL = 50


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    bm25: float
    dense: float
    bm25_rank: int | None  # 1-based; None when BM25 matched nothing
    dense_rank: int | None
    fused: float
    rank: int

    def to_log(self) -> dict[str, Any]:
        return {"chunk_id": self.chunk.id, "bm25": round(self.bm25, 4), "dense": round(self.dense, 4),
                "fused": round(self.fused, 5), "rank": self.rank}


@dataclass(frozen=True)
class Retrieval:
    query: str
    tokens: list[str]
    vector: np.ndarray
    hits: list[Hit]
    lexical_coverage: float  # share of the query's nouns that occur anywhere in the corpus

    @property
    def dense_top(self) -> float:
        return max((h.dense for h in self.hits), default=0.0)


class RetrievalModeError(KasuharaError):
    pass


def check_choice(kind: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise RetrievalModeError(f"{kind}「{value}」は使えません。{', '.join(choices)} のいずれかを指定してください。")
    return value


class HybridRetriever(BaseRetriever):
    """`reader` is an `ingest.index.IndexReader`; `tokenizer` the shared fugashi tokeniser
    (a callable with a `nouns` method, see assistant.core.tokens)."""

    reader: Any
    embeddings: Any
    tokenizer: Any
    glossary: Any = None  # assistant.glossary.Glossary: English phrases -> the manual's terms
    k: int = 5
    mode: str = "hybrid"
    fusion: str = "rrf"

    def retrieve(self, query: str, k: int | None = None) -> Retrieval:
        check_choice("検索方式", self.mode, MODES)
        check_choice("統合方式", self.fusion, FUSIONS)
        k = k or self.k
        lexical = self.glossary.expand(query) if self.glossary is not None else query
        tokens = self.tokenizer(lexical)
        vector = self.embeddings.embed_question(query)
        bm25 = self.reader.bm25_scores(tokens)
        dense = np.zeros(len(self.reader.chunks), dtype=np.float32)
        dense_rank: dict[int, int] = {}
        for position, (row, similarity) in enumerate(self.reader.dense_search(vector, _DENSE_POOL), start=1):
            dense[row], dense_rank[row] = similarity, position
        bm25_rank = _ranks(bm25)
        fused = self._fuse(bm25, bm25_rank, dense, dense_rank)
        found = set(bm25_rank) if self.mode == "bm25" else set(dense_rank) if self.mode == "dense" \
            else set(bm25_rank) | set(dense_rank)
        order = [int(row) for row in np.argsort(-fused, kind="stable") if int(row) in found][:k]
        hits = [
            Hit(self.reader.chunks[row], float(bm25[row]), float(dense[row]), bm25_rank.get(row),
                dense_rank.get(row), float(fused[row]), rank)
            for rank, row in enumerate(order, start=1)
        ]
        nouns = self.tokenizer.nouns(lexical)
        coverage = sum(t in self.reader.vocabulary for t in nouns) / len(nouns) if nouns else 0.0
        return Retrieval(query, tokens, vector, hits, coverage)

    def _fuse(self, bm25: np.ndarray, bm25_rank: dict[int, int], dense: np.ndarray,
              dense_rank: dict[int, int]) -> np.ndarray:
        n = len(bm25)
        if self.mode == "bm25":
            return _rank_scores(bm25_rank, n, rrf=False)
        if self.mode == "dense":
            return _rank_scores(dense_rank, n, rrf=False)
        if self.fusion == "rrf":
            return _rank_scores(bm25_rank, n, rrf=True) + _rank_scores(dense_rank, n, rrf=True)
        return 0.5 * _min_max(bm25) + 0.5 * _min_max(dense, mask=dense > 0)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [
            Document(
                page_content=hit.chunk.text,
                id=hit.chunk.id,
                metadata={"section": hit.chunk.section, "page": hit.chunk.page, "bm25": hit.bm25,
                          "dense": hit.dense, "fused": hit.fused, "rank": hit.rank},
            )
            for hit in self.retrieve(query).hits
        ]


def _ranks(scores: np.ndarray) -> dict[int, int]:
    """1-based ranks of the rows with a positive score."""
    order = [row for row in np.argsort(-scores, kind="stable") if scores[row] > 0]
    return {int(row): position for position, row in enumerate(order, start=1)}


def _rank_scores(ranks: dict[int, int], n: int, rrf: bool) -> np.ndarray:
    out = np.zeros(n, dtype=np.float64)
    for row, position in ranks.items():
        out[row] = 1.0 / (RRF_K + position) if rrf else 1.0 / position
    return out


def _min_max(scores: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    mask = scores > 0 if mask is None else mask
    if not mask.any():
        return np.zeros_like(scores, dtype=np.float64)
    low, high = float(scores[mask].min()), float(scores[mask].max())
    out = np.zeros_like(scores, dtype=np.float64)
    out[mask] = 1.0 if high == low else (scores[mask] - low) / (high - low)
    return out
