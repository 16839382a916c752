"""Recovery: the database is the truth; these sweeps make the queue and the running
jobs agree with it again after a restart, a lost id or a dead worker.

Split jobs (domain/segment_runs.py) need little more: a segment is a job and recovers
as one (a dead worker costs only its segment); a segment that runs out of attempts
fails its parent. A parent waiting on its segments has no worker and is never stale;
one whose merge worker went silent goes back to `merge` (or fails past its attempts),
and a parent in `merge` whose id was lost is enqueued again like a pending job."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from app.domain.log_context import about
from app.domain.model import Job, JobStatus, SplitState, utcnow
from app.domain.ports import JobRepository, QueueService
from app.domain.segment_runs import fail_parent
from app.domain.services import notify_workers

log = logging.getLogger(__name__)


def requeue_pending(
    jobs: JobRepository, queue: QueueService, *, older_than: timedelta = timedelta(0)
) -> int:
    """Enqueue pending jobs that are not waiting in the queue (the DB is the truth)."""
    cutoff = utcnow() - older_than
    queued = queue.queued_ids()
    count = 0
    for job_id in jobs.list_ids(JobStatus.PENDING, updated_before=cutoff):
        if job_id not in queued and notify_workers(queue, job_id):
            count += 1
    for job_id in jobs.merges_waiting(cutoff):
        if job_id not in queued and notify_workers(queue, job_id):
            count += 1
    if count:
        log.info("re-enqueued %d pending job(s)", count)
    return count


def recover_stale_jobs(
    jobs: JobRepository,
    queue: QueueService,
    *,
    lease: timedelta,
    max_attempts: int,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Give running jobs of silent (dead) workers another attempt, or fail them.

    Returns (requeued, failed). The heartbeat condition is re-checked in the UPDATE,
    so a worker that beats at the last moment keeps its job.
    """
    cutoff = (now or utcnow()) - lease
    requeued = failed = 0
    for job in jobs.stale_running(cutoff):
        if job.split_state == SplitState.MERGING.value:
            outcome = _recover_merge(jobs, queue, job, cutoff, max_attempts)
            requeued, failed = requeued + (outcome is True), failed + (outcome is False)
            continue
        if job.attempts >= max_attempts:
            message = (
                f"the worker stopped responding during attempt {job.attempts} of "
                f"{max_attempts} (killed or crashed); giving up"
            )
            if _fail_silent(jobs, job, cutoff, message):
                failed += 1
                if job.is_segment and (gone := jobs.get(job.job_id)) is not None:
                    fail_parent(jobs, gone)
        elif jobs.transition(
            job.job_id, JobStatus.RUNNING, JobStatus.PENDING, now=utcnow(), heartbeat_before=cutoff
        ):
            log.warning(
                "job %s: worker silent since %s; back to pending (attempt %d of %d used)",
                job.job_id,
                job.heartbeat_at,
                job.attempts,
                max_attempts,
                extra=about(job.job_id),
            )
            notify_workers(queue, job.job_id)
            requeued += 1
    return requeued, failed


def _fail_silent(jobs: JobRepository, job: Job, cutoff: datetime, message: str) -> bool:
    """Fail a job whose worker stayed silent past the lease; False when it beat at the
    last moment (or is no longer running)."""
    failed = jobs.transition(
        job.job_id,
        JobStatus.RUNNING,
        JobStatus.FAILED,
        now=utcnow(),
        heartbeat_before=cutoff,
        error_message=message,
    )
    if failed:
        log.warning("job %s failed: %s", job.job_id, message, extra=about(job.job_id))
    return bool(failed)


def _recover_merge(
    jobs: JobRepository, queue: QueueService, job: Job, cutoff: datetime, max_attempts: int
) -> bool | None:
    """A merge whose worker went silent: back to `merge` and enqueued (True), or the
    parent failed past its attempts (False); None when it beat at the last moment."""
    if job.attempts >= max_attempts:
        message = (
            f"the worker merging the segments stopped responding during attempt "
            f"{job.attempts} of {max_attempts} (killed or crashed); giving up"
        )
        return False if _fail_silent(jobs, job, cutoff, message) else None
    if jobs.release_merge(job.job_id, utcnow(), heartbeat_before=cutoff) is None:
        return None
    log.warning("job %s: merge worker silent; merge enqueued again", job.job_id)
    notify_workers(queue, job.job_id)
    return True
