"""Both pages in a real browser (Debian's Chromium via Playwright) against the app on 127.0.0.1.

Every test fails if the page tried to load anything from outside 127.0.0.1 (see tests/browser.py).
Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

import pytest

from assistant.question_log import LogFilters

pytest_plugins = ["built_index", "browser"]
pytest.register_assert_rewrite("browser")

from browser import OFFICER, login, screenshot  # noqa: E402

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"
URGENT = "お客様に刃物を出されて脅された。どうすれば？"


def ask(page: Any, question: str, answers_before: int | None = None) -> None:
    """Type a question, send it, wait for its answer."""
    bots = page.locator("#kh-chat [data-testid='bot']")
    before = bots.count() if answers_before is None else answers_before
    page.fill("#kh-question textarea", question)
    page.click("#kh-send")
    page.wait_for_function(
        "n => document.querySelectorAll(\"#kh-chat [data-testid='bot']\").length > n", arg=before, timeout=30_000)


def wait_for(predicate, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def table_cell(page: Any, text: str, table: str = "#kh-table") -> Any:
    """The visible table cell holding `text` (Gradio keeps a hidden copy for measuring)."""
    return page.locator(f"{table} [data-testid^='cell-']").filter(has_text=text).first


def newest(web_assistant: Any, text: str):
    rows = web_assistant.question_log.list(LogFilters(text=text, limit=1))
    return rows[0] if rows else None


# --- staff chat ----------------------------------------------------------------------------------


def test_chat_on_a_phone_banner_citation_and_rating(phone_session, web_assistant) -> None:
    page = phone_session.new_page()
    page.goto(phone_session.base + "/")
    page.wait_for_selector("#kh-question textarea")
    screenshot(page, "chat-phone-empty.png", full_page=False)
    question = URGENT + "(スマホ)"
    ask(page, question)

    banner = page.locator("#kh-chat .kh-banner.kh-urgent").last
    banner.wait_for()
    assert "緊急" in banner.inner_text() and "110番" in banner.inner_text()
    background = banner.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(185, 28, 28)", background
    chat_text = page.locator("#kh-chat").inner_text()
    # One block of the organisation's text, marked once: what to do now, then whom to contact.
    assert chat_text.count("【組織の案内】") == 1 and "いまやること" in chat_text
    assert "相談先" in chat_text and "本社の相談窓口" in chat_text
    guidance = web_assistant.policy.level("urgent").guidance.split("。")[0]
    assert guidance in chat_text
    # One tap to call: the emergency number and the head-office desk, from corpus/contacts.toml.
    calls = banner.locator("a.kh-call")
    hrefs = [calls.nth(i).get_attribute("href") for i in range(calls.count())]
    desk = web_assistant.contacts.head_office
    assert hrefs == ["tel:110", "tel:" + "".join(ch for ch in desk.phone if ch.isdigit())]
    assert "110番に電話する" in calls.first.inner_text() and calls.first.is_visible()
    assert calls.first.bounding_box()["height"] >= 44  # a thumb can hit it
    banner.scroll_into_view_if_needed()
    screenshot(page, "chat-phone-banner.png", full_page=False)

    # Citations start collapsed, each with a label of its own (its first words), so they can be told apart.
    logged = web_assistant.question_log.list(LogFilters(text="(スマホ)", limit=1))[0]
    titles = page.locator("#kh-chat").get_by_text(re.compile(r"^\[\d+\] .+ ─ ")).all_inner_texts()
    assert len(titles) == len(logged.citations) >= 2 and len(set(titles)) == len(titles), titles
    assert titles == [q["label"] for q in logged.parts["quotes"]]
    page.locator("#kh-chat").get_by_text("相談先", exact=True).scroll_into_view_if_needed()
    screenshot(page, "chat-phone-what-to-do.png", full_page=False)  # the block, whom to call, the labels
    citation = logged.citations[0]
    assert page.get_by_text(citation["quote"][:20]).count() == 0
    page.locator("#kh-chat").get_by_text("[1]").first.click()
    quote = page.get_by_text(citation["quote"][:20]).first
    quote.wait_for()
    text = page.locator("#kh-chat").inner_text()
    assert "章: 2章 未然防止" in text and "ページ: 相談体制の整備①" in text and "ページ番号: 28" in text
    quote.scroll_into_view_if_needed()
    screenshot(page, "chat-phone-citation.png", full_page=False)

    page.get_by_role("button", name="いいね").last.click()
    row = wait_for(lambda: (r := newest(web_assistant, "(スマホ)")) and r.feedback == 1 and r)
    assert row.level == "urgent" and row.surface == "web"

    # Nothing of the conversation is kept in the browser.
    stored = page.evaluate("() => JSON.stringify(Object.assign({}, localStorage, sessionStorage))")
    assert "スマホ" not in stored
    # The layout fits the phone: nothing wider than the screen, the send button visible.
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390 + 1
    assert page.locator("#kh-send").is_visible()


def test_the_keys_shown_next_to_the_box_are_the_keys_that_work(browser_session, web_assistant) -> None:
    page = browser_session.new_page()
    page.goto(browser_session.base + "/")
    hint = page.locator("#kh-keys").inner_text()
    assert "Shift + Enter で送ります" in hint and "Enter キーで改行" in hint and "「送信」" in hint
    box = page.locator("#kh-question textarea")
    box.click()
    box.type("お客様に怒鳴られた(キー操作)")
    box.press("Enter")
    box.type("誰に相談すれば？")
    assert box.input_value() == "お客様に怒鳴られた(キー操作)\n誰に相談すれば？"  # Enter: a new line
    assert page.locator("#kh-chat [data-testid='bot']").count() == 0  # and nothing sent
    box.press("Shift+Enter")  # Shift+Enter: sent
    page.locator("#kh-chat .kh-banner").first.wait_for(timeout=30_000)
    row = wait_for(lambda: newest(web_assistant, "(キー操作)"))
    assert row.question == "お客様に怒鳴られた(キー操作)\n誰に相談すれば？"


def test_chat_examples_dislike_and_new_conversation(browser_session, web_assistant) -> None:
    page = browser_session.new_page()
    page.goto(browser_session.base + "/")
    page.get_by_text("お客様に大声で怒鳴られました。誰に相談すればいいですか？").click()
    page.locator("#kh-chat .kh-banner").first.wait_for(timeout=30_000)
    assert page.locator("#kh-chat [data-testid='user']").first.inner_text().startswith("お客様に大声で怒鳴られました")
    ask(page, "それでも続いたら？")  # a follow-up in the same conversation
    page.get_by_role("button", name="よくないね").last.click()
    follow_up = wait_for(lambda: (r := newest(web_assistant, "それでも続いたら")) and r.feedback == -1 and r)
    first = newest(web_assistant, "大声で怒鳴られました")
    assert first.session_id == follow_up.session_id != ""
    screenshot(page, "chat-desktop.png")

    page.click("#kh-new")
    page.wait_for_function("() => document.querySelectorAll(\"#kh-chat [data-testid='bot']\").length === 0")
    page.get_by_text("刃物を見せられて脅されています。").wait_for()  # the examples are back
    ask(page, "お客様に怒鳴られた。誰に相談すれば？(新しい相談)", answers_before=0)
    fresh = wait_for(lambda: newest(web_assistant, "(新しい相談)"))
    assert fresh.session_id != first.session_id


def test_chat_shows_staff_text_literally_and_runs_no_script(browser_session) -> None:
    page = browser_session.new_page()
    page.goto(browser_session.base + "/")
    hostile = f"{XSS} **太字** [リンク](javascript:alert(2)) $$x$$"
    ask(page, hostile)
    user = page.locator("#kh-chat [data-testid='user']").last
    assert user.inner_text().strip() == hostile
    assert page.locator("#kh-chat img[src='x']").count() == 0
    assert page.locator("#kh-chat a[href^='javascript']").count() == 0
    assert page.locator("#kh-chat strong", has_text="太字").count() == 0
    page.wait_for_timeout(500)
    assert browser_session.dialogs == []


def test_chat_bad_input_is_a_readable_message(browser_session) -> None:
    page = browser_session.new_page()
    page.goto(browser_session.base + "/")
    page.wait_for_selector("#kh-question textarea")
    page.click("#kh-send")
    toast = page.get_by_text("質問が空です。相談したい内容を入力してください。")
    toast.wait_for(timeout=15_000)
    page.wait_for_timeout(500)  # the toast slides in
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and "InvalidQuestionError" not in body
    screenshot(page, "chat-error.png", full_page=False)


# --- officers' console ---------------------------------------------------------------------------


def test_login_page_rejects_a_wrong_password(browser_session) -> None:
    page = browser_session.new_page()
    page.goto(browser_session.base + "/officer/")
    page.wait_for_url("**/login?next=**")
    screenshot(page, "login.png", full_page=False)
    page.fill("#username", OFFICER)
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    assert "担当者名またはパスワードが違います" in page.locator(".error").inner_text()
    assert page.locator("#kh-table").count() == 0


def test_officer_finds_the_question_changes_status_adds_note_exports(browser_session, web_assistant) -> None:
    base = browser_session.base
    chat = browser_session.new_page()
    chat.goto(base + "/")
    ask(chat, "お客様に怒鳴られた。誰に相談すれば？ 店舗B-17")
    uid = wait_for(lambda: newest(web_assistant, "店舗B-17")).uid

    page = browser_session.new_page()
    login(page, base)
    page.get_by_text(f"ログイン中: {OFFICER}").wait_for()
    page.fill("#kh-filter-text textarea, #kh-filter-text input", "店舗B-17")
    page.click("#kh-search")
    row = table_cell(page, uid)
    row.wait_for()
    row.click()
    page.wait_for_function(
        "uid => (document.querySelector('#kh-uid textarea, #kh-uid input') || {}).value === uid", arg=uid)
    question = page.locator("#kh-detail-question textarea").input_value()
    assert question == "お客様に怒鳴られた。誰に相談すれば？ 店舗B-17"
    assert "判定理由" in page.locator("#kh-detail-meta textarea").input_value()

    page.locator("#kh-status").get_by_text("対応中").click()
    page.click("#kh-status-save")
    table_cell(page, OFFICER, "#kh-history").wait_for()
    assert web_assistant.question_log.get(uid).status == "対応中"
    page.fill("#kh-note textarea", "店長に電話で確認済み")
    page.click("#kh-note-save")
    table_cell(page, "店長に電話で確認済み", "#kh-notes").wait_for()
    notes = web_assistant.question_log.notes(uid)
    assert [(n.officer, n.text) for n in notes] == [(OFFICER, "店長に電話で確認済み")]
    screenshot(page, "console.png")

    link = page.locator("#kh-export a")
    with page.expect_download() as download_info:
        link.click(modifiers=[])
    content = open(download_info.value.path(), encoding="utf-8-sig").read()
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][0] == "ID" and [r[0] for r in rows[1:]] == [uid]
    assert rows[1][rows[0].index("対応状況")] == "対応中"

    page.get_by_role("tab", name="分析").click()
    page.locator("#kh-plot-days").get_by_text("日別・区分別の質問数").wait_for(timeout=20_000)
    page.wait_for_timeout(1000)
    assert "評価率" in page.locator("body").inner_text()
    screenshot(page, "console-insight.png")


def test_officer_corrects_a_level_and_the_next_answer_follows_it(browser_session, web_assistant) -> None:
    """Issue 8: a correction made in the console is stored with who and when, and after the reload the
    console triggers, the same message routes as corrected."""
    base = browser_session.base
    question = "レジ横の募金箱のことで、常連さんにいつも長く話しかけられる 店舗Q-42"
    chat = browser_session.new_page()
    chat.goto(base + "/")
    ask(chat, question)
    row = wait_for(lambda: newest(web_assistant, "店舗Q-42"))
    target, label = ("report", "報告") if row.level != "report" else ("consult", "相談")

    page = browser_session.new_page()
    login(page, base)
    page.get_by_text(f"ログイン中: {OFFICER}").wait_for()
    page.fill("#kh-uid textarea, #kh-uid input", row.uid)
    page.click("#kh-open")
    page.wait_for_function(
        "() => (document.querySelector('#kh-detail-question textarea') || {}).value?.includes('店舗Q-42')")
    page.click("#kh-correct-level input")
    page.get_by_role("option", name=label, exact=True).click()
    page.click("#kh-correct-save")
    page.wait_for_function(
        "label => (document.querySelector('#kh-correction textarea, #kh-correction input') || {}).value"
        "?.startsWith(label)", arg=label, timeout=120_000)
    correction = web_assistant.question_log.level_correction(row.uid)
    assert (correction.level, correction.officer) == (target, OFFICER)
    screenshot(page, "console-correction.png")

    bots = chat.locator("#kh-chat [data-testid='bot']").count()
    ask(chat, question, answers_before=bots)
    again = wait_for(lambda: (r := newest(web_assistant, "店舗Q-42")) and r.uid != row.uid and r)
    assert again.level == target


def test_console_shows_staff_text_literally(browser_session, web_assistant) -> None:
    hostile = f"{XSS} **太字** <script>alert(3)</script> 管理XSS"
    uid = web_assistant.ask(hostile, surface="web").log_id
    page = browser_session.new_page()
    login(page, browser_session.base, next_path=f"/officer/?uid={uid}")
    # The deep link (as in the urgent webhook notice) opens the detail directly.
    page.wait_for_function(
        "uid => (document.querySelector('#kh-detail-question textarea') || {}).value !== ''", arg=uid, timeout=20_000)
    assert page.locator("#kh-detail-question textarea").input_value() == hostile
    page.fill("#kh-filter-text textarea, #kh-filter-text input", "管理XSS")
    page.click("#kh-search")
    cell = table_cell(page, "管理XSS")
    cell.wait_for()
    assert cell.inner_text().startswith(XSS)
    assert page.locator("img[src='x']").count() == 0
    page.get_by_role("tab", name="分析").click()
    page.wait_for_timeout(1500)
    assert page.locator("img[src='x']").count() == 0
    assert browser_session.dialogs == []


def test_console_session_ends_at_logout(browser_session) -> None:
    page = browser_session.new_page()
    login(page, browser_session.base)
    page.click("#kh-logout")
    page.wait_for_url("**/login")
    page.goto(browser_session.base + "/officer/")
    page.wait_for_url("**/login?next=**")


def test_full_queue_shows_a_japanese_busy_notice(chromium, web_settings, web_assistant) -> None:
    """With one worker and a queue of one, a third member of staff reads a Japanese notice."""
    import threading

    from browser import open_session, serve

    from assistant.web.app import create_app

    release = threading.Event()

    class Slow:
        wording, contacts, policy = web_assistant.wording, web_assistant.contacts, web_assistant.policy
        question_log, settings = web_assistant.question_log, web_assistant.settings

        def ask(self, question, **kwargs):
            release.wait(20)
            return web_assistant.ask(question, **kwargs)

    app = create_app(web_settings, assistant=Slow(), pages=("staff",),
                     staff_options={"concurrency": 1, "queue_max_size": 1})
    with serve(app) as served:
        session = open_session(chromium, served.url)
        try:
            pages = []
            for i in range(3):
                page = session.new_page()
                page.goto(served.url + "/")
                page.wait_for_selector("#kh-question textarea")
                page.fill("#kh-question textarea", f"お客様に怒鳴られた({i})")
                page.click("#kh-send")
                page.wait_for_timeout(700)
                pages.append(page)
            notice = pages[2].get_by_text("ただいま混み合っています", exact=False)
            notice.first.wait_for(timeout=15_000)
            assert pages[2].get_by_text("This application is currently busy").count() == 0
            screenshot(pages[2], "chat-busy.png", full_page=False)
        finally:
            release.set()
            session.context.close()
        assert session.external == []
