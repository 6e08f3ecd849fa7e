"""One FastAPI app: the staff chat at `/`, the officers' console at `/officer` (login at `/login`).

`create_app()` needs no network: the index is built from the local corpus if missing, Gradio's
analytics are off, and the theme uses installed fonts. `kasuhara serve` runs it with uvicorn.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr
from fastapi import FastAPI
from fastapi.responses import RedirectResponse

import assistant.web  # noqa: F401  (Gradio environment first)
from assistant.core.settings import Settings
from assistant.web.common import mount_options

log = logging.getLogger(__name__)

PAGES = ("staff", "officer")


def create_app(settings: Settings | None = None, pages: Sequence[str] = PAGES, assistant: Any = None,
               build_index: bool = True, staff_options: dict[str, Any] | None = None,
               auth: Any = None, add_eval_item: Callable[..., Any] | None = None) -> FastAPI:
    """Build the web app: this function alone assembles the pages. `assistant` may be injected
    (tests); by default it comes from `settings` (and so does its urgent webhook,
    `settings.urgent_webhook_url`). `staff_options` go to `StaffChat` (concurrency,
    queue_max_size); `auth` replaces the default `OfficerAuth(settings)`. `add_eval_item` is the
    console's "add to the evaluation set" hook (`kasuhara serve` gives the eval commands' one);
    without it the console offers no such action."""
    from assistant.web import officer_console, staff_chat
    from assistant.web.auth import CONSOLE_PREFIX, OfficerAuth

    unknown = set(pages) - set(PAGES)
    if unknown or not pages:
        raise ValueError(f"pages must be a non-empty subset of {PAGES}, not {tuple(pages)}")
    settings = settings or (assistant.settings if assistant is not None else Settings())
    if assistant is None:
        assistant = _assistant(settings, build_index)

    app = FastAPI(title="kasuhara", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SecurityHeaders)
    app.state.assistant = assistant

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    if "officer" in pages:
        auth = auth or OfficerAuth(settings)
        auth.install(app)
        app.state.auth = auth
        officer_console.mount(app, assistant.question_log, auth, assistant.policy.labels,
                              chunk_section=getattr(assistant, "section_of", None),
                              add_eval_item=add_eval_item,
                              relearn=getattr(assistant, "reload", None))
    if "staff" in pages:
        # Mounted last: "/" would otherwise shadow /officer and /login.
        blocks = staff_chat.build_staff_chat(assistant, **(staff_options or {}))
        gr.mount_gradio_app(app, blocks, path="/", **mount_options())
    else:
        app.add_api_route("/", lambda: RedirectResponse(CONSOLE_PREFIX + "/", status_code=303),
                          methods=["GET"], include_in_schema=False)
    app.add_middleware(NoUploads)  # added last, so outermost: before the console's login check too
    return app


class NoUploads:
    """ASGI middleware: Gradio's upload routes (`/gradio_api/upload` under every mounted page) take
    anonymous files, any number of them; no page here takes a file, so every upload route answers 403."""

    MESSAGE = "このサイトではファイルを受け付けていません。".encode()

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _is_upload(scope.get("path", "")):
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"content-length", str(len(self.MESSAGE)).encode())]})
            await send({"type": "http.response.body", "body": self.MESSAGE})
            return
        await self.app(scope, receive, send)


def _is_upload(path: str) -> bool:
    segments = [s for s in path.lower().split("/") if s]
    return "upload" in segments or "upload_progress" in segments


class SecurityHeaders:
    """ASGI middleware: no framing (clickjacking on the console's buttons), no MIME sniffing,
    no referrer beyond this site. Headers a response already sets are kept."""

    HEADERS = [(b"x-frame-options", b"DENY"), (b"content-security-policy", b"frame-ancestors 'none'"),
               (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in self.HEADERS if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _assistant(settings: Settings, build_index: bool) -> Any:
    from assistant.answering import Assistant
    from ingest.pipeline import ensure_index

    if build_index:
        ensure_index(settings, progress=False)
    return Assistant(settings)


def run(app: FastAPI, host: str = "127.0.0.1", port: int = 7860, log_level: str = "info") -> None:
    import uvicorn

    # One process: Gradio keeps sessions and its queue in memory.
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False)
