"""Chunks: the unit the index holds and answers quote (a bullet, a paragraph, a part of a long one),
with where it sits in the manual. Written by ingest, read by the index reader and the answering code."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Chunk:
    id: str
    document: str
    document_title: str
    chapter: str
    page_title: str
    section_path: tuple[str, ...]
    page: int | None
    source_url: str
    source_file: str
    kind: str
    start: int
    end: int
    text: str

    @property
    def section(self) -> str:
        """Human-readable location: chapter › page title › section."""
        return " › ".join(p for p in (self.chapter, *self.section_path) if p)

    @property
    def embedding_text(self) -> str:
        # The bare text: prefixing the shared headings made every bullet of a page look alike to e5
        # (dense Recall@1 on the evaluation set fell from 0.57 to 0.41).
        return self.text

    def to_json(self) -> dict:
        data = asdict(self)
        data["section_path"] = list(self.section_path)
        data["section"] = self.section
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Chunk":
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["section_path"] = tuple(fields["section_path"])
        return cls(**fields)


def corpus_fingerprint(chunks: Iterable[Chunk]) -> str:
    """SHA-256 (hex) of the chunk texts, whatever their order: what a fit on the corpus depends on
    (the abstention calibration), unlike chapter labels or file names."""
    digest = hashlib.sha256()
    for text in sorted(chunk.text for chunk in chunks):
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()
