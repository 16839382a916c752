"""Abstract ports. Adapters implement them; services and tests depend only on these."""

from __future__ import annotations

import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from app.domain.frames import FrameLimits, FrameSink
from app.domain.model import Job, JobStatus, Progress, WebhookDelivery
from app.domain.options import AnalysisOptions
from app.domain.search import IndexedJob, SearchPage, SearchQuery


class JobRepository(ABC):
    """Durable job rows: the source of truth for every job's state.

    A transition into a finished status of a job with a callback_url also writes a
    webhook event to the outbox, in the same transaction.
    """

    @abstractmethod
    def add(self, job: Job) -> None:
        """Insert; DuplicateIdempotencyKey if another job holds job.idempotency_key."""

    @abstractmethod
    def find_by_idempotency_key(self, key: str) -> Job | None: ...

    @abstractmethod
    def get(self, job_id: uuid.UUID) -> Job | None: ...

    @abstractmethod
    def transition(
        self,
        job_id: uuid.UUID,
        expected: JobStatus,
        new: JobStatus,
        *,
        now: datetime,
        attempt: int | None = None,
        heartbeat_before: datetime | None = None,
        output_path: str | None = None,
        error_message: str | None = None,
        attempts_delta: int = 0,
        progress: Progress | None = None,
        warnings: list[str] | None = None,
        extra_events: list[str] | None = None,
    ) -> Job | None:
        """Atomically move a job from `expected` to `new`; None if it was not in `expected`.

        `extra_events`: webhook bodies to put in the outbox ahead of the job's own event,
        in the same transaction (only when that event is written: a job with a callback).

        One conditional UPDATE, so two workers can never both claim a job. Entering
        `running` starts the heartbeat. `attempt` fences a worker to its own claim (the
        attempts count is the fencing token); `heartbeat_before` lets a sweep take only
        jobs whose worker has gone silent. `warnings` replaces the job's warnings (a job
        that completed with less than it hoped). Implementations call `check_transition`.
        """

    @abstractmethod
    def heartbeat(
        self, job_id: uuid.UUID, attempt: int, now: datetime, progress: Progress | None = None
    ) -> bool:
        """Record that the worker holding claim `attempt` is alive (and how far it got);
        False if it lost the claim (canceled, or recovered by a sweep)."""

    @abstractmethod
    def list_ids(
        self, status: JobStatus, *, updated_before: datetime | None = None, limit: int = 1000
    ) -> list[uuid.UUID]: ...

    @abstractmethod
    def stale_running(self, heartbeat_before: datetime, limit: int = 1000) -> list[Job]:
        """Running jobs whose worker has not beaten since `heartbeat_before`."""

    @abstractmethod
    def list_jobs(
        self,
        *,
        status: JobStatus | None = None,
        tag: str | None = None,
        limit: int = 50,
        offset: int = 0,
        include_segments: bool = False,
    ) -> list[Job]:
        """Jobs newest first; `tag` matches exactly; segments only when asked for."""

    @abstractmethod
    def count_jobs(
        self,
        *,
        status: JobStatus | None = None,
        tag: str | None = None,
        include_segments: bool = False,
    ) -> int:
        """How many jobs list_jobs would page through with these filters."""

    # -- one long video as segments (domain/segments.py, domain/segment_runs.py) ------
    # A transition of a segment into `completed` also counts it in its parent, in the
    # same transaction; the count that reaches segments_total moves the parent's
    # split_state from `segments` to `merge`. stale_running leaves out parents in
    # `segments` or `merge` (no worker holds them: their segments or the queue do).

    @abstractmethod
    def split(
        self, parent_id: uuid.UUID, attempt: int, segments: Sequence[Job], now: datetime
    ) -> Job | None:
        """At once: the running parent held by claim `attempt` becomes split
        (split_state `segments`, segments_total) and its pending segments are inserted;
        None (and nothing written) when that claim is no longer held."""

    @abstractmethod
    def segments(self, parent_id: uuid.UUID) -> list[Job]:
        """A parent's segments in order."""

    @abstractmethod
    def claim_merge(self, parent_id: uuid.UUID, now: datetime) -> Job | None:
        """`merge` -> `merging` on a running parent, atomically, starting its heartbeat
        and counting an attempt (the new claim's fencing token); None if not waiting."""

    @abstractmethod
    def release_merge(
        self,
        parent_id: uuid.UUID,
        now: datetime,
        *,
        attempt: int | None = None,
        heartbeat_before: datetime | None = None,
    ) -> Job | None:
        """`merging` -> `merge`: a stopping worker hands its merge back (`attempt`: its
        claim, not counted), or a sweep takes it from a silent one (`heartbeat_before`)."""

    @abstractmethod
    def merges_waiting(self, updated_before: datetime, limit: int = 1000) -> list[uuid.UUID]:
        """Running parents in `merge` since before the cutoff (their id may be lost)."""

    @abstractmethod
    def count_segments_by_status(self) -> dict[JobStatus, int]:
        """Segment rows by status, for /metrics."""

    @abstractmethod
    def count_by_status(self) -> dict[JobStatus, int]: ...

    @abstractmethod
    def finished_with_files(self, updated_before: datetime, limit: int = 500) -> list[Job]:
        """Finished jobs, last changed before the cutoff, whose files are still there."""

    @abstractmethod
    def mark_files_deleted(self, job_id: uuid.UUID, now: datetime) -> Job | None:
        """Record that a finished job's files were removed; None if not finished."""

    @abstractmethod
    def clear_idempotency_keys(self, created_before: datetime) -> int:
        """Forget idempotency keys of jobs created before the cutoff; returns how many."""

    @abstractmethod
    def due_webhooks(
        self, now: datetime, lease_until: datetime, limit: int = 50
    ) -> list[WebhookDelivery]:
        """Pending deliveries due by `now`, each leased until `lease_until` so that no
        other dispatcher sends it meanwhile."""

    @abstractmethod
    def record_webhook_attempt(
        self,
        delivery_id: int,
        now: datetime,
        *,
        delivered: bool,
        status_code: int | None,
        error: str | None,
        retry_at: datetime | None,
    ) -> None:
        """Record one attempt: delivered, or retried at `retry_at`, or failed (None)."""

    @abstractmethod
    def webhook_deliveries(self, job_id: uuid.UUID) -> list[WebhookDelivery]: ...

    @abstractmethod
    def ping(self) -> None:
        """Raise if the store cannot be reached."""

    @abstractmethod
    def check_writable(self, now: datetime) -> None:
        """Raise unless a small real write commits (a full disk or read-only DB fails it)."""


