"""The cleaned page text of every corpus source: what chunks are cut from and citations must occur in.

Runs the same ingest stages as `ingest.pipeline.prepare` (load -> clean -> structure) without chunking,
so the baseline sees exactly the text our chunks come from.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.settings import Settings
from ingest.cleaning import clean_page
from ingest.loaders import discover_sources, load_pages
from ingest.manifest import load_manifest
from ingest.structure import structure_page


@dataclass(frozen=True)
class SourcePage:
    source_file: str  # file name, as in Chunk.source_file
    page: int | None
    document_title: str
    text: str

    @property
    def key(self) -> tuple[str, int | None]:
        return (self.source_file, self.page)


def source_pages(settings: Settings) -> list[SourcePage]:
    manifest = load_manifest(settings.manifest_path)
    pages = []
    for path in discover_sources(settings.corpus_dir):
        for raw in load_pages(path, manifest, settings.corpus_dir):
            structured = structure_page(clean_page(raw))
            pages.append(SourcePage(raw.source.name, raw.page, raw.document.title, structured.text))
    return pages
