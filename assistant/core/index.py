"""The index as the answering side reads it: which build is current, its manifest, its chunks, BM25
scores and dense neighbours. Ingest writes builds (`ingest.index`); this module only reads them.

Layout under `data_dir/index/`:
    builds/<build_id>/manifest.json   written last: a build without it is incomplete
    builds/<build_id>/chunks.jsonl    the chunks, in BM25 row order
    builds/<build_id>/bm25/           bm25s index
    builds/<build_id>/chroma/         Chroma PersistentClient (when no Chroma URL is configured)
    CURRENT                           {"build": "<build_id>"}, replaced atomically when a build completes
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlparse

import bm25s
import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from assistant.core.chunks import Chunk
from assistant.core.embeddings import embedder_name
from assistant.core.errors import EmbedderMismatchError, IndexMissingError
from assistant.core.settings import Settings

INDEX_FORMAT = 1
NO_INDEX = "索引がまだありません。`kasuhara ingest` でマニュアルを取り込んでください。"


@dataclass(frozen=True)
class IndexManifest:
    build_id: str
    build_key: str
    corpus_hash: str
    embedder: str
    tokenizer: str
    chunk_count: int
    files: list[str]
    pages: int
    built_at: str
    seconds: float
    chroma_url: str | None
    collection: str
    format: int = INDEX_FORMAT

    @classmethod
    def read(cls, path: Path) -> "IndexManifest":
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def chroma_client(settings: Settings, persist_dir: Path | None, chroma_url: str | None = None) -> chromadb.ClientAPI:
    """A Chroma server's HttpClient when a URL is given (default: the configured one), else a
    PersistentClient in persist_dir."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    chroma_url = chroma_url if chroma_url is not None else settings.chroma_url
    if chroma_url:
        url = urlparse(chroma_url)
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or 8000,
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    assert persist_dir is not None
    return chromadb.PersistentClient(path=str(persist_dir), settings=chroma_settings)


def collection_name(build_id: str) -> str:
    """Derived from the build folder, so even a killed build's remote collection can be found and dropped."""
    return f"kasuhara-{build_id}".lower()


class IndexStore:
    """Where builds live and which one is current."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.builds = root / "builds"
        self.pointer = root / "CURRENT"

    def current_id(self) -> str | None:
        try:
            return json.loads(self.pointer.read_text(encoding="utf-8"))["build"]
        except FileNotFoundError:
            return None

    def current_manifest(self) -> IndexManifest | None:
        build = self.current_id()
        if build is None:
            return None
        return IndexManifest.read(self.builds / build / "manifest.json")

    def current_chunks(self) -> list[Chunk]:
        build = self.current_id()
        if build is None:
            raise IndexMissingError(NO_INDEX)
        return read_chunks(self.builds / build / "chunks.jsonl")


class IndexReader:
    """Read side of one complete build: chunks, BM25 scores, dense neighbours."""

    def __init__(self, settings: Settings, expected_embedder: str | None = None) -> None:
        store = IndexStore(settings.index_dir)
        manifest = store.current_manifest()
        if manifest is None:
            raise IndexMissingError(NO_INDEX)
        expected = expected_embedder or embedder_name(settings)
        if manifest.embedder != expected:
            raise EmbedderMismatchError(
                f"索引は埋め込みモデル「{manifest.embedder}」で作成されていますが、設定は「{expected}」です。"
                " `kasuhara ingest --force` で索引を作り直してください。"
            )
        self.manifest = manifest
        build_dir = store.builds / manifest.build_id
        self.chunks = read_chunks(build_dir / "chunks.jsonl")
        self.by_id = {c.id: c for c in self.chunks}
        self._bm25 = bm25s.BM25.load(str(build_dir / "bm25"))
        self._collection = open_collection(settings, build_dir, manifest)

    @property
    def version(self) -> str:
        return self.manifest.build_id

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """Every token that occurs in some chunk (the BM25 vocabulary)."""
        return frozenset(t for t in self._bm25.vocab_dict if t)

    def bm25_scores(self, tokens: list[str]) -> np.ndarray:
        if not tokens or not self.chunks:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(row, cosine similarity) of the k nearest chunks."""
        k = min(k, len(self.chunks))
        if k == 0:
            return []
        result = self._collection.query(
            query_embeddings=[vector.tolist()], n_results=k, include=["metadatas", "distances"]
        )
        return [
            (int(meta["row"]), 1.0 - float(distance))
            for meta, distance in zip(result["metadatas"][0], result["distances"][0])
        ]


def open_collection(settings: Settings, build_dir: Path, manifest: IndexManifest) -> chromadb.Collection:
    # The vectors are where this build put them: its own folder, or the server it was built on
    # (the configured URL wins, in case the server moved); not wherever the settings point today.
    chroma_url = (settings.chroma_url or manifest.chroma_url) if manifest.chroma_url else ""
    client = chroma_client(settings, build_dir / "chroma", chroma_url)
    return client.get_collection(manifest.collection, embedding_function=None)


def read_chunks(path: Path) -> list[Chunk]:
    with path.open(encoding="utf-8") as fh:
        return [Chunk.from_json(json.loads(line)) for line in fh if line.strip()]
