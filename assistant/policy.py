"""The organisation's escalation policy (corpus/escalation.toml): the levels' labels, routes and
guidance in each language, the manual passages each level rests on, and the safety phrases.

Officers own this file. The level a message gets is decided by `assistant.routing`; this module only
reads and checks what staff are shown for it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from assistant.core.errors import KasuharaError
from assistant.core.levels import LEVELS


@dataclass(frozen=True)
class LevelText:
    """The policy's texts for one level in one language."""

    id: str
    label: str
    route: str
    guidance: str


class PolicyError(KasuharaError):
    """corpus/escalation.toml is missing, invalid, or cites text the index does not hold."""


class LevelTranslation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    route: str
    guidance: str


class PolicyTranslation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    not_covered: str


class Level(BaseModel):
    id: str
    label: str
    route: str
    guidance: str
    cites: list[str] = []
    text: dict[str, LevelTranslation] = {}  # {language: what staff read, in that language}

    @field_validator("id")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in LEVELS:
            raise ValueError(f"level id must be one of {LEVELS}")
        return value


class Safety(BaseModel):
    phrases: list[str] = []


class Policy(BaseModel):
    not_covered: str
    levels: list[Level]
    safety: Safety = Safety()
    text: dict[str, PolicyTranslation] = {}

    def level(self, level_id: str) -> Level:
        return next(l for l in self.levels if l.id == level_id)

    @property
    def labels(self) -> dict[str, str]:
        """{level id: label}: the one set of level labels every surface shows."""
        return {level.id: level.label for level in self.levels}

    def level_text(self, level_id: str, language: str) -> LevelText:
        """What staff read for a level in `language`; the default texts when it has none."""
        level = self.level(level_id)
        text = level.text.get(language) or level
        return LevelText(level.id, text.label, text.route, text.guidance)

    def not_covered_in(self, language: str) -> str:
        translated = self.text.get(language)
        return translated.not_covered if translated else self.not_covered


def load_policy(path: Path) -> Policy:
    """Read corpus/escalation.toml. Raises PolicyError (a Japanese message) if missing or invalid."""
    if not path.is_file():
        raise PolicyError(f"エスカレーション方針のファイルが見つかりません: {path}")
    try:
        policy = Policy.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise PolicyError(f"エスカレーション方針 {path} の内容が正しくありません: {exc}") from exc
    missing = set(LEVELS) - {level.id for level in policy.levels}
    if missing:
        raise PolicyError(f"エスカレーション方針 {path} にレベル {sorted(missing)} の定義がありません。")
    return policy
