"""The cleaned page text of every corpus source: what chunks are cut from and citations must occur in.

The same ingest stages as `ingest.pipeline.prepare` (load -> clean -> structure), without chunking,
so the baseline sees exactly the text our chunks come from.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.core.settings import Settings
from ingest.pipeline import structured_pages


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
    return [
        SourcePage(page.clean.raw.source.name, page.clean.raw.page, page.clean.raw.document.title, page.text)
        for page in structured_pages(settings)
    ]
