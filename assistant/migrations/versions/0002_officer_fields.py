"""Officers' fields: feedback, handling status, status history and notes.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02

Append-only: never edit a released revision; add a new one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATUSES = ("未確認", "対応中", "完了")
_STATUS_CHECK = "status IN ('未確認', '対応中', '完了')"


def upgrade() -> None:
    # Batch mode: SQLite cannot add a CHECK constraint in place, so alembic rebuilds the table
    # there; PostgreSQL gets plain ALTER TABLE statements.
    with op.batch_alter_table("questions") as batch:
        batch.add_column(sa.Column("feedback", sa.SmallInteger, nullable=True))
        batch.add_column(sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("status", sa.String(8), nullable=False, server_default=STATUSES[0])
        )
        batch.create_check_constraint("ck_questions_feedback", "feedback IN (-1, 1)")
        batch.create_check_constraint("ck_questions_status", _STATUS_CHECK)
    op.create_index("ix_questions_status", "questions", ["status"])
    op.create_table(
        "status_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("log_uid", sa.String(32), sa.ForeignKey("questions.uid"), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("officer", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_STATUS_CHECK, name="ck_status_events_status"),
    )
    op.create_index("ix_status_events_log_uid", "status_events", ["log_uid"])
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("log_uid", sa.String(32), sa.ForeignKey("questions.uid"), nullable=False),
        sa.Column("officer", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_notes_log_uid", "notes", ["log_uid"])


def downgrade() -> None:
    op.drop_table("notes")
    op.drop_table("status_events")
    op.drop_index("ix_questions_status", "questions")
    with op.batch_alter_table("questions") as batch:
        batch.drop_constraint("ck_questions_status", type_="check")
        batch.drop_constraint("ck_questions_feedback", type_="check")
        batch.drop_column("status")
        batch.drop_column("feedback_at")
        batch.drop_column("feedback")
