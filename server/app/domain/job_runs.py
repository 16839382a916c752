"""Running a claimed job, and handing it back: the worker's side of the services.

The sinks (the results writer, then the exports) are built here, fed by the runner,
and closed or aborted here, so a job's files exist only for a completed job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from app.domain.errors import PipelineInterrupted, VideoJobsError
from app.domain.exports import EXPORT_BY_NAME
from app.domain.finishing import FinishingWriter
from app.domain.frames import FrameLimits, FrameSink, abort_sinks, close_sinks
from app.domain.model import Job, JobStatus, Progress, input_key, utcnow
from app.domain.options import AnalysisOptions
from app.domain.ports import (
    JobRepository,
    PipelineRunner,
    ProgressCallback,
    QueueService,
    StorageService,
    VideoAnalysis,
)
from app.domain.results_writer import ResultsWriter
from app.domain.search import JobIndexer
from app.domain.services import get_job, notify_workers
from app.domain.track_facts import ConfirmationRule, TrackFacts
from app.domain.zone_hooks import event_rows, zone_events_payload

log = logging.getLogger(__name__)

# Builds a job's export sinks (summary, CSV, VTT, annotated video), after the results.
SinkFactory = Callable[[Job, AnalysisOptions], list[FrameSink]]


def run_claimed_job(
    job: Job,
    *,
    jobs: JobRepository,
    storage: StorageService,
    runner: PipelineRunner,
    limits: FrameLimits | None = None,
    export_sinks: SinkFactory | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: ProgressCallback | None = None,
    confirmation: ConfirmationRule | None = None,
    indexer: JobIndexer | None = None,
    max_zone_events: int = 10_000,
) -> JobStatus:
    """Run a job this worker holds and record how it ended; never raises for bad input.

    The sinks (the results writer, then the exports) receive each frame as it is
    analysed; they close together when the job succeeds and all remove their files
    when it fails, stops, or is no longer this worker's. The results and the sinks that
    report tracks (`after_tracks`) are finished by one pass after the last frame, when
    each track's label and confirmation (`confirmation`) are known (domain/finishing.py).
    PipelineInterrupted (the worker is stopping) propagates: the caller releases the job.
    The `indexer` adds the completed job to the search index from its summary, just
    before the completion is recorded; a failure there is only a job warning. A job
    with `callback_events` also puts its zone events (at most `max_zone_events`) in the
    webhook outbox with its completion (domain/zone_hooks.py).
    """
    started = time.monotonic()
    options = AnalysisOptions.from_dict(job.options)
    try:
        writer = ResultsWriter(storage, job)
    except VideoJobsError as exc:
        return record_failure(jobs, job, str(exc))
    facts = TrackFacts(confirmation)
    finishing = FinishingWriter(writer, facts)
    sinks: list[FrameSink] = [finishing]
    try:
        exports = export_sinks(job, options) if export_sinks is not None else []
        finishing.after = [sink for sink in exports if sink.after_tracks]
        sinks += [sink for sink in exports if not sink.after_tracks]
        analysis = runner.run(
            storage.local_path(input_key(job.source_id)),
            job.pipeline_id,
            options=options,
            sinks=sinks,
            limits=limits,
            should_stop=should_stop,
            on_progress=on_progress,
        )
        # What the submit said about the request (ignored fields, a clipped range) first.
        analysis.warnings = [*(job.warnings or []), *analysis.warnings]
        for track_id, person_id in analysis.person_ids.items():
            facts.set_person_id(track_id, person_id)
        if on_progress is not None:  # the finishing pass still shows a live worker
            done = analysis.frames_analysed
            total = max(analysis.frames_total or done, done)
            finishing.on_frame = lambda: on_progress(done, total)
        close_sinks(sinks, analysis.video, analysis.warnings)
        if indexer is not None and (warning := indexer.add(job)) is not None:
            analysis.warnings.append(warning)
        extra_events = zone_hook_events(storage, job, options, max_zone_events, analysis)
    except PipelineInterrupted:
        abort_sinks(sinks)
        raise
    except VideoJobsError as exc:
        abort_sinks(sinks)
        return record_failure(jobs, job, str(exc))
    except Exception as exc:
        abort_sinks(sinks)
        log.exception("job %s: unexpected error in the pipeline", job.job_id)
        return record_failure(jobs, job, f"internal error while processing: {exc!r}")
    except BaseException:
        abort_sinks(sinks)
        raise
    status = _record_completion(
        jobs, job, analysis, writer, sinks, time.monotonic() - started, extra_events
    )
    if indexer is not None and status is not JobStatus.COMPLETED:
        indexer.forget(job.job_id)  # its files are gone: searches must not name it
    return status


def _record_completion(
    jobs: JobRepository,
    job: Job,
    analysis: VideoAnalysis,
    writer: ResultsWriter,
    sinks: list[FrameSink],
    elapsed: float,
    extra_events: list[str] | None = None,
) -> JobStatus:
    """completed, with the job's warnings. Progress ends at n/n for the frames analysed,
    except for a video that ended early: there the total stays what the job was to do."""
    decoded = int(analysis.video.get("frame_count") or 0)
    analysed = analysis.frames_analysed
    total = analysis.frames_total if analysis.frames_total is not None else analysed
    try:
        done = jobs.transition(
            job.job_id,
            JobStatus.RUNNING,
            JobStatus.COMPLETED,
            now=utcnow(),
            attempt=job.attempts,
            output_path=writer.output_path,
            progress=Progress(
                analysed, total, round(analysed / elapsed, 2) if elapsed > 0 else None
            ),
            warnings=list(analysis.warnings),
            extra_events=extra_events,
        )
    except BaseException:  # not recorded: the job will run again, so keep no files
        abort_sinks(sinks)
        raise
    if done is None:  # canceled meanwhile, or recovered by a sweep: keep nothing
        log.warning("job %s: finished, but this worker no longer holds it", job.job_id)
        abort_sinks(sinks)
        return get_job(jobs, job.job_id).status
    for warning in analysis.warnings:
        log.warning("job %s: %s", job.job_id, warning)
    log.info(
        "job %s completed: %d frames analysed of %d decoded",
        job.job_id,
        analysis.frames_analysed,
        decoded,
    )
    return JobStatus.COMPLETED


def zone_hook_events(
    storage: StorageService,
    job: Job,
    options: AnalysisOptions,
    max_events: int,
    analysis: VideoAnalysis,
) -> list[str] | None:
    """The zone.events body from the committed events.csv, read line by line; a capped
    body adds its warning to the job's."""
    key = EXPORT_BY_NAME["events.csv"].key(job.job_id)
    if not (options.callback_events and job.callback_url and storage.exists(key)):
        return None
    with open(storage.local_path(key), encoding="utf-8", newline="") as lines:
        body, warning = zone_events_payload(job, event_rows(lines), max_events)
    if warning is not None:
        analysis.warnings.append(warning)
    return [body]


