"""The staff chat (`/`): ask in Japanese, see whom to consult, how urgent it is, and the manual behind it.

Served by `assistant.web.app` (`kasuhara serve`, or `kasuhara serve --pages staff` for this page alone).

Everything a member of staff typed is shown as text: the Chatbot renders Markdown, so user-derived
strings go through `md_text` (entities + backslash escapes) and the Chatbot still sanitises HTML.
The only HTML in a message is the level banner, built here from policy strings, escaped.
The conversation lives in server-side `gr.State`; nothing is kept in the browser, and this page's
events never return anything from the log (rating writes feedback for this session's own answers).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Mapping

import gradio as gr

import assistant.web  # noqa: F401  (Gradio environment first)
from assistant.answer_parts import AnswerParts
from assistant.web.common import ERROR_TITLE, html_text, info, md_text, readable, warn

log = logging.getLogger(__name__)

# One answer takes ~20-50 ms of CPU (tokeniser and embedder are serialised by locks anyway); a few
# workers keep the SQLite writer and the event loop busy without piling up threads. The queue holds
# a burst of a whole shop floor; beyond that a member of staff reads the Japanese "busy" notice.
ASK_CONCURRENCY = 4
RATE_CONCURRENCY = 4
QUEUE_MAX_SIZE = 64
MAX_HISTORY = 10  # earlier questions passed to the assistant for follow-ups

EXAMPLES = [
    "お客様に大声で怒鳴られました。誰に相談すればいいですか？",
    "お客様から「土下座しろ」と言われました。",
    "刃物を見せられて脅されています。",
    "同じお客様から何度も長時間の電話があります。",
    "相談窓口はどのように設置すればよいですか？",
]

NOTE = (
    "入力した質問と回答は、社内の相談対応チーム(カスタマー・ハラスメント防止対策推進チーム)が"
    "確認するために記録されます。お客様や自分の氏名・電話番号などの個人情報は入力しないでください。"
)

# What Gradio's multi-line Textbox does: Enter adds a line, Shift+Enter submits (a browser test checks).
KEYS_HINT = "「送信」ボタンか Shift + Enter で送ります。Enter キーで改行します。"

# Plain symbols present in common Japanese fonts (no emoji font needed on shop-floor PCs).
_BANNER_ICONS = {"urgent": "⚠", "report": "▲", "consult": "●", "none": "■", "outside": "○"}


def _banner(parts: AnswerParts, wording: Mapping[str, Any]) -> str:
    """The level as a coloured banner; on urgent answers, links a phone dials with one tap."""
    if not parts.shows_route:
        return f'<div class="kh-banner kh-unanswered">■ {html_text(wording["unanswered"])}</div>'
    level = parts.level
    icon = _BANNER_ICONS.get(level.id, "")
    lines = [f'<div class="kh-banner kh-{level.id}">{icon} {html_text(level.label)}: {html_text(level.route)}']
    if level.id == "urgent":
        lines += [f"<br>{html_text(c.text)}" for c in parts.contacts if c.kind == "emergency"]
        lines.append(_call_links(parts, wording))
    lines.append("</div>")
    return "".join(lines)


def _call_links(parts: AnswerParts, wording: Mapping[str, Any]) -> str:
    """Links a phone dials with one tap: the emergency number, then the head-office desk."""
    links = []
    for contact in parts.contacts:
        if not contact.tel:
            continue
        if contact.kind == "emergency":
            links.append((contact.tel, wording["call_emergency"].format(number=contact.phone)))
        else:
            links.append((contact.tel, wording["call_desk"].format(name=contact.name, phone=contact.phone)))
    anchors = "".join(f'<a class="kh-call" href="{html_text(uri)}">☎ {html_text(label)}</a>' for uri, label in links)
    return f'<div class="kh-calls">{anchors}</div>' if anchors else ""


def _org_block(answer: Any, wording: Mapping[str, Any]) -> list[str]:
    """What to do now and whom to contact, marked once as the organisation's text. An LLM answer
    is shown as worded (each of its lines is already a checked quote or marked text)."""
    parts: AnswerParts = answer.parts
    if answer.mode != "extractive":
        return [md_text(line) for line in answer.answer.splitlines() if line.strip()]
    lines = [f"**{md_text(wording['org_heading'])} {md_text(wording['what_to_do'])}**"]
    lines += [f"- {md_text(s)}" for s in (*parts.guidance, *parts.notes)]
    # The banner already shows the emergency note and its link.
    listed = [c for c in parts.contacts if c.kind != "emergency"]
    if listed:
        lines += ["", f"**{md_text(wording['whom_to_contact'])}**"]
        lines += [f"- {md_text(c.title)}: {md_text(c.text)}" for c in listed]
        if parts.contacts_note:
            lines += ["", md_text(parts.contacts_note)]
    return lines


def render_answer(answer: Any, wording: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Chatbot messages for one `Answer`, rendered from its parts in the asker's language: the main
    message (banner, what to do, whom to contact), then one collapsed message per quote with the
    verbatim passage and where it is in the manual. `wording`: prompts/extractive.toml by language."""
    parts: AnswerParts = answer.parts
    texts = wording[parts.language]
    main = _banner(parts, texts) + "\n\n" + "\n".join(_org_block(answer, texts))
    if parts.quotes:
        main += f"\n\n**{md_text(texts['sources_hint'])}**"
    messages = [{"role": "assistant", "content": main}]
    for c, label in zip(parts.quotes, parts.labels):
        details = [f"章: {c.chapter or '-'}", f"ページ: {c.page_title or '-'}", f"項目: {c.heading or '-'}",
                   f"ページ番号: {c.page if c.page not in (None, '') else '-'}", f"出典: 『{c.source}』"]
        content = "「" + md_text(c.quote) + "」\n\n" + "\n".join(md_text(d) for d in details)
        messages.append({
            "role": "assistant",
            "content": content,
            "metadata": {"title": md_text(label), "status": "done"},
        })
    return messages


