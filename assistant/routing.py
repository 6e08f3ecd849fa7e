"""Escalation routing: which level a staff message gets, and the policy text that goes with it.

The level comes from the learned router (`assistant.router_model`), trained on the labelled examples
in corpus/routing_examples.jsonl plus officers' corrections. The policy file (corpus/escalation.toml)
keeps what officers own: labels, routes, guidance, the manual passages each level rests on, and a
short list of safety phrases that can only raise a message to urgent.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from assistant.core.chunks import Chunk
from assistant.core.text import fold
from assistant.policy import Level, Policy, PolicyError
from assistant.router_model import ModelDecision, RouterModel

# A labelled example is shown as a reason only when this alike (tf-idf cosine): a 0.1 match shares a
# particle or two and tells a reader nothing. It still votes in the decision.
SHOWN_NEIGHBOUR_SIMILARITY = 0.25


@dataclass(frozen=True)
class Route:
    level: str
    label: str
    route: str
    guidance: str
    reasons: list[str]
    evidence: list[Chunk]  # the passages the level rests on, in policy order
    probabilities: dict[str, float] | None = None  # the router's calibrated P(level); None if not scored

    @property
    def basis(self) -> str:
        """The reason that decided the level. Never holds words of the message (unlike the weighed
        words and nearest examples that follow it), so it can leave the officers' own screens."""
        return self.reasons[0] if self.reasons else ""

    def to_json(self) -> dict:
        data = {"level": self.level, "label": self.label, "route": self.route, "reasons": self.reasons}
        if self.probabilities is not None:
            data["probabilities"] = {k: round(v, 3) for k, v in self.probabilities.items()}
        return data


class Router:
    """The learned router's decision, raised by the policy's safety phrases, dressed in policy text."""

    def __init__(self, policy: Policy, chunks: list[Chunk], model: RouterModel):
        self.policy = policy
        self.model = model
        self._evidence = {level.id: _cited_chunks(level, chunks) for level in policy.levels}
        self._safety = [(p, fold(p)) for p in policy.safety.phrases]

    def route(self, text: str, tokens: Iterable[str], vector: np.ndarray) -> Route:
        """Route one message. `tokens` are the fugashi lemmas, `vector` the e5 query vector (dim,)."""
        decision = self.model.decide(text, list(tokens), vector)
        reasons = self._reasons(decision)
        level = decision.level
        phrase = self.safety_phrase(text)
        if phrase is not None and level != "urgent":
            reasons.insert(0, f"安全のための語句「{phrase}」(必ず緊急として扱います)")
            level = "urgent"
        return self._route(self.policy.level(level), reasons, decision.probabilities)

    def _reasons(self, decision: ModelDecision) -> list[str]:
        label = self.policy.level(decision.level).label
        p = decision.probabilities.get(decision.level, 0.0)
        if decision.same_as is not None:
            who = "担当者が修正した質問" if decision.same_as.is_correction else "ラベル付きの例文"
            reasons = [f"{who}と同じ文(「{label}」)"]
        elif decision.by_threshold:
            reasons = [f"緊急の可能性 {p:.0%}: 見逃さないため緊急として扱います"]
        else:
            reasons = [f"「{label}」の確率 {p:.0%}"]
        if decision.weighed_terms:
            reasons.append("判断に効いた語: " + "、".join(decision.weighed_terms))
        for n in decision.neighbours:
            if n.similarity < SHOWN_NEIGHBOUR_SIMILARITY:
                continue
            neighbour = self.policy.level(n.example.level).label
            # A correction's text is a logged staff question: personal data, never shown as a reason.
            shown = f"担当者の修正例 {n.example.id}" if n.example.is_correction else f"「{_short(n.example.text)}」"
            reasons.append(f"近い例文: {shown}({neighbour}、類似度 {n.similarity:.2f})")
        return reasons

    def safety_phrase(self, text: str) -> str | None:
        folded = fold(text)
        return next((p for p, f in self._safety if f in folded), None)

    def fixed_route(self, level_id: str, reasons: list[str]) -> Route:
        """A route decided outside the router (a topic gap, an injection): no probabilities."""
        return self._route(self.policy.level(level_id), reasons, None)

    def _route(self, level: Level, reasons: list[str], probabilities: dict[str, float] | None) -> Route:
        return Route(level.id, level.label, level.route, level.guidance, reasons, self._evidence[level.id],
                     probabilities)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cited_chunks(level: Level, chunks: list[Chunk]) -> list[Chunk]:
    found = []
    for cite in level.cites:
        chunk = _cited_chunk(cite, chunks)
        if chunk is None:
            raise PolicyError(_missing_cite(level, cite))
        found.append(chunk)
    return found


def missing_cites(policy: Policy, chunks: list[Chunk]) -> list[str]:
    """One message per cite of the policy that no chunk holds (a corpus change left it dangling)."""
    return [_missing_cite(level, cite) for level in policy.levels for cite in level.cites
            if _cited_chunk(cite, chunks) is None]


def _cited_chunk(cite: str, chunks: list[Chunk]) -> Chunk | None:
    needle = unicodedata.normalize("NFKC", cite)
    return next((c for c in chunks if needle in unicodedata.normalize("NFKC", c.text)), None)


def _missing_cite(level: Level, cite: str) -> str:
    return (
        f"エスカレーション方針のレベル「{level.id}」が根拠とする「{cite}」が索引にありません。"
        " corpus/escalation.toml の cites を索引の本文に合わせて直すか、マニュアルを取り込み直してください。"
    )
