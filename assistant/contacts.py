"""The organisation's contact directory (corpus/contacts.toml): whom staff reach, and how."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from assistant.core.errors import KasuharaError


class ContactsError(KasuharaError):
    """corpus/contacts.toml is missing or invalid."""


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not a silent default
    role: str
    how: str = ""


def tel_uri(number: str) -> str:
    """A `tel:` URI a phone can dial (RFC 3966: digits and a leading +), "" when there are no digits.
    Separators, full-width digits and notes such as 「(例)」 are dropped: 「03-0000-0000(例)」 -> tel:0300000000."""
    digits = re.sub(r"[^0-9+]", "", unicodedata.normalize("NFKC", number))
    return f"tel:{digits}" if re.search(r"[0-9]", digits) else ""


class Desk(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not a silent default
    name: str
    phone: str = ""
    email: str = ""
    hours: str = ""

    @property
    def tel(self) -> str:
        return tel_uri(self.phone)


class Emergency(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not a silent default
    note: str
    number: str = "110"  # dialled from the urgent answer; the police in Japan

    @property
    def tel(self) -> str:
        return tel_uri(self.number)


class Contacts(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not a silent default
    example_values: bool = False
    organisation: str = ""
    onsite: Contact
    small_business: Contact | None = None
    head_office: Desk
    emergency: Emergency
    # {language: the same fields, texts only}; what a language leaves out is taken from above
    text: dict[str, dict[str, Any]] = {}

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.text)

    def in_language(self, language: str) -> Contacts:
        """The directory with `language`'s texts laid over the default ones; unchanged when the
        file has no texts in that language."""
        translated = self.text.get(language)
        if not translated:
            return self
        return Contacts.model_validate(_merged(self.model_dump(exclude={"text"}), translated))


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        nested = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = _merged(base[key], value) if nested else value
    return merged


def load_contacts(path: Path) -> Contacts:
    if not path.is_file():
        raise ContactsError(f"連絡先ファイルが見つかりません: {path}")
    try:
        contacts = Contacts.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
        for language in contacts.languages:  # a misspelt key in a translation fails now, not mid-answer
            contacts.in_language(language)
        return contacts
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ContactsError(f"連絡先ファイル {path} の内容が正しくありません: {exc}") from exc
