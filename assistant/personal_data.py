"""Masking of personal data (phone numbers, e-mail addresses) in staff questions.

Staff sometimes paste a customer's number or address into a question; the log is kept for
officers, so those are replaced before anything is stored. Everything else stays exactly as typed:
the patterns only match digit groups shaped like Japanese phone numbers, so dates (2025-03-04),
times, amounts and page numbers are left alone.
"""

from __future__ import annotations

import re

PHONE_MASK = "[電話番号]"
EMAIL_MASK = "[メールアドレス]"

# Half-width and full-width digits: staff type either, depending on the IME.
_D = "[0-9０-９]"
# One separator between digit groups: ASCII and Unicode hyphens/dashes, the minus sign, the
# katakana prolonged sound mark (typed instead of a hyphen by IMEs), and spaces.
_SEP = "[-‐‑‒–—―−ーｰ－ 　]"
_ZERO = "[0０]"
_OPEN = "[(（]"
_CLOSE = "[)）]"
_DIGIT_EDGE_BEFORE = r"(?<![0-9０-９])"
_DIGIT_EDGE_AFTER = r"(?![0-9０-９])"

# Domestic numbers start with 0; the area code may be bracketed, or the exchange may be.
# Group lengths are loose here; the total digit count is checked in `_is_domestic`.
_DOMESTIC = (
    f"{_DIGIT_EDGE_BEFORE}(?:"
    f"{_OPEN}{_ZERO}{_D}{{1,4}}{_CLOSE}{_SEP}?{_D}{{1,4}}{_SEP}?{_D}{{3,4}}"  # (03)1234-5678
    f"|{_ZERO}{_D}{{1,4}}{_SEP}?{_OPEN}{_D}{{1,4}}{_CLOSE}{_SEP}?{_D}{{3,4}}"  # 03(1234)5678
    f"|{_ZERO}{_D}{{1,4}}{_SEP}?{_D}{{1,4}}{_SEP}?{_D}{{3,4}}"  # 090-1234-5678, 0120-123-456
    f"){_DIGIT_EDGE_AFTER}"
)
# +81 followed by the national number without its leading 0, sometimes written "(0)".
_INTERNATIONAL = (
    f"{_DIGIT_EDGE_BEFORE}[+＋]{_SEP}?[8８][1１]{_SEP}?(?:{_OPEN}{_ZERO}{_CLOSE}{_SEP}?)?"
    f"{_D}{{1,4}}{_SEP}?{_D}{{1,4}}{_SEP}?{_D}{{3,4}}{_DIGIT_EDGE_AFTER}"
)
_PHONE_RE = re.compile(f"{_INTERNATIONAL}|{_DOMESTIC}")

# Full-width letters, digits, "＠" and "．" are common in Japanese text (sometimes on purpose,
# to dodge address harvesters), so they count as address characters too.
_LOCAL = "[A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+\\-＿．]+"
_DOMAIN_LABEL = "[A-Za-z0-9Ａ-Ｚａ-ｚ０-９](?:[A-Za-z0-9Ａ-Ｚａ-ｚ０-９\\-－]*[A-Za-z0-9Ａ-Ｚａ-ｚ０-９])?"
_TLD = "[A-Za-zＡ-Ｚａ-ｚ]{2,}"
_EMAIL_RE = re.compile(f"{_LOCAL}[@＠](?:{_DOMAIN_LABEL}[.．])+{_TLD}")


def _digits(text: str) -> str:
    # int() reads full-width digits too, so this normalises them without touching the text.
    return "".join(str(int(ch)) for ch in text if ch.isdigit())


def _is_phone(candidate: str) -> bool:
    digits = _digits(candidate)
    if candidate.lstrip("(（")[0] in "+＋":
        national = digits[2:]
        if national.startswith("0"):  # "+81 (0)90 ..." keeps the trunk 0 in brackets
            national = national[1:]
        return len(national) in (9, 10)
    return digits.startswith("0") and len(digits) in (10, 11)


def _mask_phone(match: re.Match[str]) -> str:
    # The regex is loose about group lengths; the digit count decides, so that shapes such as
    # "01-02-2025" (8 digits) stay as typed.
    return PHONE_MASK if _is_phone(match.group(0)) else match.group(0)


def mask_emails(text: str) -> str:
    """Replace every e-mail address with "[メールアドレス]"."""
    return _EMAIL_RE.sub(EMAIL_MASK, text)


def mask_phone_numbers(text: str) -> str:
    """Replace every Japanese (or +81) phone number with "[電話番号]"."""
    return _PHONE_RE.sub(_mask_phone, text)


def mask_personal_data(text: str) -> str:
    """Mask e-mail addresses, then phone numbers (an address such as 09012345678@example.jp
    must be masked whole, not leave "[電話番号]@example.jp")."""
    return mask_phone_numbers(mask_emails(text))
