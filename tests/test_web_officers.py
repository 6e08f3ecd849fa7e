"""Officer accounts (argon2 hashes in data_dir), the login throttle, signed sessions, and the CLI."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main as cli
from assistant.core.settings import Settings
from assistant.officers import (
    LoginThrottle,
    OfficerError,
    OfficerStore,
    SessionSigner,
    load_secret,
)

PASSWORD = "correct-horse-battery"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> OfficerStore:
    return OfficerStore(tmp_path / "officers.json")


# --- accounts -------------------------------------------------------------------------------------


def test_accounts_file_holds_salted_argon2_hashes_readable_by_owner_only(store: OfficerStore) -> None:
    store.add("山田", PASSWORD)
    store.add("佐藤", PASSWORD)
    data = json.loads(store.path.read_text(encoding="utf-8"))
    hashes = [entry["hash"] for entry in data["officers"].values()]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert hashes[0] != hashes[1], "same password, different salt"
    assert PASSWORD not in store.path.read_text(encoding="utf-8")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_authenticate(store: OfficerStore) -> None:
    store.add("山田", PASSWORD)
    assert store.authenticate("山田", PASSWORD).name == "山田"
    assert store.authenticate(" 山田 ", PASSWORD).name == "山田"  # NFKC + strip, as stored
    assert store.authenticate("山田", PASSWORD + "x") is None
    assert store.authenticate("鈴木", PASSWORD) is None
    assert store.authenticate("", "") is None


def test_add_validates(store: OfficerStore) -> None:
    with pytest.raises(OfficerError, match="10文字以上"):
        store.add("山田", "short")
    with pytest.raises(OfficerError, match="担当者名"):
        store.add("  ", PASSWORD)
    with pytest.raises(OfficerError, match="制御文字"):
        store.add("山田\n太郎", PASSWORD)
    store.add("山田", PASSWORD)
    with pytest.raises(OfficerError, match="既に登録"):
        store.add("山田", PASSWORD)
    store.add("山田", "another-long-password", replace=True)
    assert store.authenticate("山田", "another-long-password")


def test_changes_by_another_process_are_seen(tmp_path: Path) -> None:
    path = tmp_path / "officers.json"
    server_side, cli_side = OfficerStore(path), OfficerStore(path)
    assert server_side.get("山田") is None
    cli_side.add("山田", PASSWORD)
    assert server_side.authenticate("山田", PASSWORD) is not None
    cli_side.remove("山田")
    assert server_side.get("山田") is None


def test_unreadable_file_is_a_readable_error(store: OfficerStore) -> None:
    store.path.write_text("{not json", encoding="utf-8")
    with pytest.raises(OfficerError, match="読めません"):
        store.names()


# --- throttle -------------------------------------------------------------------------------------


def test_throttle_exponential_delay_after_free_attempts() -> None:
    clock = Clock()
    throttle = LoginThrottle(free_attempts=3, base_delay=1.0, max_delay=8.0, clock=clock)
    delays = [throttle.failure("山田", "10.0.0.1") for _ in range(7)]
    assert delays == [0, 0, 0, 1, 2, 4, 8]
    assert throttle.wait_seconds("山田", "10.0.0.1") == pytest.approx(8.0)
    clock.now += 8.01
    assert throttle.wait_seconds("山田", "10.0.0.1") == 0


def test_throttle_is_per_name_and_per_address() -> None:
    clock = Clock()
    throttle = LoginThrottle(free_attempts=2, base_delay=10.0, clock=clock)
    for _ in range(3):
        throttle.failure("山田", "10.0.0.1")
    # The same name from another address is slowed down (guessing one account from many machines)...
    assert throttle.wait_seconds("山田", "10.0.0.2") > 0
    # ...and any name from the same address (one machine guessing many accounts).
    assert throttle.wait_seconds("佐藤", "10.0.0.1") > 0
    # Another name from another address is not.
    assert throttle.wait_seconds("佐藤", "10.0.0.2") == 0
    # Name matching is case/width-insensitive.
    for _ in range(3):
        throttle.failure("ＡＤＭＩＮ", "10.0.0.3")
    assert throttle.wait_seconds("admin", "10.0.0.9") > 0


def test_throttle_success_resets_and_old_failures_are_forgotten() -> None:
    clock = Clock()
    throttle = LoginThrottle(free_attempts=1, base_delay=5.0, forget_after=60.0, clock=clock)
    throttle.failure("山田", "a")
    throttle.failure("山田", "a")
    assert throttle.wait_seconds("山田", "a") > 0
    throttle.success("山田", "a")
    assert throttle.wait_seconds("山田", "a") == 0
    throttle.failure("山田", "a")
    throttle.failure("山田", "a")
    clock.now += 61
    assert throttle.wait_seconds("山田", "a") == 0
    assert throttle.failure("山田", "a") == 0  # counting starts again


def test_throttle_memory_is_bounded() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_keys=100, clock=clock)
    for i in range(1000):
        clock.now += 0.001
        throttle.failure(f"user{i}", f"addr{i}")
    assert len(throttle._failures) <= 100


# --- sessions -------------------------------------------------------------------------------------


@pytest.fixture
def signer(store: OfficerStore, tmp_path: Path) -> tuple[SessionSigner, Clock]:
    store.add("山田", PASSWORD)
    clock = Clock()
    return SessionSigner(load_secret(tmp_path / "key"), store, max_age=3600, clock=clock), clock


def test_session_roundtrip_and_secret_file(signer, store: OfficerStore, tmp_path: Path) -> None:
    sessions, _ = signer
    token = sessions.issue(store.get("山田"))
    assert sessions.verify(token).officer == "山田"
    assert stat.S_IMODE((tmp_path / "key").stat().st_mode) == 0o600
    assert load_secret(tmp_path / "key") == load_secret(tmp_path / "key")


def test_forged_or_foreign_tokens_are_rejected(signer, store: OfficerStore, tmp_path: Path) -> None:
    sessions, _ = signer
    token = sessions.issue(store.get("山田"))
    payload, sig = token.split(".")
    assert sessions.verify(payload + "." + sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")) is None
    assert sessions.verify("x" + token) is None
    assert sessions.verify("") is None and sessions.verify(None) is None and sessions.verify("a.b.c") is None
    other = SessionSigner(load_secret(tmp_path / "other-key"), store)
    assert other.verify(token) is None


def test_sessions_expire_and_can_be_revoked(signer, store: OfficerStore) -> None:
    sessions, clock = signer
    token = sessions.issue(store.get("山田"))
    clock.now += 3599
    assert sessions.verify(token) is not None
    clock.now += 2
    assert sessions.verify(token) is None
    token = sessions.issue(store.get("山田"))
    sessions.revoke(token)
    assert sessions.verify(token) is None


def test_sessions_end_with_the_account_or_its_password(signer, store: OfficerStore) -> None:
    sessions, _ = signer
    token = sessions.issue(store.get("山田"))
    store.set_password("山田", "a-brand-new-password")
    assert sessions.verify(token) is None
    token = sessions.issue(store.get("山田"))
    store.remove("山田")
    assert sessions.verify(token) is None


# --- CLI ------------------------------------------------------------------------------------------


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


def test_officer_add_asks_twice_and_stores_a_hash() -> None:
    result = run("officer", "add", "山田", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "登録しました" in result.output
    assert PASSWORD not in result.output
    store = OfficerStore(Settings().officers_path)
    assert store.authenticate("山田", PASSWORD) is not None
    assert run("officer", "list").output.strip() == "山田"


def test_officer_add_errors_are_japanese_sentences() -> None:
    mismatch = run("officer", "add", "山田", input=f"{PASSWORD}\n{PASSWORD}x\n")
    assert mismatch.exit_code == 1 and "一致しません" in mismatch.output
    short = run("officer", "add", "山田", input="short\n")
    assert short.exit_code == 1 and "10文字以上" in short.output
    assert not Settings().officers_path.exists()
    run("officer", "add", "山田", input=f"{PASSWORD}\n{PASSWORD}\n")
    again = run("officer", "add", "山田", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert again.exit_code == 1 and "--replace" in again.output
    replaced = run("officer", "add", "山田", "--replace", input="new-password-123\nnew-password-123\n")
    assert replaced.exit_code == 0 and "更新しました" in replaced.output
    assert "Traceback" not in mismatch.output + short.output + again.output


def test_officer_remove() -> None:
    run("officer", "add", "山田", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert run("officer", "remove", "山田", "--yes").exit_code == 0
    assert "登録されていません" in run("officer", "list").output
    missing = run("officer", "remove", "山田", "--yes")
    assert missing.exit_code == 1 and "登録されていません" in missing.output


def test_web_commands_have_help() -> None:
    for args in (["serve"], ["officer"], ["officer", "add"], ["officer", "list"], ["officer", "remove"]):
        result = run(*args, "--help")
        assert result.exit_code == 0
        lines = [l for l in result.output.splitlines() if l.strip()]
        assert any(any("\u3040" <= ch <= "\u9fff" for ch in line) for line in lines[1:3]), result.output


def test_serve_refuses_an_unknown_page_with_the_choices_named() -> None:
    from assistant.cli import main

    result = CliRunner().invoke(main, ["serve", "--pages", "staff,admin"])
    assert result.exit_code == 2
    assert "staff, officer から選んでください" in result.output and "--pages" in result.output