class StaffChat:
    """Handlers and layout of the staff chat over one `Assistant`."""

    def __init__(self, assistant: Any, concurrency: int = ASK_CONCURRENCY,
                 queue_max_size: int = QUEUE_MAX_SIZE) -> None:
        self.assistant = assistant
        self.concurrency = concurrency
        self.queue_max_size = queue_max_size

    # --- handlers ------------------------------------------------------------------------------

    def ask(self, message: str, messages: list | None, questions: list | None, session_id: str | None,
            log_ids: dict | None) -> tuple[Any, ...]:
        messages, questions, log_ids = list(messages or []), list(questions or []), dict(log_ids or {})
        session_id = session_id or uuid.uuid4().hex
        try:
            answer = self.assistant.ask(message or "", history=questions, surface="web", session_id=session_id)
        except Exception as exc:  # KasuharaError: its own message; anything else: logged, generic
            # A notice, not gr.Error: the conversation and what was typed stay as they are.
            warn(readable(exc), title=ERROR_TITLE)
            return tuple(gr.skip() for _ in range(6))
        messages.append({"role": "user", "content": md_text(answer.question)})
        start = len(messages)
        messages += render_answer(answer, self.assistant.wording)
        for index in range(start, len(messages)):
            log_ids[str(index)] = answer.log_id
        questions = (questions + [answer.question])[-MAX_HISTORY:]
        return "", messages, messages, questions, session_id, log_ids

    def ask_example(self, messages: list | None, questions: list | None, session_id: str | None,
                    log_ids: dict | None, selected: gr.SelectData) -> tuple[Any, ...]:
        value = selected.value
        text = value.get("text", "") if isinstance(value, dict) else str(value or "")
        return self.ask(text, messages, questions, session_id, log_ids)

    def rate(self, log_ids: dict | None, liked: gr.LikeData) -> None:
        index = liked.index[0] if isinstance(liked.index, (list, tuple)) else liked.index
        uid = (log_ids or {}).get(str(index))
        if not uid:
            return
        value = 1 if liked.liked is True else -1 if liked.liked is False else None
        try:
            self.assistant.question_log.set_feedback(uid, value)
        except Exception as exc:
            warn(f"評価を記録できませんでした: {readable(exc)}")
            return
        if value is not None:
            info("評価を記録しました。ご協力ありがとうございます。")

    @staticmethod
    def new_conversation() -> tuple[Any, ...]:
        return "", [], [], [], "", {}

    # --- layout --------------------------------------------------------------------------------

    def build(self) -> gr.Blocks:
        emergency = md_text(self.assistant.contacts.emergency.note)
        with gr.Blocks(title="カスハラ相談アシスタント", analytics_enabled=False, fill_width=False) as demo:
            gr.Markdown("# カスタマー・ハラスメント相談アシスタント", elem_classes=["kh-title"])
            gr.Markdown(
                "困ったことを入力すると、**誰に相談するか**・**急ぐべきか**・**マニュアルの根拠**を答えます。\n\n"
                f"⚠ **緊急時**: {emergency}"
            )
            messages = gr.State([])
            questions = gr.State([])
            session_id = gr.State("")
            log_ids = gr.State({})
            chatbot = gr.Chatbot(
                label="相談",
                show_label=False,
                height="60vh",
                min_height=320,
                layout="bubble",
                sanitize_html=True,
                render_markdown=True,
                allow_tags=False,
                latex_delimiters=[],
                buttons=[],  # no share (internet) and no copy (it would copy the escaped source)
                feedback_options=("Like", "Dislike"),
                examples=[{"text": q} for q in EXAMPLES],
                placeholder="**例をタップするか、下の入力欄に相談内容を書いて送信してください。**",
                allow_file_downloads=False,
                elem_id="kh-chat",
            )
            with gr.Row(equal_height=True):
                textbox = gr.Textbox(
                    show_label=False,
                    placeholder="例: お客様に怒鳴られた。誰に相談すれば？",
                    lines=2,
                    max_lines=8,
                    scale=5,
                    min_width=160,
                    elem_id="kh-question",
                    autofocus=True,
                )
                send = gr.Button("送信", variant="primary", scale=1, min_width=80, elem_id="kh-send")
            gr.Markdown(KEYS_HINT, elem_classes=["kh-note"], elem_id="kh-keys")
            new = gr.Button("新しい相談を始める", variant="secondary", size="sm", elem_id="kh-new")
            gr.Markdown(NOTE, elem_classes=["kh-note"])

            outputs = [textbox, chatbot, messages, questions, session_id, log_ids]
            state_inputs = [messages, questions, session_id, log_ids]
            common = dict(concurrency_limit=self.concurrency, concurrency_id="ask", api_visibility="private",
                          show_progress="minimal")
            textbox.submit(self.ask, [textbox, *state_inputs], outputs, **common)
            send.click(self.ask, [textbox, *state_inputs], outputs, **common)
            chatbot.example_select(self.ask_example, state_inputs, outputs, **common)
            chatbot.like(self.rate, [log_ids], None, concurrency_limit=RATE_CONCURRENCY,
                         api_visibility="private", show_progress="hidden")
            new.click(self.new_conversation, None, outputs, api_visibility="private")
            chatbot.clear(self.new_conversation, None, outputs, api_visibility="private")
        demo.queue(default_concurrency_limit=self.concurrency, max_size=self.queue_max_size, api_open=False)
        return demo


def build_staff_chat(assistant: Any, **options: Any) -> gr.Blocks:
    return StaffChat(assistant, **options).build()
