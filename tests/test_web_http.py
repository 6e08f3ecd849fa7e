"""The web app over raw HTTP and gradio_client: login, cookies, throttling, every officer route
closed without a login, the staff API unable to read the log, CSV export, errors and the queue."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import threading
import time
from types import SimpleNamespace
from typing import Any

import gradio as gr
import httpx
import pytest

from assistant.officers import LoginThrottle
from assistant.web.auth import COOKIE, OfficerAuth
from assistant.web.common import UNEXPECTED_ERROR, md_text
from assistant.web.officer_console import OfficerConsole
from assistant.web.staff_chat import StaffChat, render_answer

pytest_plugins = ["built_index", "browser"]
pytest.register_assert_rewrite("browser")

from browser import (  # noqa: E402
    OFFICER,
    PASSWORD,
    ask_over_http,
    dependency_index,
    queue_call,
    serve,
)

HOSTILE = ['=HYPERLINK("http://evil.example","開く")', "@SUM(A1:A9)", "+81 と書いた", "-1+2 の件"]


def login(base: str, name: str = OFFICER, password: str = PASSWORD, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{base}/login", data={"username": name, "password": password, **kwargs},
                      follow_redirects=False, timeout=10)


@pytest.fixture(scope="module")
def cookies(live_app) -> dict[str, str]:
    response = login(live_app.url)
    assert response.status_code == 303, response.text
    return {COOKIE: response.cookies[COOKIE]}


# --- staff page ---------------------------------------------------------------------------------


def test_staff_page_config_has_no_api_link_history_or_analytics(live_app) -> None:
    page = httpx.get(live_app.url + "/", timeout=10)
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    config = httpx.get(live_app.url + "/config", timeout=10).json()
    assert config["footer_links"] == []
    assert config["analytics_enabled"] is False
    assert config["run_history"] is False
    assert all(d["api_visibility"] == "private" for d in config["dependencies"])
    assert "googleapis" not in page.text and "googleapis" not in config["css"] + str(config["stylesheets"])
    assert config["stylesheets"] == [] or all(s.startswith("/") for s in config["stylesheets"])
    chatbot = next(c for c in config["components"] if c["type"] == "chatbot")
    assert chatbot["props"]["sanitize_html"] is True and chatbot["props"]["allow_tags"] is False


def test_gradio_client_sees_no_staff_endpoint(live_app) -> None:
    from gradio_client import Client

    client = Client(live_app.url + "/", verbose=False)
    assert client.view_api(return_format="dict", print_info=False) == {"named_endpoints": {}, "unnamed_endpoints": {}}
    with pytest.raises(ValueError):
        client.predict("お客様に怒鳴られた", fn_index=0)


def test_staff_api_cannot_read_the_log(live_app, web_assistant) -> None:
    """Call every staff event through the queue with whatever data: nothing from the log comes back,
    and a rating cannot reach a question this session did not ask."""
    secret = web_assistant.ask("秘密の相談 MARKER-7Q3 について", surface="web", session_id="other")
    config = httpx.get(live_app.url + "/config", timeout=10).json()
    for dep in config["dependencies"]:
        payloads = [[None] * len(dep["inputs"]), [secret.log_id] * len(dep["inputs"]),
                    [{str(i): secret.log_id for i in range(5)}] * len(dep["inputs"])]
        for data in payloads:
            message = queue_call(live_app.url, dep["id"], data)
            assert "MARKER-7Q3" not in str(message), dep["api_name"]
    # A like event naming message 1, with a state the client made up: the server keeps the state.
    like = dependency_index(live_app.url, "rate")
    with httpx.Client(base_url=live_app.url, timeout=10) as client:
        client.post("/gradio_api/queue/join", json={
            "data": [{"1": secret.log_id}], "fn_index": like, "session_hash": "abcdef123456",
            "event_data": {"index": 1, "value": ["x"], "liked": True}, "trigger_id": None})
    time.sleep(0.5)
    assert web_assistant.question_log.get(secret.log_id).feedback is None


# --- officer routes without a login --------------------------------------------------------------

CLOSED_GET = ["/officer/config", "/officer/gradio_api/info", "/officer/gradio_api/config",
              "/officer/gradio_api/queue/data?session_hash=abc", "/officer/export.csv",
              "/officer/export.csv?level=urgent", "/officer/theme.css", "/officer/gradio_api/file=/etc/passwd",
              "/officer/gradio_api/startup-events", "/officer/gradio_api/user", "/officer/manifest.json",
              "/officer/assets/index.js", "/officer/gradio_api/call/search"]
CLOSED_POST = ["/officer/gradio_api/queue/join", "/officer/gradio_api/run/predict", "/officer/gradio_api/api/search",
               "/officer/gradio_api/call/search", "/officer/gradio_api/upload", "/officer/gradio_api/reset",
               "/officer/gradio_api/cancel", "/officer/login"]


@pytest.mark.parametrize("cookie", [None, "forged.token", "eyJ1Ijoi5bGx55SwIn0.AAAA"])
def test_every_officer_route_is_closed_without_a_valid_login(live_app, cookie: str | None) -> None:
    cookies = {COOKIE: cookie} if cookie else None
    with httpx.Client(base_url=live_app.url, cookies=cookies, timeout=10, follow_redirects=False) as client:
        for path in CLOSED_GET:
            assert client.get(path).status_code in (401, 403), path
        for path in CLOSED_POST:
            response = client.post(path, json={"data": [], "fn_index": 0, "session_hash": "abc"})
            assert response.status_code in (401, 403), path
        page = client.get("/officer/")
        assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
        assert client.get("/officer").status_code in (303, 307)


def test_gradio_client_cannot_open_the_console(live_app) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AuthenticationError

    with pytest.raises((AuthenticationError, ValueError, httpx.HTTPStatusError)):
        Client(live_app.url + "/officer/", verbose=False)


def test_console_handlers_check_the_officer_themselves(web_settings, web_assistant, officer_account) -> None:
    """Even if the gate and Gradio's dependency were bypassed, each handler refuses without a session."""
    auth = OfficerAuth(web_settings)
    console = OfficerConsole(web_assistant.question_log, auth, web_assistant.policy.labels)
    uid = web_assistant.ask("お客様に怒鳴られた。誰に相談すれば？", surface="web").log_id
    anonymous = gr.Request(cookies={})
    forged = gr.Request(cookies={COOKIE: "abc.def"})
    calls = [
        lambda r: console.search("", "", "", "", "", "", "", r),
        lambda r: console.detail(uid, r),
        lambda r: console.set_status(uid, "対応中", r),
        lambda r: console.add_note(uid, "メモ", r),
        lambda r: console.insight("", "", "", "", "", "", "", r),
        lambda r: console.on_load(r),
        lambda r: console.select_row([uid], SimpleNamespace(index=[0, 0]), r),
    ]
    for call in calls:
        for request in (anonymous, forged, None):
            with pytest.raises(gr.Error, match="ログイン"):
                call(request)
    assert web_assistant.question_log.get(uid).status == "未確認"
    assert web_assistant.question_log.notes(uid) == []
    token = auth.signer.issue(auth.store.get(OFFICER))
    history = console.set_status(uid, "対応中", gr.Request(cookies={COOKIE: token}))
    assert list(history.iloc[-1])[1:] == ["対応中", OFFICER]