def release_job(jobs: JobRepository, queue: QueueService, job: Job) -> None:
    """Hand an unfinished job back: pending again (the attempt is not counted, the
    frames done and rate reset, since the next run starts over) and its id back on the
    queue. A failure here is only logged: the stale sweep recovers it."""
    try:
        current = jobs.get(job.job_id)
        total = current.frames_total if current is not None else job.frames_total
        released = jobs.transition(
            job.job_id,
            JobStatus.RUNNING,
            JobStatus.PENDING,
            now=utcnow(),
            attempt=job.attempts,
            attempts_delta=-1,
            progress=Progress(0, total, None),  # the next run starts from frame 0
        )
    except Exception as exc:
        log.warning("job %s: release failed (%s); the stale sweep will recover it", job.job_id, exc)
        return
    if released is None:
        log.info("job %s: no longer held by this worker; nothing to release", job.job_id)
        return
    log.info("job %s released back to pending", job.job_id)
    notify_workers(queue, job.job_id)


def record_failure(jobs: JobRepository, job: Job, message: str) -> JobStatus:
    failed = jobs.transition(
        job.job_id,
        JobStatus.RUNNING,
        JobStatus.FAILED,
        now=utcnow(),
        attempt=job.attempts,
        error_message=message,
    )
    if failed is None:
        log.warning("job %s: failed (%s), but this worker no longer holds it", job.job_id, message)
        return get_job(jobs, job.job_id).status
    log.warning("job %s failed: %s", job.job_id, message)
    return JobStatus.FAILED
