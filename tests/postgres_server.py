"""A throwaway PostgreSQL server for tests (a pytest plugin: `pytest_plugins = ["tests.postgres_server"]`
or import the fixtures).

`postgres_server` (session scope) starts PostgreSQL 15 from /usr/lib/postgresql/15/bin on 127.0.0.1
and a free port, trust authentication, data and socket in a temporary directory, and stops it at the
end. As root (initdb refuses root) the cluster belongs to the `postgres` system user and the binaries
run through `runuser`. With KASUHARA_TEST_POSTGRES_URL set, that server is used instead.

`postgres_url` (function scope) gives each test a fresh database on that server, so tests never
see each other's rows. When PostgreSQL is unavailable the tests are skipped, except under CI=true,
where that is a failure: CI must not go green by skipping the PostgreSQL half.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

PG_BIN = Path(os.environ.get("KASUHARA_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
ENV_URL = "KASUHARA_TEST_POSTGRES_URL"
PG_USER = "postgres"


def unavailable(reason: str) -> None:
    """Skip, or fail under CI."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required under CI: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", PG_USER], check=True, capture_output=True)
        return pwd.getpwnam(PG_USER)


@dataclass
class PostgresServer:
    """A running server; `stop()`/`start()` let a test simulate an outage (local server only)."""

    url: str  # postgresql+psycopg://user@host:port/db
    root: Path | None = None  # None: an external server from KASUHARA_TEST_POSTGRES_URL
    port: int = 0
    as_user: str | None = None

    @property
    def can_restart(self) -> bool:
        return self.root is not None

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", self.as_user, "--"] if self.as_user else []
        return subprocess.run(
            [*prefix, *args], check=True, capture_output=True, text=True, timeout=60
        )

    def start(self) -> None:
        assert self.root is not None
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root / 'sock'} "
            "-c fsync=off -c full_page_writes=off -c max_connections=100"
        )
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-l",
            str(self.root / "server.log"), "-o", options, "-w", "start",
        )

    def stop(self) -> None:
        assert self.root is not None
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")

    def log_tail(self) -> str:
        path = self.root / "server.log" if self.root else None
        return path.read_text(errors="replace")[-2000:] if path and path.exists() else ""


def _init_cluster(root: Path) -> PostgresServer:
    as_user = None
    if os.geteuid() == 0:
        user = _ensure_system_user()
        os.chown(root, user.pw_uid, user.pw_gid)
        os.chmod(root, 0o700)
        as_user = PG_USER
    server = PostgresServer(url="", root=root, port=_free_port(), as_user=as_user)
    server._run(
        str(PG_BIN / "initdb"), "-D", str(root / "data"), "-U", PG_USER, "-A", "trust",
        "-E", "UTF8", "--no-locale", "--no-sync",
    )
    server._run("mkdir", "-p", str(root / "sock"))
    return server


def _start_local() -> PostgresServer:
    if not (PG_BIN / "initdb").exists():
        unavailable(f"PostgreSQL binaries not found in {PG_BIN}")
    # /tmp is world-traversable, so the postgres user can reach a directory created there.
    root = Path(tempfile.mkdtemp(prefix="kasuhara-pg-", dir="/tmp"))
    try:
        server = _init_cluster(root)
        server.start()
    except (OSError, subprocess.SubprocessError, KeyError) as err:
        detail = getattr(err, "stderr", "") or ""
        shutil.rmtree(root, ignore_errors=True)
        unavailable(f"could not start PostgreSQL: {err} {detail}".strip())
    server.url = f"postgresql+psycopg://{PG_USER}@127.0.0.1:{server.port}/postgres"
    return server


def _admin_dsn(url: str) -> str:
    # psycopg wants a libpq URL, without SQLAlchemy's "+psycopg" driver suffix.
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _with_database(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    external = os.environ.get(ENV_URL)
    if external:
        yield PostgresServer(url=external)
        return
    server = _start_local()
    try:
        yield server
    finally:
        try:
            server.stop()
        except subprocess.SubprocessError:
            pass  # already stopped by a test that failed half-way
        if server.root is not None:
            shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture()
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test; dropped afterwards."""
    import psycopg

    name = f"kasuhara_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(_admin_dsn(postgres_server.url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as err:
        unavailable(f"could not create a test database: {err} {postgres_server.log_tail()}")
    yield _with_database(postgres_server.url, name)
    try:
        with psycopg.connect(_admin_dsn(postgres_server.url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:
        pass  # the server may be down after an outage test; the cluster is thrown away anyway