class QueueService(ABC):
    """Carries job ids (and nothing else) from the API to the workers.

    The queue is a notification channel, not a store: losing an id strands nothing,
    because sweeps re-enqueue from the database.
    """

    @abstractmethod
    def put(self, job_id: uuid.UUID) -> None: ...

    @abstractmethod
    def get(self, timeout: float) -> uuid.UUID | None:
        """Block up to `timeout` seconds for an id; None when none came."""

    @abstractmethod
    def queued_ids(self) -> set[uuid.UUID]:
        """A snapshot of the ids waiting in the queue."""

    @abstractmethod
    def size(self) -> int: ...

    def ack(self, job_id: uuid.UUID) -> None:  # noqa: B027 - optional hook
        """The worker has made its claim attempt on an id it took: forget the hand-over.

        Queues with reliable hand-over (Redis) keep a taken id in a per-worker list until
        this call; the others forget an id as soon as it is taken.
        """

    def recover_orphans(self) -> int:
        """Put back ids that a dead worker took but never acknowledged; returns how many."""
        return 0

    def ping(self) -> None:  # noqa: B027 - optional hook
        """Raise if the queue cannot be reached."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has none."""


# Free space is checked at a file's first write, then after every this many bytes: a
# statvfs per MiB costs nothing next to writing the MiB.
FREE_SPACE_CHECK_BYTES = 1 << 20


def low_disk_message(min_free_bytes: int) -> str:
    return (
        f"the server is low on disk space: free space fell under "
        f"VIDEO_JOBS_MIN_FREE_BYTES={min_free_bytes} while the job's results were written; "
        f"its files were removed, submit the video again once space is freed"
    )


class FileWrite(ABC):
    """A file written piece by piece: invisible under its key until `commit`, and
    `discard` removes every trace (before or after the commit)."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Append; InsufficientStorage when the disk is full."""

    @abstractmethod
    def commit(self) -> None:
        """Flush and move the file under its key atomically."""

    @abstractmethod
    def discard(self) -> None: ...

    @property
    @abstractmethod
    def path(self) -> str:
        """The unfinished file's local path, for a writer that must open it itself (a
        video muxer that seeks back to write its index)."""

    def grew(self) -> None:  # noqa: B027 - optional hook
        """Another writer added to `path`: the same checks as `write` (the free-space
        floor; JobFileLost when the file was removed). Default: none."""


class _SpooledWrite(FileWrite):
    """Generic FileWrite for any StorageService: spooled to a temporary file, then
    saved with `save_file` in chunks. Storages on disk write in place instead."""

    def __init__(self, storage: StorageService, key: str) -> None:
        self.storage, self.key = storage, key
        self._file = tempfile.NamedTemporaryFile()  # noqa: SIM115 - closed by commit or discard
        self._committed = False

    @property
    def path(self) -> str:
        return self._file.name

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def commit(self) -> None:
        self._file.seek(0)
        self.storage.save_file(self.key, iter(lambda: self._file.read(1 << 20), b""))
        self._file.close()
        self._committed = True

    def discard(self) -> None:
        self._file.close()
        if self._committed:
            self.storage.delete_file(self.key)


