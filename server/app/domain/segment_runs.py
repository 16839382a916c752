"""A split job's life on the workers: fan-out at claim, fan-in, merge, failure, cancel.

No second scheduler: segments are ordinary job rows on the ordinary queue, claimed,
leased, retried and limited like any job. What is added here:
- `split_claimed`: the worker that claims a long parent plans its segments, inserts
  them and marks the parent split in one transaction, then enqueues them (a lost
  enqueue is found by the pending sweep);
- `segment_ended`: the repository counts a completed segment in its parent in the
  transaction that completes it; the completion that makes the count whole moves the
  parent to `merge`, and the worker that sees it puts the parent's id on the queue;
  a segment that failed for good fails the parent with a sentence naming it, and
  cancels the others;
- `run_merge`: the worker that claims a parent in `merge` (atomically, with a lease:
  the parent's heartbeat, fenced by its attempts) merges and records the completion as
  for an unsplit job (search index, zone hooks, webhooks), then deletes the segments'
  files (their rows stay).
"""

from __future__ import annotations

import logging
import time
import uuid

from app.domain.errors import VideoJobsError
from app.domain.job_runs import SinkFactory, record_failure, zone_hook_events
from app.domain.log_context import about
from app.domain.model import (
    Job,
    JobStatus,
    Progress,
    SplitState,
    input_key,
    job_file_keys,
    results_key,
    shot_keyframe_key,
    utcnow,
)
from app.domain.options import AnalysisOptions
from app.domain.ports import JobRepository, QueueService, StorageService
from app.domain.search import JobIndexer
from app.domain.segment_merge import merge_segments
from app.domain.segments import (
    KeyframeIndex,
    SplitPolicy,
    plan_segments,
    segment_failure_message,
    segment_jobs,
)
from app.domain.services import notify_workers
from app.domain.track_facts import ConfirmationRule

log = logging.getLogger(__name__)


def split_claimed(
    job: Job,
    *,
    jobs: JobRepository,
    queue: QueueService,
    storage: StorageService,
    keyframes: KeyframeIndex,
    policy: SplitPolicy,
) -> bool:
    """Split a just-claimed long job into segments; True when it was split (or its
    claim lost meanwhile), so the caller runs nothing. A header that cannot be read is
    left to the normal run, which reports it."""
    if job.is_segment or job.split_state is not None or not policy.enabled:
        return False
    options = AnalysisOptions.from_dict(job.options)
    if not options.split:
        return False
    try:
        video = keyframes.read(storage.local_path(input_key(job.job_id)))
    except VideoJobsError:
        return False
    ranges = plan_segments(video, policy, options)
    if not ranges:
        return False
    segments = segment_jobs(job, ranges, video)
    if jobs.split(job.job_id, job.attempts, segments, utcnow()) is None:
        log.warning("job %s: claim lost before it was split", job.job_id)
        return True
    log.info(
        "job %s split into %d segments of about %gs",
        job.job_id,
        len(segments),
        policy.segment_s,
        extra=about(job.job_id),
    )
    for segment in segments:
        notify_workers(queue, segment.job_id)
    return True


def parent_finished(jobs: JobRepository, segment: Job) -> bool:
    """A segment whose parent ended (canceled, failed) has nothing left to do."""
    parent = jobs.get(segment.parent_id) if segment.parent_id else None
    return parent is None or parent.status.is_finished


def cancel_claimed_segment(jobs: JobRepository, segment: Job) -> JobStatus:
    """A claimed segment of a finished parent: canceled, not run (a cascade that the
    API did not finish, or a segment enqueued late)."""
    jobs.transition(
        segment.job_id,
        JobStatus.RUNNING,
        JobStatus.CANCELED,
        now=utcnow(),
        attempt=segment.attempts,
    )
    log.info("segment %s: its parent %s has ended; canceled", segment.job_id, segment.parent_id)
    return JobStatus.CANCELED


def segment_ended(
    jobs: JobRepository, queue: QueueService, segment: Job, status: JobStatus
) -> None:
    """After a segment's run: the merge's turn when it was the last, or the parent's
    failure when it failed."""
    if segment.parent_id is None:
        return
    if status is JobStatus.COMPLETED:
        parent = jobs.get(segment.parent_id)
        if (
            parent is not None
            and parent.status is JobStatus.RUNNING
            and parent.split_state == SplitState.MERGE.value
        ):
            log.info("job %s: every segment completed; merge enqueued", parent.job_id)
            notify_workers(queue, parent.job_id)
    elif status is JobStatus.FAILED:
        failed = jobs.get(segment.job_id)
        if failed is not None:
            fail_parent(jobs, failed)


