"""Officer accounts, login throttling and signed session tokens for the officers' console.

- Accounts live in `settings.officers_path` (data_dir/officers.json): name -> argon2id hash (salted
  by argon2 itself). The file is written atomically with mode 0600 and re-read when it changes, so
  `kasuhara officer add` takes effect without a restart.
- `LoginThrottle` slows repeated failures down, per officer name and per client address:
  after a few free attempts each further failure doubles the wait before the next attempt counts.
- `SessionSigner` issues HMAC-signed tokens (name, issue time, random id, password fingerprint).
  The key lives in data_dir (mode 0600). A token dies at its age limit, at logout (revoked id),
  when the account is removed, or when its password changes.

Nothing here knows about HTTP; `assistant/web/auth.py` turns it into a login form and a cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from assistant.core.errors import KasuharaError

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
MAX_NAME_CHARS = 64
SESSION_MAX_AGE_S = 8 * 3600  # one working day
_FORMAT_VERSION = 1


class OfficerError(KasuharaError):
    """A bad officer name or password, or an unreadable accounts file."""


# --- accounts ---------------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    """The stored form of an officer name: NFKC, surrounding spaces removed. Raises OfficerError."""
    cleaned = unicodedata.normalize("NFKC", name or "").strip()
    if not cleaned:
        raise OfficerError("担当者名を入力してください。")
    if len(cleaned) > MAX_NAME_CHARS:
        raise OfficerError(f"担当者名は{MAX_NAME_CHARS}文字以内にしてください。")
    if any(unicodedata.category(ch).startswith(("C", "Z")) and ch != " " for ch in cleaned):
        raise OfficerError("担当者名に制御文字や改行は使えません。")
    return cleaned


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise OfficerError(f"パスワードは{MIN_PASSWORD_CHARS}文字以上にしてください。")
    if len(password) > MAX_PASSWORD_CHARS:
        raise OfficerError(f"パスワードは{MAX_PASSWORD_CHARS}文字以内にしてください。")


@dataclass(frozen=True)
class Officer:
    name: str
    password_hash: str
    created_at: str
    updated_at: str

    @property
    def fingerprint(self) -> str:
        """Changes whenever the password does; sessions carry it and die with the old password."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]