def test_the_correction_opens_on_the_current_level_and_refuses_a_non_change(web_settings, web_assistant,
                                                                           officer_account) -> None:
    """From a new user's trial: the level picker showed 相談 on every record, so one click on an urgent
    record downgraded it. It now opens on the record's level, and saving that same level is refused."""
    auth = OfficerAuth(web_settings)
    console = OfficerConsole(web_assistant.question_log, auth, web_assistant.policy.labels)
    answer = web_assistant.ask("客に殴られて、外でまた待っていると言われました", surface="web")
    assert answer.route.level == "urgent"
    request = gr.Request(cookies={COOKIE: auth.signer.issue(auth.store.get(OFFICER))})
    assert console.detail(answer.log_id, request)[-1]["value"] == "urgent"
    with pytest.raises(gr.Error, match="すでに「緊急」"):
        console.correct_level(answer.log_id, "urgent", request)
    assert web_assistant.question_log.level_correction(answer.log_id) is None
    console.correct_level(answer.log_id, "report", request)
    assert console.detail(answer.log_id, request)[-1]["value"] == "report"
    with pytest.raises(gr.Error, match="すでに「報告」"):
        console.correct_level(answer.log_id, "report", request)


# --- login ---------------------------------------------------------------------------------------


def test_login_sets_a_signed_httponly_samesite_cookie_and_logout_revokes_it(live_app) -> None:
    wrong = login(live_app.url, password="wrong-password-x")
    assert wrong.status_code == 401 and "担当者名またはパスワードが違います" in wrong.text
    assert COOKIE not in wrong.cookies
    ok = login(live_app.url)
    assert ok.status_code == 303 and ok.headers["location"] == "/officer/"
    header = ok.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header and "path=/" in header
    cookies = {COOKIE: ok.cookies[COOKIE]}
    config = httpx.get(live_app.url + "/officer/config", cookies=cookies, timeout=10)
    assert config.status_code == 200 and config.json()["username"] == OFFICER
    console = httpx.get(live_app.url + "/officer/", cookies=cookies, timeout=10)
    assert console.status_code == 200 and console.headers["x-frame-options"] == "DENY"
    out = httpx.get(live_app.url + "/logout", cookies=cookies, follow_redirects=False, timeout=10)
    assert out.status_code == 303
    assert httpx.get(live_app.url + "/officer/config", cookies=cookies, timeout=10).status_code == 401


