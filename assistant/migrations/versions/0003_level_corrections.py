"""Officers' level corrections: the level a logged question should have had, who said so and when.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Append-only: never edit a released revision; add a new one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "level_corrections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("log_uid", sa.String(32), sa.ForeignKey("questions.uid"), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("officer", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_level_corrections_log_uid", "level_corrections", ["log_uid"])


def downgrade() -> None:
    op.drop_index("ix_level_corrections_log_uid", "level_corrections")
    op.drop_table("level_corrections")
