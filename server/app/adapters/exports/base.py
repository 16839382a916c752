"""What every export sink has: the exports it writes, and how a job's is built."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from app.domain.frames import FrameSink
from app.domain.model import Job
from app.domain.ports import StorageService
from app.domain.zone_events import ZoneRules

if TYPE_CHECKING:
    from app.adapters.exports.zone_feed import ZoneFeed


class ExportSink(FrameSink):
    # The names (domain/exports.py) of the files this sink writes.
    writes: ClassVar[tuple[str, ...]]
    # How zone events are counted (settings); export_sinks sets the job's.
    zone_rules: ZoneRules = ZoneRules()
    # The job's one zone feed (zone_feed.py), shared by every sink that shows zone
    # events; export_sinks sets it. A sink made alone makes its own when it needs one.
    zone_feed: ZoneFeed | None = None

    @classmethod
    def for_job(cls, storage: StorageService, job: Job) -> ExportSink:
        """A sink for this job (most need only where to write and the job's id)."""
        return cls(storage, job.job_id)  # type: ignore[call-arg]
