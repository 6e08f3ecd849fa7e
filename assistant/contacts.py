"""The organisation's contact directory (corpus/contacts.toml): whom staff reach, and how."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ValidationError

from assistant.errors import KasuharaError


class ContactsError(KasuharaError):
    """corpus/contacts.toml is missing or invalid."""


class Contact(BaseModel):
    role: str
    how: str = ""


class Desk(BaseModel):
    name: str
    phone: str = ""
    email: str = ""
    hours: str = ""


class Emergency(BaseModel):
    note: str


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
