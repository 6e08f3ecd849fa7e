"""Index builds: chunks -> Chroma (dense, our embeddings, cosine) + bm25s (fugashi tokens) + a manifest,
in the layout `assistant.core.index` reads (see its docstring).

So a failed or killed build never touches the index being served; the swap is one os.replace.
A rebuild (not forced) takes the vectors of unchanged chunk texts from the serving build, so an edit to
the manifest or one added file does not re-embed the whole manual.
A failed build removes its own folder; a killed one is removed by the next build. `index/.lock` keeps
two ingests from building (and pruning each other's folders) at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

import bm25s
import numpy as np
from tqdm import tqdm

from assistant.core.chunks import Chunk
from assistant.core.embeddings import VectorEmbeddings
from assistant.core.index import (
    INDEX_FORMAT,
    IndexManifest,
    IndexStore,
    chroma_client,
    collection_name,
    open_collection,
)
from assistant.core.settings import Settings
from assistant.core.tokens import TOKENIZER_NAME, Tokenizer
from ingest.errors import IngestError

_KEEP_BUILDS = 2  # the one serving and the one before it (a running server may still read it)


@dataclass(frozen=True)
class BuildInput:
    files: list[Path]
    pages: int
    chunks: list[Chunk]
    corpus_hash: str


def build_key(corpus_hash: str, embedder: str, tokenizer: str) -> str:
    return hashlib.sha256(f"{INDEX_FORMAT}|{corpus_hash}|{embedder}|{tokenizer}".encode()).hexdigest()


class BuildStore(IndexStore):
    """The store as ingest uses it: the right to build, the swap to a new build, pruning old ones."""

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive right to build, check and prune. The OS releases it when the holder dies (even SIGKILL)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IngestError(
                    "別の取り込み(kasuhara ingest)が実行中です。終わってからもう一度実行してください。"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def swap_to(self, build_id: str) -> None:
        tmp = self.pointer.with_suffix(".tmp")
        tmp.write_text(json.dumps({"build": build_id}), encoding="utf-8")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.pointer)

    def prune(self, settings: Settings) -> None:
        """Remove incomplete builds and all but the newest complete ones."""
        current = self.current_id()
        complete, incomplete = [], []
        for build in sorted(self.builds.glob("*")):
            (complete if (build / "manifest.json").exists() else incomplete).append(build)
        keep = {b.name for b in complete[-_KEEP_BUILDS:]} | {current}
        for build in incomplete + [b for b in complete if b.name not in keep]:
            _drop_remote_collection(settings, build)
            shutil.rmtree(build, ignore_errors=True)


def _drop_remote_collection(settings: Settings, build: Path) -> None:
    """Delete a pruned or failed build's collection on the Chroma server (a local one goes with its folder)."""
    manifest = build / "manifest.json"
    info = IndexManifest.read(manifest) if manifest.exists() else None
    chroma_url = info.chroma_url if info else settings.chroma_url  # an incomplete build wrote to the configured server
    if not chroma_url:
        return
    name = info.collection if info else collection_name(build.name)
    try:
        client = chroma_client(settings, None, chroma_url)
        if name in {c.name for c in client.list_collections()}:
            client.delete_collection(name)
    except Exception:  # an unreachable server must not stop the build; the collection is only litter
        pass


