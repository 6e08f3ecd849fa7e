"""Officer login for the web app: a plain HTML form at /login, a signed HttpOnly SameSite cookie,
a gate in front of everything under /officer, and the identity check every console handler calls.

Three layers, each enough on its own for the log: (1) `OfficerGate` answers 401 (or redirects a
browser to /login) for any /officer request without a valid session, before Gradio sees it;
(2) Gradio's `auth_dependency` does the same for the mounted console; (3) `require_officer` checks
the cookie again inside each handler that reads or changes the log.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote, urlsplit

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from assistant.core.settings import Settings
from assistant.officers import (
    SESSION_MAX_AGE_S,
    LoginThrottle,
    OfficerError,
    OfficerStore,
    Session,
    SessionSigner,
    load_secret,
)
from assistant.web.common import ERROR_TITLE, html_text

log = logging.getLogger(__name__)

COOKIE = "kasuhara_officer"
CONSOLE_PREFIX = "/officer"
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
SECRET_FILE = "web_session.key"
NOT_LOGGED_IN = "ログインしていないか、ログインの有効期限が切れました。ページを再読み込みしてログインしてください。"


class OfficerAuth:
    """Accounts, throttle and session signer for one app (one data directory)."""

    def __init__(self, settings: Settings, store: OfficerStore | None = None,
                 throttle: LoginThrottle | None = None, signer: SessionSigner | None = None) -> None:
        self.store = store or OfficerStore(settings.officers_path)
        self.throttle = throttle or LoginThrottle()
        self.signer = signer or SessionSigner(load_secret(Path(settings.data_dir) / SECRET_FILE), self.store)

    def session(self, cookies: Mapping[str, str] | Any) -> Session | None:
        token = cookies.get(COOKIE) if cookies is not None else None
        return self.signer.verify(token if isinstance(token, str) else None)

    def dependency(self, request: Request) -> str | None:
        """Gradio's `auth_dependency`: the officer's name, or None (Gradio answers 401)."""
        session = self.session(request.cookies)
        return session.officer if session else None

    def require_officer(self, request: gr.Request | None) -> str:
        """The logged-in officer for a Gradio handler; a readable gr.Error otherwise."""
        session = self.session(request.cookies) if request is not None else None
        if session is None:
            raise gr.Error(NOT_LOGGED_IN, title=ERROR_TITLE, print_exception=False)
        return session.officer

    # --- routes ---------------------------------------------------------------------------------

    def install(self, app: FastAPI) -> None:
        """Add /login, /logout and the /officer gate to `app` (before the console is mounted)."""
        app.add_api_route(LOGIN_PATH, self._login_form, methods=["GET"], include_in_schema=False)
        app.add_api_route(LOGIN_PATH, self._login, methods=["POST"], include_in_schema=False)
        app.add_api_route(LOGOUT_PATH, self._logout, methods=["GET", "POST"], include_in_schema=False)
        app.add_middleware(OfficerGate, auth=self)

    async def _login_form(self, request: Request) -> Response:
        if self.session(request.cookies):
            return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
        return _login_page(request.query_params.get("next"))

    async def _login(self, request: Request) -> Response:
        if not _same_origin(request):
            return _login_page(None, "不正な送信元からのログインは受け付けません。", status=403)
        form = await request.form()
        name = str(form.get("username", ""))[:200]
        password = str(form.get("password", ""))
        target = form.get("next")
        address = request.client.host if request.client else "?"
        wait = self.throttle.wait_seconds(name, address)
        if wait > 0:
            seconds = math.ceil(wait)
            log.warning("officer login throttled (address %s, %d s left)", address, seconds)
            return _login_page(target, f"ログインの失敗が続いたため、一時的に受け付けを止めています。{seconds}秒後にもう一度お試しください。",
                               status=429, username=name, headers={"Retry-After": str(seconds)})
        try:
            officer = await run_in_threadpool(self.store.authenticate, name, password)
        except OfficerError as exc:  # unreadable accounts file
            log.error("%s", exc)
            return _login_page(target, "担当者アカウントを確認できません。管理者に連絡してください。", status=500)
        if officer is None:
            delay = self.throttle.failure(name, address)
            log.warning("officer login failed (address %s)", address)
            message = "担当者名またはパスワードが違います。"
            if delay > 0:
                message += f"失敗が続いているため、次の試行は{math.ceil(delay)}秒後から受け付けます。"
            return _login_page(target, message, status=401, username=name)
        self.throttle.success(name, address)
        log.info("officer %s logged in", officer.name)
        response = RedirectResponse(_safe_next(target), status_code=303)
        response.set_cookie(
            COOKIE, self.signer.issue(officer), max_age=int(SESSION_MAX_AGE_S), path="/",
            httponly=True, samesite="strict", secure=request.url.scheme == "https",
        )
        return response

    async def _logout(self, request: Request) -> Response:
        self.signer.revoke(request.cookies.get(COOKIE))
        response = RedirectResponse(LOGIN_PATH, status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response


class OfficerGate:
    """ASGI middleware: nothing under /officer without a valid session. A browser asking for the
    console page is sent to the login form; every other request gets 401."""

    def __init__(self, app: Any, auth: OfficerAuth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] not in ("http", "websocket") or not _under_console(path):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        if self.auth.session(connection.cookies) is not None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4401})
            return
        if scope.get("method") in ("GET", "HEAD") and path.rstrip("/") == CONSOLE_PREFIX:
            query = scope.get("query_string", b"").decode("latin-1")
            target = path + (f"?{query}" if query else "")
            response: Response = RedirectResponse(f"{LOGIN_PATH}?next={quote(target, safe='')}", status_code=303)
        else:
            response = Response('{"detail":"ログインが必要です。"}', status_code=401,
                                media_type="application/json; charset=utf-8")
        response.headers["Cache-Control"] = "no-store"
        await response(scope, receive, send)


def _under_console(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


def _safe_next(target: Any) -> str:
    """Only a path inside the console: no other host, no scheme, no protocol-relative URL."""
    default = CONSOLE_PREFIX + "/"
    if not isinstance(target, str) or not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not _under_console(parts.path) or "\\" in target or target.startswith("//"):
        return default
    return target


def _same_origin(request: Request) -> bool:
    """Reject a login posted from another site (login CSRF). No Origin header: a non-browser client."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


