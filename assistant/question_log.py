"""The question log: every question from every surface, for officers and for evaluation.

One `QuestionLog` wraps one database (SQLite in `data_dir` by default, PostgreSQL when a URL is
configured). Opening it runs the alembic migrations in `assistant/migrations` (an append-only list).
`record()` never raises for a database failure: the record goes to a JSON spool file and is replayed,
idempotently by its client-generated uid, on the next successful write or on `flush_spool()`.

Staff questions are personal data: phone numbers and e-mail addresses are masked before they are
stored or spooled, and database errors are logged without their SQL parameters.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import threading
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.util.exc import CommandError
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from assistant.core.errors import KasuharaError
from assistant.core.levels import LEVELS
from assistant.core.settings import Settings
from assistant.personal_data import mask_personal_data

LOG = logging.getLogger(__name__)

SURFACES = ("cli", "web", "eval")
ANSWER_MODES = ("extractive", "llm")
STATUSES = ("未確認", "対応中", "完了")
FEEDBACK_FILTERS = ("up", "down", "none")
# Japan has no daylight saving time, so a fixed offset is exact and needs no tz database.
# Dates in filters and per-day statistics are office days, not UTC days.
OFFICE_TZ = timezone(timedelta(hours=9), "JST")
MIN_UID_PREFIX = 6
DEFAULT_BUSY_TIMEOUT_MS = 5000

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_VERSION_TABLE = "question_log_version"  # keep in sync with migrations/env.py
_PG_MIGRATION_LOCK = 7_361_944_201  # arbitrary advisory-lock key for this schema
_READ_ONLY = "kasuhara_read_only"
_UID_RE = re.compile(r"[0-9a-f]{32}")
# Failures that mean "the database cannot take this write now": spool, do not raise.
_DB_FAILURES = (DBAPIError, PoolTimeoutError)
# alembic's module-level `context` proxy is not thread-safe.
_MIGRATION_LOCK = threading.Lock()


# --- errors -------------------------------------------------------------------------------


class InvalidLogValue(KasuharaError, ValueError):
    """A value outside the allowed choices (level, status, feedback, uid...)."""


class LogNotFound(KasuharaError, LookupError):
    """No question with that id."""


class AmbiguousLogId(KasuharaError, LookupError):
    """An id prefix matching several questions."""


class SchemaMismatch(KasuharaError):
    """The database holds a schema revision these migrations do not know."""


class LogUnavailable(KasuharaError):
    """The database cannot be reached for a read or an officer's change."""


def _check_choice(value: str | None, choices: tuple[str, ...], label: str) -> None:
    if value is not None and value not in choices:
        raise InvalidLogValue(f"{label}「{value}」は使えません。次のいずれかです: {', '.join(choices)}")


