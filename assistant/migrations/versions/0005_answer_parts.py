"""Questions keep the parts of their answer (level, guidance, contacts, quotes, reasons) as JSON,
so that the console, the CSV and the CLI render the parts instead of the answer text.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

Append-only: never edit a released revision; add a new one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("questions") as batch:
        batch.add_column(sa.Column("parts", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("questions") as batch:
        batch.drop_column("parts")
