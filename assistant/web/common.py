"""What both pages share: theme (system fonts only), CSS, the safe-text helpers and mount options."""

from __future__ import annotations

import html
import logging
import string
from typing import Any

import gradio as gr

import assistant.web  # noqa: F401  (sets the Gradio environment before gradio is imported)
from assistant.core.errors import KasuharaError

log = logging.getLogger(__name__)

UNEXPECTED_ERROR = (
    "システムで予期しないエラーが発生しました。少し待ってからもう一度お試しください。"
    "急ぎの場合は店長または本社の相談窓口へ直接連絡してください。"
)
ERROR_TITLE = "エラー"
NOTICE_TITLE = "お知らせ"

# Nothing from the internet: the theme names installed fonts only (Debian's fonts-noto-cjk, or what
# the staff PC / phone has). A plain gr.themes.Font adds no stylesheet, unlike GoogleFont.
THEME = gr.themes.Default(
    font=[gr.themes.Font("Noto Sans CJK JP"), gr.themes.Font("Hiragino Sans"), gr.themes.Font("Yu Gothic UI"),
          gr.themes.Font("Meiryo"), "system-ui", "sans-serif"],
    font_mono=[gr.themes.Font("Noto Sans Mono CJK JP"), "ui-monospace", "monospace"],
)

CSS = """
.kh-note { font-size: 0.9em; opacity: 0.85; }
.kh-banner { border-radius: 6px; padding: 0.5em 0.75em; margin: 0 0 0.5em 0; font-weight: 600; }
.kh-urgent { background: #b91c1c; color: #fff; border: 2px solid #7f1d1d; }
.kh-report { background: #fff7ed; color: #9a3412; border: 2px solid #ea580c; }
.kh-consult { background: #eff6ff; color: #1e3a8a; border: 2px solid #3b82f6; }
.kh-none { background: #f3f4f6; color: #111827; border: 2px solid #9ca3af; }
.kh-unanswered { background: #fefce8; color: #713f12; border: 2px solid #ca8a04; }
.kh-calls { display: flex; flex-wrap: wrap; gap: 0.5em; margin-top: 0.5em; }
.kh-call { display: inline-block; background: #fff; color: #7f1d1d !important; border-radius: 6px;
           padding: 0.6em 0.9em; text-decoration: none !important; font-weight: 700; min-height: 44px; }
/* Gradio titles toasts with their English type; show it in Japanese. */
.toast-title.error, .toast-title.warning, .toast-title.info, .toast-title.success { font-size: 0 !important; }
.toast-title.error::before { content: "エラー"; font-size: var(--text-md); }
.toast-title.warning::before { content: "注意"; font-size: var(--text-md); }
.toast-title.info::before, .toast-title.success::before { content: "お知らせ"; font-size: var(--text-md); }
@media (max-width: 640px) {
  .gradio-container { padding: 4px !important; }
  .kh-title h1 { font-size: 1.3rem !important; margin-bottom: 0 !important; }
}
"""

# Gradio's own "queue full" notice is English and built into its frontend; this replaces it in place.
# Inline (no network), runs once per page load.
HEAD = """
<meta name="referrer" content="same-origin">
<script>
(() => {
  document.documentElement.lang = "ja";
  const busy = "This application is currently busy. Please try again.";
  const ja = "ただいま混み合っています。少し待ってから、もう一度送信してください。急ぎの場合は店長または本社の相談窓口へ直接連絡してください。";
  const fix = (node) => {
    const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      if (t.nodeValue && t.nodeValue.includes(busy)) t.nodeValue = t.nodeValue.replace(busy, ja);
    }
  };
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) {
      if (n.nodeType === 1) fix(n); else if (n.nodeType === 3 && n.parentNode) fix(n.parentNode);
    }
  }).observe(document.documentElement, { childList: true, subtree: true, characterData: false });
})();
</script>
"""


def mount_options(**overrides: Any) -> dict[str, Any]:
    """Keyword arguments for `gr.mount_gradio_app` shared by both pages."""
    options: dict[str, Any] = dict(
        footer_links=[],  # no "use via API", no "built with Gradio", no settings page
        run_history=False,
        enable_monitoring=False,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        max_file_size="1mb",  # neither page takes uploads
        show_error=True,  # shows the Japanese gr.Error messages; never a traceback (handlers catch)
        theme=THEME,
        css=CSS,
        head=HEAD,
    )
    options.update(overrides)
    return options


_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
_MD_PUNCT = set(string.punctuation) - set(_ENTITIES)


def md_text(text: str) -> str:
    """Untrusted text for a Markdown renderer, shown literally: HTML special characters become
    entities and every other ASCII punctuation mark is backslash-escaped (CommonMark allows it), so
    no tag, link, image, emphasis, list, table, code or formula can be formed from it."""
    out = []
    for ch in text:
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in _MD_PUNCT:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def html_text(text: str) -> str:
    return html.escape(text, quote=True)


def readable(exc: BaseException) -> str:
    """What a person reads about an exception: a KasuharaError's own Japanese sentence; anything
    else is logged with its traceback and shown as a generic Japanese sentence."""
    if isinstance(exc, KasuharaError):
        return str(exc)
    log.error("unexpected error in a web handler", exc_info=exc)
    return UNEXPECTED_ERROR


# Gradio renders toast messages as HTML, so every message is escaped, whatever it quotes.


def user_error(exc: BaseException) -> gr.Error:
    return gr.Error(html_text(readable(exc)), title=ERROR_TITLE, print_exception=False)


def warn(message: str, title: str = NOTICE_TITLE) -> None:
    gr.Warning(html_text(message), title=title)


def info(message: str, title: str = NOTICE_TITLE) -> None:
    gr.Info(html_text(message), title=title)
