"""One exception base for every error the project raises on purpose."""

from __future__ import annotations


class VideoJobsError(Exception):
    """Base of all domain errors; the API maps each subclass to one HTTP status."""


class InvalidUpload(VideoJobsError):
    """The uploaded bytes are not something we can process (empty, not an MP4)."""


class InvalidOptions(VideoJobsError):
    """A submit's analysis options, tag or other form fields are not valid (a 400)."""


class UploadTooLarge(VideoJobsError):
    """The upload is larger than the configured limit."""


class InsufficientStorage(VideoJobsError):
    """The disk is full (or below the configured free-space floor)."""


class UnknownPipeline(VideoJobsError):
    """The requested pipeline id is not declared."""

    def __init__(self, pipeline_id: str, known: list[str]) -> None:
        self.pipeline_id = pipeline_id
        self.known = sorted(known)
        super().__init__(
            f"unknown pipeline_id {pipeline_id!r}; valid ids are: {', '.join(self.known)}"
        )


class JobNotFound(VideoJobsError):
    """No job has this id."""


class JobNotCompleted(VideoJobsError):
    """Results were asked for a job that has none (yet)."""


class DuplicateIdempotencyKey(VideoJobsError):
    """Raised by JobRepository.add when another job already holds the key."""


class IdempotencyConflict(VideoJobsError):
    """An Idempotency-Key was reused with a different file or different fields."""


class JobAlreadyFinished(VideoJobsError):
    """DELETE without `purge` on a finished job: there is nothing to cancel, and its
    files are kept (a stale cancel must not destroy finished results)."""


class InvalidCallbackUrl(VideoJobsError):
    """A webhook URL that is not http(s), or webhooks are not configured."""


class JobFilesGone(VideoJobsError):
    """The job's stored files were removed (DELETE or the retention sweep)."""


class JobFileLost(VideoJobsError):
    """A file a running job was writing disappeared before the job could finish it."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"the job's {key} was deleted from the storage directory while the job was "
            "still writing it (by hand or by another program); nothing was kept: submit "
            "the video again"
        )


class InvalidTransition(VideoJobsError):
    """A status change that the job state machine does not allow."""


class VideoDecodeError(VideoJobsError):
    """The stored video could not be opened or decoded."""


class FrameLimitExceeded(VideoDecodeError):
    """The worker found a video over a limit while decoding (size, frames, duration,
    job time); the message names the limit and its setting."""


class PipelineInterrupted(VideoJobsError):
    """The frame loop stopped early because the worker was asked to stop."""


class QueueUnavailable(VideoJobsError):
    """The queue server could not be reached."""


class StoragePathError(VideoJobsError):
    """A storage key would resolve outside the storage directory."""
