"""Chunks: structured blocks -> Chunk objects with provenance and stable ids.

A chunk is one viewpoint, one bullet or one paragraph (long paragraphs are cut at sentence ends).
Its `text` is the verbatim quote; headings travel as metadata (section_path).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from typing import Iterable

from assistant.core.chunks import Chunk
from ingest.cleaning import squeeze
from ingest.structure import Block, StructuredPage

MAX_CHUNK_CHARS = 400
_SENTENCE = re.compile(r".+?(?:[。！？!?]|$)", re.S)


def make_chunks(pages: Iterable[StructuredPage]) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: Counter[str] = Counter()
    first_source: dict[tuple, str] = {}
    for page in pages:
        for block in page.blocks:
            for start, end in _pieces(block):
                chunk = _chunk(page, block, start, end, seen)
                # The same page from two sources (the shipped page-text export and the whole PDF) is
                # indexed once: a passage another file already gave for that document page is skipped.
                key = (chunk.document, chunk.page, squeeze(chunk.text))
                if first_source.setdefault(key, chunk.source_file) == chunk.source_file:
                    chunks.append(chunk)
    return chunks


def _pieces(block: Block) -> list[tuple[int, int]]:
    """Spans (in page text) of the block, cut at sentence ends when it is too long to quote whole."""
    if len(block.text) <= MAX_CHUNK_CHARS:
        return [(block.start, block.end)]
    pieces: list[tuple[int, int]] = []
    piece_start = 0
    for sentence in _SENTENCE.finditer(block.text):
        if sentence.end() - piece_start > MAX_CHUNK_CHARS and sentence.start() > piece_start:
            pieces.append((piece_start, sentence.start()))
            piece_start = sentence.start()
    pieces.append((piece_start, len(block.text)))
    return [(block.start + a, block.start + b) for a, b in pieces]


def _chunk(page: StructuredPage, block: Block, start: int, end: int, seen: Counter[str]) -> Chunk:
    raw = page.clean.raw
    text = page.text[start:end]
    key = json.dumps([raw.document.id, raw.page, block.section_path, text], ensure_ascii=False)
    seen[key] += 1  # identical text twice in one section still gets two distinct, stable ids
    digest = hashlib.sha256(f"{key}#{seen[key]}".encode()).hexdigest()[:16]
    return Chunk(
        id=digest,
        document=raw.document.id,
        document_title=raw.document.title,
        chapter=raw.document.chapter_of(raw.page),
        page_title=page.title,
        section_path=block.section_path,
        page=raw.page,
        source_url=raw.source_url,
        source_file=raw.source.name,
        kind=block.kind,
        start=start,
        end=end,
        text=text,
    )
