"""The organisation's contact directory (corpus/contacts.toml): whom staff reach, and how."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from pathlib import Path

from pydantic import BaseModel, ValidationError

from assistant.errors import KasuharaError


class ContactsError(KasuharaError):
    """corpus/contacts.toml is missing or invalid."""


class Contact(BaseModel):
    role: str
    how: str = ""


def tel_uri(number: str) -> str:
    """A `tel:` URI a phone can dial (RFC 3966: digits and a leading +), "" when there are no digits.
    Separators, full-width digits and notes such as 「(例)」 are dropped: 「03-0000-0000(例)」 -> tel:0300000000."""
    digits = re.sub(r"[^0-9+]", "", unicodedata.normalize("NFKC", number))
    return f"tel:{digits}" if re.search(r"[0-9]", digits) else ""


class Desk(BaseModel):
    name: str
    phone: str = ""
    email: str = ""
    hours: str = ""

    @property
    def tel(self) -> str:
        return tel_uri(self.phone)


class Emergency(BaseModel):
    note: str
    number: str = "110"  # dialled from the urgent answer; the police in Japan

    @property
    def tel(self) -> str:
        return tel_uri(self.number)


class Contacts(BaseModel):
    example_values: bool = False
    organisation: str = ""
    onsite: Contact
    small_business: Contact | None = None
    head_office: Desk
    emergency: Emergency


def load_contacts(path: Path) -> Contacts:
    if not path.is_file():
        raise ContactsError(f"連絡先ファイルが見つかりません: {path}")
    try:
        return Contacts.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ContactsError(f"連絡先ファイル {path} の内容が正しくありません: {exc}") from exc
