"""Topic gaps: questions about a part of the manual that has not been ingested.

corpus/topics.toml lists the whole manual's topics with recognising phrases. A topic whose phrases
occur in no indexed passage is a gap: a question naming it is not answered from the nearest passage
(which would be about something else) but told which chapter treats it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from assistant.core.chunks import Chunk
from assistant.core.errors import KasuharaError
from assistant.core.text import fold


class TopicsError(KasuharaError):
    """corpus/topics.toml is invalid."""


class Topic(BaseModel):
    name: str
    chapter: str
    phrases: list[str]


@dataclass(frozen=True)
class TopicGap:
    name: str
    chapter: str
    phrase: str


class TopicGaps:
    def __init__(self, topics: list[Topic], chunks: list[Chunk]) -> None:
        corpus = fold("\n".join(c.text for c in chunks))
        self.missing = [t for t in topics if not any(fold(p) in corpus for p in t.phrases)]

    def find(self, text: str) -> TopicGap | None:
        folded = fold(text)
        for topic in self.missing:
            for phrase in topic.phrases:
                if fold(phrase) in folded:
                    return TopicGap(topic.name, topic.chapter, phrase)
        return None


def load_topics(path: Path) -> list[Topic]:
    if not path.is_file():
        return []  # optional: without it, only retrieval decides what is covered
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return [Topic.model_validate(t) for t in raw.get("topics", [])]
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise TopicsError(f"トピック一覧 {path} の内容が正しくありません: {exc}") from exc
