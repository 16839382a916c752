"""The job table (SQLAlchemy 2 declarative) and a UTC-preserving datetime type."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator):
    """Stores UTC and always hands back timezone-aware UTC, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "jobs"

    job_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pipeline_id: Mapped[str] = mapped_column(String(128))
    input_path: Mapped[str] = mapped_column(String(1024))
    output_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Added by migration 0002 (reliability): the claim counter and the worker's heartbeat.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Added by migration 0003 (job control): progress, webhooks, idempotency, retention.
    frames_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    frames_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    processing_fps: Mapped[float | None] = mapped_column(Float, nullable=True)
    callback_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True, unique=True)
    input_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    files_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Added by migration 0004: analysis options, a tag and file name to find the job again,
    # and the warnings of a job that completed with less than it hoped.
    options: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    tag: Mapped[str | None] = mapped_column(String(256), nullable=True, index=True)
    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    warnings: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # Added by migration 0007: a long video as segments (domain/segments.py). The merge's
    # lease is the parent's heartbeat_at, fenced by its attempts, as any claim's.
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    segment_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    segments_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    segments_completed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    split_state: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)


class WebhookDeliveryRow(Base):
    """The webhook outbox: one row per event, written in the transaction that ends the job."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("jobs.job_id"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class HealthCheckRow(Base):
    """One row that /health rewrites: "healthy" means the database takes writes."""

    __tablename__ = "health_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    checked_at: Mapped[str] = mapped_column(String(40))


class SearchJobRow(Base):
    """A completed job in the search index (a copy of what the answer shows and sorts by),
    written with its labels and matches from the summary when the job completes."""

    __tablename__ = "search_jobs"

    job_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    tag: Mapped[str | None] = mapped_column(String(256), nullable=True, index=True)


class SearchLabelRow(Base):
    """A label a job shows, and how many individuals (distinct tracks) it has."""

    __tablename__ = "search_labels"
    __table_args__ = (Index("ix_search_labels_label_individuals", "label", "individuals"),)

    job_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    label: Mapped[str] = mapped_column(String(128), primary_key=True)
    individuals: Mapped[int] = mapped_column(Integer)


class SearchMatchRow(Base):
    """A track of a label or a text read on screen, with its times; `folded` is the
    text case-folded, which a text search compares against."""

    __tablename__ = "search_matches"
    __table_args__ = (Index("ix_search_matches_job_kind", "job_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(Text)
    folded: Mapped[str] = mapped_column(Text)
    start_ms: Mapped[int] = mapped_column(Integer)
    end_ms: Mapped[int] = mapped_column(Integer)
    track_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


metadata = Base.metadata
