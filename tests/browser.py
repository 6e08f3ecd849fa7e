"""Fixtures for the web tests (a pytest plugin: `pytest_plugins = ["built_index", "browser"]`).

- `serve(app)`: uvicorn in a background thread on a free 127.0.0.1 port.
- `web_settings` / `web_assistant`: a session data dir with its own copy of the built index.
- `live_app`: the whole web app (chat + console) served for the session, with officer 山田.
- `chromium` / `browser_page`: Debian's Chromium through Playwright; every request that is not to
  127.0.0.1 is aborted and recorded, and JavaScript dialogs are recorded (XSS checks). A test that
  uses `browser_page` fails if anything tried to reach the internet.
- `network_guard`: while the app is built and served, any socket connection to a non-loopback
  address raises and is recorded (building or serving the app must not need the network).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from assistant.core.settings import PROJECT_ROOT, Settings

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
OFFICER = "山田"
PASSWORD = "correct-horse-battery"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


# --- network guard ------------------------------------------------------------------------------


def _is_local(address: Any) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class NetworkGuard:
    """Refuses and records outbound connections to anything but loopback."""

    def __init__(self) -> None:
        self.attempts: list[Any] = []
        self._connect = socket.socket.connect
        self._connect_ex = socket.socket.connect_ex

    def install(self) -> None:
        guard = self

        def connect(sock: socket.socket, address: Any) -> Any:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
                guard.attempts.append(address)
                raise OSError(f"network access blocked in tests: {address!r}")
            return guard._connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> Any:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
                guard.attempts.append(address)
                return 111
            return guard._connect_ex(sock, address)

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]

    def uninstall(self) -> None:
        socket.socket.connect = self._connect  # type: ignore[method-assign]
        socket.socket.connect_ex = self._connect_ex  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def network_guard() -> Iterator[NetworkGuard]:
    guard = NetworkGuard()
    guard.install()
    yield guard
    guard.uninstall()


# --- serving ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    url: str
    app: Any
    server: Any = field(repr=False)


@contextlib.contextmanager
def serve(app: Any) -> Iterator[Served]:
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", app, server)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="session")
def web_settings(built_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("web") / "data"
    shutil.copytree(built_settings.index_dir, data_dir / "index")
    return Settings(data_dir=data_dir)


@pytest.fixture(scope="session")
def web_assistant(web_settings: Settings) -> Any:
    from assistant.answering import Assistant

    return Assistant(web_settings)


@pytest.fixture(scope="session")
def officer_account(web_settings: Settings) -> tuple[str, str]:
    from assistant.officers import OfficerStore

    OfficerStore(web_settings.officers_path).add(OFFICER, PASSWORD, replace=True)
    return OFFICER, PASSWORD


@pytest.fixture(scope="session")
def live_app(web_settings: Settings, web_assistant: Any, officer_account: tuple[str, str],
             network_guard: NetworkGuard) -> Iterator[Served]:
    from assistant.cli.eval_commands import eval_item_adder
    from assistant.web.app import create_app

    # As `kasuhara serve` builds it: the console's "add to the evaluation set" hook included.
    app = create_app(web_settings, assistant=web_assistant, add_eval_item=eval_item_adder(web_settings))
    with serve(app) as served:
        yield served


# --- browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class BrowserSession:
    """One browser context: what it tried to fetch from outside, and which dialogs opened."""

    context: Any
    base: str
    external: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def new_page(self) -> Any:
        page = self.context.new_page()
        page.on("dialog", self._dialog)
        return page

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(self.base + "/") or url == self.base or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()


def open_session(chromium: Any, base: str, viewport: dict[str, int] = DESKTOP, **context_args: Any) -> BrowserSession:
    context = chromium.new_context(locale="ja-JP", viewport=viewport, accept_downloads=True, **context_args)
    session = BrowserSession(context, base)
    context.route("**/*", session.route)
    # Requests the route handler never sees (e.g. service workers) are still observed here.
    context.on("request", lambda r: None if r.url.startswith((base, "data:", "blob:")) else session.external.append(r.url))
    return session


@pytest.fixture
def browser_session(chromium: Any, live_app: Served) -> Iterator[BrowserSession]:
    session = open_session(chromium, live_app.url)
    yield session
    session.context.close()
    assert session.external == [], f"the page tried to load from outside 127.0.0.1: {session.external}"


@pytest.fixture
def phone_session(chromium: Any, live_app: Served) -> Iterator[BrowserSession]:
    session = open_session(chromium, live_app.url, viewport=PHONE, is_mobile=True, has_touch=True,
                           device_scale_factor=2)
    yield session
    session.context.close()
    assert session.external == [], f"the page tried to load from outside 127.0.0.1: {session.external}"


def screenshot(page: Any, name: str, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full_page)
    return path


def login(page: Any, base: str, name: str = OFFICER, password: str = PASSWORD, next_path: str = "/officer/") -> None:
    page.goto(f"{base}{next_path}")
    page.wait_for_url("**/login**")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("#kh-table", timeout=30_000)


# --- the chat's HTTP API (what the browser does) --------------------------------------------------


def dependency_index(base: str, api_name: str, cookies: dict[str, str] | None = None) -> int:
    import httpx

    config = httpx.get(f"{base}/config", cookies=cookies, timeout=10).raise_for_status().json()
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)


def queue_call(base: str, fn_index: int, data: list[Any], session_hash: str | None = None,
               cookies: dict[str, str] | None = None, timeout: float = 30) -> dict[str, Any]:
    """Join the Gradio queue and read the event stream until the call completes; returns the
    `process_completed` message with the notices sent before it under "logs" (or the join's error
    response as {"status": ..., "body": ...})."""
    import secrets

    import httpx

    session_hash = session_hash or secrets.token_hex(6)
    with httpx.Client(base_url=base, cookies=cookies, timeout=timeout) as client:
        # Escaped JSON, as a browser's JSON.stringify sends it: a lone surrogate travels as "\\udc80".
        payload = {"data": data, "fn_index": fn_index, "session_hash": session_hash, "event_data": None,
                   "trigger_id": None}
        joined = client.post("/gradio_api/queue/join", content=json.dumps(payload),
                             headers={"content-type": "application/json"})
        if joined.status_code != 200:
            return {"status": joined.status_code, "body": joined.text}
        logs: list[dict[str, Any]] = []
        with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session_hash}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "log":
                    logs.append(message)
                if message.get("msg") == "process_completed":
                    return {**message, "logs": logs}
    raise RuntimeError("the event stream ended before the call completed")


def ask_over_http(base: str, question: str, session_hash: str | None = None) -> dict[str, Any]:
    """One staff question through the chat's own queue API; the completed message."""
    message = queue_call(base, dependency_index(base, "ask_1"), [question, None, None, None, None], session_hash)
    if not message.get("success"):
        raise AssertionError(f"the chat did not answer: {message}")
    return message