def test_login_refuses_cross_site_posts_and_offsite_redirects(live_app) -> None:
    evil = httpx.post(f"{live_app.url}/login", data={"username": OFFICER, "password": PASSWORD},
                      headers={"Origin": "http://evil.example"}, timeout=10)
    assert evil.status_code == 403
    for target in ("https://evil.example/", "//evil.example/officer/", "/officer/../login", "/\\evil.example",
                   "javascript:alert(1)"):
        response = login(live_app.url, next=target)
        location = response.headers["location"]
        assert location.startswith("/officer/") and "evil" not in location and "javascript" not in location
    deep = login(live_app.url, next="/officer/?uid=abcdef")
    assert deep.headers["location"] == "/officer/?uid=abcdef"


def test_repeated_failed_logins_are_slowed_down(web_settings, web_assistant, officer_account) -> None:
    from assistant.web.app import create_app

    auth = OfficerAuth(web_settings, throttle=LoginThrottle(free_attempts=3, base_delay=1.0))
    app = create_app(web_settings, assistant=web_assistant, pages=("officer",), auth=auth)
    with serve(app) as served:
        for _ in range(3):
            assert login(served.url, password="wrong-password-x").status_code == 401
        fourth = login(served.url, password="wrong-password-x")
        assert fourth.status_code == 401 and "秒後" in fourth.text
        # Even the right password is not checked while the wait lasts.
        blocked = login(served.url)
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
        assert "一時的に受け付けを止めています" in blocked.text
        # Another name from the same address waits too (per address).
        assert login(served.url, name="佐藤", password="whatever-long").status_code == 429
        time.sleep(1.1)
        assert login(served.url).status_code == 303
        assert login(served.url, password="wrong-password-x").status_code == 401  # counting restarted


# --- console over HTTP ---------------------------------------------------------------------------


def test_console_api_works_with_a_login(live_app, cookies, web_assistant) -> None:
    marker = web_assistant.ask("怒鳴られた MARKER-CONSOLE-1 誰に相談すれば", surface="web")
    config = httpx.get(live_app.url + "/officer/config", cookies=cookies, timeout=10).json()
    components = {c["id"]: c["props"].get("elem_id") for c in config["components"]}
    search = next(d["id"] for d in config["dependencies"]
                  if any(components.get(t[0]) == "kh-search" for t in d["targets"]))
    message = queue_call(live_app.url + "/officer", search, ["", "", "", "", "", "", "MARKER-CONSOLE-1"],
                         cookies=cookies)
    assert message["success"], message
    table = message["output"]["data"][0]
    assert marker.log_id in str(table)