def fail_parent(jobs: JobRepository, segment: Job) -> None:
    """A segment failed for good: its parent fails with a sentence naming it, and every
    other segment still live is canceled (their workers stop at the next heartbeat)."""
    if segment.parent_id is None:
        return
    message = segment_failure_message(segment)
    parent = jobs.transition(
        segment.parent_id, JobStatus.RUNNING, JobStatus.FAILED, now=utcnow(), error_message=message
    )
    if parent is not None:
        log.warning("job %s failed: %s", parent.job_id, message, extra=about(parent.job_id))
    cancel_segments(jobs, segment.parent_id)


def cancel_segments(jobs: JobRepository, parent_id: uuid.UUID) -> int:
    """Cancel every live segment of a parent; returns how many."""
    canceled = 0
    for segment in jobs.segments(parent_id):
        current: Job | None = segment
        while current is not None and not current.status.is_finished:
            if jobs.transition(current.job_id, current.status, JobStatus.CANCELED, now=utcnow()):
                canceled += 1
                break
            current = jobs.get(current.job_id)  # claimed or finished meanwhile
    return canceled


def run_merge(
    parent: Job,
    *,
    jobs: JobRepository,
    storage: StorageService,
    export_sinks: SinkFactory | None,
    confirmation: ConfirmationRule | None,
    indexer: JobIndexer | None,
    overlap_s: float,
    max_zone_events: int = 10_000,
) -> JobStatus:
    """Merge a parent this worker claimed in `merge`, and record its completion as an
    unsplit job's; never raises for bad input (the parent fails with the reason)."""
    started = time.monotonic()
    segments = jobs.segments(parent.job_id)
    options = AnalysisOptions.from_dict(parent.options)
    try:
        analysis = merge_segments(
            parent,
            segments,
            storage=storage,
            export_sinks=export_sinks,
            confirmation=confirmation,
            overlap_s=overlap_s,
        )
        analysis.warnings = [*(parent.warnings or []), *analysis.warnings]
        if indexer is not None and (warning := indexer.add(parent)) is not None:
            analysis.warnings.append(warning)
        extra_events = zone_hook_events(storage, parent, options, max_zone_events, analysis)
    except VideoJobsError as exc:
        return record_failure(jobs, parent, f"merging the segments failed: {exc}")
    except Exception as exc:
        log.exception("job %s: unexpected error in the merge", parent.job_id)
        return record_failure(jobs, parent, f"internal error while merging the segments: {exc!r}")
    elapsed = time.monotonic() - started
    analysed = analysis.frames_analysed
    total = analysis.frames_total if analysis.frames_total is not None else analysed
    done = jobs.transition(
        parent.job_id,
        JobStatus.RUNNING,
        JobStatus.COMPLETED,
        now=utcnow(),
        attempt=parent.attempts,
        output_path=storage.relative_path(results_key(parent.job_id)),
        progress=Progress(analysed, total, round(analysed / elapsed, 2) if elapsed > 0 else None),
        warnings=list(analysis.warnings),
        extra_events=extra_events,
    )
    if done is None:  # canceled meanwhile, or recovered by a sweep: keep nothing merged
        log.warning("job %s: merged, but this worker no longer holds it", parent.job_id)
        _remove_outputs(storage, parent.job_id)
        if indexer is not None:
            indexer.forget(parent.job_id)
        current = jobs.get(parent.job_id)
        return current.status if current is not None else JobStatus.CANCELED
    log.info("job %s completed: %d segments merged", parent.job_id, len(segments))
    for segment in segments:
        _remove_outputs(storage, segment.job_id)
        jobs.mark_files_deleted(segment.job_id, utcnow())
    return JobStatus.COMPLETED


def _remove_outputs(storage: StorageService, job_id: uuid.UUID) -> None:
    """A job's results and exports (never an upload: a segment reads its parent's)."""
    for key in job_file_keys(job_id)[1:]:
        storage.delete_file(key)
    shot = 0
    while storage.delete_file(shot_keyframe_key(job_id, shot)):
        shot += 1