_PAGE = """<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>担当者ログイン | カスハラ相談アシスタント</title>
<style>
body {{ font-family: "Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic UI", Meiryo, system-ui, sans-serif;
       background: #f3f4f6; margin: 0; padding: 1rem; color: #111827; }}
main {{ max-width: 24rem; margin: 3rem auto; background: #fff; padding: 1.5rem; border-radius: 8px;
       box-shadow: 0 1px 3px rgba(0,0,0,.15); }}
h1 {{ font-size: 1.25rem; margin-top: 0; }}
label {{ display: block; margin: 0.75rem 0 0.25rem; font-weight: 600; }}
input {{ width: 100%; box-sizing: border-box; padding: 0.5rem; font-size: 1rem; border: 1px solid #9ca3af;
        border-radius: 4px; }}
button {{ margin-top: 1rem; width: 100%; padding: 0.6rem; font-size: 1rem; background: #ea580c; color: #fff;
         border: 0; border-radius: 4px; cursor: pointer; }}
.error {{ background: #fef2f2; color: #991b1b; border: 1px solid #fca5a5; padding: 0.5rem; border-radius: 4px; }}
.note {{ font-size: 0.85rem; color: #4b5563; }}
</style>
</head>
<body>
<main>
<h1>相談記録コンソール 担当者ログイン</h1>
{error}
<form method="post" action="{action}">
<input type="hidden" name="next" value="{next}">
<label for="username">担当者名</label>
<input id="username" name="username" autocomplete="username" required value="{username}">
<label for="password">パスワード</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">ログイン</button>
</form>
<p class="note">アカウントは管理者が <code>kasuhara officer add 名前</code> で作成します。</p>
</main>
</body>
</html>
"""


def _login_page(target: Any, error: str | None = None, status: int = 200, username: str = "",
                headers: dict[str, str] | None = None) -> HTMLResponse:
    body = _PAGE.format(
        action=LOGIN_PATH,
        next=html_text(_safe_next(target)),
        username=html_text(username),
        error=f'<p class="error" role="alert">{html_text(error)}</p>' if error else "",
    )
    response = HTMLResponse(body, status_code=status, headers=headers)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    return response
