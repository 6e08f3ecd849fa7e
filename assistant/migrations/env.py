"""Alembic environment for the question log.

`assistant.question_log` runs `upgrade head` on every open and hands over its own connection
(already inside a transaction) through `config.attributes["connection"]`. The `alembic` command
line works too, given `-x url=...` or `sqlalchemy.url`, for writing new revisions.

No `fileConfig` here: configuring logging is the application's business, not the migrator's.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

# Its own version table, so another component using alembic in the same database cannot clash.
VERSION_TABLE = "question_log_version"

config = context.config


def _configure_and_run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=None,  # migrations are written by hand, append-only
        version_table=VERSION_TABLE,
        render_as_batch=True,  # SQLite cannot ALTER constraints in place
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    return context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )


def run_offline() -> None:
    context.configure(url=_url(), literal_binds=True, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    engine = sa.create_engine(_url())
    try:
        with engine.begin() as connection:
            _configure_and_run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
