"""The search index: completed jobs, their labels (with individuals) and their matches
(tracks and texts with times), written from each job's summary when it completes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_jobs",
        sa.Column("job_id", sa.Uuid(), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filename", sa.String(255), nullable=True),
        sa.Column("tag", sa.String(256), nullable=True),
    )
    op.create_index("ix_search_jobs_created_at", "search_jobs", ["created_at"])
    op.create_index("ix_search_jobs_tag", "search_jobs", ["tag"])
    op.create_table(
        "search_labels",
        sa.Column("job_id", sa.Uuid(), primary_key=True),
        sa.Column("label", sa.String(128), primary_key=True),
        sa.Column("individuals", sa.Integer(), nullable=False),
    )
    op.create_index("ix_search_labels_label_individuals", "search_labels", ["label", "individuals"])
    op.create_table(
        "search_matches",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("folded", sa.Text(), nullable=False),
        sa.Column("start_ms", sa.Integer(), nullable=False),
        sa.Column("end_ms", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_search_matches_job_kind", "search_matches", ["job_id", "kind"])


def downgrade() -> None:
    op.drop_table("search_matches")
    op.drop_table("search_labels")
    op.drop_table("search_jobs")
