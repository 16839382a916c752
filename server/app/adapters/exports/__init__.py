"""Export sinks: files the worker writes as frames finish, streamed later by the API.

Each sink names the exports (`domain/exports.py`) it writes; a job gets every sink with
at least one export it asked for. A new export is a list entry and a sink module here.
"""

from __future__ import annotations

from app.adapters.exports.annotated_video import AnnotatedVideoSink
from app.adapters.exports.base import ExportSink
from app.adapters.exports.chapters_vtt import ChaptersVttSink
from app.adapters.exports.contact_sheet import ContactSheetSink
from app.adapters.exports.detections_csv import DetectionsCsvSink
from app.adapters.exports.events_csv import EventsCsvSink
from app.adapters.exports.quality_csv import QualityCsvSink
from app.adapters.exports.shot_pictures import ShotPicturesSink
from app.adapters.exports.summary import SummarySink
from app.adapters.exports.zone_feed import ZoneFeed
from app.domain.exports import EXPORT_BY_NAME
from app.domain.frames import FrameSink
from app.domain.model import Job
from app.domain.options import AnalysisOptions
from app.domain.ports import StorageService
from app.domain.zone_events import ZoneRules

# The summary sink comes first: it also writes the summary every job has.
SINKS: tuple[type[ExportSink], ...] = (
    SummarySink,
    DetectionsCsvSink,
    ChaptersVttSink,
    QualityCsvSink,
    ContactSheetSink,  # after the summary sink, which writes the keyframes it reads
    EventsCsvSink,
    AnnotatedVideoSink,
)


def export_sinks(
    storage: StorageService,
    job: Job,
    options: AnalysisOptions,
    keyframe_width: int = 320,
    zone_rules: ZoneRules | None = None,
) -> list[FrameSink]:
    """The sinks of the exports this job has (the annotated video only when asked);
    `zone_rules` is how the sinks that show zone events count them."""
    # Keyframes and black runs are taken from the pictures during the loop; the summary,
    # fed later by the end-of-job pass, lists them.
    pictures = ShotPicturesSink(storage, job.job_id, keyframe_width)
    summary = SummarySink.for_job(storage, job, pictures)
    sinks: list[FrameSink] = [summary, pictures]
    # One zone feed for the job: the summary, events.csv and the annotated video show
    # the same events and counts (all three are fed by the end-of-job pass).
    feed = ZoneFeed.for_job(storage, job, zone_rules or ZoneRules())
    summary.zone_feed = feed
    try:
        for sink in SINKS:
            if sink is SummarySink:
                continue
            if any(EXPORT_BY_NAME[name].wanted(options) for name in sink.writes):
                made = sink.for_job(storage, job)
                made.zone_feed = feed
                sinks.append(made)
    except BaseException:
        for built in sinks:
            built.abort()
        raise
    return sinks
