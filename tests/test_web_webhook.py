"""The urgent-question webhook: a JSON notice without personal data, posted in the background,
against a local HTTP server on 127.0.0.1 that the test starts."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any, Iterator

import pytest

from assistant.answer_parts import AnswerParts, ContactPart, LevelPart
from assistant.routing import Route
from assistant.web.staff_chat import StaffChat
from assistant.webhook import (
    UrgentNotifier,
    WebhookConfigError,
    notifier_from_settings,
    urgent_notice,
)

pytest_plugins = ["built_index", "browser"]
pytest.register_assert_rewrite("browser")

from browser import ask_over_http, free_port, serve  # noqa: E402

URGENT_QUESTION = "お客様に刃物を出されて脅された。電話 090-1234-5678 の人です"


class Receiver:
    """A local HTTP server that records POSTed JSON; `delay` and `status` shape its answer."""

    def __init__(self, delay: float = 0.0, status: int = 204) -> None:
        self.notices: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.delay, self.status = delay, status
        self.received = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(receiver.delay)
                receiver.headers.append(dict(self.headers))
                receiver.notices.append(json.loads(body))
                receiver.received.set()
                try:
                    self.send_response(receiver.status)
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def fake_answer(level: str = "urgent", uid: str = "ab" * 16) -> Any:
    route = Route(level=level, label="緊急" if level == "urgent" else "相談", route="本社の相談窓口へ",
                  guidance="", reasons=["安全のための語句「刃物」(必ず緊急として扱います)", "判断に効いた語: 刃物、脅す"],
                  evidence=[])
    desk = ContactPart("head_office", "本社の相談窓口", "本社窓口 電話 03-0000-0000", "本社窓口", "03-0000-0000",
                       "tel:0300000000")
    parts = AnswerParts(LevelPart(level, route.label, route.route), True, ("まず身の安全を確保してください。",),
                        (desk,), (), (), tuple(route.reasons))
    return SimpleNamespace(log_id=uid, route=route, parts=parts, question=URGENT_QUESTION, answer="回答本文")


def test_notice_has_no_personal_data() -> None:
    notice = urgent_notice(fake_answer())
    assert set(notice) == {"event", "uid", "time", "level", "label", "route", "reasons", "contacts", "console_path",
                           "message"}
    assert notice["route"] == "本社の相談窓口へ"
    assert notice["contacts"] == [{"title": "本社の相談窓口", "name": "本社窓口", "phone": "03-0000-0000"}]
    assert notice["reasons"] == ["安全のための語句「刃物」(必ず緊急として扱います)"]  # the basis, not the weighed words
    text = json.dumps(notice, ensure_ascii=False)
    assert "刃物を出され" not in text and "090" not in text and "回答本文" not in text
    assert notice["console_path"] == "/officer/?uid=" + "ab" * 16
    assert notice["time"].endswith("+09:00")


def test_urgent_notice_is_posted(receiver: Receiver) -> None:
    notifier = UrgentNotifier(receiver.url)
    assert notifier.notify(fake_answer("consult")) is None
    assert notifier.notify(fake_answer("urgent")).result(timeout=5) is True
    assert receiver.notices[0]["uid"] == "ab" * 16 and receiver.notices[0]["level"] == "urgent"
    assert receiver.headers[0]["Content-Type"].startswith("application/json")


def test_notify_does_not_wait_and_failures_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with Receiver(delay=1.5) as slow:
        notifier = UrgentNotifier(slow.url, timeout=0.3)
        started = time.perf_counter()
        future = notifier.notify(fake_answer())
        assert time.perf_counter() - started < 0.1, "the staff answer must not wait for the webhook"
        with caplog.at_level(logging.WARNING, logger="assistant.webhook"):
            assert future.result(timeout=5) is False
    assert "not delivered" in caplog.text
    assert "刃物" not in caplog.text


def test_http_errors_and_refused_connections_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with Receiver(status=500) as failing:
        with caplog.at_level(logging.WARNING, logger="assistant.webhook"):
            assert UrgentNotifier(failing.url).notify(fake_answer()).result(timeout=5) is False
    assert "HTTP 500" in caplog.text
    caplog.clear()
    closed = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="assistant.webhook"):
        assert UrgentNotifier(closed).notify(fake_answer()).result(timeout=5) is False
    assert "not delivered" in caplog.text


def test_bad_url_is_a_configuration_error() -> None:
    with pytest.raises(WebhookConfigError):
        UrgentNotifier("file:///etc/passwd")
    assert notifier_from_settings(SimpleNamespace(urgent_webhook_url=None)) is None
    with pytest.raises(WebhookConfigError):
        notifier_from_settings(SimpleNamespace(urgent_webhook_url="ftp://example"))


def test_staff_chat_notifies_on_urgent_answers_only(web_settings: Any, web_assistant: Any,
                                                    receiver: Receiver) -> None:
    from assistant.answering import Assistant

    assistant = Assistant(web_settings, question_log=web_assistant.question_log,
                          notifier=UrgentNotifier(receiver.url))
    chat = StaffChat(assistant)
    chat.ask("お客様に怒鳴られた。誰に相談すれば？", [], [], "", {})
    _, messages, *_ = chat.ask(URGENT_QUESTION, [], [], "", {})
    assert receiver.received.wait(5)
    assistant.notifier.close(wait=True)  # every queued post has been delivered or has failed
    assert len(receiver.notices) == 1  # the consult question was never posted
    notice = receiver.notices[0]
    assert notice["level"] == "urgent" and notice["reasons"]
    row = web_assistant.question_log.get(notice["uid"])
    assert row.level == "urgent"
    assert notice["reasons"] == [row.reasons[0]]  # the deciding reason only: no words of the question
    sent = json.dumps(notice, ensure_ascii=False)
    assert "090" not in sent and "脅され" not in sent and "お客様" not in sent


def test_served_app_posts_to_the_configured_url(web_settings: Any, receiver: Receiver) -> None:
    """End to end: settings.urgent_webhook_url -> create_app -> a staff question over HTTP."""
    from assistant.core.settings import Settings
    from assistant.web.app import create_app

    settings = Settings(data_dir=web_settings.data_dir, urgent_webhook_url=receiver.url)
    with serve(create_app(settings, pages=("staff",))) as served:
        ask_over_http(served.url, URGENT_QUESTION)
    assert receiver.received.wait(5)
    assert receiver.notices[0]["level"] == "urgent"


def test_cli_questions_notify_too_but_evaluation_runs_do_not(web_settings: Any, receiver: Receiver,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from assistant.answering import Assistant
    from assistant.cli import main

    monkeypatch.setenv("KASUHARA_DATA_DIR", str(web_settings.data_dir))
    monkeypatch.setenv("KASUHARA_URGENT_WEBHOOK_URL", receiver.url)
    assistant = Assistant(web_settings.model_copy(update={"urgent_webhook_url": receiver.url}))
    assistant.ask(URGENT_QUESTION, surface="eval")
    assistant.notifier.close(wait=True)  # whatever it had queued is delivered by now
    assert receiver.notices == []
    result = CliRunner().invoke(main, ["ask", "--json", URGENT_QUESTION])
    assert result.exit_code == 0, result.output
    assert receiver.received.wait(5)
    assert receiver.notices[0]["uid"] == json.loads(result.output)["log_id"]
