"""Questions note what was done to their input before answering (undecodable bytes replaced).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

Append-only: never edit a released revision; add a new one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("questions") as batch:
        batch.add_column(sa.Column("input_note", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("questions") as batch:
        batch.drop_column("input_note")