class StorageService(ABC):
    """Files addressed by a key relative to the storage root."""

    def open_write(self, key: str) -> FileWrite:
        """Write a file in pieces (a results file as frames are analysed)."""
        return _SpooledWrite(self, key)

    @abstractmethod
    def save_file(self, key: str, chunks: Iterable[bytes], max_bytes: int | None = None) -> int:
        """Write chunks atomically under key and return the byte count.

        Raises UploadTooLarge past `max_bytes`, InsufficientStorage when the disk is full;
        either way nothing is left behind.
        """

    @abstractmethod
    def load_file(self, key: str) -> bytes: ...

    @abstractmethod
    def open_file(self, key: str) -> BinaryIO:
        """A seekable binary reader (used to read one page of a large results file)."""

    @abstractmethod
    def free_bytes(self) -> int:
        """Free space where files are stored."""

    def check_free_space(self) -> None:  # noqa: B027 - optional hook
        """InsufficientStorage when free space is under the configured floor
        (VIDEO_JOBS_MIN_FREE_BYTES). Default: no floor."""

    def keys_older_than(self, suffix: str, older_than_s: float) -> list[str]:
        """Keys ending in `suffix` last written more than `older_than_s` ago."""
        return []

    def remove_abandoned_writes(self, is_abandoned: Callable[[str, float], bool]) -> int:
        """Delete the temporary files of unfinished writes for which
        `is_abandoned(file name, seconds since last written)` is true; returns how many.
        Default: there are none (writes are not visible as files)."""
        return 0

    @abstractmethod
    def delete_file(self, key: str) -> bool: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def local_path(self, key: str) -> str:
        """A path a decoder can open; raises StoragePathError for keys that escape."""

    @abstractmethod
    def relative_path(self, key: str) -> str:
        """The path to record in the database, relative to DATA_DIR."""


@dataclass(frozen=True)
class VideoHeader:
    """What a video's container declares, read without decoding a frame (the header
    may lie: the worker checks the same limits again while it decodes)."""

    has_video: bool
    has_audio: bool = False
    width: int = 0
    height: int = 0
    frame_count: int | None = None  # declared samples; None when none are declared
    duration_s: float | None = None
    codec: str = ""


class VideoInspector(ABC):
    """Reads a stored video's header (no decode): submit checks the limits with it."""

    @abstractmethod
    def inspect(self, path: str) -> VideoHeader:
        """Raise InvalidUpload when the header cannot be read."""


class StagedUpload(ABC):
    """An upload already written beside the stored files (as the request body arrived),
    under a temporary name: `store` moves it under its key, so there is one copy on
    disk and no second write; `discard` removes it unless it was stored."""

    size: int
    sha256: str
    head: bytes  # its first bytes, for the format check

    @abstractmethod
    def store(self, key: str) -> None: ...

    @abstractmethod
    def discard(self) -> None: ...


@dataclass(frozen=True)
class PipelineInfo:
    id: str
    description: str
    labels: tuple[str, ...] = ()  # the detection labels its steps can emit


@dataclass
class VideoAnalysis:
    """What a pipeline run produced: the results' `video` object and the job's warnings.

    The frames themselves went to the sinks as they were analysed (no list in memory)."""

    video: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    frames_analysed: int = 0
    # Where the job's progress ends: the frames analysed, or, when the video ended before
    # its declared count, the frames the job was to analyse (None: frames_analysed).
    frames_total: int | None = None
    # Track id -> person id from the stages (FrameStage.person_ids), for the results.
    person_ids: dict[int, int] = field(default_factory=dict)


StopCheck = Callable[[], bool]
# (frames analysed so far, an estimate of the frames the job will analyse or None);
# also called, with an unchanged count, for each frame decoded but skipped.
ProgressCallback = Callable[[int, int | None], None]


class PipelineRunner(ABC):
    """Runs a named pipeline over every frame of a video file."""

    @abstractmethod
    def pipelines(self) -> list[PipelineInfo]: ...

    def has_pipeline(self, pipeline_id: str) -> bool:
        return any(p.id == pipeline_id for p in self.pipelines())

    @abstractmethod
    def run(
        self,
        video_path: str,
        pipeline_id: str,
        *,
        options: AnalysisOptions | None = None,
        sinks: Sequence[FrameSink] = (),
        limits: FrameLimits | None = None,
        should_stop: StopCheck = lambda: False,
        on_progress: ProgressCallback | None = None,
    ) -> VideoAnalysis:
        """Feed each analysed frame to every sink's `add` (the caller closes or aborts
        the sinks). Raise VideoDecodeError for an unreadable video, FrameLimitExceeded
        past a limit, PipelineInterrupted on stop."""


class SearchIndex(ABC):
    """Completed jobs' summaries, indexed for search across jobs: by label (and how many
    individuals), by text read on screen (substring, case-insensitive) and by tag."""

    @abstractmethod
    def put(self, entry: IndexedJob) -> None:
        """Replace the job's entry (indexing a job again leaves one entry)."""

    @abstractmethod
    def remove(self, job_id: uuid.UUID) -> None:
        """Forget the job (its files were deleted); nothing when it is not indexed."""

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchPage:
        """Jobs where every given filter holds, newest first (then by id), one page of
        `query.limit` from `query.offset`, each with at most `query.max_matches`
        matches in time order: the tracks of the qualifying labels and the texts that
        contain `query.text`; `total` counts every matching job."""
