"""Notice of an urgent question to a configured webhook (settings.urgent_webhook_url).

The notice is sent from a small background pool with a short timeout, so the member of staff
waiting for an answer never waits for it; a failure is logged and dropped. The JSON holds no
personal data: no question text, no answer, no session. Only the log id, the time, the level, the
reason that decided it (`Route.basis`: a probability or a policy phrase, never words of the question),
the level's route and contacts (the organisation's own texts) and the console path to open the case.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from http.client import HTTPException
from typing import Any
from urllib.parse import quote, urlsplit

from assistant.core.errors import KasuharaError
from assistant.question_log import OFFICE_TZ

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 3.0
CONSOLE_PATH = "/officer/"


class WebhookConfigError(KasuharaError):
    """The webhook URL cannot be used."""


def console_link(uid: str) -> str:
    return f"{CONSOLE_PATH}?uid={quote(uid, safe='')}"


def urgent_notice(answer: Any, at: datetime | None = None) -> dict[str, Any]:
    """The JSON body for one urgent answer (`assistant.answering.Answer`)."""
    when = (at or datetime.now(OFFICE_TZ)).astimezone(OFFICE_TZ)
    return {
        "event": "kasuhara.urgent_question",
        "uid": answer.log_id,
        "time": when.isoformat(timespec="seconds"),
        "level": answer.parts.level.id,
        "label": answer.parts.level.label,
        "route": answer.parts.level.route,
        "reasons": [answer.route.basis],
        # The organisation's directory, not the staff member's: whom the desk can call back through.
        "contacts": [{"title": c.title, "name": c.name, "phone": c.phone} for c in answer.parts.contacts],
        "console_path": console_link(answer.log_id),
        "message": "緊急の相談が記録されました。担当者用画面で確認してください。",
    }


class UrgentNotifier:
    """`notify(answer)` posts a notice for urgent answers in the background; other levels are ignored."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT_S, max_workers: int = 2) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise WebhookConfigError(f"緊急通知の送信先URLは http:// か https:// で始めてください: {url!r}")
        self.url = url
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="urgent-webhook")
        # No redirects: a notice goes where it was configured to go, or nowhere.
        self._opener = urllib.request.build_opener(_NoRedirect())

    def notify(self, answer: Any) -> Future[bool] | None:
        if answer.route.level != "urgent" or not answer.log_id:
            return None
        return self._pool.submit(self.post, urgent_notice(answer))

    def post(self, notice: dict[str, Any]) -> bool:
        body = json.dumps(notice, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.url, data=body, method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "kasuhara-webhook"},
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                ok = 200 <= response.status < 300
                if not ok:
                    log.warning("urgent webhook: HTTP %s for %s", response.status, notice.get("uid"))
                return ok
        except urllib.error.HTTPError as exc:
            log.warning("urgent webhook: HTTP %s for %s", exc.code, notice.get("uid"))
        except (urllib.error.URLError, OSError, HTTPException, ValueError) as exc:
            log.warning("urgent webhook: not delivered for %s (%s)", notice.get("uid"), exc)
        return False

    def close(self, wait: bool = False) -> None:
        self._pool.shutdown(wait=wait)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def notifier_from_settings(settings: Any) -> UrgentNotifier | None:
    """The notifier for `settings.urgent_webhook_url`, or None when none is configured.
    A malformed URL raises `WebhookConfigError` at start-up rather than silently dropping notices."""
    url = (settings.urgent_webhook_url or "").strip()
    return UrgentNotifier(url) if url else None
