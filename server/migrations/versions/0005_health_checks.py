"""A one-row table that /health writes to, so "healthy" means the database takes writes.

A `SELECT 1` answers on a read-only or full database; an upsert of this row does not.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "health_checks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("checked_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("health_checks")
