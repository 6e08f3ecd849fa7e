"""The parts an answer is made of, and the answer text rendered from them.

An answer has five parts: the level (id, label, route), what to do now (the organisation's guidance),
whom to contact (the contact directory), the manual quotes with their citations, and why (the
reasons). Every surface (CLI, JSON, staff chat, officers' console, CSV, webhook) renders these parts;
`answer_text` is one rendering of them, never something another surface parses.

The wording around the parts comes from prompts/extractive.toml, one table per language; the
organisation's texts come from corpus/escalation.toml and corpus/contacts.toml in the same language.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from assistant.citations import Citation, citation_labels
from assistant.contacts import Contacts
from assistant.core.errors import KasuharaError
from assistant.policy import LevelText

DEFAULT_LANGUAGE = "ja"
_SENTENCE_END = re.compile(r"(?<=[。!?！？])|(?<=[.!?])\s+")


class WordingError(KasuharaError):
    """prompts/extractive.toml is missing, invalid, or a language lacks a text."""


@dataclass(frozen=True)
class LevelPart:
    id: str
    label: str
    route: str


@dataclass(frozen=True)
class ContactPart:
    """One entry of "whom to contact". `kind`: emergency, onsite, small_business or head_office;
    `name` and `phone`: who is dialled and the number as written; `tel`: a `tel:` URI, or ""."""

    kind: str
    title: str
    text: str
    name: str = ""
    phone: str = ""
    tel: str = ""


@dataclass(frozen=True)
class AnswerParts:
    """What one answer says, in the asker's language (`language`, e.g. "ja", "en").

    `guidance`: sentences of the organisation's guidance, in order. `notes`: the organisation's
    remarks beside it (the topic is in a chapter not yet loaded). `contacts_note`: a remark on the
    contacts (they are examples).
    `quotes`: verbatim manual passages, numbered [n]. `labels`: one label per quote, the first words
    of the passage included, so that no two read the same.
    """

    level: LevelPart
    answered: bool
    guidance: tuple[str, ...]
    contacts: tuple[ContactPart, ...]
    quotes: tuple[Citation, ...]
    labels: tuple[str, ...]
    reasons: tuple[str, ...]
    notes: tuple[str, ...] = ()
    contacts_note: str = ""
    language: str = DEFAULT_LANGUAGE

    @property
    def shows_route(self) -> bool:
        """Whether the answer gives its level's route. Only an unanswered `none` does not (nothing to go
        on); a worker's or supervisor's question on an unloaded topic keeps its route, and `outside` is
        a referral."""
        return self.answered or self.level.id != "none"

    def to_json(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "level": asdict(self.level),
            "answered": self.answered,
            "guidance": list(self.guidance),
            "contacts": [asdict(c) for c in self.contacts],
            "quotes": [{**c.to_json(), "label": label} for c, label in zip(self.quotes, self.labels)],
            "reasons": list(self.reasons),
            "notes": list(self.notes),
            "contacts_note": self.contacts_note,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AnswerParts:
        """The parts as stored in the question log (`to_json`)."""
        quotes = [dict(q) for q in data.get("quotes", [])]
        labels = tuple(q.pop("label", "") for q in quotes)
        return cls(
            level=LevelPart(**data["level"]),
            answered=bool(data.get("answered", True)),
            guidance=tuple(data.get("guidance", [])),
            contacts=tuple(ContactPart(**c) for c in data.get("contacts", [])),
            quotes=tuple(Citation(**q) for q in quotes),
            labels=labels,
            reasons=tuple(data.get("reasons", [])),
            notes=tuple(data.get("notes", [])),
            contacts_note=data.get("contacts_note", ""),
            language=data.get("language", DEFAULT_LANGUAGE),
        )


# --- wording --------------------------------------------------------------------------------------


_REQUIRED = ("org_heading", "level_banner", "what_to_do", "whom_to_contact", "emergency", "onsite",
             "small_business", "head_office", "head_office_text", "contact_text", "example_note",
             "topic_gap_line", "unreadable", "manual_heading", "quote_line", "unanswered", "sources_hint",
             "call_emergency", "call_desk", "cli_level", "cli_reasons", "cli_sources", "cli_unanswered",
             "cli_log_id")


def load_wording(path: Path) -> dict[str, dict[str, Any]]:
    """prompts/extractive.toml as {language: {key: text}}. Every language needs every text the
    answers use (`_REQUIRED`); `words` (optional) are lower-case words that tell the language apart.
    Raises WordingError naming the file, the language and the missing keys."""
    if not path.is_file():
        raise WordingError(f"回答の文面ファイルが見つかりません: {path}")
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise WordingError(f"回答の文面ファイル {path} の書き方が正しくありません: {exc}") from exc
    if DEFAULT_LANGUAGE not in tables:
        raise WordingError(f"回答の文面ファイル {path} に [{DEFAULT_LANGUAGE}] の表がありません。")
    for language, table in tables.items():
        missing = [key for key in _REQUIRED if not isinstance(table, dict) or key not in table]
        if missing:
            raise WordingError(f"回答の文面ファイル {path} の [{language}] に {', '.join(missing)} がありません。"
                               f" [{DEFAULT_LANGUAGE}] と同じ項目を書いてください。")
    return tables


def sentences(text: str) -> tuple[str, ...]:
    """A paragraph of guidance as its sentences (Japanese 。 or English . ! ?)."""
    return tuple(s.strip() for s in _SENTENCE_END.split(text) if s and s.strip())


# --- composing ------------------------------------------------------------------------------------


def compose_parts(level: LevelText, answered: bool, citations: Sequence[Citation], reasons: Sequence[str],
                  contacts: Contacts, wording: Mapping[str, Any], language: str, not_covered: str = "",
                  topic_gap: tuple[str, str] | None = None, unreadable: bool = False) -> AnswerParts:
    """The parts of one answer. `level`, `contacts`, `wording` and `not_covered` are already in
    `language`; `topic_gap` is (topic, chapter) when the question is about a part of the manual
    that is not ingested; `unreadable` when no character of the question could be read."""
    notes: list[str] = []
    if unreadable:
        guidance = sentences(wording["unreadable"])
    elif answered or level.id != "none":  # AnswerParts.shows_route
        guidance = sentences(level.guidance)
    else:
        guidance = sentences(not_covered)
    if topic_gap is not None:
        notes.append(wording["topic_gap_line"].format(topic=topic_gap[0], chapter=topic_gap[1]))
    chosen = _contacts(level.id, answered or level.id in ("report", "consult"), contacts, wording)
    example = contacts.example_values and any(c.kind != "emergency" for c in chosen)
    return AnswerParts(
        level=LevelPart(level.id, level.label, level.route),
        answered=answered,
        guidance=guidance,
        contacts=chosen,
        quotes=tuple(citations),
        labels=tuple(citation_labels(citations)),
        reasons=tuple(reasons),
        notes=tuple(notes),
        contacts_note=wording["example_note"] if example else "",
        language=language,
    )


def _contacts(level: str, answered: bool, contacts: Contacts, wording: Mapping[str, Any]
              ) -> tuple[ContactPart, ...]:
    """Whom to contact at each level: the emergency number when in danger, the on-site contact for
    a worker's own consultation, the head-office desk when it must go higher or nothing answered."""
    chosen: list[ContactPart] = []
    if level == "urgent":
        emergency = contacts.emergency
        chosen.append(ContactPart("emergency", wording["emergency"], emergency.note, emergency.number,
                                  emergency.number, emergency.tel))
    if level == "consult" and answered:
        chosen.append(ContactPart("onsite", wording["onsite"], wording["contact_text"].format(
            role=contacts.onsite.role, how=contacts.onsite.how)))
        if contacts.small_business:
            chosen.append(ContactPart("small_business", wording["small_business"], wording["contact_text"].format(
                role=contacts.small_business.role, how=contacts.small_business.how)))
    if level in ("urgent", "report") or not answered:
        desk = contacts.head_office
        chosen.append(ContactPart("head_office", wording["head_office"],
                                  wording["head_office_text"].format(**desk.model_dump()), desk.name, desk.phone,
                                  desk.tel))
    return tuple(chosen)