def write_build(
    settings: Settings,
    build_input: BuildInput,
    embeddings: VectorEmbeddings,
    tokenizer: Tokenizer,
    progress: bool = True,
    reuse: bool = False,
) -> IndexManifest:
    """Write a complete build aside, then swap CURRENT to it. With `reuse`, texts the serving build
    already embedded with the same embedder keep their vectors."""
    started = time.perf_counter()
    store = BuildStore(settings.index_dir)
    build_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f") + "-" + build_input.corpus_hash[:8]
    build_dir = store.builds / build_id
    build_dir.mkdir(parents=True)
    chunks = build_input.chunks
    collection = collection_name(build_id)
    try:
        _write_chunks(build_dir / "chunks.jsonl", chunks)
        _write_bm25(build_dir / "bm25", [tokenizer(c.text) for c in chunks])
        known = _previous_vectors(settings, store, embeddings.name) if reuse else {}
        vectors = _embed(embeddings, chunks, settings.embedding_batch_size, progress, known)
        _write_chroma(settings, build_dir / "chroma", collection, chunks, vectors)
    except BaseException:
        # CURRENT still names the previous build; this half-written one is only litter.
        _drop_remote_collection(settings, build_dir)
        shutil.rmtree(build_dir, ignore_errors=True)
        raise

    manifest = IndexManifest(
        build_id=build_id,
        build_key=build_key(build_input.corpus_hash, embeddings.name, TOKENIZER_NAME),
        corpus_hash=build_input.corpus_hash,
        embedder=embeddings.name,
        tokenizer=TOKENIZER_NAME,
        chunk_count=len(chunks),
        files=[p.name for p in build_input.files],
        pages=build_input.pages,
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        seconds=round(time.perf_counter() - started, 3),
        chroma_url=settings.chroma_url,
        collection=collection,
    )
    (build_dir / "manifest.json").write_text(
        json.dumps(asdict(manifest), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    store.swap_to(build_id)
    store.prune(settings)
    return manifest


def _write_chunks(path: Path, chunks: Iterable[Chunk]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for chunk in chunks:
            fh.write(json.dumps(chunk.to_json(), ensure_ascii=False) + "\n")


def _write_bm25(path: Path, corpus_tokens: list[list[str]]) -> None:
    if not any(corpus_tokens):
        # bm25s cannot build a vocabulary from nothing; a never-queried token keeps every score at 0.
        corpus_tokens = [[""] for _ in corpus_tokens]
    retriever = bm25s.BM25()  # Lucene IDF: never zero or negative, even for a term in half the chunks
    retriever.index(corpus_tokens, show_progress=False)
    retriever.save(str(path))


def _text_key(text: str) -> str:
    """What a stored vector was computed from (recorded in Chroma, so reuse never trusts a stale formula)."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _previous_vectors(settings: Settings, store: IndexStore, embedder: str) -> dict[str, np.ndarray]:
    """text key -> vector from the serving build, when it used the same embedder; {} if unreadable."""
    manifest = store.current_manifest()
    if manifest is None or manifest.embedder != embedder:
        return {}
    try:
        collection = open_collection(settings, store.builds / manifest.build_id, manifest)
        stored = collection.get(include=["embeddings", "metadatas"])
    except Exception:  # a missing folder or an unreachable server: embed everything, as for a first build
        return {}
    return {
        meta["text"]: np.asarray(vector, dtype=np.float32)
        for meta, vector in zip(stored["metadatas"], stored["embeddings"])
        if meta and "text" in meta
    }


def _embed(
    embeddings: VectorEmbeddings, chunks: list[Chunk], batch: int, progress: bool,
    known: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    texts = [c.embedding_text for c in chunks]
    known = known or {}
    vectors: list[np.ndarray | None] = [known.get(_text_key(t)) for t in texts]
    todo = [i for i, v in enumerate(vectors) if v is None]
    reused = len(texts) - len(todo)
    desc = f"埋め込み(変更のない {reused} 件は再利用)" if reused else "埋め込み"
    with tqdm(total=len(todo), desc=desc, unit="件", disable=not progress) as bar:
        for start in range(0, len(todo), batch):
            rows = todo[start:start + batch]
            for row, vector in zip(rows, embeddings.embed_passages([texts[r] for r in rows])):
                vectors[row] = vector
            bar.update(len(rows))
    return np.vstack(vectors) if vectors else np.zeros((0, 1), dtype=np.float32)


def _write_chroma(
    settings: Settings, persist_dir: Path, name: str, chunks: list[Chunk], vectors: np.ndarray
) -> None:
    client = chroma_client(settings, persist_dir)
    # embedding_function=None: Chroma must never embed (its default model would be downloaded).
    collection = client.create_collection(
        name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )
    batch = 1000
    for start in range(0, len(chunks), batch):
        part = chunks[start:start + batch]
        collection.add(
            ids=[c.id for c in part],
            embeddings=vectors[start:start + batch],
            metadatas=[
                {"row": start + i, "page": c.page or 0, "text": _text_key(c.embedding_text)}
                for i, c in enumerate(part)
            ],
        )