class OfficerStore:
    """The accounts file. Thread-safe; re-reads the file when its mtime changes."""

    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        self.path = Path(path)
        self._hasher = hasher or PasswordHasher()
        self._lock = threading.Lock()
        self._cache: dict[str, Officer] = {}
        self._stamp: tuple[int, int] | None = None
        # Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))

    # reading

    def _load(self) -> dict[str, Officer]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._cache, self._stamp = {}, None
            return self._cache
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return self._cache
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            officers = {
                name: Officer(name, entry["hash"], entry.get("created_at", ""), entry.get("updated_at", ""))
                for name, entry in data.get("officers", {}).items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise OfficerError(f"担当者アカウントのファイル {self.path} を読めません: {exc}") from exc
        self._cache, self._stamp = officers, stamp
        return officers

    def get(self, name: str) -> Officer | None:
        try:
            key = normalise_name(name)
        except OfficerError:
            return None
        with self._lock:
            return self._load().get(key)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._load())

    def authenticate(self, name: str, password: str) -> Officer | None:
        """The officer when name and password match, else None (same cost either way)."""
        officer = self.get(name)
        stored = officer.password_hash if officer else self._dummy_hash
        try:
            self._hasher.verify(stored, password[:MAX_PASSWORD_CHARS])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if officer is None:
            return None
        if self._hasher.check_needs_rehash(officer.password_hash):
            try:
                self.set_password(officer.name, password)
                officer = self.get(officer.name) or officer
            except OSError:
                pass  # keep working with the old hash
        return officer

    # writing

    def add(self, name: str, password: str, replace: bool = False) -> Officer:
        """Create an account (or, with `replace`, set a new password for an existing one)."""
        key = normalise_name(name)
        check_password(password)
        with self._lock:
            officers = dict(self._load())
            if key in officers and not replace:
                raise OfficerError(f"担当者「{key}」は既に登録されています。")
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            created = officers[key].created_at if key in officers else now
            officers[key] = Officer(key, self._hasher.hash(password), created, now)
            self._write(officers)
            return officers[key]

    def set_password(self, name: str, password: str) -> Officer:
        return self.add(name, password, replace=True)

    def remove(self, name: str) -> None:
        key = normalise_name(name)
        with self._lock:
            officers = dict(self._load())
            if key not in officers:
                raise OfficerError(f"担当者「{key}」は登録されていません。")
            del officers[key]
            self._write(officers)

    def _write(self, officers: dict[str, Officer]) -> None:
        data = {
            "version": _FORMAT_VERSION,
            "officers": {
                o.name: {"hash": o.password_hash, "created_at": o.created_at, "updated_at": o.updated_at}
                for o in officers.values()
            },
        }
        _write_private(self.path, json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"))
        self._stamp = None  # re-read on next access


def _write_private(path: Path, content: bytes) -> None:
    """Write then rename, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --- throttling -------------------------------------------------------------------------------


@dataclass
class _Failures:
    count: int
    last: float


class LoginThrottle:
    """Exponential delay after repeated failures, tracked separately per name and per address.

    The first `free_attempts` failures cost nothing; the n-th failure after them makes the key wait
    `base_delay * 2**(n-1)` seconds (capped at `max_delay`) before another attempt is even checked.
    A key's failures are forgotten `forget_after` seconds after its last failure, or on success.
    """

    def __init__(self, free_attempts: int = 3, base_delay: float = 1.0, max_delay: float = 900.0,
                 forget_after: float = 3600.0, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free_attempts = free_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.forget_after = forget_after
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str], _Failures] = {}

    @staticmethod
    def _keys(name: str, address: str) -> list[tuple[str, str]]:
        folded = unicodedata.normalize("NFKC", name or "").strip().casefold()
        return [("name", folded), ("addr", address or "?")]

    def _delay(self, count: int) -> float:
        extra = count - self.free_attempts
        if extra <= 0:
            return 0.0
        return min(self.base_delay * 2 ** (extra - 1), self.max_delay)

    def wait_seconds(self, name: str, address: str) -> float:
        """How long this name/address must still wait; 0 when an attempt may be checked now."""
        now = self._clock()
        with self._lock:
            waits = []
            for key in self._keys(name, address):
                entry = self._failures.get(key)
                if entry is None:
                    continue
                if now - entry.last > self.forget_after:
                    del self._failures[key]
                    continue
                waits.append(entry.last + self._delay(entry.count) - now)
            return max([0.0, *waits])

    def failure(self, name: str, address: str) -> float:
        """Record a failed attempt; returns the wait it imposes."""
        now = self._clock()
        with self._lock:
            if len(self._failures) >= self.max_keys:
                self._prune(now)
            delays = []
            for key in self._keys(name, address):
                entry = self._failures.get(key)
                if entry is None or now - entry.last > self.forget_after:
                    entry = self._failures[key] = _Failures(0, now)
                entry.count += 1
                entry.last = now
                delays.append(self._delay(entry.count))
            return max(delays)

    def success(self, name: str, address: str) -> None:
        with self._lock:
            for key in self._keys(name, address):
                self._failures.pop(key, None)

    def _prune(self, now: float) -> None:
        stale = [k for k, v in self._failures.items() if now - v.last > self.forget_after]
        for key in stale:
            del self._failures[key]
        if len(self._failures) >= self.max_keys:  # still full: drop the oldest half
            for key, _ in sorted(self._failures.items(), key=lambda kv: kv[1].last)[: self.max_keys // 2]:
                del self._failures[key]


# --- sessions ---------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_secret(path: Path) -> bytes:
    """The signing key, created on first use (32 random bytes, mode 0600)."""
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    _write_private(path, key)
    return key


@dataclass(frozen=True)
class Session:
    officer: str
    issued_at: float
    sid: str


class SessionSigner:
    """Stateless signed tokens plus an in-memory list of revoked session ids (logout)."""

    def __init__(self, key: bytes, store: OfficerStore, max_age: float = SESSION_MAX_AGE_S,
                 clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._store = store
        self.max_age = max_age
        self._clock = clock
        self._revoked: dict[str, float] = {}  # sid -> expiry
        self._lock = threading.Lock()

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, officer: Officer) -> str:
        body = {"u": officer.name, "t": int(self._clock()), "s": secrets.token_urlsafe(16), "f": officer.fingerprint}
        payload = _b64(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str | None) -> Session | None:
        """The session a token stands for, or None if it is forged, expired, revoked or stale."""
        if not token or token.count(".") != 1 or len(token) > 4096:
            return None
        payload, signature = token.split(".")
        try:
            if not hmac.compare_digest(signature.encode("ascii"), self._sign(payload).encode("ascii")):
                return None
            body = json.loads(_unb64(payload))
            name, issued, sid, fingerprint = body["u"], float(body["t"]), str(body["s"]), str(body["f"])
        except (ValueError, KeyError, TypeError, UnicodeError):
            return None
        now = self._clock()
        if not (issued - 60 <= now <= issued + self.max_age):
            return None
        with self._lock:
            if sid in self._revoked:
                return None
        try:
            officer = self._store.get(name)
        except OfficerError:
            return None
        if officer is None or not hmac.compare_digest(officer.fingerprint, fingerprint):
            return None
        return Session(officer.name, issued, sid)

    def revoke(self, token: str | None) -> None:
        session = self.verify(token)
        if session is None:
            return
        now = self._clock()
        with self._lock:
            self._revoked = {s: exp for s, exp in self._revoked.items() if exp > now}
            self._revoked[session.sid] = session.issued_at + self.max_age
