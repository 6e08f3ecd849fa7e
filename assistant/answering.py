"""The assistant API: question -> retrieve -> route -> cited answer -> log.

Every surface (CLI, staff chat, officers' console, evals) calls `Assistant.ask`.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

from assistant.answer_parts import AnswerParts, answer_text, compose_parts, load_wording
from assistant.calibration import Calibration
from assistant.citations import Citation, cite
from assistant.contacts import Contacts, load_contacts
from assistant.core.embeddings import cached_question_vectors, get_embeddings
from assistant.core.errors import KasuharaError
from assistant.core.index import IndexReader, IndexStore
from assistant.core.levels import LEVELS
from assistant.core.settings import Settings
from assistant.core.text import REPLACEMENT, replace_unreadable
from assistant.core.tokens import get_tokenizer
from assistant.glossary import load_glossary
from assistant.language import JAPANESE, question_language
from assistant.policy import load_policy
from assistant.question_log import (
    LevelCorrection,
    LogRecord,
    LogUnavailable,
    QuestionLog,
)
from assistant.retrieval import HybridRetriever, Retrieval
from assistant.router_model import (
    RouterModel,
    RoutingExample,
    RoutingInput,
    build_inputs,
    load_examples,
    load_or_fit,
    training_key,
)
from assistant.routing import Route, Router
from assistant.safety import injection_phrase
from assistant.topics import TopicGap, TopicGaps, load_topics
from assistant.webhook import notifier_from_settings

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")
# A turn that opens with these, or points back with a demonstrative, continues the previous question.
_FOLLOW_UP_CUES = ("それでも", "それで", "その場合", "その後", "そのあと", "それって", "じゃあ", "では", "次は",
                   "なら", "もし", "then", "and if", "what if", "still", "after that")
# Demonstratives point back; an opening "which/how often" asks about the last turn's subject.
_POINTING_BACK = ("それ", "その", "そこ", "これ", "この", "こういう", "そういう", "あの", "どの", "どれ",
                  "どっち", "which", "how often", "how many")
_TOPIC_CHANGE = ("ところで", "話は変わ", "話変わ", "別件", "by the way", "unrelated", "another question")
_SUPPORT_HITS = 2  # retrieved passages quoted beside the ones the route rests on
UNREADABLE_REASON = "文字として読める語のない質問(絵文字・記号・読めない文字だけ)"


class InvalidQuestionError(KasuharaError):
    """The question cannot be answered as given (empty, too long)."""


class QuestionTooLongError(InvalidQuestionError):
    """Longer than `max_question_chars`. Still logged, so officers see every staff message."""


@dataclass(frozen=True)
class Answer:
    """One answered question. `parts` is what the answer says (level, what to do, whom to contact,
    quotes, reasons) and what every surface renders; `answer` is its text rendering (or the LLM's
    wording of it, `mode` "llm"), never parsed."""

    question: str
    answer: str
    answered: bool
    route: Route
    citations: list[Citation]
    parts: AnswerParts
    log_id: str
    latency_ms: float
    mode: str = "extractive"
    fallback_reason: str | None = None
    retrieval: Retrieval | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "answered": self.answered,
            "language": self.parts.language,
            "parts": self.parts.to_json(),
            "escalation": self.route.to_json(),
            "citations": [c.to_json() for c in self.citations],
            "log_id": self.log_id,
            "latency_ms": round(self.latency_ms, 1),
            "mode": self.mode,
            "fallback_reason": self.fallback_reason,
        }


@dataclass(frozen=True)
class _IndexState:
    """Everything that depends on one index build, swapped as a whole when a new build is served."""

    reader: IndexReader
    retriever: HybridRetriever
    router: Router
    topic_gaps: TopicGaps


@dataclass(frozen=True)
class Decision:
    route: Route
    answered: bool
    gap: TopicGap | None = None
    by_threshold: bool = False  # only the calibrated abstention threshold decided `answered`


def clean_question(text: str, max_chars: int) -> str:
    """Strip control and invisible characters; reject what cannot be a question."""
    cleaned = _CONTROL.sub(" ", text or "").strip()
    if not cleaned:
        raise InvalidQuestionError("質問が空です。相談したい内容を入力してください。")
    if len(cleaned) > max_chars:
        raise QuestionTooLongError(
            f"質問が長すぎます({len(cleaned)}文字)。{max_chars}文字以内にまとめて入力してください。"
            "身の危険があるときは、まず安全を確保して 110 番、または本社の相談窓口に連絡してください。"
        )
    return cleaned


def is_unreadable(question: str) -> bool:
    """True when no letter or digit is left (only emoji, symbols or replaced undecodable bytes):
    there is nothing to route, so the staff member is asked to put it in words (and shown the desk)."""
    return not any(ch.isalnum() for ch in question)


def with_history(question: str, history: Sequence[str]) -> str:
    """The question read together with the one it follows."""
    return f"{history[-1]}\n{question}" if history else question


def opens_as_follow_up(question: str) -> bool | None:
    """True/False when the wording alone tells whether the turn continues the last one; else None."""
    folded = unicodedata.normalize("NFKC", question).strip().lower()
    if folded.startswith(_TOPIC_CHANGE):
        return False
    if folded.startswith(_FOLLOW_UP_CUES) or folded.startswith(_POINTING_BACK):
        return True
    return None


class Assistant:
    def __init__(self, settings: Settings | None = None, question_log: QuestionLog | None = None,
                 chat_model: Any = None, calibration: Calibration | None = None, notifier: Any = ...,
                 corrections: Callable[[], list[LevelCorrection]] | None = None) -> None:
        """`corrections` supplies officers' level corrections for the router (default: the question log's)."""
        self.settings = settings or Settings()
        self.embeddings = get_embeddings(self.settings)
        self.tokenizer = get_tokenizer()
        self.contacts: Contacts = load_contacts(self.settings.contacts_path)
        self.calibration = calibration or Calibration.load(self.settings.calibration_path)
        if self.calibration.embedder != self.embeddings.name:
            log.warning("calibration was fitted for %s, not %s; run `kasuhara eval calibrate`",
                        self.calibration.embedder, self.embeddings.name)
        self.wording = load_wording(self.settings.prompts_dir / "extractive.toml")
        self._language_words = {language: frozenset(map(str.lower, table.get("words", [])))
                                for language, table in self.wording.items() if language != JAPANESE}
        # The directory in each language, merged once here rather than on every answer.
        self._contacts = {language: self.contacts.in_language(language) for language in self.wording}
        self.question_log = question_log or QuestionLog.open(self.settings)
        self._corrections = corrections or self.question_log.level_corrections
        self.chat_model = chat_model
        # Urgent questions are announced to the configured webhook, from every surface but evals.
        self.notifier = notifier_from_settings(self.settings) if notifier is ... else notifier
        self._lock = threading.Lock()
        self._load_index()

    def _load_index(self) -> None:
        reader = IndexReader(self.settings, expected_embedder=self.embeddings.name)
        retriever = HybridRetriever(reader=reader, embeddings=self.embeddings, tokenizer=self.tokenizer,
                                    glossary=load_glossary(self.settings.glossary_path),
                                    k=self.settings.top_k, fusion=self.settings.fusion)
        router = Router(load_policy(self.settings.policy_path), reader.chunks, self._router_model())
        topic_gaps = TopicGaps(load_topics(self.settings.topics_path), reader.chunks)
        # One assignment: a request in flight keeps the snapshot it started with.
        self._index = _IndexState(reader, retriever, router, topic_gaps)

    def _router_model(self) -> RouterModel:
        """Fit (or load from cache) the router on the shipped examples plus officers' corrections."""
        examples = load_examples(self.settings.routing_examples_path, LEVELS)
        try:
            corrections = self._corrections()
        except LogUnavailable as exc:  # answering must not wait for the log; the next reload learns them
            log.warning("router trained without officers' corrections: %s", exc)
            corrections = []
        examples += [RoutingExample(id=f"log:{c.uid[:8]}", text=c.question, level=c.level, source="console",
                                    officer=c.officer) for c in corrections]
        key = training_key(examples, self.embeddings.name, self.tokenizer.name)

        def make_inputs(texts: list[str]) -> list[RoutingInput]:
            # Only when the examples or the embedder changed: minutes on a fresh clone, seconds after.
            progress = sys.stderr.isatty()
            if progress:
                print(f"対応レベルの判定モデルを例文 {len(texts)} 件で学習しています…", file=sys.stderr)
            return self.routing_inputs(texts, progress)

        return load_or_fit(examples, key, self.settings.cache_dir, make_inputs)

    def routing_inputs(self, texts: Sequence[str], progress: bool = False) -> list[RoutingInput]:
        """What the router reads of each text (lemmas, query vector), vectors from the on-disk cache."""
        return build_inputs(list(texts), self.tokenizer, lambda batch: cached_question_vectors(
            self.embeddings, batch, self.settings.cache_dir, progress))

    def reload(self) -> None:
        """Rebuild everything the index and the routing data feed (after an officer's correction)."""
        with self._lock:
            self._load_index()

    def refresh(self) -> None:
        """Pick up a newer index (a finished `kasuhara ingest`) without a restart."""
        current = IndexStore(self.settings.index_dir).current_id()
        if current != self.reader.version:
            with self._lock:
                if current != self.reader.version:
                    self._load_index()

    @property
    def reader(self) -> IndexReader:
        return self._index.reader

    @property
    def retriever(self) -> HybridRetriever:
        return self._index.retriever

    @property
    def router(self) -> Router:
        return self._index.router

    def section_of(self, chunk_id: str) -> str | None:
        """Where a logged chunk id sits in the manual (chapter › page title › section), if still indexed."""
        chunk = self.reader.by_id.get(chunk_id)
        return chunk.section if chunk is not None else None

    @property
    def policy(self):
        return self._index.router.policy

    def ask(self, question: str, history: Sequence[str] = (), surface: str = "cli",
            session_id: str = "", input_note: str = "") -> Answer:
        """Answer and log one question. `input_note` says what the surface did to the input before
        (e.g. undecodable bytes replaced); it is logged with the question. Raises InvalidQuestionError."""
        started = time.perf_counter()
        question, replaced = replace_unreadable(question)
        input_note = input_note or replaced  # a surface may have replaced bytes already, and said so
        try:
            question = clean_question(question, self.settings.max_question_chars)
        except QuestionTooLongError as exc:
            self._log_unanswered(question, str(exc), surface, session_id, input_note, started)
            raise
        history = [h for h in (_CONTROL.sub(" ", replace_unreadable(h)[0]).strip() for h in history) if h]
        self.refresh()
        index = self._index
        text, alone = self._context(question, history, index)
        retrieval = alone or index.retriever.retrieve(text)
        unreadable = is_unreadable(question)
        decision = (Decision(index.router.fixed_route("none", [UNREADABLE_REASON]), False) if unreadable
                    else self.decide(text, retrieval, index))
        route, answered, gap = decision.route, decision.answered, decision.gap
        citations = cite(self._supporting_chunks(route, retrieval)) if answered else []
        parts = self.compose(route, citations, answered, gap, self.language_of(question), unreadable)
        body = answer_text(parts, self.wording[parts.language])
        mode, fallback = "extractive", None
        if self.settings.llm_model or self.chat_model is not None:
            body, mode, fallback = self._generate(question, route, citations, body, answered)
        latency = (time.perf_counter() - started) * 1000
        record = LogRecord.new(
            surface=surface, session_id=session_id, question=question, level=route.level,
            reasons=route.reasons, answered=answered, retrieved=[h.to_log() for h in retrieval.hits],
            citations=[c.to_json() for c in citations], answer=body, answer_mode=mode,
            fallback_reason=fallback, latency_ms=latency, embedder=self.embeddings.name,
            index_version=index.reader.version, input_note=input_note, parts=parts.to_json(),
        )
        log_id = self.question_log.record(record)
        answer = Answer(question, body, answered, route, citations, parts, log_id, latency, mode, fallback,
                        retrieval)
        if surface != "eval":
            self._notify(answer)
        return answer

    def _log_unanswered(self, question: str, reason: str, surface: str, session_id: str, input_note: str,
                        started: float) -> None:
        """Log a message that was not answered (too long): no staff message is ever dropped. An
        officer sees it as unanswered, with why, and can read the whole of it."""
        record = LogRecord.new(
            surface=surface, session_id=session_id, question=_CONTROL.sub(" ", question).strip(), level="none",
            reasons=[reason], answered=False, answer=reason,
            latency_ms=(time.perf_counter() - started) * 1000, embedder=self.embeddings.name,
            index_version=self._index.reader.version, input_note=input_note or "長すぎるため答えていません",
        )
        self.question_log.record(record)

    def _notify(self, answer: Answer) -> None:
        if self.notifier is None:
            return
        try:
            self.notifier.notify(answer)  # posts in the background; other levels are ignored
        except Exception:  # a notice must never cost the answer
            log.exception("urgent webhook: could not queue the notice for %s", answer.log_id)

    def context_text(self, question: str, history: Sequence[str], index: "_IndexState | None" = None) -> str:
        """What to retrieve and route on: a follow-up is read with the question before it; a new
        question that stands on its own is read alone, so it does not inherit the last one's level."""
        return self._context(question, history, index or self._index)[0]

    def _context(self, question: str, history: Sequence[str], index: "_IndexState"
                 ) -> tuple[str, Retrieval | None]:
        """The context text, and the retrieval of the question alone when that was needed to decide
        and the question alone is the context (so `ask` does not embed the same text twice)."""
        if not history:
            return question, None
        explicit = opens_as_follow_up(question)
        if explicit is not None:
            return (with_history(question, history) if explicit else question), None
        alone = index.retriever.retrieve(question)
        if index.router.route(question, alone.tokens, alone.vector).level not in ("none", "outside"):
            return question, alone  # its own words already call for a level
        nouns = self.tokenizer.nouns(question)
        if len(nouns) >= 2 and not any(n in index.reader.vocabulary for n in nouns):
            return question, alone  # a new subject the manual never mentions (有給休暇, 天気)
        return with_history(question, history), None

    def decide(self, text: str, retrieval: Retrieval, index: "_IndexState | None" = None) -> Decision:
        """The route, whether the manual answers the question, and what decided it."""
        index = index or self._index
        route = index.router.route(text, retrieval.tokens, retrieval.vector)
        if route.level == "urgent":
            return Decision(route, True)  # safety first: a possible crime is never held back
        gap = index.topic_gaps.find(text)
        if gap is not None:
            reason = f"マニュアル未取込の話題「{gap.name}」({gap.chapter})"
            if route.level in ("report", "consult"):
                # Whom to go to still holds (the manual's page on it is loaded); only the topic is not.
                return Decision(replace(route, reasons=[*route.reasons, reason]), False, gap=gap)
            return Decision(index.router.fixed_route("none", [reason]), False, gap=gap)
        if route.level in ("report", "consult"):
            return Decision(route, True)
        injected = injection_phrase(text)
        if injected is not None:
            return Decision(index.router.fixed_route("none", [f"指示の書き換えを含む質問(「{injected}」)"]), False)
        if route.level == "outside":
            return Decision(route, False)  # not customer harassment: a referral, never a manual passage
        covered = self.calibration.covers(retrieval.dense_top, retrieval.lexical_coverage)
        return Decision(route, covered, by_threshold=True)

    def _supporting_chunks(self, route: Route, retrieval: Retrieval):
        hits = [h.chunk for h in retrieval.hits]
        extra = 3 if route.level == "none" else _SUPPORT_HITS
        chosen = list(route.evidence)
        for chunk in hits:
            if len(chosen) >= len(route.evidence) + extra:
                break
            if chunk not in chosen:
                chosen.append(chunk)
        return chosen

    def language_of(self, question: str) -> str:
        """The language the organisation's parts are shown in: Japanese, or one of the wording's."""
        return question_language(question, self._language_words)

    def compose(self, route: Route, citations: list[Citation], answered: bool, gap: TopicGap | None = None,
                language: str = JAPANESE, unreadable: bool = False) -> AnswerParts:
        """The parts of an answer in `language`, from the policy's, the contacts' and the wording's texts."""
        policy = self.policy
        return compose_parts(
            policy.level_text(route.level, language), answered, citations, route.reasons,
            self._contacts[language], self.wording[language], language,
            not_covered=policy.not_covered_in(language),
            topic_gap=(gap.name, gap.chapter) if gap is not None else None, unreadable=unreadable,
        )

    def _generate(self, question: str, route: Route, citations: list[Citation], extractive: str,
                  answered: bool) -> tuple[str, str, str | None]:
        """LLM wording, kept only when every marker and quote checks out; else the extractive answer."""
        from assistant.llm_answer import LLMAnswerError, generate_answer

        if not answered:
            return extractive, "extractive", None
        try:
            text = generate_answer(self.settings, question, route, citations, self.contacts, self.chat_model)
        except LLMAnswerError as exc:
            log.warning("LLM answer discarded: %s", exc)
            return extractive, "extractive", str(exc)
        return text, "llm", None
