"""Job control: cancel, delete files, retention, paged results."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from itertools import chain

from app.domain.errors import JobAlreadyFinished
from app.domain.log_context import about
from app.domain.model import (
    Job,
    JobStatus,
    job_file_keys,
    shot_keyframe_key,
    utcnow,
    write_owner,
)
from app.domain.ports import JobRepository, SearchIndex, StorageService
from app.domain.results import StoredDocument, stored_document, stored_head
from app.domain.results_pages import ResultsQuery, read_page
from app.domain.results_writer import dumps
from app.domain.segment_runs import cancel_segments
from app.domain.services import completed_job, get_job, job_labels

log = logging.getLogger(__name__)


def cancel_or_delete_job(
    jobs: JobRepository,
    storage: StorageService,
    job_id: uuid.UUID,
    *,
    purge: bool = False,
    search: SearchIndex | None = None,
) -> tuple[bool, Job]:
    """DELETE semantics: a live job is canceled (True); a finished one loses its files
    only when `purge` asks for it (False), else JobAlreadyFinished and nothing changes.

    A pending job stops at once; a running one stops at its worker's next heartbeat,
    which finds the claim gone and interrupts the frame loop. A cancel that arrives
    after the job finished (a page refreshed a second late) keeps its results.
    """
    job = get_job(jobs, job_id)
    if job.parent_id is not None and not job.status.is_finished:
        # A segment is part of one job: canceling it cancels that job, and so it.
        cancel_or_delete_job(jobs, storage, job.parent_id, search=search)
        return True, get_job(jobs, job_id)
    while not job.status.is_finished:
        canceled = jobs.transition(job_id, job.status, JobStatus.CANCELED, now=utcnow())
        if canceled is not None:
            log.info("job %s canceled (was %s)", job_id, job.status.value, extra=about(job_id))
            if canceled.segments_total:
                cancel_segments(jobs, job_id)
            return True, canceled
        job = get_job(jobs, job_id)  # it moved on meanwhile (claimed, finished): look again
    if not purge:
        raise JobAlreadyFinished(
            f"job {job_id} is already {job.status.value}; nothing was canceled and its "
            "files are kept (DELETE with ?purge=true deletes them)"
        )
    return False, delete_job_files(jobs, storage, job, search=search)


def delete_job_files(
    jobs: JobRepository, storage: StorageService, job: Job, *, search: SearchIndex | None = None
) -> Job:
    """Remove a finished job's input and results; the row stays and records it. A job
    whose files are gone leaves the search index first (searches would name a job
    whose results are 410)."""
    if search is not None:
        search.remove(job.job_id)
    for key in job_file_keys(job.job_id):
        storage.delete_file(key)
    shot = 0  # keyframes are numbered from 0 without gaps: stop at the first missing
    while storage.delete_file(shot_keyframe_key(job.job_id, shot)):
        shot += 1
    if job.segments_total and job.parent_id is None:  # a split job's segments go with it
        for segment in jobs.segments(job.job_id):
            if segment.status.is_finished and segment.files_deleted_at is None:
                delete_job_files(jobs, storage, segment)
    marked = jobs.mark_files_deleted(job.job_id, utcnow())
    log.info("job %s: stored files deleted", job.job_id, extra=about(job.job_id))
    return marked or job


def purge_expired_files(
    jobs: JobRepository,
    storage: StorageService,
    *,
    older_than: timedelta,
    search: SearchIndex | None = None,
) -> int:
    """Retention: delete the files of jobs finished longer ago than `older_than`."""
    count = 0
    for job in jobs.finished_with_files(utcnow() - older_than):
        if job.parent_id is not None and not _parent_finished(jobs, job.parent_id):
            continue  # its merge still needs it
        delete_job_files(jobs, storage, job, search=search)
        count += 1
    return count


def _parent_finished(jobs: JobRepository, parent_id: uuid.UUID) -> bool:
    parent = jobs.get(parent_id)
    return parent is None or parent.status.is_finished


def remove_orphan_uploads(
    jobs: JobRepository, storage: StorageService, *, older_than: timedelta
) -> int:
    """Delete stored uploads that no job row points to: an API killed after storing a
    file and before inserting its row (its client never got a job id)."""
    removed = 0
    for key in storage.keys_older_than(".mp4", older_than.total_seconds()):
        try:
            job_id = uuid.UUID(key.removesuffix(".mp4"))
        except ValueError:
            continue  # not ours: leave it alone
        if jobs.get(job_id) is None and storage.delete_file(key):
            log.warning("removed upload %s: no job was ever recorded for it", key)
            removed += 1
    return removed


def abandoned_write_rule(
    jobs: JobRepository, *, idle_after: timedelta, lease: timedelta
) -> Callable[[str, float], bool]:
    """Whether a temporary write will never be finished, by who owns it.

    A job's file (its name starts with the job id) may sit untouched for hours while its
    worker runs (the WebVTT is written at the end), so its age says nothing: it is
    abandoned once its job is not running, or its worker has been silent past the lease
    (the same test that recovers the job). The question is asked after the file was
    seen, and a worker opens its files only after its claim, so a job claimed meanwhile
    counts as live; several API processes agree, since the answer is the job table's.
    A file no job owns yet (an upload still arriving, which touches it with every chunk)
    is abandoned once idle for `idle_after`.
    """
    owners: dict[uuid.UUID, Job | None] = {}

    def abandoned(part_name: str, idle_s: float) -> bool:
        owner = write_owner(part_name)
        if owner is not None and owner not in owners:
            owners[owner] = jobs.get(owner)
        job = owners.get(owner) if owner is not None else None
        if job is None:  # no job (yet): the upload is stored before its row is written
            return idle_s > idle_after.total_seconds()
        alive = (
            job.status is JobStatus.RUNNING
            and job.heartbeat_at is not None
            and job.heartbeat_at >= utcnow() - lease
        )
        return not alive

    return abandoned


def remove_abandoned_writes(
    jobs: JobRepository, storage: StorageService, *, idle_after: timedelta, lease: timedelta
) -> int:
    """Delete the temporary files no live writer will finish (`abandoned_write_rule`)."""
    rule = abandoned_write_rule(jobs, idle_after=idle_after, lease=lease)
    return storage.remove_abandoned_writes(rule)


def forget_idempotency_keys(jobs: JobRepository, *, older_than: timedelta) -> int:
    return jobs.clear_idempotency_keys(utcnow() - older_than)


def get_results_page(
    jobs: JobRepository, storage: StorageService, job_id: uuid.UUID, query: ResultsQuery
) -> StoredDocument:
    """One page of a completed job's results, with `next_offset` (None at the end), to
    send as it is read: a small head built here, then the page's items from disk."""
    job = completed_job(jobs, job_id)
    stored = stored_head(storage, job)
    page = read_page(storage, job, query)
    head = {
        "job_id": str(job.job_id),
        "pipeline_id": job.pipeline_id,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "video": stored["video"],
        "warnings": stored.get("warnings", job.warnings or []),
        "offset": query.offset,
        "limit": query.limit,
        "next_offset": page.next_offset,
        **job_labels(job),
    }
    encoded = dumps(head)[:-1] + b',"results":['
    return StoredDocument(
        encoded, chain(page.chunks, [b"]}"]), len(encoded) + page.length + len(b"]}")
    )


def get_results_document(
    jobs: JobRepository, storage: StorageService, job_id: uuid.UUID
) -> StoredDocument:
    """A completed job's whole document, to send from disk in chunks: the API's memory
    does not grow with its size. The job row adds timestamps, warnings and labels."""
    job = completed_job(jobs, job_id)
    extra = {
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "warnings": job.warnings or [],
        **job_labels(job),
    }
    return stored_document(storage, job, extra)
