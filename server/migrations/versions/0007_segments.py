"""One long video across many workers: segment rows and their parent's split state.

A segment is a job row with `parent_id` (indexed: a parent's segments are read on every
status poll) and its `segment_index` of `segments_total`; a parent counts
`segments_completed` (incremented in the transaction that completes a segment) and keeps
its `split_state` (segments, merge, merging; indexed for the sweeps). The merge's lease
is the parent's existing heartbeat_at and attempts. Every change is additive.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("parent_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("segment_index", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("segments_total", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("segments_completed", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("split_state", sa.String(16), nullable=True))
    op.create_index("ix_jobs_parent_id", "jobs", ["parent_id"])
    op.create_index("ix_jobs_split_state", "jobs", ["split_state"])


def downgrade() -> None:
    op.drop_index("ix_jobs_split_state", table_name="jobs")
    op.drop_index("ix_jobs_parent_id", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        for column in (
            "split_state",
            "segments_completed",
            "segments_total",
            "segment_index",
            "parent_id",
        ):
            batch.drop_column(column)
