"""The officers' console (`/officer`): every question, urgent ones first; detail, status, notes,
insight charts and CSV export. Login required (see `assistant/web/auth.py`).

Served by `assistant.web.app` (`kasuhara serve`, or `kasuhara serve --pages officer` for this page alone).

Staff text only ever reaches the page through components that show text as text (Textbox,
Dataframe with "str" columns); the one Markdown with dynamic content (the header) is escaped.
Every handler that reads or changes the log first calls `auth.require_officer(request)`.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

import gradio as gr
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import Response

import assistant.web  # noqa: F401  (Gradio environment first)
from assistant.answer_parts import contact_lines, guidance_lines, logged_parts
from assistant.core.errors import KasuharaError
from assistant.core.levels import feedback_label
from assistant.csv_export import csv_bytes
from assistant.question_log import (
    LEVELS,
    OFFICE_TZ,
    STATUSES,
    LogFilters,
    LogRow,
    QuestionLog,
)
from assistant.web.auth import CONSOLE_PREFIX, LOGOUT_PATH, OfficerAuth
from assistant.web.common import NOTICE_TITLE, info, md_text, user_error

log = logging.getLogger(__name__)

CONCURRENCY = 2
QUEUE_MAX_SIZE = 32
TABLE_LIMIT = 200
PINNED_LIMIT = 50
EXPORT_PATH = CONSOLE_PREFIX + "/export.csv"
QUESTION_PREVIEW = 80
ALL = ""

ANSWERED_CHOICES = [("すべて", ALL), ("回答あり", "yes"), ("未回答(マニュアルに記載なし)", "no")]
FEEDBACK_CHOICES = [("すべて", ALL), (feedback_label(1), "up"), (feedback_label(-1), "down"),
                    (feedback_label(None), "none")]
STATUS_CHOICES = [("すべて", ALL)] + [(s, s) for s in STATUSES]
LEVEL_COLORS = {"urgent": "#b91c1c", "report": "#ea580c", "consult": "#3b82f6", "none": "#9ca3af", "outside": "#6b7280"}

TABLE_HEADERS = ["", "日時(JST)", "区分", "対応状況", "回答", "評価", "質問", "ID"]
CITATION_HEADERS = ["番号", "箇所", "ページ", "引用(原文)"]
RETRIEVED_HEADERS = ["順位", "箇所", "BM25", "密ベクトル", "統合スコア", "チャンクID"]
HISTORY_HEADERS = ["日時(JST)", "対応状況", "担当者"]
NOTE_HEADERS = ["日時(JST)", "担当者", "メモ"]


# --- filters --------------------------------------------------------------------------------------


def _parse_day(text: str | None, label: str) -> date | None:
    text = (text or "").strip().replace("/", "-")
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise KasuharaError(f"{label}は 2025-03-04 の形式で入力してください(入力: {text[:20]})。") from None


def make_filters(since: str | None = None, until: str | None = None, level: str | None = None,
                 answered: str | None = None, feedback: str | None = None, status: str | None = None,
                 text: str | None = None, **extra: Any) -> LogFilters:
    """LogFilters from the console's form values ("" means any). Raises KasuharaError (Japanese)."""
    return LogFilters(
        since=_parse_day(since, "開始日"),
        until=_parse_day(until, "終了日"),
        level=level or None,
        answered={"yes": True, "no": False}.get(answered or ""),
        feedback=feedback or None,
        status=status or None,
        text=(text or "").strip()[:200] or None,
        **extra,
    )


FILTER_KEYS = ("since", "until", "level", "answered", "feedback", "status", "text")


# --- formatting -----------------------------------------------------------------------------------


def _local(value: datetime | None, seconds: bool = False) -> str:
    if value is None:
        return ""
    return value.astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _one_line(text: str, width: int) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _table_rows(rows: list[LogRow], pinned: set[str], labels: Mapping[str, str]) -> list[list[str]]:
    return [
        [
            "★" if r.uid in pinned else "",
            _local(r.created_at),
            labels.get(r.level, r.level),
            r.status,
            "あり" if r.answered else "未回答",
            feedback_label(r.feedback),
            _one_line(r.question, QUESTION_PREVIEW),
            r.uid,
        ]
        for r in rows
    ]


def _frame(rows: list[list[Any]], headers: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=headers).astype(str) if rows else pd.DataFrame(columns=headers)


