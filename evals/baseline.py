"""The pipeline a user would build first with LangChain defaults, measured beside ours.

Same cleaned page text (evals.pages) and the same embedder; only chunking and tokenisation differ:
- chunks: `RecursiveCharacterTextSplitter` with Japanese separators, fixed size and overlap;
- dense: `langchain_chroma.Chroma.from_texts` on an in-memory Chroma, cosine space, top-k;
- lexical: bm25s over `text.split()` (whitespace tokens, i.e. what you get without a Japanese tokeniser).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field

import bm25s
import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from evals.pages import SourcePage

BASELINE_MODES = ("chroma", "bm25-whitespace")
_CHROMA_SETTINGS = ChromaSettings(anonymized_telemetry=False, allow_reset=False)


@dataclass(frozen=True)
class BaselineConfig:
    chunk_size: int = 250
    chunk_overlap: int = 30
    separators: list[str] = field(default_factory=lambda: ["\n\n", "\n", "。", "、", ""])

    def to_json(self) -> dict:
        return asdict(self)


class Baseline:
    def __init__(self, pages: list[SourcePage], embeddings: Embeddings,
                 config: BaselineConfig | None = None) -> None:
        self.config = config or BaselineConfig()
        splitter = RecursiveCharacterTextSplitter(
            separators=self.config.separators,
            chunk_size=self.config.chunk_size,
            chunk_overlap=self.config.chunk_overlap,
        )
        self.texts: list[str] = [piece for page in pages for piece in splitter.split_text(page.text)]
        self._store: Chroma | None = None
        self._bm25: bm25s.BM25 | None = None
        if not self.texts:
            return
        self._store = Chroma.from_texts(
            self.texts,
            embedding=embeddings,
            ids=[str(i) for i in range(len(self.texts))],
            collection_name=f"eval-baseline-{uuid.uuid4().hex[:12]}",
            client=chromadb.EphemeralClient(settings=_CHROMA_SETTINGS),
            collection_metadata={"hnsw:space": "cosine"},
        )
        self._bm25 = bm25s.BM25()
        self._bm25.index([text.split() or [""] for text in self.texts], show_progress=False)

    def search(self, mode: str, query: str, k: int) -> list[str]:
        """The texts of the top k baseline chunks, best first."""
        if mode == "chroma":
            return self.dense(query, k)
        if mode == "bm25-whitespace":
            return self.lexical(query, k)
        raise ValueError(f"unknown baseline mode {mode!r}; choose one of {BASELINE_MODES}")

    def dense(self, query: str, k: int) -> list[str]:
        if self._store is None:
            return []
        docs = self._store.similarity_search(query, k=min(k, len(self.texts)))
        return [d.page_content for d in docs]

    def lexical(self, query: str, k: int) -> list[str]:
        if self._bm25 is None:
            return []
        vocabulary = self._bm25.vocab_dict
        tokens = [t for t in query.split() if t in vocabulary]
        if not tokens:
            return []
        scores = np.asarray(self._bm25.get_scores(tokens))
        order = [row for row in np.argsort(-scores, kind="stable") if scores[row] > 0][:k]
        return [self.texts[row] for row in order]

    def close(self) -> None:
        if self._store is not None:
            self._store.delete_collection()
            self._store = None
