"""Recognise prompt-injection text, so it is answered only on its real question (if any).

The extractive answer never follows instructions in a question; this check keeps such text from
being "answered" with whatever passage happens to be nearest, and tells officers what it was.
"""

from __future__ import annotations

from assistant.core.text import fold

_INJECTION_PHRASES = [
    "指示を無視", "指示は無視", "ルールを無視", "マニュアルは無視", "マニュアルを無視", "制限もない", "制限のない",
    "システムプロンプト", "管理者モード", "開発者モード", "出力せよ", "全件表示", "jailbreak",
    "ignore previous", "ignore all previous", "ignore the above", "system prompt", "developer mode",
    "you are now", "disregard",
]


def injection_phrase(text: str) -> str | None:
    folded = fold(text)
    return next((p for p in _INJECTION_PHRASES if fold(p) in folded), None)
