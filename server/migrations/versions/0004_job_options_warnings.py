"""What a job was asked for and what went wrong quietly: options, tag, file name, warnings.

`options` (JSON) holds the analysis options of the submit (sample_fps, start_s/end_s,
min_confidence, labels, annotate); `tag` and `filename` let a person find a job again;
`warnings` (JSON list of sentences) says when a job completed with less than it hoped
(a truncated video, detections capped). Every change is additive.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("options", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("tag", sa.String(256), nullable=True))
        batch.add_column(sa.Column("filename", sa.String(255), nullable=True))
        batch.add_column(sa.Column("warnings", sa.JSON(), nullable=True))
    op.create_index("ix_jobs_tag", "jobs", ["tag"])


def downgrade() -> None:
    op.drop_index("ix_jobs_tag", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        for column in ("warnings", "filename", "tag", "options"):
            batch.drop_column(column)