# --- records ------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class LogRecord:
    """What is recorded for one question. Build it with `LogRecord.new(...)`."""

    uid: str
    created_at: datetime
    surface: str
    session_id: str
    question: str
    level: str
    reasons: list[str]
    answered: bool
    retrieved: list[dict[str, Any]]  # chunk_id, bm25, dense, fused, rank
    citations: list[dict[str, Any]]  # chunk_id, section, page, quote, source
    answer: str
    answer_mode: str
    fallback_reason: str | None
    latency_ms: float
    embedder: str
    index_version: str
    input_note: str = ""  # what was done to the input before answering (undecodable bytes replaced)
    parts: dict[str, Any] | None = None  # `AnswerParts.to_json()`; None for rows logged before parts existed

    def __post_init__(self) -> None:
        if not _UID_RE.fullmatch(self.uid):
            raise InvalidLogValue(f"質問IDは32桁の16進数です: {self.uid!r}")
        if self.created_at.tzinfo is None:
            raise InvalidLogValue("記録日時にはタイムゾーンが必要です。")
        _check_choice(self.surface, SURFACES, "利用経路")
        _check_choice(self.level, LEVELS, "区分")
        _check_choice(self.answer_mode, ANSWER_MODES, "回答方式")

    @classmethod
    def new(
        cls,
        *,
        surface: str,
        question: str,
        level: str,
        answered: bool,
        session_id: str = "",
        reasons: list[str] | tuple[str, ...] = (),
        retrieved: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
        citations: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
        answer: str = "",
        answer_mode: str = "extractive",
        fallback_reason: str | None = None,
        latency_ms: float = 0.0,
        embedder: str = "",
        index_version: str = "",
        input_note: str = "",
        parts: dict[str, Any] | None = None,
    ) -> LogRecord:
        """A record with a fresh uid (generated here, so spool replays stay idempotent) and now."""
        return cls(
            uid=uuid.uuid4().hex,
            created_at=_now(),
            surface=surface,
            session_id=session_id,
            question=question,
            level=level,
            reasons=list(reasons),
            answered=bool(answered),
            retrieved=[dict(item) for item in retrieved],
            citations=[dict(item) for item in citations],
            answer=answer,
            answer_mode=answer_mode,
            fallback_reason=fallback_reason,
            latency_ms=float(latency_ms),
            embedder=embedder,
            index_version=index_version,
            input_note=input_note,
            parts=parts,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO 8601 strings."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogRecord:
        # A spool file written before a field existed lacks it: the field's default stands.
        values = {f.name: data[f.name] for f in fields(LogRecord) if f.name in data}
        values["created_at"] = datetime.fromisoformat(values["created_at"])
        return LogRecord(**values)


@dataclass(frozen=True)
class LogRow(LogRecord):
    """A stored record plus what officers add to it."""

    feedback: int | None = None  # +1 / -1
    feedback_at: datetime | None = None
    status: str = STATUSES[0]


@dataclass(frozen=True)
class LogFilters:
    """Filters for `list`, `count` and `stats`. Dates are office days (JST), both inclusive."""

    since: date | None = None
    until: date | None = None
    level: str | None = None
    answered: bool | None = None
    feedback: str | None = None  # "up", "down" or "none" (not rated)
    status: str | None = None
    text: str | None = None  # substring of the question or the answer
    surface: str | None = None
    limit: int | None = 100
    offset: int = 0
    urgent_first: bool = False

    def __post_init__(self) -> None:
        _check_choice(self.level, LEVELS, "区分")
        _check_choice(self.feedback, FEEDBACK_FILTERS, "評価")
        _check_choice(self.status, STATUSES, "対応状況")
        _check_choice(self.surface, SURFACES, "利用経路")
        if (self.limit is not None and self.limit < 0) or self.offset < 0:
            raise InvalidLogValue("件数と開始位置は0以上で指定してください。")
        if self.since and self.until and self.since > self.until:
            raise InvalidLogValue("開始日が終了日より後になっています。")


@dataclass(frozen=True)
class Note:
    uid: str
    officer: str
    at: datetime
    text: str


@dataclass(frozen=True)
class LevelCorrection:
    """An officer's correction of the level a logged question should have had (the router learns it)."""

    uid: str
    question: str
    level: str
    officer: str
    at: datetime


@dataclass(frozen=True)
class StatusEvent:
    uid: str
    status: str
    officer: str
    at: datetime


@dataclass(frozen=True)
class DayLevelCount:
    day: date  # office day (JST)
    level: str
    count: int


@dataclass(frozen=True)
class SectionCount:
    section: str
    count: int  # questions citing it (a question citing a section twice counts once)


@dataclass(frozen=True)
class FeedbackSummary:
    total: int
    up: int
    down: int

    @property
    def rated(self) -> int:
        return self.up + self.down

    @property
    def rate(self) -> float:
        """Share of questions that got any feedback."""
        return self.rated / self.total if self.total else 0.0

    @property
    def positive_rate(self) -> float:
        """Share of rated answers rated helpful."""
        return self.up / self.rated if self.rated else 0.0


@dataclass(frozen=True)
class LogStats:
    total: int
    answered: int
    per_day: list[DayLevelCount]
    top_sections: list[SectionCount]
    unanswered: list[LogRow]  # newest first: gaps in the manual
    feedback: FeedbackSummary


@dataclass(frozen=True)
class LogInfo:
    """For `kasuhara logs status`: never raises, a failure goes to `error`."""

    url: str  # password hidden
    backend: str
    rows: int | None
    revision: str | None
    pending_spool: int
    error: str | None = None


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


# --- schema (head of the migrations; the migrations are the source of truth) ---------------


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out. SQLite stores naive UTC text; its
    fixed-width format keeps string order equal to time order."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise InvalidLogValue("日時にはタイムゾーンが必要です。")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


metadata = sa.MetaData()

questions = sa.Table(
    "questions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("uid", sa.String(32), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("surface", sa.String(16), nullable=False),
    sa.Column("session_id", sa.String(64), nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("answered", sa.Boolean, nullable=False),
    sa.Column("retrieved", sa.JSON, nullable=False),
    sa.Column("citations", sa.JSON, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("answer_mode", sa.String(16), nullable=False),
    sa.Column("fallback_reason", sa.Text, nullable=True),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("embedder", sa.String(200), nullable=False),
    sa.Column("index_version", sa.String(200), nullable=False),
    sa.Column("input_note", sa.Text, nullable=False, server_default=""),
    sa.Column("parts", sa.JSON, nullable=True),
    sa.Column("feedback", sa.SmallInteger, nullable=True),
    sa.Column("feedback_at", UTCDateTime, nullable=True),
    sa.Column("status", sa.String(8), nullable=False),
)

status_events = sa.Table(
    "status_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("log_uid", sa.String(32), nullable=False),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("officer", sa.String(200), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)

notes_table = sa.Table(
    "notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("log_uid", sa.String(32), nullable=False),
    sa.Column("officer", sa.String(200), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)

level_corrections = sa.Table(
    "level_corrections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("log_uid", sa.String(32), nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("officer", sa.String(200), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)

_RECORD_FIELDS = tuple(f.name for f in fields(LogRecord))
_ROW_FIELDS = tuple(f.name for f in fields(LogRow))


# --- storable values ----------------------------------------------------------------------


def _clean_text(text: str) -> str:
    # PostgreSQL text cannot hold NUL and no UTF-8 codec takes a lone surrogate; either would
    # make the row (and its spool file) fail forever.
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars become Python numbers, NaN/inf become None."""
    if isinstance(value, str):
        return _clean_text(value)
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {_clean_text(str(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return _plain(value.item())
    return _clean_text(str(value))


def _storable(rec: LogRecord, mask: bool) -> LogRecord:
    question = _clean_text(rec.question)
    latency = float(rec.latency_ms)
    return dataclasses.replace(
        rec,
        question=mask_personal_data(question) if mask else question,
        session_id=_clean_text(rec.session_id),
        reasons=_plain(rec.reasons),
        retrieved=_plain(rec.retrieved),
        citations=_plain(rec.citations),
        answer=_clean_text(rec.answer),
        fallback_reason=None if rec.fallback_reason is None else _clean_text(rec.fallback_reason),
        latency_ms=latency if math.isfinite(latency) else 0.0,
        embedder=_clean_text(rec.embedder),
        index_version=_clean_text(rec.index_version),
        input_note=_clean_text(rec.input_note),
        parts=None if rec.parts is None else _plain(rec.parts),
    )


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _reason(err: BaseException) -> str:
    # Only the driver's first line: the full SQLAlchemy message would carry the question text.
    orig = getattr(err, "orig", None) or err
    first_line = (str(orig).strip().splitlines() or [""])[0]
    return f"{type(orig).__name__}: {first_line}"


# --- engine -------------------------------------------------------------------------------


def _install_sqlite_hooks(engine: Engine, busy_timeout_ms: int) -> None:
    """SQLAlchemy's pysqlite recipe: take BEGIN away from sqlite3 and emit our own."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        # busy_timeout first: switching to WAL may itself have to wait for a lock.
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
        cursor.execute("PRAGMA synchronous = NORMAL")  # durable enough under WAL, much faster
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A deferred transaction that upgrades to a write lock fails at once with SQLITE_BUSY
        # instead of waiting out busy_timeout; writers therefore take the lock up front.
        mode = "DEFERRED" if conn.get_execution_options().get(_READ_ONLY) else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")


def _parse_url(url: str) -> sa.URL:
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise InvalidLogValue(f"データベースURLの形式が正しくありません: {err}") from err
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is what we ship
    return parsed


def _ensure_sqlite_dir(parsed: sa.URL) -> None:
    if not parsed.database or parsed.database == ":memory:":
        return
    try:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # connecting will fail too, and records will spool
        LOG.warning("question log: cannot create the database folder (%s)", err)


def _create_engine(url: str, busy_timeout_ms: int) -> Engine:
    parsed = _parse_url(url)
    common: dict[str, Any] = {"json_serializer": _json_dumps, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        _ensure_sqlite_dir(parsed)
        engine = sa.create_engine(parsed, **common)
        _install_sqlite_hooks(engine, busy_timeout_ms)
        return engine
    # pre_ping: after a server restart, stale pooled connections are replaced, not used.
    connect_args = {"connect_timeout": 5} if parsed.get_backend_name() == "postgresql" else {}
    try:
        return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args, **common)
    except (ArgumentError, NoSuchModuleError) as err:
        raise InvalidLogValue(f"このデータベースURLは使えません（{parsed.drivername}）: {err}") from err


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration, in one transaction."""
    cfg = _alembic_config()
    with _MIGRATION_LOCK, engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two processes opening a fresh database at once must not both create the tables.
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        cfg.attributes["connection"] = conn
        try:
            command.upgrade(cfg, "head")
        except CommandError as err:  # typically a database written by a newer kasuhara
            raise SchemaMismatch(
                f"質問ログのデータベースの形式がこのバージョンの kasuhara と合いません: {err}"
            ) from err


# Idempotent inserts: a replayed spool file (or two processes replaying it) cannot duplicate a row.
_INSERT_OR_IGNORE = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def _insert_ignoring_duplicate(conn: sa.Connection, rec: LogRecord) -> None:
    values = {name: getattr(rec, name) for name in _RECORD_FIELDS}
    values["status"] = STATUSES[0]
    upsert = _INSERT_OR_IGNORE.get(conn.dialect.name)
    if upsert is not None:
        conn.execute(upsert(questions).values(values).on_conflict_do_nothing(index_elements=["uid"]))
        return
    exists = conn.execute(sa.select(questions.c.id).where(questions.c.uid == rec.uid)).first()
    if exists is None:
        conn.execute(questions.insert().values(values))


# --- spool --------------------------------------------------------------------------------


class _Spool:
    """Records the database could not take, one JSON file each, replayed oldest first."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, rec: LogRecord) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{rec.created_at.astimezone(timezone.utc):%Y%m%dT%H%M%S%f}-{rec.uid}.json"
        final = self.directory / name
        tmp = self.directory / f".{name}.tmp"
        # Write then rename: a reader never sees half a file, even after a crash.
        with open(tmp, "w", encoding="utf-8") as fp:
            json.dump(rec.to_dict(), fp, ensure_ascii=False)
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, final)
        return final

    def pending(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.json"))

    def load(self, path: Path) -> LogRecord | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return LogRecord.from_dict(data)
        except FileNotFoundError:  # another writer replayed it meanwhile
            return None
        except (ValueError, KeyError, TypeError) as err:
            self.reject(path, f"{type(err).__name__}: {err}")
            return None

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def reject(self, path: Path, reason: str) -> None:
        # Kept beside the spool for a person to look at; never retried automatically, so one
        # bad file cannot block every later replay.
        LOG.error("question log: spool file %s rejected (%s)", path.name, reason)
        try:
            os.replace(path, path.with_suffix(".rejected"))
        except FileNotFoundError:
            pass


def _is_transient(err: BaseException) -> bool:
    if isinstance(err, (OperationalError, InterfaceError, PoolTimeoutError)):
        return True
    return bool(getattr(err, "connection_invalidated", False))


# --- query helpers --------------------------------------------------------------------------


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), OFFICE_TZ)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_FEEDBACK_CONDITIONS = {
    "up": lambda col: col == 1,
    "down": lambda col: col == -1,
    "none": lambda col: col.is_(None),
}


def _conditions(f: LogFilters) -> list[sa.ColumnElement[bool]]:
    c = questions.c
    out: list[sa.ColumnElement[bool]] = []
    if f.since:
        out.append(c.created_at >= _day_start(f.since))
    if f.until:
        out.append(c.created_at < _day_start(f.until + timedelta(days=1)))
    for name in ("level", "answered", "status", "surface"):
        if getattr(f, name) is not None:
            out.append(c[name] == getattr(f, name))
    if f.feedback:
        out.append(_FEEDBACK_CONDITIONS[f.feedback](c.feedback))
    if f.text and f.text.strip():
        pattern = _like_pattern(f.text.strip())
        out.append(
            sa.or_(c.question.ilike(pattern, escape="\\"), c.answer.ilike(pattern, escape="\\"))
        )
    return out


def _ordered(stmt: sa.Select[Any], f: LogFilters) -> sa.Select[Any]:
    order: list[Any] = []
    if f.urgent_first:
        order.append(sa.case((questions.c.level == "urgent", 0), else_=1))
    order += [questions.c.created_at.desc(), questions.c.id.desc()]
    stmt = stmt.order_by(*order).offset(f.offset)
    return stmt if f.limit is None else stmt.limit(f.limit)


def _to_row(mapping: Any) -> LogRow:
    return LogRow(**{name: mapping[name] for name in _ROW_FIELDS})


def _normalise_uid(uid: str) -> str:
    key = uid.strip().lower()
    if len(key) < MIN_UID_PREFIX or not re.fullmatch(r"[0-9a-f]+", key):
        raise InvalidLogValue(
            f"質問IDは{MIN_UID_PREFIX}文字以上の16進数で指定してください（指定値: {uid!r}）。"
        )
    return key


# --- the log --------------------------------------------------------------------------------


class QuestionLog:
    """The question log API shared by the CLI, the web pages and the evaluations."""

    def __init__(
        self,
        url: str,
        spool_dir: Path | str,
        mask: bool = True,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        self._engine = _create_engine(url, busy_timeout_ms)
        self._spool = _Spool(Path(spool_dir))
        self.mask = mask
        self._migrated = False
        self._flush_lock = threading.Lock()
        try:
            self._ensure_schema()
        except _DB_FAILURES as err:
            # Staff must still be able to ask while the database is down: records will spool.
            LOG.warning("question log: database unavailable at open (%s)", _reason(err))

    @classmethod
    def open(cls, settings: Settings | None = None, **kwargs: Any) -> QuestionLog:
        settings = settings or Settings()
        return cls(
            settings.resolved_database_url,
            settings.spool_dir,
            mask=settings.mask_personal_data,
            **kwargs,
        )

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> QuestionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def display_url(self) -> str:
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def spool_dir(self) -> Path:
        return self._spool.directory

    # --- plumbing ---

    def _ensure_schema(self) -> None:
        if not self._migrated:
            migrate(self._engine)
            self._migrated = True

    @contextmanager
    def _unavailable_as_error(self) -> Iterator[None]:
        try:
            yield
        except _DB_FAILURES as err:
            if not _is_transient(err):
                raise
            raise LogUnavailable(
                f"質問ログのデータベースに接続できません（{self.display_url}）: {_reason(err)}"
            ) from err

    @contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        with self._unavailable_as_error():
            self._ensure_schema()
            with self._engine.connect() as conn:
                conn.execution_options(**{_READ_ONLY: True})
                yield conn

    @contextmanager
    def _writing(self) -> Iterator[sa.Connection]:
        with self._unavailable_as_error():
            self._ensure_schema()
            with self._engine.begin() as conn:
                yield conn

    # --- writing questions ---

    def record(self, rec: LogRecord) -> str:
        """Store one record in one transaction; on a database failure spool it. Never raises
        for a database failure. Returns the uid."""
        rec = _storable(rec, self.mask)
        try:
            self._ensure_schema()
            with self._engine.begin() as conn:
                _insert_ignoring_duplicate(conn, rec)
        except _DB_FAILURES as err:
            LOG.warning("question log: write failed (%s); spooling %s", _reason(err), rec.uid)
            self._spool_record(rec)
            return rec.uid
        except Exception:
            # Not a database outage (e.g. a schema the migrations do not know): still a failed
            # write, and a member of staff waiting for an answer must not see it.
            LOG.exception("question log: unexpected write failure; spooling %s", rec.uid)
            self._spool_record(rec)
            return rec.uid
        self._replay_quietly()
        return rec.uid

    def _spool_record(self, rec: LogRecord) -> None:
        try:
            self._spool.put(rec)
        except OSError:
            LOG.exception("question log: could not spool %s; the record is lost", rec.uid)

    def _replay_quietly(self) -> None:
        if not self._spool.pending():
            return
        try:
            self.flush_spool()
        except LogUnavailable as err:
            LOG.warning("question log: spool replay postponed (%s)", err)
        except Exception:  # the caller's record is stored; a replay problem is not theirs
            LOG.exception("question log: spool replay failed")

    def flush_spool(self) -> int:
        """Replay spooled records (idempotent by uid); return how many were stored.
        Raises `LogUnavailable` if the database is still down."""
        replayed = 0
        with self._flush_lock:
            for path in self._spool.pending():
                replayed += self._replay_one(path)
        if replayed:
            LOG.info("question log: replayed %d spooled record(s)", replayed)
        return replayed

    def _replay_one(self, path: Path) -> int:
        rec = self._spool.load(path)
        if rec is None:
            return 0
        try:
            with self._writing() as conn:
                _insert_ignoring_duplicate(conn, rec)
        except DBAPIError as err:  # transient ones arrive as LogUnavailable and propagate
            self._spool.reject(path, _reason(err))
            return 0
        self._spool.remove(path)
        return 1

    def pending_spool(self) -> int:
        return len(self._spool.pending())

    # --- reading questions ---

    def list(self, filters: LogFilters | None = None) -> list[LogRow]:
        """Newest first (urgent first when `filters.urgent_first`)."""
        f = filters or LogFilters()
        stmt = _ordered(sa.select(questions).where(*_conditions(f)), f)
        with self._reading() as conn:
            return [_to_row(m) for m in conn.execute(stmt).mappings()]

    def count(self, filters: LogFilters | None = None) -> int:
        f = filters or LogFilters()
        stmt = sa.select(sa.func.count()).select_from(questions).where(*_conditions(f))
        with self._reading() as conn:
            return int(conn.execute(stmt).scalar_one())

    def get(self, uid: str) -> LogRow:
        """By full uid or a unique prefix of at least 6 characters."""
        key = _normalise_uid(uid)
        stmt = sa.select(questions).where(questions.c.uid.like(f"{key}%")).limit(2)
        with self._reading() as conn:
            found = conn.execute(stmt).mappings().all()
        if not found:
            raise LogNotFound(f"質問ID「{uid}」の記録は見つかりません。")
        if len(found) > 1:
            raise AmbiguousLogId(f"質問ID「{uid}」に一致する記録が複数あります。もっと長く指定してください。")
        return _to_row(found[0])

    def stats(self, filters: LogFilters | None = None, top: int = 10) -> LogStats:
        """Insight for officers over the filtered questions (limit and offset are ignored)."""
        f = dataclasses.replace(filters or LogFilters(), limit=None, offset=0, urgent_first=False)
        c = questions.c
        stmt = sa.select(c.created_at, c.level, c.answered, c.feedback, c.citations)
        with self._reading() as conn:
            rows = conn.execute(stmt.where(*_conditions(f))).all()
        return LogStats(
            total=len(rows),
            answered=sum(1 for r in rows if r.answered),
            per_day=_per_day(rows),
            top_sections=_top_sections(rows, top),
            unanswered=self.list(dataclasses.replace(f, answered=False, limit=top)),
            feedback=FeedbackSummary(
                total=len(rows),
                up=sum(1 for r in rows if r.feedback == 1),
                down=sum(1 for r in rows if r.feedback == -1),
            ),
        )

    # --- officers ---

    def _resolve(self, uid: str) -> str:
        return self.get(uid).uid

    def set_feedback(self, uid: str, value: int | None) -> None:
        """+1 (helpful), -1 (not helpful) or None (clear)."""
        if value not in (1, -1, None):
            raise InvalidLogValue(f"評価は +1 か -1 です（指定値: {value!r}）。")
        full = self._resolve(uid)
        stmt = (
            questions.update()
            .where(questions.c.uid == full)
            .values(feedback=value, feedback_at=None if value is None else _now())
        )
        with self._writing() as conn:
            conn.execute(stmt)

    def set_status(self, uid: str, status: str, officer: str) -> StatusEvent:
        """Change the handling status and keep the change in the history, atomically."""
        _check_choice(status, STATUSES, "対応状況")
        officer = _required_text(officer, "担当者名")
        full = self._resolve(uid)
        event_ = StatusEvent(uid=full, status=status, officer=officer, at=_now())
        with self._writing() as conn:
            conn.execute(questions.update().where(questions.c.uid == full).values(status=status))
            conn.execute(
                status_events.insert().values(
                    log_uid=full, status=status, officer=officer, at=event_.at
                )
            )
        return event_

    def add_note(self, uid: str, officer: str, text: str) -> Note:
        officer = _required_text(officer, "担当者名")
        text = _required_text(text, "メモ")
        full = self._resolve(uid)
        note = Note(uid=full, officer=officer, at=_now(), text=text)
        with self._writing() as conn:
            conn.execute(notes_table.insert().values(log_uid=full, officer=officer, at=note.at, text=text))
        return note

    def correct_level(self, uid: str, level: str, officer: str) -> LevelCorrection:
        """Record the level a logged question should have had. The latest correction per question wins;
        earlier ones stay as history."""
        _check_choice(level, LEVELS, "区分")
        officer = _required_text(officer, "担当者名")
        row = self.get(uid)
        correction = LevelCorrection(uid=row.uid, question=row.question, level=level, officer=officer, at=_now())
        with self._writing() as conn:
            conn.execute(level_corrections.insert().values(
                log_uid=row.uid, level=level, officer=officer, at=correction.at))
        return correction

    def level_correction(self, uid: str) -> LevelCorrection | None:
        """The current correction of one question, or None."""
        found = self._corrections(level_corrections.c.log_uid == self._resolve(uid))
        return found[0] if found else None

    def level_corrections(self) -> list[LevelCorrection]:
        """The current correction of every corrected question, oldest first."""
        return self._corrections(sa.true())

    def _corrections(self, where: sa.ColumnElement[bool]) -> list[LevelCorrection]:
        t, q = level_corrections.c, questions.c
        stmt = (sa.select(t.log_uid, q.question, t.level, t.officer, t.at)
                .join(questions, q.uid == t.log_uid).where(where).order_by(t.at, t.id))
        with self._reading() as conn:
            latest = {r.log_uid: r for r in conn.execute(stmt)}  # later rows replace earlier ones
        return [LevelCorrection(uid=r.log_uid, question=r.question, level=r.level, officer=r.officer, at=r.at)
                for r in latest.values()]

    def notes(self, uid: str) -> list[Note]:
        full = self._resolve(uid)
        t = notes_table.c
        stmt = sa.select(t.officer, t.at, t.text).where(t.log_uid == full).order_by(t.at, t.id)
        with self._reading() as conn:
            return [Note(uid=full, officer=r.officer, at=r.at, text=r.text) for r in conn.execute(stmt)]

    def status_events(self, uid: str) -> list[StatusEvent]:
        full = self._resolve(uid)
        t = status_events.c
        stmt = sa.select(t.status, t.officer, t.at).where(t.log_uid == full).order_by(t.at, t.id)
        with self._reading() as conn:
            return [
                StatusEvent(uid=full, status=r.status, officer=r.officer, at=r.at)
                for r in conn.execute(stmt)
            ]

    # --- health ---

    def revision(self) -> str | None:
        with self._reading() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": _VERSION_TABLE})
            return ctx.get_current_revision()

    def info(self) -> LogInfo:
        base = {
            "url": self.display_url,
            "backend": self._engine.dialect.name,
            "pending_spool": self.pending_spool(),
        }
        try:
            return LogInfo(rows=self.count(), revision=self.revision(), **base)
        except LogUnavailable as err:
            return LogInfo(rows=None, revision=None, error=str(err), **base)


def _required_text(value: str, label: str) -> str:
    value = _clean_text(value or "").strip()
    if not value:
        raise InvalidLogValue(f"{label}を入力してください。")
    return value


def _per_day(rows: list[Any]) -> list[DayLevelCount]:
    counts = Counter((r.created_at.astimezone(OFFICE_TZ).date(), r.level) for r in rows)
    order = {level: i for i, level in enumerate(LEVELS)}
    keys = sorted(counts, key=lambda k: (k[0], order.get(k[1], len(LEVELS))))
    return [DayLevelCount(day=day, level=level, count=counts[day, level]) for day, level in keys]


def _top_sections(rows: list[Any], top: int) -> list[SectionCount]:
    counts: Counter[str] = Counter()
    for r in rows:
        counts.update({c.get("section") for c in r.citations or [] if c.get("section")})
    return [SectionCount(section=s, count=n) for s, n in counts.most_common(top)]