# --- the answer text ------------------------------------------------------------------------------


def answer_text(parts: AnswerParts, wording: Mapping[str, Any]) -> str:
    """The plain-text answer: one block of the organisation's text, marked once, then the quotes.

        【組織の案内】
        【相談】現場の相談対応者(店長など)に相談
        ・一人で抱え込まず、…
        相談先:
        ・現場の相談先: 店長(…)
        マニュアルの該当箇所:
        「…」[1]
    """
    lines = [wording["org_heading"]]
    if parts.shows_route:
        lines.append(wording["level_banner"].format(label=parts.level.label, route=parts.level.route))
    lines += [f"・{s}" for s in parts.guidance]
    lines += [f"・{note}" for note in parts.notes]
    if parts.contacts:
        lines.append(wording["whom_to_contact"] + ":")
        lines += [f"・{c.title}: {c.text}" for c in parts.contacts]
        if parts.contacts_note:
            lines.append(parts.contacts_note)
    if parts.quotes:
        lines.append(wording["manual_heading"])
        lines += [wording["quote_line"].format(quote=c.quote, n=c.n) for c in parts.quotes]
    return "\n".join(lines)


# --- logged answers -------------------------------------------------------------------------------


def logged_parts(row: Any, labels: Mapping[str, str]) -> AnswerParts:
    """The parts of a logged answer (a `question_log.LogRow`). A row logged before parts were kept
    gets what its own fields hold: the level, the reasons and the quotes, no guidance or contacts.
    `labels`: {level id: label}, the policy's."""
    if row.parts:
        return AnswerParts.from_json(row.parts)
    known = {f.name for f in fields(Citation)}
    quotes = tuple(Citation(**{"n": n, "chunk_id": "", "section": "", "page": None, "quote": "", "source": "",
                               "source_url": "", **{k: v for k, v in c.items() if k in known}})
                   for n, c in enumerate(row.citations, start=1))
    return AnswerParts(LevelPart(row.level, labels.get(row.level, row.level), ""), row.answered, (), (), quotes,
                       tuple(citation_labels(quotes)), tuple(row.reasons))


def guidance_lines(parts: AnswerParts) -> list[str]:
    """What to do now, then the organisation's notes, one line each."""
    return [*parts.guidance, *parts.notes]


def contact_lines(parts: AnswerParts) -> list[str]:
    """Whom to contact, one line each: 「本社の相談窓口: …」, then the remark on them, if any."""
    return [f"{c.title}: {c.text}" for c in parts.contacts] + ([parts.contacts_note] if parts.contacts_note else [])
