"""Today's lexicon router, kept as the baseline the learned router is measured against.

It is the rule set the product used before the learned router (lemmas, phrases, two-group rules,
`unless` vetoes and example questions, in evals/baselines/lexicon_escalation.toml, frozen as it
was). The highest level that matches wins: urgent > report > consult > none. The product said
"outside the manual" through a topic of corpus/topics.toml (harassment by colleagues), kept in the
same file as `outside_phrases`, so a `none` with one of them is scored as `outside` here. It never learns and has no cross-validation: its figures on the
training split stand in for the CV column.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from pydantic import BaseModel

from assistant.core.text import fold

LEXICON_POLICY = Path(__file__).resolve().parent / "lexicon_escalation.toml"
_ORDER = ("urgent", "report", "consult")
EXAMPLE_SIMILARITY = 0.92  # as it was: a message this close to a level's example question matches it


class _Group(BaseModel):
    lemmas: list[str] = []
    phrases: list[str] = []

    def matches(self, tokens: set[str], folded: str) -> bool:
        return any(l.lower() in tokens for l in self.lemmas) or any(fold(p) in folded for p in self.phrases)


class _Rule(BaseModel):
    name: str
    all_of: list[_Group]


class _Level(_Group):
    id: str
    unless: list[str] = []
    rules: list[_Rule] = []
    examples: list[str] = []


class LexiconRouter:
    def __init__(self, embed_passages: Callable[[list[str]], np.ndarray], path: Path = LEXICON_POLICY) -> None:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        self.levels = {level["id"]: _Level.model_validate(level) for level in raw["levels"]}
        self.examples = {i: embed_passages(l.examples) for i, l in self.levels.items() if l.examples}
        self.outside_phrases = [fold(p) for p in raw.get("outside_phrases", [])]

    def route(self, text: str, tokens: Iterable[str], vector: np.ndarray) -> str:
        """The level id for one message, from its text, fugashi lemmas and e5 query vector."""
        token_set = {t.lower() for t in tokens}
        folded = fold(text)
        for level_id in _ORDER:
            level = self.levels[level_id]
            if any(fold(p) in folded for p in level.unless):
                continue
            if level.matches(token_set, folded) or any(
                    all(g.matches(token_set, folded) for g in rule.all_of) for rule in level.rules):
                return level_id
            if level_id in self.examples and float(np.max(self.examples[level_id] @ vector)) >= EXAMPLE_SIMILARITY:
                return level_id
        return "outside" if any(p in folded for p in self.outside_phrases) else "none"
