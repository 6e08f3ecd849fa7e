"""Optional LLM wording through LangChain's `init_chat_model` (Ollama, OpenAI-compatible, ...).

The model only rephrases around verbatim quotes. Its output is accepted only if every line is a
cited manual quote or labelled organisation text, every [n] names a retrieved passage and every
「quote」 occurs in that passage; anything else raises `LLMAnswerError` and the caller falls back to
the extractive answer.
"""

from __future__ import annotations

import concurrent.futures
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from assistant.citations import Citation, citation_problems
from assistant.contacts import Contacts
from assistant.core.errors import KasuharaError
from assistant.core.settings import Settings
from assistant.routing import Route

ORG_LABEL = "【組織の案内】"
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="llm")


class LLMAnswerError(KasuharaError):
    """The generated answer failed, timed out, or did not cite faithfully."""


_models: dict[tuple, Any] = {}


def chat_model(settings: Settings) -> Any:
    """The configured chat model, built once per process (init_chat_model imports the provider)."""
    from langchain.chat_models import init_chat_model

    key = (settings.llm_model, settings.llm_base_url, settings.llm_timeout_seconds)
    if key not in _models:
        kwargs = {"base_url": settings.llm_base_url} if settings.llm_base_url else {}
        _models[key] = init_chat_model(settings.llm_model, timeout=settings.llm_timeout_seconds, **kwargs)
    return _models[key]


def build_messages(settings: Settings, question: str, route: Route, citations: list[Citation],
                   contacts: Contacts) -> list:
    system = (settings.prompts_dir / "llm_system.md").read_text(encoding="utf-8")
    user = (settings.prompts_dir / "llm_user.md").read_text(encoding="utf-8")
    excerpts = "\n".join(f"[{c.n}] {c.section}(p.{c.page})\n{c.quote}" for c in citations)
    organisation = "\n".join([
        route.guidance,
        f"現場の相談先: {contacts.onsite.role}({contacts.onsite.how})",
        f"本社の相談窓口: {contacts.head_office.name} {contacts.head_office.phone}",
        f"緊急時: {contacts.emergency.note}",
    ])
    return [
        SystemMessage(system),
        HumanMessage(user.format(level_label=route.label, route=route.route, organisation=organisation,
                                 excerpts=excerpts, question=question)),
    ]


def generate_answer(settings: Settings, question: str, route: Route, citations: list[Citation],
                    contacts: Contacts, model: Any = None) -> str:
    messages = build_messages(settings, question, route, citations, contacts)
    try:
        model = model if model is not None else chat_model(settings)
        future = _pool.submit(model.invoke, messages)
        reply = future.result(timeout=settings.llm_timeout_seconds)
    except concurrent.futures.TimeoutError:
        raise LLMAnswerError(f"LLM が {settings.llm_timeout_seconds:.0f} 秒以内に応答しませんでした") from None
    except Exception as exc:  # any provider error (network, auth, bad model id) means: fall back
        raise LLMAnswerError(f"LLM の呼び出しに失敗しました: {type(exc).__name__}: {exc}") from exc
    text = str(getattr(reply, "content", reply)).strip()
    problems = citation_problems(text, citations) + _unlabelled_lines(text)
    if problems:
        raise LLMAnswerError("LLM の回答を採用しませんでした: " + "; ".join(problems[:3]))
    return text


def _unlabelled_lines(text: str) -> list[str]:
    return [
        f"出典も組織の案内の表示もない文: {line[:20]}"
        for line in (l.strip() for l in text.splitlines())
        if line and not line.startswith(ORG_LABEL) and "」[" not in line
    ]
