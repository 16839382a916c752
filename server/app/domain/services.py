"""Application services: plain functions that take the ports they need."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace

from app.domain.errors import (
    DuplicateIdempotencyKey,
    IdempotencyConflict,
    InsufficientStorage,
    InvalidUpload,
    JobFilesGone,
    JobNotCompleted,
    JobNotFound,
    UnknownPipeline,
    UploadTooLarge,
)
from app.domain.frames import FrameLimits
from app.domain.log_context import about
from app.domain.model import (
    Job,
    JobStatus,
    input_key,
    new_job_id,
    results_key,
    utcnow,
)
from app.domain.options import AnalysisOptions, check_labels
from app.domain.ports import (
    JobRepository,
    PipelineRunner,
    QueueService,
    StagedUpload,
    StorageService,
    VideoInspector,
)
from app.domain.time_range import checked_range, planned_frames
from app.domain.video_limits import check_header
from app.domain.zones import check_in_frame

log = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20
MP4_MAGIC = b"ftyp"
_HEADER_LEN = 8


def iter_chunks(read: Callable[[int], bytes], size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Read a file-like object in bounded chunks (never one unbounded read())."""
    while chunk := read(size):
        yield chunk


def mp4_checked(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Pass chunks through, raising InvalidUpload unless bytes 4..8 are `ftyp`."""
    it = iter(chunks)
    head = b""
    for chunk in it:
        head += chunk
        if len(head) >= _HEADER_LEN:
            break
    check_mp4_head(head)
    yield head
    yield from it


def check_mp4_head(head: bytes) -> None:
    """InvalidUpload unless the file's first bytes are those of an MP4 (`ftyp` at 4)."""
    if not head:
        raise InvalidUpload("the uploaded file is empty")
    if len(head) < _HEADER_LEN or head[4:_HEADER_LEN] != MP4_MAGIC:
        raise InvalidUpload("the uploaded file is not an MP4 (no 'ftyp' box at byte 4)")


def submit_video(
    upload: Iterable[bytes] | StagedUpload,
    pipeline_id: str,
    *,
    jobs: JobRepository,
    queue: QueueService,
    storage: StorageService,
    runner: PipelineRunner,
    max_bytes: int | None = None,
    min_free_bytes: int = 0,
    idempotency_key: str | None = None,
    callback_url: str | None = None,
    options: AnalysisOptions | None = None,
    tag: str | None = None,
    filename: str | None = None,
    inspector: VideoInspector | None = None,
    limits: FrameLimits | None = None,
    warnings: Sequence[str] = (),
) -> Job:
    """Store the upload, record a pending job, then notify the workers.

    The row is written only after the file is complete, and the enqueue comes last: if
    it fails the job is still pending in the database and a sweep enqueues it later.
    With an idempotency key, a repeat of the same file, pipeline, options, tag and
    callback URL returns the first job (nothing new is created); the same key with any
    of them different is a conflict naming the first job.
    `upload` is the file's chunks, or a file the API already wrote while reading the
    request (moved into place, not copied). Before the row is written the stored file's
    header is read: no video track, or a frame size, duration or frame count over a
    limit, or a time range that starts past the end, removes the file and refuses the
    submit; a range that ends past the end adds a warning. frames_total starts at the
    frames the job will analyse, estimated from the header. `warnings` are the API's
    sentences about the request (ignored form fields); the job keeps them all.
    """
    known = {p.id: p for p in runner.pipelines()}
    if pipeline_id not in known:
        raise UnknownPipeline(pipeline_id, list(known))
    options = options or AnalysisOptions()
    check_labels(options, pipeline_id, known[pipeline_id].labels)
    if min_free_bytes and storage.free_bytes() < min_free_bytes:
        raise InsufficientStorage("the server is low on disk space; try again later")
    job_id = new_job_id()
    key = input_key(job_id)
    job = Job(
        job_id=job_id,
        pipeline_id=pipeline_id,
        input_path=storage.relative_path(key),
        idempotency_key=idempotency_key,
        input_sha256=_store_upload(upload, key, storage, max_bytes),
        callback_url=callback_url,
        options=options.to_dict(),
        tag=tag,
        filename=filename,
    )
    if idempotency_key and (earlier := jobs.find_by_idempotency_key(idempotency_key)):
        storage.delete_file(key)
        return _replayed(earlier, job)
    frames_total, range_warnings = _checked_header(storage, key, inspector, limits, options)
    job = replace(job, frames_total=frames_total, warnings=[*warnings, *range_warnings])
    try:
        jobs.add(job)
    except DuplicateIdempotencyKey:  # a concurrent submit with the same key won
        storage.delete_file(key)
        return _replayed(jobs.find_by_idempotency_key(idempotency_key or ""), job)
    except BaseException:
        storage.delete_file(key)
        raise
    notify_workers(queue, job_id)
    log.info("job %s submitted with pipeline %s", job_id, pipeline_id, extra=about(job_id))
    return job


def _hashed(chunks: Iterable[bytes], digest) -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        yield chunk


def _store_upload(
    upload: Iterable[bytes] | StagedUpload, key: str, storage: StorageService, max_bytes: int | None
) -> str:
    """Put the upload under `key` (checked to be an MP4) and return its SHA-256."""
    if isinstance(upload, StagedUpload):
        check_mp4_head(upload.head)
        if max_bytes is not None and upload.size > max_bytes:
            raise UploadTooLarge(f"the upload is larger than {max_bytes} bytes")
        upload.store(key)
        return upload.sha256
    digest = hashlib.sha256()
    storage.save_file(key, _hashed(mp4_checked(upload), digest), max_bytes)
    return digest.hexdigest()


def _checked_header(
    storage: StorageService,
    key: str,
    inspector: VideoInspector | None,
    limits: FrameLimits | None,
    options: AnalysisOptions,
) -> tuple[int | None, list[str]]:
    """The frames the job will analyse and the range's warnings, once the stored video's
    header is within the limits and the range starts inside the video; otherwise the
    file is removed and the error says which limit (and setting), or the duration."""
    if inspector is None:
        return None, []
    try:
        header = inspector.inspect(storage.local_path(key))
        check_header(header, limits or FrameLimits())
        warnings = checked_range(options, header.duration_s)
        if (spec := options.zone_spec()) is not None and header.width and header.height:
            check_in_frame(spec, header.width, header.height)
    except BaseException:
        storage.delete_file(key)
        raise
    return planned_frames(options, header.frame_count, header.duration_s), warnings


def _replayed(earlier: Job | None, repeat: Job) -> Job:
    """The first job when `repeat` asks for the same work, else IdempotencyConflict."""
    if earlier is None:  # its key expired between the insert and the lookup
        raise IdempotencyConflict("the Idempotency-Key was just released; retry the request")
    differ = [
        name
        for name, first, again in (
            ("file", earlier.input_sha256, repeat.input_sha256),
            ("pipeline_id", earlier.pipeline_id, repeat.pipeline_id),
            (
                "options",
                AnalysisOptions.from_dict(earlier.options),
                AnalysisOptions.from_dict(repeat.options),
            ),
            ("tag", earlier.tag, repeat.tag),
            ("callback_url", earlier.callback_url, repeat.callback_url),
        )
        if first != again
    ]
    if differ:
        raise IdempotencyConflict(
            f"this Idempotency-Key was used for job {earlier.job_id}, and this request "
            f"differs in: {', '.join(differ)}; use a new key for a new job"
        )
    log.info(
        "job %s returned again for a repeated Idempotency-Key",
        earlier.job_id,
        extra=about(earlier.job_id),
    )
    return earlier


def notify_workers(queue: QueueService, job_id: uuid.UUID) -> bool:
    """Enqueue an id; a failure is logged, not raised, because sweeps will retry."""
    try:
        queue.put(job_id)
    except Exception as exc:  # the queue is only a notification channel
        log.warning(
            "job %s: enqueue failed (%s); the pending sweep will retry",
            job_id,
            exc,
            extra=about(job_id),
        )
        return False
    return True


def get_job(jobs: JobRepository, job_id: uuid.UUID) -> Job:
    job = jobs.get(job_id)
    if job is None:
        raise JobNotFound(f"no job with id {job_id}")
    return job


def get_results(jobs: JobRepository, storage: StorageService, job_id: uuid.UUID) -> dict:
    """The stored results document plus the job's timestamps."""
    job = completed_job(jobs, job_id)
    document = json.loads(storage.load_file(results_key(job_id)))
    return {
        "job_id": document["job_id"],
        "pipeline_id": document["pipeline_id"],
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "video": document["video"],
        "results": document["results"],
        **job_labels(job),
    }


def job_labels(job: Job) -> dict:
    """What a client gave to recognise and reproduce a job, echoed in its results:
    the analysis options, its tag and the uploaded file's name."""
    return {
        "options": AnalysisOptions.from_dict(job.options).to_dict(),
        "filename": job.filename,
        "tag": job.tag,
    }


def completed_job(jobs: JobRepository, job_id: uuid.UUID) -> Job:
    """The job, if its results can be read: completed and its files still there."""
    job = get_job(jobs, job_id)
    if job.status is not JobStatus.COMPLETED:
        raise JobNotCompleted(_why_no_results(job))
    if job.files_deleted_at is not None:
        raise JobFilesGone(
            f"the results of job {job_id} were deleted at {job.files_deleted_at.isoformat()}"
        )
    return job


def _why_no_results(job: Job) -> str:
    """A job that ended without completing will never have results: say so, rather
    than suggest waiting."""
    if job.status is JobStatus.CANCELED:
        return f"job {job.job_id} was canceled, so it has no results; submit the video again"
    if job.status is JobStatus.FAILED:
        return f"job {job.job_id} failed, so it has no results: {job.error_message or 'no reason'}"
    return f"job {job.job_id} is {job.status.value}; results exist once completed"


def claim_job(jobs: JobRepository, job_id: uuid.UUID) -> Job | None:
    """pending -> running, atomically; None when another worker got it or it is gone."""
    return jobs.transition(
        job_id, JobStatus.PENDING, JobStatus.RUNNING, now=utcnow(), attempts_delta=1
    )