class OfficerConsole:
    """Handlers and layout of the console over one question log."""

    def __init__(self, question_log: QuestionLog, auth: OfficerAuth, labels: Mapping[str, str],
                 chunk_section: Callable[[str], str | None] | None = None,
                 add_eval_item: Callable[..., Any] | None = None,
                 relearn: Callable[[], None] | None = None) -> None:
        """`labels`: {level id: label}, the policy's (`Policy.labels`)."""
        self.log = question_log
        self.auth = auth
        self.labels = dict(labels)
        self.chunk_section = chunk_section or (lambda chunk_id: None)
        # evals.from_log.add_from_log bound to the settings: (uid, level, evidence, answerable) -> item
        self.add_eval_item = add_eval_item
        # Retrains the router on the routing set plus every correction (Assistant.reload).
        self.relearn = relearn

    # --- reading ------------------------------------------------------------------------------

    def _rows(self, filters: LogFilters) -> tuple[list[LogRow], set[str]]:
        """Open urgent cases (not yet 完了) pinned on top, then the rest newest first."""
        pinned: list[LogRow] = []
        if filters.level in (None, "urgent") and filters.status != STATUSES[-1]:
            urgent = self.log.list(_replace(filters, level="urgent", limit=PINNED_LIMIT, offset=0))
            pinned = [r for r in urgent if r.status != STATUSES[-1]]
        pinned_ids = {r.uid for r in pinned}
        rest = [r for r in self.log.list(_replace(filters, limit=TABLE_LIMIT)) if r.uid not in pinned_ids]
        return (pinned + rest)[: TABLE_LIMIT + len(pinned)], pinned_ids

    def search(self, since: str, until: str, level: str, answered: str, feedback: str, status: str, text: str,
               request: gr.Request) -> tuple[Any, ...]:
        self.auth.require_officer(request)
        try:
            filters = make_filters(since, until, level, answered, feedback, status, text)
            rows, pinned = self._rows(filters)
            total = self.log.count(filters)
        except Exception as exc:
            raise user_error(exc) from None
        shown = f"(新しい順に{len(rows)}件を表示)" if len(rows) < total else ""
        summary = f"該当 **{total}** 件{shown}。★ は未完了の緊急案件で、先頭に固定しています。"
        query = urlencode({k: v for k, v in zip(FILTER_KEYS, (since, until, level, answered, feedback, status, text)) if v})
        link = f"{EXPORT_PATH}?{query}" if query else EXPORT_PATH
        export = f"[この条件の一覧をCSVでダウンロード({total}件)]({link})"
        return _frame(_table_rows(rows, pinned, self.labels), TABLE_HEADERS), [r.uid for r in rows], summary, export

    def select_row(self, uids: list[str] | None, selected: gr.SelectData, request: gr.Request) -> tuple[Any, ...]:
        self.auth.require_officer(request)
        row = selected.index[0] if isinstance(selected.index, (list, tuple)) else selected.index
        if not uids or not isinstance(row, int) or not 0 <= row < len(uids):
            raise gr.Error("一覧を更新してから選び直してください。", title=NOTICE_TITLE, print_exception=False)
        return self.detail(uids[row], request)

    def detail(self, uid: str, request: gr.Request) -> tuple[Any, ...]:
        self.auth.require_officer(request)
        try:
            row = self.log.get(uid or "")
            events = self.log.status_events(row.uid)
            notes = self.log.notes(row.uid)
            correction = self.log.level_correction(row.uid)
        except Exception as exc:
            raise user_error(exc) from None
        parts = logged_parts(row, self.labels)
        meta = "\n".join([
            f"日時: {_local(row.created_at, seconds=True)}(JST)  経路: {row.surface}  所要: {row.latency_ms:.0f} ms",
            f"区分: {self.labels.get(row.level, row.level)}({row.level})  {parts.level.route}",
            f"回答: {'あり' if row.answered else '未回答'}  評価: {feedback_label(row.feedback)}"
            f"  言語: {parts.language}" + (f"  入力の注記: {row.input_note}" if row.input_note else ""),
            "いまやること: " + (" / ".join(guidance_lines(parts)) or "-"),
            "相談先: " + (" / ".join(contact_lines(parts)) or "-"),
            "判定理由: " + (" / ".join(row.reasons) or "-"),
            f"回答方式: {row.answer_mode}" + (f"(フォールバック: {row.fallback_reason})" if row.fallback_reason else ""),
            f"索引: {row.index_version}  埋め込み: {row.embedder}",
        ])
        citations = [[label, c.section, str(c.page or "-"), c.quote] for c, label in zip(parts.quotes, parts.labels)]
        cited = {c.get("chunk_id"): c.get("section") for c in row.citations}
        retrieved = [
            [str(h.get("rank", "")), cited.get(h.get("chunk_id")) or self.chunk_section(str(h.get("chunk_id"))) or "-",
             f"{h.get('bm25', 0) or 0:.3f}", f"{h.get('dense', 0) or 0:.3f}", f"{h.get('fused', 0) or 0:.4f}",
             str(h.get("chunk_id", ""))]
            for h in row.retrieved
        ]
        return (
            row.uid, row.question, row.answer, meta,
            _frame(citations, CITATION_HEADERS), _frame(retrieved, RETRIEVED_HEADERS),
            gr.update(value=row.status), self._history_frame(events), self._notes_frame(notes),
            self._correction_text(correction),
            # Opens on the level the question has now, so one click cannot change it unnoticed.
            gr.update(value=correction.level if correction is not None else row.level),
        )

    @staticmethod
    def _history_frame(events: list[Any]) -> pd.DataFrame:
        return _frame([[_local(e.at, True), e.status, e.officer] for e in events], HISTORY_HEADERS)

    @staticmethod
    def _notes_frame(notes: list[Any]) -> pd.DataFrame:
        return _frame([[_local(n.at, True), n.officer, n.text] for n in notes], NOTE_HEADERS)

    # --- changing -----------------------------------------------------------------------------

    def set_status(self, uid: str, status: str, request: gr.Request) -> pd.DataFrame:
        officer = self.auth.require_officer(request)
        if not uid:
            raise gr.Error("先に一覧から質問を選んでください。", title=NOTICE_TITLE, print_exception=False)
        try:
            self.log.set_status(uid, status, officer)
            events = self.log.status_events(uid)
        except Exception as exc:
            raise user_error(exc) from None
        log.info("officer %s set %s to %s", officer, uid[:12], status)
        info(f"対応状況を「{status}」にしました。")
        return self._history_frame(events)

    def add_note(self, uid: str, text: str, request: gr.Request) -> tuple[Any, ...]:
        officer = self.auth.require_officer(request)
        if not uid:
            raise gr.Error("先に一覧から質問を選んでください。", title=NOTICE_TITLE, print_exception=False)
        try:
            self.log.add_note(uid, officer, text or "")
            notes = self.log.notes(uid)
        except Exception as exc:
            raise user_error(exc) from None
        return "", self._notes_frame(notes)

    def correct_level(self, uid: str, level: str, request: gr.Request) -> str:
        """The level a question should have had: stored with who and when; the router learns it."""
        officer = self.auth.require_officer(request)
        if not uid:
            raise gr.Error("先に一覧から質問を選んでください。", title=NOTICE_TITLE, print_exception=False)
        label = self.labels.get(level, level)
        try:
            previous = self.log.level_correction(uid)
            current = previous.level if previous is not None else self.log.get(uid).level
        except Exception as exc:
            raise user_error(exc) from None
        if level == current:
            raise gr.Error(f"この質問の対応レベルはすでに「{label}」です。正しいレベルを選んでから修正してください。",
                           title=NOTICE_TITLE, print_exception=False)
        try:
            correction = self.log.correct_level(uid, level, officer)
        except Exception as exc:
            raise user_error(exc) from None
        log.info("officer %s corrected %s to %s", officer, uid[:12], level)
        if self.relearn is None:
            info(f"「{label}」に修正しました。次にアシスタントを起動したときから判定に使われます。")
        else:
            try:
                self.relearn()
            except Exception:  # the correction is stored; the next start learns it
                log.exception("router retraining after %s's correction failed", officer)
                info(f"「{label}」に修正しました。判定への反映は次回の起動時になります。")
            else:
                info(f"「{label}」に修正し、ルーターを学習し直しました。次の質問から判定に使われます。")
        return self._correction_text(correction)

    def _correction_text(self, correction: Any) -> str:
        if correction is None:
            return "修正なし"
        return (f"{self.labels.get(correction.level, correction.level)}({correction.level})"
                f" — {correction.officer}、{_local(correction.at, True)}")

    def add_to_eval_set(self, uid: str, level: str, answerable: bool, evidence: str,
                        request: gr.Request) -> str:
        """A question that went wrong becomes a regression item of the evaluation set."""
        officer = self.auth.require_officer(request)
        if not uid:
            raise gr.Error("先に一覧から質問を選んでください。", title=NOTICE_TITLE, print_exception=False)
        if self.add_eval_item is None:
            raise gr.Error("この画面からは評価セットに追加できません。", title=NOTICE_TITLE, print_exception=False)
        lines = [line.strip() for line in (evidence or "").splitlines() if line.strip()]
        try:
            item = self.add_eval_item(uid, level, lines if answerable else [], answerable)
        except Exception as exc:
            raise user_error(exc) from None
        log.info("officer %s added %s to the evaluation set as %s", officer, uid[:12], item.id)
        info(f"評価セットに「{item.id}」として追加しました。`kasuhara eval` で確認できます。")
        return ""

    # --- insight ------------------------------------------------------------------------------

    def insight(self, since: str, until: str, level: str, answered: str, feedback: str, status: str, text: str,
                request: gr.Request) -> tuple[Any, ...]:
        self.auth.require_officer(request)
        try:
            stats = self.log.stats(make_filters(since, until, level, answered, feedback, status, text), top=10)
        except Exception as exc:
            raise user_error(exc) from None
        per_day = pd.DataFrame(
            [{"日付": d.day.isoformat(), "区分": self.labels.get(d.level, d.level), "件数": d.count} for d in stats.per_day],
            columns=["日付", "区分", "件数"],
        )
        sections = pd.DataFrame(
            [{"箇所": _short_section(s.section), "件数": s.count, "箇所(全体)": s.section} for s in stats.top_sections],
            columns=["箇所", "件数", "箇所(全体)"],
        )
        fb = stats.feedback
        feedback_df = pd.DataFrame(
            {"評価": ["役に立った", "役に立たなかった", "未評価"], "件数": [fb.up, fb.down, fb.total - fb.rated]}
        )
        unanswered = _frame([[_local(r.created_at), _one_line(r.question, 120), r.uid] for r in stats.unanswered],
                            ["日時(JST)", "質問(マニュアルで答えられなかったもの)", "ID"])
        answered_rate = stats.answered / stats.total if stats.total else 0.0
        summary = (
            f"質問 **{stats.total}** 件 / 回答あり {stats.answered} 件({answered_rate:.0%}) / "
            f"未回答 {stats.total - stats.answered} 件  \n"
            f"評価率 {fb.rate:.0%}(評価 {fb.rated} 件) / 役に立った割合 {fb.positive_rate:.0%}"
        )
        return summary, per_day, sections[["箇所", "件数"]], sections[["箇所(全体)", "件数"]], feedback_df, unanswered

    # --- page ---------------------------------------------------------------------------------

    def on_load(self, request: gr.Request) -> tuple[Any, ...]:
        officer = self.auth.require_officer(request)
        header = f"ログイン中: **{md_text(officer)}** さん"
        uid = ""
        try:
            uid = str(request.query_params.get("uid") or "")[:64]
        except AttributeError:
            pass
        return header, uid

    def build(self) -> gr.Blocks:
        level_choices = [(self.labels.get(level, level), level) for level in LEVELS]
        with gr.Blocks(title="相談記録コンソール | カスハラ相談アシスタント", analytics_enabled=False,
                       fill_width=True) as demo:
            gr.Markdown("# 相談記録コンソール(担当者用)")
            with gr.Row(equal_height=True):
                header = gr.Markdown("", elem_id="kh-officer")
                gr.Button("ログアウト", link=LOGOUT_PATH, link_target="_self", size="sm", scale=0, min_width=100,
                          elem_id="kh-logout")
            uids = gr.State([])
            with gr.Accordion("絞り込み条件", open=True):
                with gr.Row():
                    since = gr.Textbox(label="開始日", placeholder="2025-03-01", max_lines=1, min_width=120)
                    until = gr.Textbox(label="終了日", placeholder="2025-03-31", max_lines=1, min_width=120)
                    level = gr.Dropdown([("すべて", ALL), *level_choices], value=ALL, label="区分", min_width=120)
                    answered = gr.Dropdown(ANSWERED_CHOICES, value=ALL, label="回答", min_width=160)
                    feedback = gr.Dropdown(FEEDBACK_CHOICES, value=ALL, label="評価", min_width=160)
                    status = gr.Dropdown(STATUS_CHOICES, value=ALL, label="対応状況", min_width=120)
                with gr.Row():
                    text = gr.Textbox(label="キーワード(質問・回答)", max_lines=1, scale=4, elem_id="kh-filter-text")
                    search = gr.Button("絞り込む", variant="primary", scale=1, elem_id="kh-search")
            filters = [since, until, level, answered, feedback, status, text]
            with gr.Tabs():
                with gr.Tab("相談記録", id="log"):
                    summary = gr.Markdown("")
                    export = gr.Markdown("", elem_id="kh-export")
                    table = gr.Dataframe(
                        headers=TABLE_HEADERS, datatype="str", interactive=False, wrap=True, max_height=480,
                        column_widths=["3%", "12%", "6%", "7%", "7%", "5%", "40%", "20%"], elem_id="kh-table",
                        label="質問一覧(新しい順・未完了の緊急案件を先頭に固定)",
                    )
                    gr.Markdown("### 詳細(一覧の行を選ぶか、IDを入力)")
                    with gr.Row():
                        uid = gr.Textbox(label="質問ID", max_lines=1, scale=4, elem_id="kh-uid")
                        open_btn = gr.Button("表示", scale=1, elem_id="kh-open")
                    question = gr.Textbox(label="質問(スタッフの入力そのまま)", interactive=False, lines=2,
                                          max_lines=12, elem_id="kh-detail-question")
                    answer = gr.Textbox(label="回答", interactive=False, lines=4, max_lines=20, elem_id="kh-detail-answer")
                    meta = gr.Textbox(label="区分・判定理由など", interactive=False, lines=5, elem_id="kh-detail-meta")
                    citations = gr.Dataframe(headers=CITATION_HEADERS, datatype="str", interactive=False, wrap=True,
                                             column_widths=["5%", "30%", "6%", "59%"], label="引用したマニュアルの箇所")
                    retrieved = gr.Dataframe(headers=RETRIEVED_HEADERS, datatype="str", interactive=False, wrap=True,
                                             label="検索で見つかったチャンクとスコア")
                    with gr.Row():
                        status_choice = gr.Radio(list(STATUSES), label="対応状況", value=STATUSES[0], scale=3,
                                                 elem_id="kh-status")
                        status_btn = gr.Button("対応状況を更新", scale=1, elem_id="kh-status-save")
                    history = gr.Dataframe(headers=HISTORY_HEADERS, datatype="str", interactive=False,
                                           label="対応状況の履歴(誰が・いつ)", elem_id="kh-history")
                    with gr.Row():
                        note = gr.Textbox(label="メモ", lines=2, scale=4, elem_id="kh-note")
                        note_btn = gr.Button("メモを追加", scale=1, elem_id="kh-note-save")
                    notes = gr.Dataframe(headers=NOTE_HEADERS, datatype="str", interactive=False, wrap=True,
                                         label="メモ(誰が・いつ)", elem_id="kh-notes")
                    with gr.Row():
                        correct_choice = gr.Dropdown(level_choices, value=None,
                                                     label="正しい対応レベル(ルーターに学ばせる)", scale=2,
                                                     elem_id="kh-correct-level")
                        correct_btn = gr.Button("対応レベルを修正", scale=1, elem_id="kh-correct-save")
                        correction_now = gr.Textbox(label="現在の修正(誰が・いつ)", interactive=False, scale=2,
                                                    elem_id="kh-correction")
                    with gr.Accordion("評価セットに追加(うまく答えられなかった質問を回帰テストにする)", open=False):
                        with gr.Row():
                            eval_level = gr.Dropdown(level_choices, value="consult",
                                                     label="正しい対応レベル", scale=1, elem_id="kh-eval-level")
                            eval_answerable = gr.Checkbox(value=True, label="マニュアルで答えられる質問", scale=1,
                                                          elem_id="kh-eval-answerable")
                        eval_evidence = gr.Textbox(label="根拠となるマニュアルの文言(1 行に 1 つ、原文のまま)",
                                                   lines=2, elem_id="kh-eval-evidence")
                        eval_btn = gr.Button("評価セットに追加", elem_id="kh-eval-add")
                with gr.Tab("分析", id="insight") as insight_tab:
                    gr.Markdown("集計は上の絞り込み条件(期間・区分など)に従います。")
                    insight_btn = gr.Button("集計を更新", elem_id="kh-insight")
                    insight_summary = gr.Markdown("")
                    per_day = gr.BarPlot(x="日付", y="件数", color="区分", color_map={self.labels[lv]: c for lv, c in LEVEL_COLORS.items()},
                                         title="日別・区分別の質問数", x_title="日付", y_title="件数", y_lim=[0, None],
                                         height=280, elem_id="kh-plot-days")
                    sections_plot = gr.BarPlot(x="箇所", y="件数", title="よく引用されたマニュアルの箇所",
                                               sort="-y", x_label_angle=-20, y_lim=[0, None], height=320,
                                               elem_id="kh-plot-sections")
                    sections_table = gr.Dataframe(datatype="str", interactive=False, wrap=True,
                                                  label="よく引用された箇所(全体名)")
                    feedback_plot = gr.BarPlot(x="評価", y="件数", title="回答への評価", y_lim=[0, None], height=240,
                                               sort=["役に立った", "役に立たなかった", "未評価"], elem_id="kh-plot-feedback")
                    unanswered = gr.Dataframe(datatype="str", interactive=False, wrap=True,
                                              label="マニュアルで答えられなかった質問(マニュアルの不足)")

            options = dict(concurrency_limit=CONCURRENCY, api_visibility="private")
            detail_outputs = [uid, question, answer, meta, citations, retrieved, status_choice, history, notes,
                              correction_now, correct_choice]
            list_outputs = [table, uids, summary, export]
            insight_outputs = [insight_summary, per_day, sections_plot, sections_table, feedback_plot, unanswered]

            loaded = demo.load(self.on_load, None, [header, uid], **options)
            loaded.then(self.search, filters, list_outputs, **options)
            loaded.then(self._detail_if_any, [uid], detail_outputs, **options)
            for trigger in (search.click, text.submit):
                trigger(self.search, filters, list_outputs, **options)
            table.select(self.select_row, [uids], detail_outputs, **options)
            open_btn.click(self.detail, [uid], detail_outputs, **options)
            uid.submit(self.detail, [uid], detail_outputs, **options)
            status_btn.click(self.set_status, [uid, status_choice], [history], **options).then(
                self.search, filters, list_outputs, **options)
            note_btn.click(self.add_note, [uid, note], [note, notes], **options)
            correct_btn.click(self.correct_level, [uid, correct_choice], [correction_now], **options)
            eval_btn.click(self.add_to_eval_set, [uid, eval_level, eval_answerable, eval_evidence], [eval_evidence],
                           **options)
            insight_btn.click(self.insight, filters, insight_outputs, **options)
            insight_tab.select(self.insight, filters, insight_outputs, **options)
        demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_MAX_SIZE, api_open=False)
        return demo

    def _detail_if_any(self, uid: str, request: gr.Request) -> tuple[Any, ...]:
        if not uid:
            return tuple(gr.skip() for _ in range(10))
        return self.detail(uid, request)

    # --- CSV ----------------------------------------------------------------------------------

    def export_route(self, request: Request) -> Response:
        """GET /officer/export.csv?<filters>: the filtered view as CSV (formula-injection safe)."""
        session = self.auth.session(request.cookies)
        if session is None:
            return Response("ログインが必要です。", status_code=401, media_type="text/plain; charset=utf-8")
        params = {k: request.query_params.get(k, "") for k in FILTER_KEYS}
        try:
            filters = make_filters(**params, limit=None, urgent_first=True)
            rows = self.log.list(filters)
        except KasuharaError as exc:
            return Response(str(exc), status_code=400, media_type="text/plain; charset=utf-8")
        log.info("officer %s exported %d questions as CSV", session.officer, len(rows))
        stamp = datetime.now(OFFICE_TZ).strftime("%Y%m%d-%H%M%S")
        return Response(
            csv_bytes(rows, self.labels),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="kasuhara-log-{stamp}.csv"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )


def _replace(filters: LogFilters, **changes: Any) -> LogFilters:
    import dataclasses

    return dataclasses.replace(filters, **changes)


def _short_section(section: str) -> str:
    parts = [p for p in section.split(" › ") if p]
    short = " › ".join(parts[-2:]) if parts else section
    return short if len(short) <= 30 else short[:29] + "…"


def mount(app: FastAPI, question_log: QuestionLog, auth: OfficerAuth, labels: Mapping[str, str],
          chunk_section: Callable[[str], str | None] | None = None,
          add_eval_item: Callable[..., Any] | None = None, relearn: Callable[[], None] | None = None,
          **mount_overrides: Any) -> OfficerConsole:
    """Add the console (and its CSV route) to `app` at /officer. `auth.install(app)` must run first."""
    from assistant.web.common import mount_options

    console = OfficerConsole(question_log, auth, labels, chunk_section, add_eval_item, relearn)
    app.add_api_route(EXPORT_PATH, console.export_route, methods=["GET"], include_in_schema=False)
    gr.mount_gradio_app(app, console.build(), path=CONSOLE_PREFIX, auth_dependency=auth.dependency,
                        **mount_options(**mount_overrides))
    return console
