"""Escalation routing: which level applies to a question, by the organisation's policy file.

The policy (corpus/escalation.toml) is data: levels, triggers, guidance and the manual passages each
level rests on. The highest level that matches wins: urgent > report > consult > none.
"""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from pydantic import BaseModel, ValidationError, field_validator

from assistant.errors import KasuharaError
from ingest.chunks import Chunk

LEVELS = ("urgent", "report", "consult", "none")
# A question this close (cosine) to one of a level's example questions matches that level, as a
# fallback when no trigger word does. e5 scores are compressed: on the calibration set, at 0.92 no
# example matched a question of another level (0 of 156 pairs); at 0.90, 2 did.
EXAMPLE_SIMILARITY = 0.92


class PolicyError(KasuharaError):
    """corpus/escalation.toml is missing, invalid, or cites text the index does not hold."""


class TriggerGroup(BaseModel):
    lemmas: list[str] = []
    phrases: list[str] = []

    def matches(self, tokens: set[str], folded: str) -> list[str]:
        found = [f"語「{l}」" for l in self.lemmas if l.lower() in tokens]
        found += [f"表現「{p}」" for p in self.phrases if fold(p) in folded]
        return found


class Rule(BaseModel):
    """Matches when every group in `all_of` matches (e.g. a supervisor AND a consultation received)."""

    name: str
    all_of: list[TriggerGroup]

    def matches(self, tokens: set[str], folded: str) -> list[str]:
        groups = [group.matches(tokens, folded) for group in self.all_of]
        return [f"{self.name}: " + "・".join(g[0] for g in groups)] if all(groups) else []


class Level(TriggerGroup):
    id: str
    label: str
    route: str
    guidance: str
    cites: list[str] = []
    unless: list[str] = []
    examples: list[str] = []
    rules: list[Rule] = []

    @field_validator("id")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in LEVELS:
            raise ValueError(f"level id must be one of {LEVELS}")
        return value


class Policy(BaseModel):
    not_covered: str
    levels: list[Level]

    def level(self, level_id: str) -> Level:
        return next(l for l in self.levels if l.id == level_id)


@dataclass(frozen=True)
class Route:
    level: str
    label: str
    route: str
    guidance: str
    reasons: list[str]
    evidence: list[Chunk]  # the passages the level rests on, in policy order

    def to_json(self) -> dict:
        return {"level": self.level, "label": self.label, "route": self.route, "reasons": self.reasons}


def fold(text: str) -> str:
    """For phrase matching: NFKC, lower case, katakana -> hiragana (ドゲザ and どげざ match alike)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


class Router:
    def __init__(self, policy: Policy, chunks: list[Chunk], embed: Callable[[list[str]], np.ndarray]):
        self.policy = policy
        self._evidence = {level.id: _cited_chunks(level, chunks) for level in policy.levels}
        self._examples = {
            level.id: embed(level.examples) for level in policy.levels if level.examples
        }

    def route(self, text: str, tokens: Iterable[str], vector: np.ndarray | None = None) -> Route:
        token_set = {t.lower() for t in tokens}
        folded = fold(text)
        for level_id in LEVELS[:-1]:
            level = self.policy.level(level_id)
            reasons = self._reasons(level, token_set, folded, vector)
            if reasons:
                return self._route(level, reasons)
        return self.none_route(["緊急・報告・相談の手がかりなし"])

    def none_route(self, reasons: list[str]) -> Route:
        return self._route(self.policy.level("none"), reasons)

    def _reasons(self, level: Level, tokens: set[str], folded: str, vector: np.ndarray | None) -> list[str]:
        if any(fold(p) in folded for p in level.unless):
            return []
        reasons = level.matches(tokens, folded)
        for rule in level.rules:
            reasons += rule.matches(tokens, folded)
        if not reasons and vector is not None and level.id in self._examples:
            similarity = float(np.max(self._examples[level.id] @ vector))
            if similarity >= EXAMPLE_SIMILARITY:
                reasons.append(f"例文に近い質問(類似度 {similarity:.2f})")
        return reasons

    def _route(self, level: Level, reasons: list[str]) -> Route:
        return Route(level.id, level.label, level.route, level.guidance, reasons, self._evidence[level.id])


def _cited_chunks(level: Level, chunks: list[Chunk]) -> list[Chunk]:
    found = []
    for cite in level.cites:
        needle = unicodedata.normalize("NFKC", cite)
        chunk = next((c for c in chunks if needle in unicodedata.normalize("NFKC", c.text)), None)
        if chunk is None:
            raise PolicyError(
                f"エスカレーション方針のレベル「{level.id}」が根拠とする「{cite}」が索引にありません。"
                " corpus/escalation.toml の cites を索引の本文に合わせて直すか、マニュアルを取り込み直してください。"
            )
        found.append(chunk)
    return found


def load_policy(path: Path) -> Policy:
    if not path.is_file():
        raise PolicyError(f"エスカレーション方針のファイルが見つかりません: {path}")
    try:
        policy = Policy.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise PolicyError(f"エスカレーション方針 {path} の内容が正しくありません: {exc}") from exc
    missing = set(LEVELS) - {level.id for level in policy.levels}
    if missing:
        raise PolicyError(f"エスカレーション方針 {path} にレベル {sorted(missing)} の定義がありません。")
    return policy