def test_csv_export_is_filtered_and_formula_safe(live_app, cookies, web_assistant) -> None:
    uids = [web_assistant.ask(f"{text} CSVTEST", surface="web").log_id for text in HOSTILE]
    response = httpx.get(live_app.url + "/officer/export.csv", params={"text": "CSVTEST"}, cookies=cookies, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["cache-control"] == "no-store"
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    header, data = rows[0], rows[1:]
    assert {r[0] for r in data} == set(uids)
    questions = [r[header.index("質問")] for r in data]
    for text in HOSTILE:
        assert f"'{text} CSVTEST" in questions
    bad = httpx.get(live_app.url + "/officer/export.csv", params={"since": "昨日"}, cookies=cookies, timeout=10)
    assert bad.status_code == 400 and "形式" in bad.text


# --- staff errors and queue ----------------------------------------------------------------------


class FakeAssistant:
    """Just enough of `Assistant` for the staff chat: `ask` is given per test."""

    def __init__(self, ask, web_assistant) -> None:
        self.ask = ask
        self.wording = web_assistant.wording
        self.contacts = web_assistant.contacts
        self.question_log = web_assistant.question_log
        self.settings = web_assistant.settings


def test_bad_input_is_a_readable_notice_and_the_chat_stays(web_assistant, monkeypatch, caplog) -> None:
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(gr, "Warning", lambda message, title="": shown.append((message, title)))
    chat = StaffChat(web_assistant)
    outputs = chat.ask("   ", [{"role": "user", "content": "前の質問"}], ["前の質問"], "s1", {})
    assert all(isinstance(o, type(gr.skip())) for o in outputs)  # nothing in the chat changes
    assert shown[-1] == ("質問が空です。相談したい内容を入力してください。", "エラー")
    chat.ask("あ" * (web_assistant.settings.max_question_chars + 1), [], [], "", {})
    assert "長すぎます" in shown[-1][0]

    def broken(*args, **kwargs):
        raise RuntimeError("database password is hunter2 <b>")

    StaffChat(FakeAssistant(broken, web_assistant)).ask("質問", [], [], "", {})
    assert shown[-1][0] == UNEXPECTED_ERROR
    assert "hunter2" in caplog.text  # logged for the administrator, not shown


def test_notices_are_escaped_html(monkeypatch) -> None:
    from assistant.web.common import warn

    shown: list[str] = []
    monkeypatch.setattr(gr, "Warning", lambda message, title="": shown.append(message))
    warn("<img src=x onerror=alert(1)>")
    assert shown == ["&lt;img src=x onerror=alert(1)&gt;"]


def test_errors_over_http_are_japanese_without_traceback(live_app) -> None:
    message = queue_call(live_app.url, dependency_index(live_app.url, "ask_1"), ["", None, None, None, None])
    assert [(m["level"], m["log"]) for m in message["logs"]] == [
        ("warning", "質問が空です。相談したい内容を入力してください。")]
    text = str(message)
    assert "Traceback" not in text and "InvalidQuestionError" not in text


def test_full_queue_answers_busy(web_settings, web_assistant) -> None:
    from assistant.web.app import create_app

    release = threading.Event()

    def slow(question, **kwargs):
        release.wait(10)
        return web_assistant.ask(question, **kwargs)

    app = create_app(web_settings, assistant=FakeAssistant(slow, web_assistant), pages=("staff",),
                     staff_options={"concurrency": 1, "queue_max_size": 1})
    with serve(app) as served:
        fn = dependency_index(served.url, "ask_1")
        results: list[Any] = []
        threads = [threading.Thread(target=lambda i=i: results.append(
            queue_call(served.url, fn, [f"質問{i}", None, None, None, None]))) for i in range(2)]
        for t in threads:
            t.start()
            time.sleep(0.5)  # first one running, second one waiting in the queue
        third = queue_call(served.url, fn, ["質問3", None, None, None, None])
        release.set()
        for t in threads:
            t.join(15)
        assert third["status"] == 503 and "Queue is full" in third["body"]
        assert all(r.get("success") for r in results), results
        head = httpx.get(served.url + "/config", timeout=10).json()["head"]
        assert "ただいま混み合っています" in head


# --- rendering -----------------------------------------------------------------------------------


def test_md_text_leaves_nothing_to_interpret() -> None:
    for hostile in ['<img src=x onerror=alert(1)>', "**太字** _斜体_ `code`", "[link](javascript:alert(1))",
                    "![img](http://evil.example/x.png)", "$$x^2$$", "# 見出し", "1. リスト", "| a | b |"]:
        escaped = md_text(hostile)
        assert "<" not in escaped and ">" not in escaped
        assert all(ch not in escaped.replace("\\" + ch, "") for ch in "*_`[]()!$#|")


def test_render_answer_banner_and_citations(web_assistant) -> None:
    answer = web_assistant.ask("お客様に刃物を出されて脅された。どうすれば？", surface="web")
    messages = render_answer(answer, web_assistant.wording)
    main = messages[0]["content"]
    assert 'class="kh-banner kh-urgent"' in main and "110番" in main
    assert main.count(md_text("【組織の案内】")) == 1  # the organisation's block is marked once
    assert len(messages) == 1 + len(answer.citations)
    titles = [m["metadata"]["title"] for m in messages[1:]]
    assert len(set(titles)) == len(titles)
    for title, message, citation in zip(titles, messages[1:], answer.citations):
        assert title.startswith(md_text(f"[{citation.n}] ")) and md_text(" p.28 ─ ") in title
        assert md_text(citation.quote) in message["content"]
        plain = message["content"].replace("\\", "")
        assert "章: 2章 未然防止" in plain and "ページ: 相談体制の整備①" in plain and "ページ番号: 28" in plain
    hostile = SimpleNamespace(**{**answer.__dict__})
    hostile.citations = [SimpleNamespace(**{**answer.citations[0].__dict__, "quote": "<script>alert(1)</script>"})]
    hostile.parts = dataclasses.replace(answer.parts, quotes=tuple(hostile.citations))
    rendered = render_answer(hostile, web_assistant.wording)
    assert "<script" not in str(rendered) and "&lt;script&gt;" in str(rendered)


@pytest.mark.parametrize("path", ["/gradio_api/upload", "/gradio_api/upload?upload_id=abc", "/upload",
                                  "/officer/gradio_api/upload", "/gradio_api/upload_progress?upload_id=abc",
                                  "/GRADIO_API/UPLOAD"])
def test_uploads_are_refused_on_every_route(live_app, path: str) -> None:
    files = {"files": ("note.txt", b"anonymous bytes", "text/plain")}
    posted = httpx.post(f"{live_app.url}{path}", files=files, timeout=10)
    assert posted.status_code == 403 and "ファイルを受け付けていません" in posted.text
    assert httpx.get(f"{live_app.url}{path}", timeout=10).status_code == 403
    assert httpx.get(f"{live_app.url}/healthz", timeout=10).status_code == 200  # the rest still works


def test_unanswered_gets_its_own_banner(web_assistant) -> None:
    """An abstaining Answer, built directly: whatever the corpus covers, the banner must show."""
    from assistant.answer_parts import answer_text
    from assistant.answering import Answer

    route = web_assistant.router.fixed_route("none", ["マニュアルに記載なし(テスト)"])
    parts = web_assistant.compose(route, [], False)
    body = answer_text(parts, web_assistant.wording["ja"])
    answer = Answer("駐車場の料金はいくらですか", body, False, route, [], parts, "0" * 32, 1.0)
    main = render_answer(answer, web_assistant.wording)[0]["content"]
    assert "kh-unanswered" in main and "相談窓口" in main
    assert web_assistant.policy.not_covered[:20] in main.replace("\\", "")


def test_feedback_is_stored_with_the_answer(web_assistant) -> None:
    chat = StaffChat(web_assistant)
    _, messages, _, questions, session, log_ids = chat.ask("お客様に怒鳴られた。誰に相談すれば？", [], [], "", {})
    assert questions and session and len(set(log_ids.values())) == 1
    uid = log_ids["1"]
    chat.rate(log_ids, SimpleNamespace(index=1, liked=True))
    assert web_assistant.question_log.get(uid).feedback == 1
    chat.rate(log_ids, SimpleNamespace(index=1, liked=False))
    assert web_assistant.question_log.get(uid).feedback == -1
    chat.rate(log_ids, SimpleNamespace(index=0, liked=True))  # the user's own message: nothing to rate
    assert web_assistant.question_log.get(uid).feedback == -1


def test_follow_up_uses_the_conversation(web_assistant) -> None:
    chat = StaffChat(web_assistant)
    first = chat.ask("お客様に怒鳴られた。誰に相談すれば？", [], [], "", {})
    _, messages, _, questions, session, log_ids = chat.ask("それでも続いたら？", first[2], first[3], first[4], first[5])
    assert questions == ["お客様に怒鳴られた。誰に相談すれば？", "それでも続いたら？"]
    rows = web_assistant.question_log.list()
    assert {r.session_id for r in rows if r.uid in set(log_ids.values())} == {session}


def test_app_was_built_and_served_without_the_network(live_app, network_guard) -> None:
    httpx.get(live_app.url + "/", timeout=10)
    ask_over_http(live_app.url, "お客様に怒鳴られた。誰に相談すれば？")
    assert network_guard.attempts == []


def test_console_turns_a_logged_question_into_an_evaluation_item(web_settings, web_assistant, officer_account,
                                                                  tmp_path) -> None:
    import functools
    import json
    import shutil

    from evals.dataset import DEFAULT_SET, load_questions
    from evals.from_log import add_from_log

    question_set = tmp_path / "questions.jsonl"
    shutil.copy(DEFAULT_SET, question_set)
    adder = functools.partial(lambda s, uid, level, evidence, answerable, path: add_from_log(
        s, uid, level, evidence, answerable, set_path=path), web_settings, path=question_set)
    auth = OfficerAuth(web_settings)
    console = OfficerConsole(web_assistant.question_log, auth, web_assistant.policy.labels, add_eval_item=adder)
    uid = web_assistant.ask("お客様から「店を燃やす」と言われました", surface="web").log_id
    with pytest.raises(gr.Error, match="ログイン"):
        console.add_to_eval_set(uid, "urgent", True, "警察・弁護士との連携", gr.Request(cookies={}))
    token = auth.signer.issue(auth.store.get(OFFICER))
    signed_in = gr.Request(cookies={COOKIE: token})
    with pytest.raises(gr.Error):  # evidence that the manual does not hold is refused, nothing written
        console.add_to_eval_set(uid, "urgent", True, "マニュアルにない文言です", signed_in)
    before = len(load_questions(question_set))
    assert console.add_to_eval_set(uid, "urgent", True, "警察・弁護士との連携\n", signed_in) == ""
    items = load_questions(question_set)
    assert len(items) == before + 1
    added = json.loads(question_set.read_text(encoding="utf-8").splitlines()[-1])
    assert added["question"] == "お客様から「店を燃やす」と言われました" and added["level"] == "urgent"
    assert added["evidence"] == ["警察・弁護士との連携"]


def test_urgent_answers_carry_call_links_and_others_do_not(web_assistant) -> None:
    from assistant.contacts import tel_uri

    assert tel_uri("03-0000-0000(例)") == "tel:0300000000"
    assert tel_uri("０３（１２３４）５６７８") == "tel:0312345678"
    assert tel_uri("+81 3-1234-5678") == "tel:+81312345678" and tel_uri("なし") == ""
    urgent = web_assistant.ask("客に殴られた", surface="eval")
    consult = web_assistant.ask("お客様に怒鳴られた。誰に相談すればいい？", surface="eval")
    assert 'href="tel:110"' in render_answer(urgent, web_assistant.wording)[0]["content"]
    assert 'href="tel:0300000000"' in render_answer(urgent, web_assistant.wording)[0]["content"]
    assert "tel:" not in render_answer(consult, web_assistant.wording)[0]["content"]


def test_a_question_with_odd_characters_gets_the_full_urgent_answer(live_app, web_assistant) -> None:
    """Lone surrogates (what undecodable bytes become), a NUL, a direction override and an emoji,
    sent as JSON over the chat's own queue API: the urgent guidance is shown, not an error."""
    question = "客に殴られた\udc80\udcff\x00\u202e😀(奇妙な文字)"
    message = ask_over_http(live_app.url, question)
    shown = json.dumps(message["output"], ensure_ascii=False)
    assert "kh-urgent" in shown and "tel:110" in shown and "本社" in shown
    row = wait_for_row(web_assistant, "(奇妙な文字)")
    assert row.level == "urgent" and "\ufffd" in row.question and row.input_note.startswith("読めないバイト列")


def wait_for_row(web_assistant, text: str):
    from assistant.question_log import LogFilters

    rows = web_assistant.question_log.list(LogFilters(text=text, limit=1))
    assert rows, f"no logged question holds {text!r}"
    return rows[0]
